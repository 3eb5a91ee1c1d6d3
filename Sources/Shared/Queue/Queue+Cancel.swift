import Foundation
import JunctionCore

extension Queue {
    /// Removes the queued jobs of `type` for `connection` (of `resource` only, when given): those
    /// ready and those waiting for a retry or a reschedule, in one script; a running job is left
    /// to finish. Answers the removed jobs' ids. Their dedupe keys are let go afterwards (each only
    /// while it still names the removed job), so the same work can be enqueued again at once.
    public func cancelQueued(type: String, connection: String, resource: String? = nil, on redis: RedisConnection) throws -> [String] {
        let removed = try CancelScript.removed(try redis.evaluate(cancelScript.call(type: type, connection: connection, resource: resource)))
        for (id, key) in removed {
            guard let key else { continue }
            let name = RedisArgument(keys.dedupe(key))
            if try redis.command("GET", name).string() == id { _ = try redis.command("DEL", name) }
        }
        return removed.map(\.id)
    }
}
