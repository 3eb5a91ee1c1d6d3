import JunctionCore

/// `lua/release-1.lua`: compare-and-delete, for a lock and for the scheduler's lease alike: a
/// paused former holder can never delete its successor's.
struct ReleaseScript: Sendable {
    static let file = "release-1"
    let script: RedisScript

    init(_ script: RedisScript) { self.script = script }

    /// KEYS[1] the key; ARGV the value that proves holding it.
    func call(key: String, value: String) -> ScriptCall { (script, [RedisArgument(key)], [RedisArgument(value)]) }

    /// False when the caller did not hold it.
    static func released(_ reply: RedisReply) throws -> Bool { try reply.int() == 1 }
}
