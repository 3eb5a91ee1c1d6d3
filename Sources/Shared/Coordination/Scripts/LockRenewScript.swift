import JunctionCore

/// `lua/lockrenew-1.lua`: extends a lock only while this holder still has it.
struct LockRenewScript: Sendable {
    static let file = "lockrenew-1"
    let script: RedisScript

    init(_ script: RedisScript) { self.script = script }

    /// KEYS[1] the lock; ARGV the holder's value, TTL.
    func call(_ lock: HeldLock, keys: CoordinationKeys) -> ScriptCall {
        (script, [RedisArgument(keys.lock(lock.name))], [RedisArgument(lock.value), RedisArgument(Milliseconds.of(lock.ttl))])
    }

    /// False when the lock is gone or someone else's.
    static func renewed(_ reply: RedisReply) throws -> Bool { try reply.int() == 1 }
}
