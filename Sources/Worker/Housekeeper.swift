import Foundation
import JunctionCoordination
import JunctionCore
import Logging

/// A worker process's background thread, with its own Redis connection:
/// - renews the leases of running jobs every third of the lease, and cancels a job whose lease
///   is lost (it expired while Redis was unreachable, and another worker may have it now);
/// - when its turn comes (one process of the fleet per interval), promotes due delayed jobs and
///   recovers expired leases.
struct Housekeeper: Sendable {
    let context: ProcessorContext

    /// The loop, for a ``BackgroundThread``: runs until `stopped` is set.
    func loop(until stopped: CancellationFlag) {
        let renewEvery = context.queue.settings.lease / 3
        var nextRenewal = ContinuousClock.now + renewEvery
        var nextMaintenance = ContinuousClock.now
        var connection: RedisConnection?
        let logger = context.logger
        while !stopped.isSet {
            let now = ContinuousClock.now
            do {
                let redis = try connection ?? RedisConnection(context.core.redis)
                connection = redis
                if now >= nextRenewal {
                    nextRenewal = now + renewEvery
                    renew(on: redis, logger: logger)
                }
                if now >= nextMaintenance {
                    nextMaintenance = now + context.queue.settings.maintenanceInterval
                    if let done = try context.queue.maintain(on: redis, owner: context.workerID),
                       done.requeued > 0 || done.dead > 0 {
                        Measure.count(MetricName.leaseRecoveries, [("result", "requeued")], by: done.requeued)
                        Measure.count(MetricName.leaseRecoveries, [("result", "dead")], by: done.dead)
                        logger.warning("recovered jobs whose lease expired", metadata: [
                            "requeued": .stringConvertible(done.requeued), "dead_letters": .stringConvertible(done.dead),
                        ])
                    }
                }
            } catch {
                logger.warning("housekeeping cannot reach Redis; retrying", metadata: ["error": .string("\(error)")])
                for id in context.running.cancelExpired(now: ContinuousClock.now) {
                    logger.warning("could not renew a job's lease before it ran out; stopping it", metadata: ["job_id": .string(id)])
                }
                nextMaintenance = now + .seconds(1)
            }
            // Sleep until the next renewal or maintenance turn, in slices short enough that a
            // stopping worker is not kept waiting.
            let wake = min(nextRenewal, nextMaintenance, ContinuousClock.now + .milliseconds(100))
            let pause = wake - ContinuousClock.now
            if pause > .zero { Thread.sleep(forTimeInterval: pause / .seconds(1)) }
        }
        connection?.close()
    }

    /// Extends the locks of the jobs whose leases held, in one round trip. A job whose lock is
    /// gone (expired while Redis was away, or taken) is stopped and rescheduled: the lock's work
    /// may be someone else's now, and its fenced writes would be refused anyway.
    private func renewLocks(_ entries: [RunningJobs.Entry], on redis: RedisConnection, logger: Logger) throws {
        let locked = entries.compactMap { entry in entry.lock.map { (entry.id, $0) } }
        guard !locked.isEmpty else { return }
        let locks = DistributedLocks(context.coordination)
        let replies = try redis.evaluate(locked.map { locks.renewCall($0.1) })
        for ((id, lock), reply) in zip(locked, replies) where (try? reply.int()) != 1 {
            context.running.cancelForLostLock(id)
            logger.warning("lost a job's lock; stopping it", metadata: ["job_id": .string(id), "lock": .string(lock.name), "fence": .stringConvertible(lock.fence)])
        }
    }

    private func renew(on redis: RedisConnection, logger: Logger) {
        let entries = context.running.snapshot
        guard !entries.isEmpty else { return }
        let asked = ContinuousClock.now
        do {
            let renewed = try context.queue.renew(entries.map { ($0.id, $0.token) }, on: redis)
            var kept: [String] = []
            for (entry, held) in zip(entries, renewed) {
                if held {
                    kept.append(entry.id)
                } else {
                    context.running.cancel(entry.id)
                    logger.warning("lost the lease of a held job; stopping it", metadata: ["job_id": .string(entry.id)])
                }
            }
            context.running.renewed(kept, until: asked + context.queue.settings.lease)
            try renewLocks(entries.filter { kept.contains($0.id) }, on: redis, logger: logger)
        } catch {
            // Leases last three renewal periods: one missed renewal loses nothing. Once a lease
            // has run out unrenewed, another worker may recover the job, so it must stop here.
            logger.warning("cannot renew leases", metadata: ["error": .string("\(error)")])
            for id in context.running.cancelExpired(now: ContinuousClock.now) {
                logger.warning("could not renew a job's lease before it ran out; stopping it", metadata: ["job_id": .string(id)])
            }
        }
    }
}
