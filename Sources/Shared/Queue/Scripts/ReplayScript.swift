import JunctionCore

/// `lua/replay-8.lua`: puts a dead letter back on its list with its attempts reset.
struct ReplayScript: Sendable {
    static let file = "replay-8"

    let script: RedisScript
    /// KEYS[1] dead, KEYS[2] dead index, KEYS[3] jobs, KEYS[4…7] the priority lists, KEYS[8] wake-up.
    private let keys: [RedisArgument]

    init(_ script: RedisScript, keys: QueueKeys) {
        self.script = script
        self.keys = [RedisArgument(keys.dead), RedisArgument(keys.deadIndex), RedisArgument(keys.jobs)]
            + keys.queues.map { RedisArgument($0) } + [RedisArgument(keys.wakeup)]
    }

    /// ARGV: id, the dead envelope as read, the envelope to run, priority index.
    func call(id: String, dead raw: String, run envelope: JobEnvelope) -> ScriptCall {
        (script, keys, [RedisArgument(id), RedisArgument(raw), RedisArgument(envelope.encoded()), RedisArgument(envelope.priority.index)])
    }

    /// False when that dead letter is gone (replayed or purged meanwhile).
    static func replayed(_ reply: RedisReply) throws -> Bool { try reply.int() == 1 }
}
