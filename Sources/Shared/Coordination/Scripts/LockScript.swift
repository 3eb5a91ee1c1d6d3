import Foundation
import JunctionCore

/// `lua/lock-2.lua`: takes a fleet-wide lock with a fencing token.
struct LockScript: Sendable {
    static let file = "lock-2"
    let script: RedisScript

    init(_ script: RedisScript) { self.script = script }

    /// KEYS[1] the lock, KEYS[2] its fence counter; ARGV owner, TTL.
    func call(_ name: String, owner: String, ttl: Duration, keys: CoordinationKeys) -> ScriptCall {
        (script, [RedisArgument(keys.lock(name)), RedisArgument(keys.fence(name))], [RedisArgument(owner), RedisArgument(Milliseconds.of(ttl))])
    }

    /// `{1, fence}` when taken, `{0, ms until the holder's lock expires}` when held elsewhere.
    static func attempt(_ reply: RedisReply, name: String, owner: String, ttl: Duration) throws -> LockAttempt {
        let parts = try reply.array()
        guard parts.count == 2 else { throw RedisError.unexpectedReply(expected: "{taken, fence or ttl}", got: reply) }
        let number = try parts[1].int()
        if try parts[0].int() == 1 {
            return .acquired(HeldLock(name: name, value: "\(owner)|\(number)", fence: number, ttl: ttl))
        }
        return .busy(expiresIn: .milliseconds(max(0, number)))
    }
}
