import JunctionCore

/// `lua/ack-4.lua`: acknowledges finished jobs.
struct AckScript: Sendable {
    static let file = "ack-4"

    let script: RedisScript
    /// KEYS[1] in-flight, KEYS[2] jobs, KEYS[3] recoveries, KEYS[4] stats.
    private let keys: [RedisArgument]

    init(_ script: RedisScript, keys: QueueKeys) {
        self.script = script
        self.keys = [RedisArgument(keys.inflight), RedisArgument(keys.jobs), RedisArgument(keys.recoveries), RedisArgument(keys.stats)]
    }

    /// ARGV: id, token pairs.
    func call(_ jobs: [(id: String, token: String)]) -> ScriptCall { (script, keys, RedisArgument.pairs(jobs)) }

    /// Per job: true when acknowledged, false when its lease was lost meanwhile.
    static func acknowledged(_ reply: RedisReply) throws -> [Bool] { try reply.array().map { try $0.int() == 1 } }
}
