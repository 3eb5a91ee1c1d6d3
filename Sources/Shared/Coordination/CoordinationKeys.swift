import JunctionCore

/// The Redis keys of the fleet's coordination, in the same namespace (and so the same hash tag)
/// as the queue: `{junction}:lock:<name>`, `{junction}:fence:<name>`, `{junction}:breaker:<scope>`,
/// `{junction}:limit:<scope>:tat|inflight|pause` and `{junction}:scheduler:leader`
/// (`docs/operations.md` describes each).
public struct CoordinationKeys: Sendable, Equatable {
    public let namespace: RedisNamespace

    public init(namespace: String = "junction") {
        self.namespace = RedisNamespace(namespace)
    }

    /// A fleet-wide lock: value `<owner>|<fence>`, with a TTL.
    public func lock(_ name: String) -> String { namespace.key("lock", name) }
    /// The lock's fencing counter: never expires, only grows.
    public func fence(_ name: String) -> String { namespace.key("fence", name) }
    /// A circuit breaker's state hash.
    public func breaker(_ scope: String) -> String { namespace.key("breaker", scope) }
    /// A rate limit's three keys: GCRA arrival time, calls in flight, pause.
    public func limit(_ scope: String) -> [String] {
        [namespace.key("limit", scope, "tat"), namespace.key("limit", scope, "inflight"), namespace.key("limit", scope, "pause")]
    }
    /// The scheduler's leadership lease.
    public var schedulerLeader: String { namespace.key("scheduler", "leader") }
}
