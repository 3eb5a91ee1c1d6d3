import Hummingbird
import JunctionCore
import Logging
import Prometheus
import ServiceLifecycle

/// The health documents every process answers:
/// `{"status":"ready","checks":{"redis":{"status":"ok"},"postgres":{"status":"error","error":"…"}}}`,
/// with any `facts` (the scheduler's `"leader":true`) after the checks.
public enum HealthDocument {
    /// How long readiness waits for a dependency: one that has not answered by then counts as
    /// unavailable, so a probe answers promptly even when a connection hangs.
    public static let deadline = Duration.seconds(3)

    public static func body(ready: Bool, _ statuses: [DependencyStatus], facts: [(String, String)] = []) -> String {
        var text = #"{"status":"# + (ready ? #""ready""# : #""unavailable""#) + #","checks":{"#
        for (index, status) in statuses.enumerated() {
            if index > 0 { text += "," }
            JSONText.appendString(status.name, to: &text)
            if let error = status.error {
                text += #":{"status":"error","error":"#
                JSONText.appendString(error, to: &text)
                text += "}"
            } else {
                text += #":{"status":"ok"}"#
            }
        }
        text += "}"
        // Facts are JSON values already (`true`, a quoted string).
        for (name, value) in facts {
            text += ","
            JSONText.appendString(name, to: &text)
            text += ":" + value
        }
        return text + "}"
    }

    public static func json(_ status: HTTPResponse.Status, _ body: String) -> Response {
        Response(
            status: status,
            headers: [.contentType: "application/json", .cacheControl: "no-store"],
            body: .init(byteBuffer: ByteBuffer(string: body)))
    }

    /// `GET /health` (alive) on `router`.
    public static func registerAlive(on router: Router<some RequestContext>) {
        router.get("/health") { _, _ in json(.ok, #"{"status":"ok"}"#) }
    }
}

/// The small HTTP server of a process that has no other (the worker on
/// `JUNCTION_WORKER_HTTP_PORT`, the scheduler on `JUNCTION_SCHEDULER_HTTP_PORT`): `GET /health`
/// (the process is alive), `GET /health/ready` (Redis and PostgreSQL answer within
/// ``HealthDocument/deadline``; 503 otherwise) and `GET /metrics`.
public enum StatusServer {
    /// The server as a service, with its own Redis and PostgreSQL clients (one connection each)
    /// for the readiness checks. `facts` adds fields to the readiness answer.
    public static func service(
        host: String, port: Int, core: CoreSettings, registry: PrometheusCollectorRegistry, logger: Logger,
        facts: @escaping @Sendable () -> [(String, String)] = { [] },
        onListening: @escaping @Sendable (Int?) -> Void = { _ in }
    ) -> some Service {
        let checks = DependencyChecks(redis: RedisClient(core.redis, connections: 1), database: PostgresClient(core.database, connections: 1))
        let router = Router()
        HealthDocument.registerAlive(on: router)
        router.get("/health/ready") { _, _ in
            let statuses = await checks.check(deadline: HealthDocument.deadline)
            let ready = statuses.allSatisfy(\.isHealthy)
            return HealthDocument.json(ready ? .ok : .serviceUnavailable, HealthDocument.body(ready: ready, statuses, facts: facts()))
        }
        MetricsExport.register(registry, on: router)
        return Application(
            router: router,
            configuration: .init(address: .hostname(host, port: port), serverName: nil),
            onServerRunning: { channel in
                logger.info("serving health and metrics", metadata: [
                    "host": .string(host), "port": .stringConvertible(channel.localAddress?.port ?? port),
                ])
                onListening(channel.localAddress?.port)
            },
            logger: logger)
    }
}

/// Where a process's status server listens: `<PREFIX>_HTTP_PORT` (unset: no server; `0`: any
/// free port, for tests) and `<PREFIX>_HTTP_HOST` (default `127.0.0.1`; `0.0.0.0` in a
/// container, so probes and Prometheus reach it).
public struct StatusAddress: Sendable, Equatable {
    public var host: String
    public var port: Int

    /// nil when `<prefix>_HTTP_PORT` is unset.
    public static func read(_ prefix: String, from environment: EnvironmentVariables) throws(ConfigurationError) -> StatusAddress? {
        guard let raw = environment.values["\(prefix)_HTTP_PORT"], !raw.isEmpty else { return nil }
        return StatusAddress(
            host: environment.string("\(prefix)_HTTP_HOST", default: "127.0.0.1"),
            port: try environment.integer("\(prefix)_HTTP_PORT", default: 0, in: 0...65535, example: "9090"))
    }
}
