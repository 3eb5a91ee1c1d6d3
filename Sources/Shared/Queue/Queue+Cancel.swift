import Foundation
import JunctionCore

extension Queue {
    /// Removes the queued jobs of `type` for `connection` (of `resource` only, when given): those
    /// ready and those waiting for a retry or a reschedule, in one script; a running job is left
    /// to finish. Answers the removed jobs' ids. Their dedupe keys are let go afterwards (each only
    /// while it still names the removed job), so the same work can be enqueued again at once.
    public func cancelQueued(type: String, connection: String, resource: String? = nil, on redis: RedisConnection) throws -> [String] {
        let removed = try CancelScript.removed(try redis.evaluate(cancelScript.call(type: type, connection: connection, resource: resource)))
        let keyed = removed.compactMap { job in job.dedupeKey.map { (id: job.id, name: RedisArgument(keys.dedupe($0))) } }
        if !keyed.isEmpty {
            // Two round trips whatever the count: the keys read, then those still naming their job deleted.
            let holders = try redis.pipeline(keyed.map { ["GET", $0.name] }).map { try $0.check().string() }
            let stale = zip(keyed, holders).filter { $0.0.id == $0.1 }.map { ["DEL", $0.0.name] as [RedisArgument] }
            if !stale.isEmpty { _ = try redis.pipeline(stale).map { try $0.check() } }
        }
        return removed.map(\.id)
    }
}
