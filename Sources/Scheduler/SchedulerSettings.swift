import JunctionCore
import JunctionObservability

/// How the scheduler runs: read from `JUNCTION_SCHEDULER_*` and `JUNCTION_RETENTION_*` at start.
struct SchedulerSettings: Sendable {
    /// How often the leader fires due schedules, promotes delayed jobs and recovers leases.
    var tick: Duration
    /// Leadership lease; renewed every tick, so a follower takes over within this after a crash.
    var lease: Duration
    /// Most extra delay added to a schedule's next fire.
    var jitter: Duration
    var retentionInterval: Duration
    var jobRunsRetention: Duration
    var webhookEventsRetention: Duration
    /// The status server: `JUNCTION_SCHEDULER_HTTP_PORT` and `JUNCTION_SCHEDULER_HTTP_HOST`;
    /// none when the port is unset.
    var status: StatusAddress?

    init(environment: EnvironmentVariables) throws(ConfigurationError) {
        tick = try environment.duration("JUNCTION_SCHEDULER_TICK", default: "1s")
        lease = try environment.duration("JUNCTION_SCHEDULER_LEASE", default: "5s")
        guard lease >= tick * 2 else {
            throw ConfigurationError(
                variable: "JUNCTION_SCHEDULER_LEASE", problem: "JUNCTION_SCHEDULER_LEASE is invalid: must be at least twice JUNCTION_SCHEDULER_TICK, so the leader renews it in time",
                example: "5s")
        }
        jitter = try environment.duration("JUNCTION_SCHEDULER_JITTER", default: "1s")
        retentionInterval = try environment.duration("JUNCTION_RETENTION_INTERVAL", default: "1m")
        jobRunsRetention = try environment.duration("JUNCTION_RETENTION_JOB_RUNS", default: "30d")
        webhookEventsRetention = try environment.duration("JUNCTION_RETENTION_WEBHOOK_EVENTS", default: "30d")
        status = try StatusAddress.read("JUNCTION_SCHEDULER", from: environment)
    }
}
