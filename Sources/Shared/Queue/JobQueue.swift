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
/// let jobs = JobQueue(redis: redis, queue: queue)
/// let outcome = try await jobs.enqueue(JobRequest(type: "sync.run", payload: ["resource": "customers"], priority: .high))
/// ```
public final class JobQueue: Sendable {
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
        var continuation: CheckedContinuation<[EnqueueOutcome], any Error>
    }

    private struct Pending {
        var waiting: [Waiter] = []
        var flushing = 0
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
        guard !requests.isEmpty else { return [] }
        // The envelopes are encoded here, by the caller, so the flush does only the Redis I/O.
        let (call, ids) = try queue.enqueueCall(requests)
        return try await withCheckedThrowingContinuation { continuation in
            let startFlush = pending.withLock { state -> Bool in
                state.waiting.append(Waiter(call: call, ids: ids, repeatable: requests.allSatisfy { $0.dedupeKey != nil }, continuation: continuation))
                guard state.flushing < maxFlushes else { return false }
                state.flushing += 1
                return true
            }
            if startFlush {
                Task { await self.flush() }
            }
        }
    }

    /// Sends everything waiting, again and again until nothing waits. Up to ``maxFlushes`` run at
    /// once, so the next batch is on its way while Redis answers the previous one.
    private func flush() async {
        while true {
            let batch = pending.withLock { state in
                let batch = state.waiting
                state.waiting.removeAll(keepingCapacity: true)
                if batch.isEmpty { state.flushing -= 1 }
                return batch
            }
            if batch.isEmpty { return }
            // One script call for the whole batch; each waiter gets its own slice of the flags.
            let merged = Queue.mergeEnqueueCalls(batch.map(\.call))
            let repeatable = batch.allSatisfy(\.repeatable)
            let reply: Result<RedisReply, any Error>
            do {
                reply = .success(try await redis.withConnection { connection in
                    do {
                        return try connection.evaluate(merged.script, keys: merged.keys, arguments: merged.arguments)
                    } catch RedisError.connectionLost where repeatable {
                        // A pooled connection whose server went away since its last use (a
                        // restart): the same call once more, on the fresh connection this one
                        // opens now. Safe because every job carries a dedupe key: had the first
                        // attempt reached Redis, the second would find its jobs there.
                        return try connection.evaluate(merged.script, keys: merged.keys, arguments: merged.arguments)
                    }
                })
            } catch {
                reply = .failure(error)
            }
            var offset = 0
            for waiter in batch {
                let range = offset..<(offset + waiter.ids.count)
                offset = range.upperBound
                waiter.continuation.resume(with: reply.flatMap { reply in
                    Result {
                        let flags = try reply.array()
                        guard flags.count >= range.upperBound else {
                            throw RedisError.unexpectedReply(expected: "\(range.upperBound) enqueue results", got: reply)
                        }
                        return try Queue.enqueueOutcomes(.array(Array(flags[range])), ids: waiter.ids)
                    }
                })
            }
        }
    }

    /// Depths, ages and counters.
    public func stats() async throws -> QueueStats {
        let queue = self.queue
        return try await redis.withConnection { connection in try queue.stats(on: connection) }
    }
}
