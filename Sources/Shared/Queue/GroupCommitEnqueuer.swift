import JunctionCore
import Synchronization

/// The queue for async code (the ingress, the CLI's async parts): each call runs on a
/// ``RedisClient`` pool thread.
///
/// Enqueues are **group-committed**: requests that arrive while the flushes are in flight wait for
/// the next one, which sends all of them to Redis as one script call (each request's jobs still
/// stored together, each job deduplicated on its own) and resumes each caller with its own
/// outcome. Under load a round trip carries many requests; an idle queue sends each at once.
///
/// ```swift
/// let jobs = GroupCommitEnqueuer(redis: redis, queue: queue)
/// let outcome = try await jobs.enqueue(JobRequest(type: "sync.run", payload: ["resource": "customers"], priority: .high))
/// ```
public final class GroupCommitEnqueuer: Sendable {
    /// What a callback-style enqueue hands back: each job's outcome, or why nothing was stored.
    public typealias Completion = @Sendable (Result<[EnqueueOutcome], any Error>) -> Void

    public let queue: Queue
    public let redis: RedisClient
    /// How many round trips may be in flight at once (at most the client's connections).
    public let maxFlushes: Int
    private let pending = Mutex(Pending())

    private struct Waiter {
        var call: ScriptCall
        var ids: [String]
        /// Every job carries a dedupe key, so sending the call twice stores each job once.
        var repeatable: Bool
        var completion: Completion
    }

    private struct Pending {
        var waiting: [Waiter] = []
        var flushing = 0
        /// A deferred start (``enqueue(_:startingFlushWith:completion:)``) is scheduled.
        var startScheduled = false
    }

    public init(redis: RedisClient, queue: Queue, maxFlushes: Int = 2) {
        self.redis = redis
        self.queue = queue
        self.maxFlushes = max(1, maxFlushes)
    }

    /// Enqueues one job.
    @discardableResult
    public func enqueue(_ request: JobRequest) async throws -> EnqueueOutcome {
        try await enqueue([request])[0]
    }

    /// Enqueues several jobs in one atomic step, sharing the round trip with concurrent callers.
    @discardableResult
    public func enqueue(_ requests: [JobRequest]) async throws -> [EnqueueOutcome] {
        try await withCheckedThrowingContinuation { continuation in
            enqueue(requests) { continuation.resume(with: $0) }
        }
    }

    /// The same for code that is not async (the ingress answers webhooks from a NIO channel
    /// handler): returns at once, and `completion` runs exactly once, on a Redis pool thread, when
    /// Redis has answered or failed (at once, on the caller's thread, for no requests or an
    /// envelope that cannot be encoded). The envelopes are encoded here, by the caller, so the
    /// flush does only the Redis I/O. Hop to your own thread inside it and return quickly: the
    /// other requests of the same round trip are completed after it.
    public func enqueue(_ requests: [JobRequest], completion: @escaping Completion) {
        enqueue(requests, startingFlushWith: nil, completion: completion)
    }

    /// The same, but a round trip this call would start is started by `schedule` instead: the
    /// ingress passes its event loop's `execute`, so every delivery read in one turn of the loop
    /// joins one round trip, started once the turn's reads are done, rather than the first of them
    /// leaving alone. Calls made while a start is already scheduled just join it, so `schedule`
    /// must run what it is given (an event loop that lives as long as the queue does).
    public func enqueue(_ requests: [JobRequest], startingFlushWith schedule: (@Sendable (@escaping @Sendable () -> Void) -> Void)?,
                        completion: @escaping Completion) {
        guard !requests.isEmpty else { return completion(.success([])) }
        do {
            let (call, ids) = try queue.enqueueCall(requests)
            wait(Waiter(call: call, ids: ids, repeatable: requests.allSatisfy { $0.dedupeKey != nil }, completion: completion), schedule: schedule)
        } catch {
            completion(.failure(error))
        }
    }

    private enum Start {
        case none, now, scheduled
    }

