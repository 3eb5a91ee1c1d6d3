import Foundation
import JunctionCore

/// `lua/promote-7.lua`: moves due delayed jobs to the back of their lists.
struct PromoteScript: Sendable {
    static let file = "promote-7"

    let script: RedisScript
    /// KEYS[1] delayed, KEYS[2] jobs, KEYS[3…6] the priority lists, KEYS[7] wake-up.
    private let keys: [RedisArgument]

    init(_ script: RedisScript, keys: QueueKeys) {
        self.script = script
        self.keys = [RedisArgument(keys.delayed), RedisArgument(keys.jobs)] + keys.queues.map { RedisArgument($0) } + [RedisArgument(keys.wakeup)]
    }

    /// ARGV: now, most jobs to move.
    func call(batch: Int, now: Date) -> ScriptCall { (script, keys, [RedisArgument(Milliseconds.of(now)), RedisArgument(batch)]) }

    static func moved(_ reply: RedisReply) throws -> Int { Int(try reply.int()) }
}
