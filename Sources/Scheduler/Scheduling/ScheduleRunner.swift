import Foundation
import JunctionCore
import JunctionQueue
import JunctionStores

/// Fires due schedules: the scheduler leader's main duty on every tick.
///
/// Per batch, in one PostgreSQL transaction: claim due rows (`FOR UPDATE SKIP LOCKED`, oldest
/// first, through the `next_run_at` index, so a tick costs what is due, not what exists), enqueue
/// one job per row in one Redis call, each with the dedupe key `schedule:<id>:<fire time>`, then
/// advance the rows and commit. A second leader (a paused process that still believes it leads)
/// either skips the locked rows or finds them advanced; if it enqueues the same fire time anyway,
/// the dedupe key drops it. If the commit fails after the enqueue, the next tick enqueues the same
/// fire time again, and the dedupe key drops that too.
public struct ScheduleRunner: Sendable {
    public let queue: Queue
    /// The most extra delay added to a next fire (never more than a tenth of an interval), so
    /// thousands of schedules created together drift apart instead of firing in the same second.
    public let jitter: Duration
    public let batch: Int
    /// How long a fire time's dedupe key is remembered.
    public let dedupeTTL: Duration

    public init(queue: Queue, jitter: Duration = .seconds(1), batch: Int = 1000, dedupeTTL: Duration = .seconds(86_400)) {
        self.queue = queue
        self.jitter = jitter
        self.batch = batch
        self.dedupeTTL = dedupeTTL
    }

    /// Enqueues every schedule due at `now` once and advances it. Returns how many schedules were
    /// claimed and how many jobs that enqueued (fewer when a fire time was enqueued before).
    public func fireDue(
        database: PostgresConnection, redis: RedisConnection, now: Date = Date(), random: () -> Double = { .random(in: 0..<1) }
    ) throws -> (claimed: Int, enqueued: Int) {
        var claimed = 0
        var enqueued = 0
        while true {
            let (rows, jobs, late) = try database.transaction { connection -> (Int, Int, [Double]) in
                let due = try connection.query("""
                    SELECT id, name, job_type, payload, priority, tenant, provider, connection_id, interval_seconds, cron, time_zone,
                           enabled, next_run_at, last_run_at
                    FROM schedules WHERE enabled AND next_run_at <= \(now)
                    ORDER BY next_run_at LIMIT \(batch) FOR UPDATE SKIP LOCKED
                    """).rows.map(ScheduleStore.schedule)
                guard !due.isEmpty else { return (0, 0, []) }
                let requests = due.map { schedule in
                    JobRequest(
                        type: schedule.jobType, payload: schedule.payload, priority: schedule.priority, tenant: schedule.tenant,
                        provider: schedule.provider, connection: schedule.connection?.uuidString.lowercased(),
                        dedupeKey: "schedule:\(schedule.id.uuidString.lowercased()):\(Milliseconds.of(schedule.nextRunAt))", dedupeTTL: dedupeTTL)
                }
                let outcomes = try queue.enqueue(requests, on: redis, now: now)
                var ids: [String] = []
                var nexts: [String] = []
                var finished: [String] = []
                for schedule in due {
                    let id = schedule.id.uuidString.lowercased()
                    guard let next = schedule.rule.next(after: now, previous: schedule.nextRunAt) else {
                        finished.append(id)
                        continue
                    }
                    ids.append(id)
                    nexts.append(Timestamp.format(next + random() * spread(for: schedule.rule)))
                }
                try connection.query("""
                    UPDATE schedules AS s SET next_run_at = u.next_run_at, last_run_at = \(now), updated_at = now()
                    FROM unnest(\(PostgresTextArray(ids))::uuid[], \(PostgresTextArray(nexts))::timestamptz[]) AS u(id, next_run_at)
                    WHERE s.id = u.id
                    """)
                if !finished.isEmpty {
                    // A cron expression with no future fire (30 February) is done: pause it.
                    try connection.query("UPDATE schedules SET enabled = false, updated_at = now() WHERE id = ANY(\(PostgresTextArray(finished))::uuid[])")
                }
                return (due.count, outcomes.filter { $0 != .duplicate }.count, due.map { max(0, now.timeIntervalSince($0.nextRunAt)) })
            }
            // How late each schedule fired: the tick, a slow claim, or a leader that took over.
            for seconds in late { Measure.time(MetricName.schedulerLag, .milliseconds(Int64(seconds * 1000))) }
            Measure.count(MetricName.schedulesFired, by: rows)
            claimed += rows
            enqueued += jobs
            if rows < batch { return (claimed, enqueued) }
        }
    }

    /// The jitter allowed for a rule, in seconds.
    private func spread(for rule: ScheduleRule) -> Double {
        switch rule {
        case .every(let interval): min(jitter, interval / 10) / .seconds(1)
        case .cron: jitter / .seconds(1)
        }
    }
}
