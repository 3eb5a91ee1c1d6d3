import Foundation
import JunctionCoordination
import JunctionCore
import JunctionProviders
import JunctionQueue
import JunctionStores
import Logging

/// The scheduler's thread, with its own Redis and PostgreSQL connections. Every tick it takes or
/// renews the leadership lease; while it leads it fires due schedules, promotes due delayed jobs,
/// recovers expired leases, enqueues token refreshes and connection checks (``ConnectionUpkeep``)
/// and, now and then, applies retention and re-seals secrets that are not
/// under the active encryption key. Followers only try the lease.
struct SchedulerLoop: Sendable {
    let settings: SchedulerSettings
    let core: CoreSettings
    let queue: Queue
    let lease: LeaderLease
    /// Where the breakers are, for the leader's `junction_breaker_state`.
    let coordination: Coordination
    let keys: KeyRing
    let connections: ConnectionSettings
    var leadership = Leadership()
    let logger: Logger
    /// How often the leader reads the queue's depths into the `junction_queue_*` gauges, and the
    /// providers' breakers into `junction_breaker_state`.
    static let queueSampleInterval = Duration.seconds(5)
    /// How often the leader looks for pushes left pending, and how long one must have been left.
    static let pushSweepInterval = Duration.seconds(30)
    static let pushIdle = Duration.seconds(300)

