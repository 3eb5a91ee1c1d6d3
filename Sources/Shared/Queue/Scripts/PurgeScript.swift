import Foundation
import JunctionCore

/// `lua/purge-2.lua`: deletes dead letters that died at or before a time, then the oldest beyond a
/// count.
struct PurgeScript: Sendable {
    static let file = "purge-2"

    let script: RedisScript
    /// KEYS[1] dead, KEYS[2] dead index.
    private let keys: [RedisArgument]

    init(_ script: RedisScript, keys: QueueKeys) {
        self.script = script
        self.keys = [RedisArgument(keys.dead), RedisArgument(keys.deadIndex)]
    }

    /// ARGV: the cut-off (ms, or +inf for all), most entries to delete, count cap (0: none).
    func call(diedAtOrBefore cutoff: Date?, batch: Int, keepAtMost: Int?) -> ScriptCall {
        (script, keys, [cutoff.map { RedisArgument(Milliseconds.of($0)) } ?? "+inf", RedisArgument(batch), RedisArgument(keepAtMost ?? 0)])
    }

    static func removed(_ reply: RedisReply) throws -> Int { Int(try reply.int()) }
}