    private func wait(_ waiter: Waiter, schedule: (@Sendable (@escaping @Sendable () -> Void) -> Void)?) {
        let start = pending.withLock { state -> Start in
            state.waiting.append(waiter)
            guard state.flushing < maxFlushes else { return .none }
            guard schedule != nil else {
                state.flushing += 1
                return .now
            }
            if state.startScheduled { return .none }
            state.startScheduled = true
            return .scheduled
        }
        switch start {
        case .none: break
        case .now: scheduleFlush()
        case .scheduled: schedule?({ self.startScheduledFlush() })
        }
    }

    /// A scheduled start: one round trip for everything waiting, unless the flushes in flight
    /// are already at ``maxFlushes`` (the next of them to finish takes it).
    private func startScheduledFlush() {
        let start = pending.withLock { state -> Bool in
            state.startScheduled = false
            guard !state.waiting.isEmpty, state.flushing < maxFlushes else { return false }
            state.flushing += 1
            return true
        }
        if start { scheduleFlush() }
    }

    /// Queues one flush on a Redis pool thread.
    private func scheduleFlush() {
        guard redis.submit({ connection in self.flush(connection) }) else {
            // The client is shut down: nothing more can be stored.
            let stranded = pending.withLock { state in
                state.flushing -= 1
                defer { state.waiting.removeAll() }
                return state.waiting
            }
            for waiter in stranded { waiter.completion(.failure(BlockingPoolError.shutDown)) }
            return
        }
    }

    /// Runs on a pool thread: sends everything waiting as one script call and completes each
    /// waiter with its own slice of the reply. When more requests arrived meanwhile, this thread
    /// goes on with them (it is awake and holds a connection: handing over to another pool thread
    /// cost a wake-up and a context switch per round trip), for up to ``roundsPerFlush`` round
    /// trips; then the next flush is queued behind whatever else waits for the pool (health
    /// checks, other commands). Up to ``maxFlushes`` run at once.
    private func flush(_ connection: Result<RedisConnection, any Error>) {
        for round in 1... {
            let batch = pending.withLock { state in
                let batch = state.waiting
                state.waiting.removeAll(keepingCapacity: true)
                if batch.isEmpty { state.flushing -= 1 }
                return batch
            }
            if batch.isEmpty { return }
            send(batch, on: connection)
            let more = pending.withLock { state in
                if state.waiting.isEmpty { state.flushing -= 1 }
                return !state.waiting.isEmpty
            }
            guard more else { return }
            // A connection that could not be opened is not retried here: the pool opens a new
            // one for the next flush.
            if round >= Self.roundsPerFlush || (try? connection.get()) == nil { return scheduleFlush() }
        }
    }

    /// How many round trips one pool thread makes in a row while requests keep arriving.
    static let roundsPerFlush = 32

    private func send(_ batch: [Waiter], on connection: Result<RedisConnection, any Error>) {
        // One script call for the whole batch; each waiter gets its own slice of the flags.
        let merged = Queue.mergeEnqueueCalls(batch.map(\.call))
        let repeatable = batch.allSatisfy(\.repeatable)
        let reply = Result { () throws -> RedisReply in
            let connection = try connection.get()
            do {
                return try connection.evaluate(merged.script, keys: merged.keys, arguments: merged.arguments)
            } catch RedisError.connectionLost where repeatable {
                // A pooled connection whose server went away since its last use (a restart): the
                // same call once more, on the fresh connection this one opens now. Safe because
                // every job carries a dedupe key: had the first attempt reached Redis, the second
                // would find its jobs there.
                return try connection.evaluate(merged.script, keys: merged.keys, arguments: merged.arguments)
            }
        }
        for (waiter, outcomes) in zip(batch, Queue.enqueueOutcomes(merged: reply, ids: batch.map(\.ids))) {
            waiter.completion(outcomes)
        }
    }

    /// Depths, ages and counters.
    public func stats() async throws -> QueueStats {
        let queue = self.queue
        return try await redis.withConnection { connection in try queue.stats(on: connection) }
    }
}
