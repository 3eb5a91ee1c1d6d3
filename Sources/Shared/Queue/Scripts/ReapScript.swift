import Foundation
import JunctionCore

/// `lua/reap-9.lua`: returns jobs whose lease expired to the front of their lists, and sets aside
/// those that expired too often (poison pills).
struct ReapScript: Sendable {
    static let file = "reap-9"

    let script: RedisScript
    /// KEYS[1] in-flight, KEYS[2] jobs, KEYS[3…6] the priority lists, KEYS[7] recoveries,
    /// KEYS[8] poisoned, KEYS[9] wake-up.
    private let keys: [RedisArgument]

    init(_ script: RedisScript, keys: QueueKeys) {
        self.script = script
        self.keys = [RedisArgument(keys.inflight), RedisArgument(keys.jobs)] + keys.queues.map { RedisArgument($0) }
            + [RedisArgument(keys.recoveries), RedisArgument(keys.poisoned), RedisArgument(keys.wakeup)]
    }

    /// ARGV: now, most jobs to look at, recoveries allowed.
    func call(batch: Int, maxRecoveries: Int, now: Date) -> ScriptCall {
        (script, keys, [RedisArgument(Milliseconds.of(now)), RedisArgument(batch), RedisArgument(maxRecoveries)])
    }

    static func counts(_ reply: RedisReply) throws -> (requeued: Int, poisoned: Int) {
        let counts = try reply.array()
        guard counts.count == 2 else { throw RedisError.unexpectedReply(expected: "reap counts", got: reply) }
        return (Int(try counts[0].int()), Int(try counts[1].int()))
    }
}
