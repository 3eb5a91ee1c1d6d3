import Synchronization

/// The queue for async code (the ingress, the CLI's async parts): each call runs on a
/// ``RedisClient`` pool thread.
///
/// Enqueues are **group-committed**: requests that arrive while a flush is in flight wait for the
/// next one, which sends all of them to Redis in one pipelined round trip, one atomic script call
/// per request, and resumes each caller with its own outcome. Under load a round trip carries many
/// requests; an idle queue sends each at once.
///
/// ```swift
/// let jobs = JobQueue(redis: redis, queue: queue)
/// let outcome = try await jobs.enqueue(JobRequest(type: "sync.run", payload: ["resource": "customers"], priority: .high))
/// ```
public final class JobQueue: Sendable {
    public let queue: Queue
    public let redis: RedisClient
    private let pending = Mutex(Pending())

    private struct Pending {
        var waiting: [(requests: [JobRequest], continuation: CheckedContinuation<[EnqueueOutcome], any Error>)] = []
        var flushing = false
    }

    public init(redis: RedisClient, queue: Queue) {
        self.redis = redis
        self.queue = queue
    }

    /// Enqueues one job.
    @discardableResult
    public func enqueue(_ request: JobRequest) async throws -> EnqueueOutcome {
        try await enqueue([request])[0]
    }

    /// Enqueues several jobs in one atomic step, sharing the round trip with concurrent callers.
    @discardableResult
    public func enqueue(_ requests: [JobRequest]) async throws -> [EnqueueOutcome] {
        guard !requests.isEmpty else { return [] }
        return try await withCheckedThrowingContinuation { continuation in
            let startFlush = pending.withLock { state -> Bool in
                state.waiting.append((requests, continuation))
                guard !state.flushing else { return false }
                state.flushing = true
                return true
            }
            if startFlush {
                Task { await self.flush() }
            }
        }
    }

    /// Sends everything waiting, again and again until nothing waits.
    private func flush() async {
        while true {
            let batch = pending.withLock { state in
                let batch = state.waiting
                state.waiting.removeAll(keepingCapacity: true)
                if batch.isEmpty { state.flushing = false }
                return batch
            }
            if batch.isEmpty { return }
            let queue = self.queue
            let requests = batch.map(\.requests)
            let results: [Result<[EnqueueOutcome], any Error>]
            do {
                results = try await redis.withConnection { connection in
                    let calls = try requests.map { try queue.enqueueCall($0) }
                    let replies = try connection.evaluate(calls.map(\.call))
                    return zip(replies, calls).map { reply, call in Result { try Queue.enqueueOutcomes(reply, ids: call.ids) } }
                }
            } catch {
                results = Array(repeating: .failure(error), count: batch.count)
            }
            for (waiter, result) in zip(batch, results) {
                waiter.continuation.resume(with: result)
            }
        }
    }

    /// Depths, ages and counters.
    public func stats() async throws -> QueueStats {
        let queue = self.queue
        return try await redis.withConnection { connection in try queue.stats(on: connection) }
    }
}
