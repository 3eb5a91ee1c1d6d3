import JunctionCore
import JunctionQueue


/// Leadership among scheduler replicas: a Redis lease (`{junction}:scheduler:leader`) that the
/// leader renews on every tick, well before it expires, and gives up on shutdown. A follower takes
/// it within one lease length of the leader dying.
public struct LeaderLease: Sendable {
    public let key: String
    public let owner: String
    public let length: Duration
    let scripts: QueueScripts

    public init(keys: QueueKeys, owner: String, length: Duration, scripts: QueueScripts) {
        self.key = "\(keys.prefix):scheduler:leader"
        self.owner = owner
        self.length = length
        self.scripts = scripts
    }

    /// Takes the lease if free, renews it if held; true when this owner leads now.
    public func acquireOrRenew(on redis: RedisConnection) throws -> Bool {
        try redis.evaluate(scripts.lease, keys: [RedisArgument(key)], arguments: [RedisArgument(owner), RedisArgument(max(1, Milliseconds.of(length)))]).int() == 1
    }

    /// Gives the lease up if this owner holds it.
    public func release(on redis: RedisConnection) throws {
        try redis.evaluate(scripts.release, keys: [RedisArgument(key)], arguments: [RedisArgument(owner)])
    }

    /// Who leads, and for how much longer unless renewed.
    public static func holder(keys: QueueKeys, on redis: RedisConnection) throws -> (owner: String, remaining: Duration)? {
        let key = RedisArgument("\(keys.prefix):scheduler:leader")
        let replies = try redis.pipeline([["GET", key], ["PTTL", key]])
        guard let owner = try replies[0].string() else { return nil }
        return (owner, .milliseconds(max(0, try replies[1].int())))
    }
}
