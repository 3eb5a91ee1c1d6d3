import JunctionCore

/// `lua/lease-1.lua`: takes or keeps a lease (the scheduler's leadership).
struct LeaseScript: Sendable {
    static let file = "lease-1"
    let script: RedisScript

    init(_ script: RedisScript) { self.script = script }

    /// KEYS[1] the lease; ARGV owner, length.
    func call(key: String, owner: String, length: Duration) -> ScriptCall {
        (script, [RedisArgument(key)], [RedisArgument(owner), RedisArgument(max(1, Milliseconds.of(length)))])
    }

    /// True when the owner holds the lease now.
    static func held(_ reply: RedisReply) throws -> Bool { try reply.int() == 1 }
}
