import Foundation
import JunctionCore

/// `lua/cancel-6.lua`: removes the queued (not running) jobs of one type and connection,
/// optionally of one resource.
struct CancelScript: Sendable {
    static let file = "cancel-6"

    let script: RedisScript
    /// KEYS[1..4] the ready lists, KEYS[5] delayed, KEYS[6] jobs.
    private let keys: [RedisArgument]

    init(_ script: RedisScript, keys: QueueKeys) {
        self.script = script
        self.keys = keys.queues.map { RedisArgument($0) } + [RedisArgument(keys.delayed), RedisArgument(keys.jobs)]
    }

    /// ARGV: the type, the connection, the resource ('' for all).
    func call(type: String, connection: String, resource: String?) -> ScriptCall {
        (script, keys, [RedisArgument(type), RedisArgument(connection), RedisArgument(resource ?? "")])
    }

    /// The removed jobs' ids and dedupe keys (nil where none).
    static func removed(_ reply: RedisReply) throws -> [(id: String, dedupeKey: String?)] {
        let items = try reply.array().map { try $0.string() ?? "" }
        return stride(from: 0, to: items.count - 1, by: 2).map { (items[$0], items[$0 + 1].isEmpty ? nil : items[$0 + 1]) }
    }
}
