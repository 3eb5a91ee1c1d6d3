import Foundation
import JunctionCore

/// `lua/renew-1.lua`: extends the leases of jobs still held.
struct RenewScript: Sendable {
    static let file = "renew-1"

    let script: RedisScript
    /// KEYS[1] in-flight.
    private let keys: [RedisArgument]

    init(_ script: RedisScript, keys: QueueKeys) {
        self.script = script
        self.keys = [RedisArgument(keys.inflight)]
    }

    /// ARGV: now, lease, then id, token pairs.
    func call(_ jobs: [(id: String, token: String)], lease: Duration, now: Date) -> ScriptCall {
        (script, keys, [RedisArgument(Milliseconds.of(now)), RedisArgument(Milliseconds.of(lease))] + RedisArgument.pairs(jobs))
    }

    /// Per job: true when renewed, false when its lease is lost.
    static func held(_ reply: RedisReply) throws -> [Bool] { try reply.array().map { try $0.int() == 1 } }
}
