import Foundation
import JunctionCore
import JunctionQueue

/// Deletes what Junction no longer needs, in small batches that never hold a lock for long:
/// dead letters past their age or count, job history and processed webhook events past their
/// retention.
public struct Retention: Sendable {
    public let queue: Queue
    public let jobRuns: Duration
    public let webhookEvents: Duration
    public let batch: Int

    public init(queue: Queue, jobRuns: Duration, webhookEvents: Duration, batch: Int = 1000) {
        self.queue = queue
        self.jobRuns = jobRuns
        self.webhookEvents = webhookEvents
        self.batch = batch
    }

    public func run(database: PostgresConnection, redis: RedisConnection, now: Date = Date()) throws -> (deadLetters: Int, jobRuns: Int, webhookEvents: Int) {
        let dead = try queue.purgeDead(
            diedAtOrBefore: now - queue.settings.deadLetterMaxAge / .seconds(1), keepAtMost: queue.settings.deadLetterMaxEntries, on: redis)
        let runsCutoff = now - jobRuns / .seconds(1)
        let runs = try deleteInBatches(database) { connection in
            try connection.query("""
                DELETE FROM job_runs WHERE id IN (SELECT id FROM job_runs WHERE finished_at < \(runsCutoff) ORDER BY id LIMIT \(batch))
                """).affectedRows
        }
        let eventsCutoff = now - webhookEvents / .seconds(1)
        let events = try deleteInBatches(database) { connection in
            try connection.query("""
                DELETE FROM webhook_events WHERE id IN (
                    SELECT id FROM webhook_events WHERE received_at < \(eventsCutoff) AND processed_at IS NOT NULL ORDER BY id LIMIT \(batch))
                """).affectedRows
        }
        return (dead, runs, events)
    }

    /// Each batch is its own statement (its own short transaction).
    private func deleteInBatches(_ database: PostgresConnection, _ step: (PostgresConnection) throws -> Int) throws -> Int {
        var total = 0
        while true {
            let deleted = try step(database)
            total += deleted
            if deleted < batch { return total }
        }
    }
}
