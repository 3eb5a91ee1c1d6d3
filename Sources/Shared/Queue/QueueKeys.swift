import JunctionCore

/// The Redis keys of one queue namespace. Every key carries the hash tag `{namespace}`, so all of
/// them live in one slot and the scripts work on Redis Cluster.
///
/// With the default namespace `junction`: `{junction}:queue:critical` … `{junction}:queue:low`,
/// `{junction}:inflight`, `{junction}:delayed`, `{junction}:dead` and the rest below
/// (`docs/operations.md` describes each).
public struct QueueKeys: Sendable, Equatable {
    public let namespace: String
    /// `{namespace}`, the prefix of every key.
    public let prefix: String

    public init(namespace: String = "junction") {
        self.namespace = namespace
        self.prefix = RedisNamespace(namespace).prefix
    }

    /// The list of ready job ids for `priority` (LPUSH to enqueue, RPOP to fetch).
    public func queue(_ priority: JobPriority) -> String { "\(prefix):queue:\(priority.rawValue)" }
    /// The four lists, critical first.
    public var queues: [String] { JobPriority.allCases.map(queue) }
    /// Sorted set of leased jobs as `<id>|<lease token>`, scored by lease deadline (ms).
    public var inflight: String { "\(prefix):inflight" }
    /// Hash of job id → envelope JSON, for every job not yet finished or dead.
    public var jobs: String { "\(prefix):jobs" }
    /// Sorted set of job ids waiting for a retry or a reschedule, scored by due time (ms).
    public var delayed: String { "\(prefix):delayed" }
    /// Sorted set of dead envelopes (JSON), scored by time of death (ms).
    public var dead: String { "\(prefix):dead" }
    /// Hash of job id → dead envelope, to find one dead letter by id.
    public var deadIndex: String { "\(prefix):dead:ids" }
    /// List that idle processors block on; every enqueue pushes tokens to wake them.
    public var wakeup: String { "\(prefix):wakeup" }
    /// Hash of counters: enqueued, processed, retried, rescheduled, dead, fetch_calls.
    public var stats: String { "\(prefix):stats" }
    /// Hash of job id → how many times its lease expired.
    public var recoveries: String { "\(prefix):recoveries" }
    /// Sorted set of poison pills waiting to be dead-lettered.
    public var poisoned: String { "\(prefix):poisoned" }
    /// Lock that lets one process per interval run promotion and lease recovery.
    public var maintenanceLock: String { "\(prefix):maintenance" }
    /// Remembers a dedupe key for its TTL; the value is the id of the job that took it.
    public func dedupe(_ key: String) -> String { "\(prefix):dedupe:\(key)" }
}
