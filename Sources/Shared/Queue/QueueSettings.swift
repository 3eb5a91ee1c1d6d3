import JunctionCore

/// How the queue behaves, shared by every process that enqueues, runs or inspects jobs.
public struct QueueSettings: Sendable {
    public var keys: QueueKeys
    /// How long a fetched job is leased before it counts as abandoned; processors renew it at a
    /// third of this while the job runs.
    public var lease: Duration
    /// Lease expiries a job survives before it is a poison pill.
    public var maxRecoveries: Int
    /// Every K-th fetch looks at the lists lowest priority first (0: never).
    public var lowPriorityEvery: Int
    /// How often one process of the fleet promotes due delayed jobs and recovers expired leases
    /// (``Queue/maintain(on:owner:)``): the same turn for every worker and scheduler.
    public var maintenanceInterval: Duration
    public var deadLetterMaxEntries: Int
    public var deadLetterMaxAge: Duration
    /// Retry policy per priority.
    public var retryByPriority: [JobPriority: RetryPolicy]
    /// Retry policy per job type, overriding the priority's.
    public var retryByType: [String: RetryPolicy]

    public init(
        keys: QueueKeys = QueueKeys(), lease: Duration = .seconds(30), maxRecoveries: Int = 3, lowPriorityEvery: Int = 10,
        maintenanceInterval: Duration = .milliseconds(250),
        deadLetterMaxEntries: Int = 10_000, deadLetterMaxAge: Duration = .seconds(30 * 86_400),
        retryByPriority: [JobPriority: RetryPolicy] = Dictionary(uniqueKeysWithValues: JobPriority.allCases.map { ($0, RetryPolicy.defaults(for: $0)) }),
        retryByType: [String: RetryPolicy] = [:]
    ) {
        self.keys = keys
        self.lease = lease
        self.maxRecoveries = maxRecoveries
        self.lowPriorityEvery = lowPriorityEvery
        self.maintenanceInterval = maintenanceInterval
        self.deadLetterMaxEntries = deadLetterMaxEntries
        self.deadLetterMaxAge = deadLetterMaxAge
        self.retryByPriority = retryByPriority
        self.retryByType = retryByType
    }

    /// The retry policy for a job: its type's if configured, else its priority's.
    public func retryPolicy(type: String, priority: JobPriority) -> RetryPolicy {
        retryByType[type] ?? retryByPriority[priority] ?? RetryPolicy.defaults(for: priority)
    }

    /// Reads the `JUNCTION_QUEUE_*`, `JUNCTION_DLQ_*` and `JUNCTION_RETRY_*` variables.
    public init(environment: EnvironmentVariables) throws(ConfigurationError) {
        self.init()
        let namespace = environment.string("JUNCTION_QUEUE_NAMESPACE", default: "junction")
        guard !namespace.contains("{") && !namespace.contains("}") && !namespace.isEmpty else {
            throw ConfigurationError(variable: "JUNCTION_QUEUE_NAMESPACE", problem: "JUNCTION_QUEUE_NAMESPACE=\(namespace) is invalid: braces are added by Junction", example: "junction")
        }
        keys = QueueKeys(namespace: namespace)
        lease = try environment.duration("JUNCTION_WORKER_LEASE", default: "30s")
        guard lease >= .seconds(1) else {
            throw ConfigurationError(variable: "JUNCTION_WORKER_LEASE", problem: "JUNCTION_WORKER_LEASE is invalid: must be at least 1s", example: "30s")
        }
        maxRecoveries = try environment.integer("JUNCTION_QUEUE_MAX_RECOVERIES", default: 3, in: 0...1000)
        lowPriorityEvery = try environment.integer("JUNCTION_QUEUE_LOW_PRIORITY_EVERY", default: 10, in: 0...1_000_000)
        maintenanceInterval = try environment.duration("JUNCTION_QUEUE_MAINTENANCE_INTERVAL", default: "250ms")
        deadLetterMaxEntries = try environment.integer("JUNCTION_DLQ_MAX_ENTRIES", default: 10_000, in: 1...10_000_000)
        deadLetterMaxAge = try environment.duration("JUNCTION_DLQ_MAX_AGE", default: "30d")
        let maxDelay = try environment.duration("JUNCTION_RETRY_MAX_DELAY", default: "1h")
        for priority in JobPriority.allCases {
            let variable = "JUNCTION_RETRY_\(priority.rawValue.uppercased())"
            let fallback = RetryPolicy.defaults(for: priority)
            retryByPriority[priority] = try environment.parse(
                variable, default: "\(fallback.maxAttempts)/\(fallback.baseDelay.components.seconds)s", example: "5/1s"
            ) { (text: String) throws(InvalidValue) in try RetryPolicy.parse(text, maxDelay: maxDelay) }
        }
        // JUNCTION_RETRY_TYPE_WEBHOOK_PROCESS=8/1s overrides the policy of webhook.process.
        for (name, _) in environment.values where name.hasPrefix("JUNCTION_RETRY_TYPE_") {
            let type = name.dropFirst("JUNCTION_RETRY_TYPE_".count).lowercased().replacingOccurrences(of: "_", with: ".")
            retryByType[type] = try environment.parse(name, default: "", example: "8/1s") { (text: String) throws(InvalidValue) in
                try RetryPolicy.parse(text, maxDelay: maxDelay)
            }
        }
    }
}
