import JunctionCore

/// `lua/handback-6.lua`: returns leased jobs to the front of their lists unfinished.
struct HandBackScript: Sendable {
    static let file = "handback-6"

    let script: RedisScript
    /// KEYS[1] in-flight, KEYS[2] jobs, KEYS[3…6] the priority lists.
    private let keys: [RedisArgument]

    init(_ script: RedisScript, keys: QueueKeys) {
        self.script = script
        self.keys = [RedisArgument(keys.inflight), RedisArgument(keys.jobs)] + keys.queues.map { RedisArgument($0) }
    }

    /// ARGV: id, token pairs.
    func call(_ jobs: [(id: String, token: String)]) -> ScriptCall { (script, keys, RedisArgument.pairs(jobs)) }

    /// How many went back (a job whose lease was already lost is left alone).
    static func count(_ reply: RedisReply) throws -> Int { Int(try reply.int()) }
}
