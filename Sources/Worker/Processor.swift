import Foundation
import JunctionCoordination
import JunctionCore
import JunctionQueue
import Logging
import Tracing

/// What every processor of a worker process shares.
package struct ProcessorContext: Sendable {
    let queue: Queue
    let coordination: Coordination
    let handlers: HandlerRegistry
    let settings: WorkerSettings
    let core: CoreSettings
    let running: RunningJobs
    /// Set to stop fetching: the processors finish what they run and return.
    let stopping: CancellationFlag
    let workerID: String
    let logger: Logger

    package init(
        queue: Queue, coordination: Coordination, handlers: HandlerRegistry, settings: WorkerSettings, core: CoreSettings,
        running: RunningJobs = RunningJobs(), stopping: CancellationFlag = CancellationFlag(), workerID: String, logger: Logger
    ) {
        self.queue = queue
        self.coordination = coordination
        self.handlers = handlers
        self.settings = settings
        self.core = core
        self.running = running
        self.stopping = stopping
        self.workerID = workerID
        self.logger = logger
    }
}

/// One processor: a thread of its own with its own Redis connection. It leases jobs, runs each
/// with its handler, and settles it: successes are acknowledged together with the next fetch, in
/// one round trip; failures are retried, rescheduled or dead-lettered at once.
///
/// The batch starts at one job and doubles (up to `JUNCTION_WORKER_FETCH_BATCH`) while jobs take
/// under 5 ms, and drops back to one after a slower job, so slow work is never hidden from idle
/// processors in someone's batch. Every leased job, running or waiting its turn, is renewed by
/// the housekeeper; one whose lease is lost meanwhile is skipped.
package final class Processor {
    private let context: ProcessorContext
    private let name: String
    private let retries: Retries
    private let logger: Logger
    private var redis: RedisConnection?
    private var database: PostgresConnection?
    private var pendingAcks: [(id: String, token: String)] = []
    /// This processor's way to providers, rebuilt when its Redis connection is.
    private var providers: ProviderClient?
    /// The running job's span (nil when traces are not exported).
    private var jobSpan: (any Span)?
    private var batchSize = 1

    package init(index: Int, context: ProcessorContext) {
        self.context = context
        self.name = "\(context.workerID)/\(index)"
        self.retries = Retries(settings: context.queue.settings)
        var logger = context.logger
        logger[metadataKey: "processor"] = .string(name)
        self.logger = logger
    }

    /// Runs until the worker stops. Call on the processor's own thread.
    package func run() {
        var consecutiveFailures = 0
        while !context.stopping.isSet {
            do {
                let connection = try openRedis()
                let fetchedAt = ContinuousClock.now
                let batch = try fetch(on: connection)
                consecutiveFailures = 0
                if batch.isEmpty {
                    // Block until an enqueue pushes a wake-up token; the one-second limit is only
                    // so that a stopping worker is noticed.
                    try connection.command(["BLPOP", RedisArgument(context.queue.settings.keys.wakeup), "1"], timeout: .seconds(3))
                    continue
                }
                run(batch, fetchedAt: fetchedAt, on: connection)
            } catch {
                consecutiveFailures += 1
                let wait = min(Duration.milliseconds(100) * (1 << min(consecutiveFailures, 6)), .seconds(5))
                logger.warning(Self.fetchFailure(error), metadata: [
                    "error": .string("\(error)"), "retry_in_ms": .stringConvertible(Milliseconds.of(wait)),
                ])
                pause(wait)
            }
        }
        flushAcks()
        redis?.close()
        database?.close()
    }

    /// What the log says when a fetch round trip fails: whether Redis was out of reach or
    /// answered with something the processor cannot use.
    static func fetchFailure(_ error: any Error) -> Logger.Message {
        switch error {
        case RedisError.connectionFailed, RedisError.connectionLost, RedisError.timeout: "cannot reach Redis; retrying"
        case RedisError.server: "Redis refused the fetch; retrying"
        default: "cannot read what Redis answered to the fetch; retrying"
        }
    }

    private func openRedis() throws -> RedisConnection {
        if let redis { return redis }
        let connection = try RedisConnection(context.core.redis)
        redis = connection
        return connection
    }

    private func openDatabase() throws -> PostgresConnection {
        if let database { return database }
        let connection = try PostgresConnection(context.core.database)
        database = connection
        return connection
    }

    /// Leases the next jobs, acknowledging the previous batch in the same round trip.
    ///
    /// The fetch's jobs are leased whatever became of the acknowledgement, so they are returned
    /// even when Redis answered the acknowledgement with an error: dropping them here would leave
    /// them leased to nobody until their lease ran out, and count that expiry toward their
    /// poison-pill limit. Unacknowledged jobs stay pending and go again with the next fetch (an
    /// acknowledgement that already took effect answers 0 the second time and changes nothing).
    private func fetch(on connection: RedisConnection) throws -> [Result<LeasedJob, UnreadableJob>] {
        let fetch = context.queue.fetchCall(count: batchSize, tokenPrefix: name)
        guard !pendingAcks.isEmpty else { return try Queue.leasedJobs(try connection.evaluate(fetch)) }
        let replies = try connection.evaluate([context.queue.ackCall(pendingAcks), fetch])
        do {
            _ = try Queue.acknowledged(try replies[0].check())
            pendingAcks.removeAll(keepingCapacity: true)
        } catch {
            logger.warning("Redis refused the acknowledgement of finished jobs; it goes again with the next fetch", metadata: [
                "error": .string("\(error)"), "jobs": .stringConvertible(pendingAcks.count),
            ])
        }
        return try Queue.leasedJobs(replies[1])
    }

    /// Registers every job of a batch for lease renewal before any of them runs.
    private func hold(_ batch: [Result<LeasedJob, UnreadableJob>], fetchedAt: ContinuousClock.Instant) -> [CancellationFlag] {
        batch.map { item in
            let flag = CancellationFlag()
            if case .success(let job) = item {
                context.running.add(RunningJobs.Entry(
                    id: job.envelope.id, token: job.token, cancellation: flag, leasedUntil: fetchedAt + context.queue.settings.lease))
            }
            return flag
        }
    }

    private func run(_ batch: [Result<LeasedJob, UnreadableJob>], fetchedAt: ContinuousClock.Instant, on connection: RedisConnection) {
        let flags = hold(batch, fetchedAt: fetchedAt)
        for (position, item) in batch.enumerated() {
            if context.stopping.isSet {
                handBack(batch[position...], on: connection)
                return
            }
            switch item {
            case .success(let job) where flags[position].isSet:
                context.running.remove(job.envelope.id)
                logger.warning("skipped a job whose lease was lost while it waited in the batch", metadata: ["job_id": .string(job.envelope.id)])
            case .success(let job):
                run(job, cancellation: flags[position], on: connection)
            case .failure(let unreadable):
                bury(unreadable, on: connection)
            }
        }
    }

    private func run(_ job: LeasedJob, cancellation: CancellationFlag, on connection: RedisConnection) {
        let envelope = job.envelope
        defer { context.running.remove(envelope.id) }
        var jobLogger = logger
        jobLogger[metadataKey: "job_id"] = .string(envelope.id)
        jobLogger[metadataKey: "job_type"] = .string(envelope.type)
        jobLogger[metadataKey: "trace_id"] = .string(envelope.traceID)
        let started = ContinuousClock.now
        // The job's span (when traces are exported) continues the span that enqueued it; its
        // provider calls are its children.
        jobSpan = !Traces.isEnabled ? nil : Traces.start("job \(envelope.type)", kind: .consumer, parent: Traces.context(continuing: envelope.traceparent), attributes: [
            ("junction.job.id", envelope.id), ("junction.job.type", envelope.type), ("junction.trace_id", envelope.traceID),
            ("junction.job.attempt", String(envelope.attempt)), ("junction.job.priority", envelope.priority.rawValue),
        ] + (envelope.provider.map { [("junction.provider", $0)] } ?? []))
        defer {
            jobSpan?.end()
            jobSpan = nil
        }
        jobLogger.debug("job started", metadata: [
            "attempt": .stringConvertible(envelope.attempt), "priority": .string(envelope.priority.rawValue),
            "queue_latency_us": .stringConvertible(Int64(Date().timeIntervalSince(envelope.enqueuedAt) * 1_000_000)),
        ])
        do {
            guard let handler = context.handlers.handler(for: envelope.type) else {
                throw MissingHandler(type: envelope.type, known: context.handlers.types)
            }
            let lock = try takeLock(handler.lockName(for: envelope), for: envelope, on: connection)
            if let lock { jobLogger.debug("lock taken", metadata: ["lock": .string(lock.name), "fence": .stringConvertible(lock.fence)]) }
            defer {
                if let lock {
                    context.running.setLock(envelope.id, nil)
                    // Logged before the release, so log order never shows two holders at once.
                    jobLogger.debug("lock releasing", metadata: ["lock": .string(lock.name), "fence": .stringConvertible(lock.fence)])
                    _ = try? DistributedLocks(context.coordination).release(lock, on: connection)
                }
            }
            if providers == nil || providers?.redis !== connection {
                providers = ProviderClient(context.coordination, settings: context.settings.coordination, redis: connection, logger: logger)
            }
            providers?.logger = jobLogger
            providers?.trace = jobSpan?.context
            try handler.run(JobContext(
                envelope: envelope, logger: jobLogger, redis: connection, cancellation: cancellation, database: openDatabase,
                lock: lock, providers: providers, queue: context.queue, trace: jobSpan?.context))
            adaptBatch(took: ContinuousClock.now - started)
            if cancellation.isSet {
                // Finished after its lease was lost or handed back: whoever holds it now decides.
                measure(envelope, "lost_lease", started: started)
                jobLogger.warning("job finished after losing its lease; not acknowledged")
            } else {
                measure(envelope, "succeeded", started: started)
                pendingAcks.append((envelope.id, job.token))
                jobLogger.debug("job succeeded", metadata: ["attempt": .stringConvertible(envelope.attempt)])
            }
        } catch is JobCancelled where context.running.lostLock(envelope.id) {
            // The lease still holds: put the job back for later rather than wait for it to expire.
            adaptBatch(took: ContinuousClock.now - started)
            settle(job, error: JobFailure.reschedule(after: .seconds(1), reason: "its lock was lost"), started: started, logger: jobLogger, on: connection)
        } catch is JobCancelled {
            adaptBatch(took: ContinuousClock.now - started)
            measure(envelope, "cancelled", started: started)
            jobLogger.warning("job stopped: its lease was lost or the worker is shutting down")
        } catch {
            adaptBatch(took: ContinuousClock.now - started)
            jobSpan?.recordError(error)
            settle(job, error: error, started: started, logger: jobLogger, on: connection)
        }
    }

    /// Takes the job's lock (nil when it needs none); when someone else holds it, the job is
    /// rescheduled shortly (0.1 to 1.25 s: holders usually let go long before their lock's TTL),
    /// without spending an attempt.
    private func takeLock(_ name: String?, for envelope: JobEnvelope, on connection: RedisConnection) throws -> HeldLock? {
        guard let name else { return nil }
        guard DistributedLocks.isValidName(name) else {
            throw JobFailure.permanent("lock name \"\(name)\" is not 1 to 200 characters without spaces or glob characters")
        }
        switch try DistributedLocks(context.coordination).acquire(name, ttl: context.queue.settings.lease, on: connection) {
        case .acquired(let lock):
            context.running.setLock(envelope.id, lock)
            return lock
        case .busy(let expiresIn):
            let wait = min(max(expiresIn, .milliseconds(100)), .seconds(1)) + .milliseconds(Int.random(in: 0...250))
            throw JobFailure.reschedule(after: wait, reason: "lock \(name) is held elsewhere")
        }
    }

    private func adaptBatch(took: Duration) {
        batchSize = took < .milliseconds(5) ? min(batchSize * 2, context.settings.fetchBatch) : 1
    }

    private func settle(_ job: LeasedJob, error: any Error, started: ContinuousClock.Instant, logger: Logger, on connection: RedisConnection) {
        let (next, end, errorClass) = retries.end(job.envelope, error: error)
        do {
            guard try context.queue.end(next, token: job.token, as: end, on: connection) else {
                logger.warning("job failed after losing its lease; its new holder decides", metadata: ["error": .string("\(error)")])
                return
            }
        } catch {
            // The job stays leased; when the lease expires it is recovered and runs again.
            logger.error("cannot record a failed attempt in Redis", metadata: ["error": .string("\(error)")])
            return
        }
        var metadata: Logger.Metadata = [
            "attempt": .stringConvertible(job.envelope.attempt), "max_attempts": .stringConvertible(job.envelope.maxAttempts),
            "error": .string(errorClass == nil ? "\(error)" : next.errors.last?.message ?? "\(error)"),
        ]
        if let errorClass { metadata["error_class"] = .string(errorClass.name) }
        measure(job.envelope, end.metricOutcome, started: started)
        switch end {
        case .retry(let due):
            metadata["retry_in_ms"] = .stringConvertible(max(0, Milliseconds.of(due) - Milliseconds.of(Date())))
            logger.warning("job failed; will retry", metadata: metadata)
        case .reschedule(let due):
            metadata["run_in_ms"] = .stringConvertible(max(0, Milliseconds.of(due) - Milliseconds.of(Date())))
            logger.info("job rescheduled without spending an attempt", metadata: metadata)
        case .dead:
            logger.error("job moved to the dead letters", metadata: metadata)
        }
        if errorClass != nil {
            recordAttempt(job.envelope, outcome: end == .dead ? "dead" : "retrying", error: next.errors.last, started: started, logger: logger)
        }
    }

    /// `junction_jobs_total{type,outcome}` and `junction_job_duration_seconds{type}`. A type no
    /// handler knows counts as `unknown`: the label stays bounded whatever is enqueued.
    private func measure(_ envelope: JobEnvelope, _ outcome: String, started: ContinuousClock.Instant) {
        let type = context.handlers.handler(for: envelope.type) == nil ? "unknown" : envelope.type
        Measure.count(MetricName.jobs, [("type", type), ("outcome", outcome)])
        Measure.time(MetricName.jobDuration, [("type", type)], ContinuousClock.now - started)
        if let jobSpan {
            jobSpan.attributes["junction.job.outcome"] = outcome
            // A rescheduled job (an open breaker, a busy lock) did not fail.
            if outcome == "retried" || outcome == "dead" { jobSpan.setStatus(SpanStatus(code: .error, message: outcome)) }
        }
    }

    /// Writes the failed attempt to `job_runs`, the history on-call reads next to the dead
    /// letters. Best effort: the queue's state in Redis does not depend on it.
    private func recordAttempt(_ envelope: JobEnvelope, outcome: String, error: JobErrorRecord?, started: ContinuousClock.Instant, logger: Logger) {
        let startedAt = Date() - (ContinuousClock.now - started) / .seconds(1)
        do {
            try openDatabase().query("""
                INSERT INTO job_runs (job_id, job_type, tenant, provider, connection_id, attempt, outcome, error_class, error_message, worker, started_at, finished_at)
                VALUES (\(envelope.id), \(envelope.type), \(envelope.tenant), \(envelope.provider), \(envelope.connection.flatMap(UUID.init(uuidString:))),
                        \(envelope.attempt), \(outcome), \(error?.errorClass.name), \(error?.message), \(name), \(startedAt), \(Date()))
                """)
        } catch {
            logger.warning("cannot record the attempt in job_runs", metadata: ["error": .string("\(error)")])
        }
    }

    /// A leased job whose envelope cannot be read goes to the dead letters as it is.
    private func bury(_ job: UnreadableJob, on connection: RedisConnection) {
        let envelope = JobEnvelope(
            id: job.id, type: "unreadable", priority: .normal, payload: .string(job.raw), maxAttempts: 1, traceID: "",
            errors: [JobErrorRecord(at: Date(), attempt: 1, errorClass: .permanent, message: "the stored envelope cannot be read: \(job.reason)")])
        do {
            try context.queue.end(envelope, token: job.token, as: .dead, on: connection)
            logger.error("unreadable job moved to the dead letters", metadata: ["job_id": .string(job.id)])
        } catch {
            logger.error("cannot dead-letter an unreadable job", metadata: ["job_id": .string(job.id), "error": .string("\(error)")])
        }
    }

    private func handBack(_ rest: ArraySlice<Result<LeasedJob, UnreadableJob>>, on connection: RedisConnection) {
        let jobs = rest.map { item -> (id: String, token: String) in
            switch item {
            case .success(let job): (job.envelope.id, job.token)
            case .failure(let unreadable): (unreadable.id, unreadable.token)
            }
        }
        defer { jobs.forEach { context.running.remove($0.id) } }
        do {
            let returned = try context.queue.handBack(jobs, on: connection)
            logger.info("handed back jobs not started before shutdown", metadata: ["count": .stringConvertible(returned)])
        } catch {
            logger.warning("cannot hand back unstarted jobs; they return when their lease expires", metadata: ["error": .string("\(error)")])
        }
    }

    /// Acknowledges what finished before stopping, retrying briefly if Redis is away.
    private func flushAcks() {
        guard !pendingAcks.isEmpty else { return }
        for attempt in 1...5 {
            do {
                try context.queue.ack(pendingAcks, on: try openRedis())
                pendingAcks.removeAll()
                return
            } catch {
                logger.warning("cannot acknowledge finished jobs", metadata: ["error": .string("\(error)"), "try": .stringConvertible(attempt)])
                Thread.sleep(forTimeInterval: 0.2 * Double(attempt))
            }
        }
        logger.error("finished jobs left unacknowledged; they will run again after their lease expires", metadata: ["count": .stringConvertible(pendingAcks.count)])
    }

    /// Waits, waking early when the worker stops.
    private func pause(_ duration: Duration) {
        let end = ContinuousClock.now + duration
        while ContinuousClock.now < end && !context.stopping.isSet {
            Thread.sleep(forTimeInterval: 0.05)
        }
    }
}
