import JunctionCoordination
import JunctionCore
import JunctionObservability

/// How one worker process runs: read from `JUNCTION_WORKER_*` at start.
package struct WorkerSettings: Sendable {
    /// Processors, each a thread with its own Redis connection, running one job at a time.
    var concurrency: Int
    /// How long in-flight jobs may take to finish after SIGTERM before they are handed back.
    var shutdownGrace: Duration
    /// Most jobs one processor leases per fetch while jobs are quick.
    var fetchBatch: Int
    /// Circuit breakers, rate limits and provider base URLs (`JUNCTION_BREAKER_*`,
    /// `JUNCTION_RATE_LIMIT_*`, `JUNCTION_PROVIDER_*`).
    var coordination: CoordinationSettings
    /// The status server (`/health`, `/health/ready`, `/metrics`): `JUNCTION_WORKER_HTTP_PORT`
    /// and `JUNCTION_WORKER_HTTP_HOST`; none when the port is unset.
    var status: StatusAddress?

    package init(environment: EnvironmentVariables) throws(ConfigurationError) {
        concurrency = try environment.integer("JUNCTION_WORKER_CONCURRENCY", default: 4, in: 1...512)
        shutdownGrace = try environment.duration("JUNCTION_WORKER_SHUTDOWN_GRACE", default: "25s")
        fetchBatch = try environment.integer("JUNCTION_WORKER_FETCH_BATCH", default: 16, in: 1...1000)
        coordination = try CoordinationSettings(environment: environment)
        status = try StatusAddress.read("JUNCTION_WORKER", from: environment)
    }
}
