import JunctionCore

/// Leadership among scheduler replicas: a Redis lease (`{junction}:scheduler:leader`) that the
/// leader renews on every tick, well before it expires, and gives up on shutdown. A follower takes
/// it within one lease length of the leader dying.
public struct LeaderLease: Sendable {
    public let key: String
    public let owner: String
    public let length: Duration
    let coordination: Coordination

    public init(_ coordination: Coordination, owner: String, length: Duration) {
        self.key = coordination.keys.schedulerLeader
        self.owner = owner
        self.length = length
        self.coordination = coordination
    }

    /// Takes the lease if free, renews it if held; true when this owner leads now.
    public func acquireOrRenew(on redis: RedisConnection) throws -> Bool {
        try LeaseScript.held(try redis.evaluate(coordination.scripts.lease.call(key: key, owner: owner, length: length)))
    }

    /// Gives the lease up if this owner holds it.
    public func release(on redis: RedisConnection) throws {
        _ = try redis.evaluate(coordination.scripts.release.call(key: key, value: owner))
    }

    /// Who leads, and for how much longer unless renewed.
    public static func holder(keys: CoordinationKeys, on redis: RedisConnection) throws -> (owner: String, remaining: Duration)? {
        let key = RedisArgument(keys.schedulerLeader)
        let replies = try redis.pipeline([["GET", key], ["PTTL", key]])
        guard let owner = try replies[0].string() else { return nil }
        return (owner, .milliseconds(max(0, try replies[1].int())))
    }
}