    /// The loop, for a ``BackgroundThread``: runs until `stopped` is set, then gives the
    /// leadership up.
    func loop(until stopped: CancellationFlag) {
        var database = core.database
        // A leader frozen inside its claim transaction must not keep the rows locked forever.
        database.idleInTransactionTimeout = max(settings.lease * 2, .seconds(10))
        let runner = ScheduleRunner(queue: queue, jitter: settings.jitter)
        let retention = Retention(queue: queue, jobRuns: settings.jobRunsRetention, webhookEvents: settings.webhookEventsRetention)
        var redis: RedisConnection?
        var postgres: PostgresConnection?
        var leading = false
        var nextRetention = ContinuousClock.now
        let upkeep = ConnectionUpkeep(queue: queue, settings: connections)
        var nextUpkeep = ContinuousClock.now
        var nextQueueSample = ContinuousClock.now
        var nextPushSweep = ContinuousClock.now
        Measure.gauge(MetricName.schedulerLeader, 0)
        while !stopped.isSet {
            let tickStarted = ContinuousClock.now
            do {
                let connection = try redis ?? RedisConnection(core.redis)
                redis = connection
                let nowLeading = try lease.acquireOrRenew(on: connection)
                if nowLeading != leading {
                    leading = nowLeading
                    leadership.set(leading)
                    Measure.gauge(MetricName.schedulerLeader, leading ? 1 : 0)
                    Measure.count(MetricName.schedulerLeadershipChanges, [("to", leading ? "leader" : "follower")])
                    if leading {
                        logger.info("became the leader", metadata: ["owner": .string(lease.owner)])
                    } else {
                        SchedulerMetrics.stopSpeakingForTheQueue(providers: Providers.ids)
                        logger.warning("lost the leadership; following", metadata: ["owner": .string(lease.owner)])
                    }
                }
                if !leading { logger.debug("following: another scheduler holds the lease") }
                if leading {
                    let database = try postgres ?? PostgresConnection(database)
                    postgres = database
                    let fired = try runner.fireDue(database: database, redis: connection)
                    if fired.claimed > 0 {
                        logger.info("fired due schedules", metadata: [
                            "schedules": .stringConvertible(fired.claimed), "enqueued": .stringConvertible(fired.enqueued),
                            "tick_ms": .stringConvertible(Milliseconds.of(ContinuousClock.now - tickStarted)),
                        ])
                    }
                    // The fleet's one maintenance turn per JUNCTION_QUEUE_MAINTENANCE_INTERVAL, shared
                    // with the workers' housekeepers: whoever asks first does it.
                    if let done = try queue.maintain(on: connection, owner: lease.owner),
                       done.requeued > 0 || done.dead > 0 {
                        Measure.count(MetricName.leaseRecoveries, [("result", "requeued")], by: done.requeued)
                        Measure.count(MetricName.leaseRecoveries, [("result", "dead")], by: done.dead)
                        logger.warning("recovered jobs whose lease expired", metadata: [
                            "requeued": .stringConvertible(done.requeued), "dead_letters": .stringConvertible(done.dead),
                        ])
                    }
                    if ContinuousClock.now >= nextQueueSample {
                        nextQueueSample = ContinuousClock.now + Self.queueSampleInterval
                        SchedulerMetrics.record(try queue.stats(on: connection))
                        SchedulerMetrics.record(breakers: try Providers.ids.map { try coordination.breakerStatus($0, on: connection) })
                    }
                    if ContinuousClock.now >= nextUpkeep {
                        nextUpkeep = ContinuousClock.now + ConnectionUpkeep.interval
                        let enqueued = try upkeep.run(database: database, redis: connection)
                        if enqueued != ConnectionUpkeep.Enqueued() {
                            logger.info("enqueued connection upkeep", metadata: [
                                "token_refreshes": .stringConvertible(enqueued.refreshes), "checks": .stringConvertible(enqueued.checks),
                                "abandoned_flows": .stringConvertible(enqueued.abandoned),
                            ])
                        }
                    }
                    // The outbox's relay: a push left pending with nothing touching it (its job lost,
                    // or an enqueue that failed after the push was recorded) is enqueued again.
                    if ContinuousClock.now >= nextPushSweep {
                        nextPushSweep = ContinuousClock.now + Self.pushSweepInterval
                        let stale = try PushStore().stale(idle: Self.pushIdle, on: database)
                        if !stale.isEmpty {
                            _ = try queue.enqueue(stale.map(PushStore.job(for:)), on: connection)
                            try PushStore().touch(stale.map(\.id), on: database)
                            logger.warning("re-enqueued pushes left pending", metadata: ["pushes": .stringConvertible(stale.count)])
                        }
                    }
                    if ContinuousClock.now >= nextRetention {
                        nextRetention = ContinuousClock.now + settings.retentionInterval
                        let removed = try retention.run(database: database, redis: connection)
                        if removed.deadLetters + removed.jobRuns + removed.webhookEvents > 0 {
                            logger.info("retention deleted old records", metadata: [
                                "dead_letters": .stringConvertible(removed.deadLetters), "job_runs": .stringConvertible(removed.jobRuns),
                                "webhook_events": .stringConvertible(removed.webhookEvents),
                            ])
                        }
                        let resealed = try WebhookEndpointStore(keys: keys).reencrypt(limit: 1000, on: database)
                        let credentials = try CredentialVault(keys: keys).reencrypt(batch: 1000, on: database)
                        if resealed + credentials > 0 {
                            logger.info("re-encrypted secrets under the active key", metadata: [
                                "endpoints": .stringConvertible(resealed), "credentials": .stringConvertible(credentials), "key_id": .string(keys.activeID),
                            ])
                        }
                    }
                }
            } catch {
                logger.warning("scheduler tick failed; retrying next tick", metadata: ["error": .string("\(error)"), "leading": .stringConvertible(leading)])
            }
            let wake = tickStarted + settings.tick
            while !stopped.isSet && ContinuousClock.now < wake {
                Thread.sleep(forTimeInterval: min(0.05, max(0, (wake - ContinuousClock.now) / .seconds(1))))
            }
        }
        if leading, let redis {
            try? lease.release(on: redis)
            leadership.set(false)
            Measure.gauge(MetricName.schedulerLeader, 0)
            SchedulerMetrics.stopSpeakingForTheQueue(providers: Providers.ids)
            logger.info("gave the leadership up")
        }
        redis?.close()
        postgres?.close()
    }
}
