import Foundation
import JunctionCore

/// `lua/fail-8.lua`: ends an attempt that did not succeed (retry, reschedule or dead letter).
struct FailScript: Sendable {
    static let file = "fail-8"

    let script: RedisScript
    /// KEYS[1] in-flight, KEYS[2] jobs, KEYS[3] delayed, KEYS[4] dead, KEYS[5] dead index,
    /// KEYS[6] stats, KEYS[7] recoveries, KEYS[8] poisoned.
    private let keys: [RedisArgument]

    init(_ script: RedisScript, keys: QueueKeys) {
        self.script = script
        self.keys = [
            RedisArgument(keys.inflight), RedisArgument(keys.jobs), RedisArgument(keys.delayed), RedisArgument(keys.dead),
            RedisArgument(keys.deadIndex), RedisArgument(keys.stats), RedisArgument(keys.recoveries), RedisArgument(keys.poisoned),
        ]
    }

    /// ARGV: now, id, token (empty for a poison pill), action, due, envelope, dead-letter caps
    /// (count, age).
    func call(_ envelope: JobEnvelope, token: String?, end: AttemptEnd, deadLetterCaps: (entries: Int, age: Duration), now: Date) -> ScriptCall {
        let (action, due): (String, Date) = switch end {
        case .retry(let due): ("retry", due)
        case .reschedule(let due): ("reschedule", due)
        case .dead: ("dead", now)
        }
        return (script, keys, [
            RedisArgument(Milliseconds.of(now)), RedisArgument(envelope.id), RedisArgument(token ?? ""), RedisArgument(action),
            RedisArgument(Milliseconds.of(due)), RedisArgument(envelope.encoded()), RedisArgument(deadLetterCaps.entries),
            RedisArgument(Milliseconds.of(deadLetterCaps.age)),
        ])
    }

    /// False when the lease was lost (nothing changed).
    static func ended(_ reply: RedisReply) throws -> Bool { try reply.int() == 1 }
}
