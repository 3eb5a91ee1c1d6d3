import Foundation
import JunctionCore

extension Queue {
    /// Promotes due delayed jobs and recovers expired leases, unless another process of the fleet
    /// did so less than ``QueueSettings/maintenanceInterval`` ago: a `SET NX PX` turn that every
    /// worker's housekeeper and every leading scheduler ask for with the same interval, so the
    /// fleet does this once per interval whichever processes run. Returns nil when another
    /// process holds the turn.
    public func maintain(on connection: RedisConnection, owner: String) throws -> (promoted: Int, requeued: Int, dead: Int)? {
        let turn = try connection.command(
            "SET", RedisArgument(keys.maintenanceLock), RedisArgument(owner), "NX", "PX", RedisArgument(max(1, Milliseconds.of(settings.maintenanceInterval))))
        guard turn != .null else { return nil }
        let promoted = try promoteDue(on: connection)
        let (requeued, dead) = try recoverExpired(on: connection)
        return (promoted, requeued, dead)
    }

    /// Moves due delayed jobs to their lists, in batches of `batch`; returns how many moved.
    public func promoteDue(on connection: RedisConnection, now: Date = Date(), batch: Int = 1000) throws -> Int {
        var total = 0
        while true {
            let moved = try PromoteScript.moved(try connection.evaluate(promoteScript.call(batch: batch, now: now)))
            total += moved
            if moved < batch { return total }
        }
    }

    /// Returns jobs whose lease expired to the front of their lists, and dead-letters those that
    /// expired more than ``QueueSettings/maxRecoveries`` times. Returns (requeued, dead).
    public func recoverExpired(on connection: RedisConnection, now: Date = Date(), batch: Int = 1000) throws -> (requeued: Int, dead: Int) {
        var requeued = 0
        while true {
            let (back, poisoned) = try ReapScript.counts(try connection.evaluate(reapScript.call(batch: batch, maxRecoveries: settings.maxRecoveries, now: now)))
            requeued += back
            if back + poisoned < batch { break }
        }
        return (requeued, try buryPoisoned(on: connection, now: now))
    }

    /// Dead-letters every job in the poisoned set, adding the reason to its history. Also
    /// finishes the work of a recovery that stopped between its two steps.
    public func buryPoisoned(on connection: RedisConnection, now: Date = Date()) throws -> Int {
        var buried = 0
        for reply in try connection.command("ZRANGE", RedisArgument(keys.poisoned), 0, 999).array() {
            guard let id = try reply.string() else { continue }
            guard let raw = try connection.command("HGET", RedisArgument(keys.jobs), RedisArgument(id)).string() else {
                try connection.command("ZREM", RedisArgument(keys.poisoned), RedisArgument(id))
                continue
            }
            var envelope = try JobEnvelope.decode(raw)
            let recoveries = (try? connection.command("HGET", RedisArgument(keys.recoveries), RedisArgument(id)).int()) ?? Int64(settings.maxRecoveries + 1)
            envelope.errors.append(JobErrorRecord(
                at: now, attempt: envelope.attempt, errorClass: .leaseExpired,
                message: "poison pill: its lease expired \(recoveries) times (the worker running it died or hung each time); more than the \(settings.maxRecoveries) allowed (JUNCTION_QUEUE_MAX_RECOVERIES)"))
            if try end(envelope, token: nil, as: .dead, on: connection, now: now) { buried += 1 }
        }
        return buried
    }
}
