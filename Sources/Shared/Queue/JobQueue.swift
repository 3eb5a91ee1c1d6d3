/// The queue for async code (the ingress, the scheduler, the CLI's async parts): each call runs on
/// a ``RedisClient`` pool thread.
///
/// ```swift
/// let jobs = JobQueue(redis: redis, queue: queue)
/// let outcome = try await jobs.enqueue(JobRequest(type: "sync.run", payload: ["resource": "customers"], priority: .high))
/// ```
public final class JobQueue: Sendable {
    public let queue: Queue
    public let redis: RedisClient

    public init(redis: RedisClient, queue: Queue) {
        self.redis = redis
        self.queue = queue
    }

    /// Enqueues one job.
    @discardableResult
    public func enqueue(_ request: JobRequest) async throws -> EnqueueOutcome {
        try await enqueue([request])[0]
    }

    /// Enqueues several jobs in one atomic step.
    @discardableResult
    public func enqueue(_ requests: [JobRequest]) async throws -> [EnqueueOutcome] {
        let queue = self.queue
        return try await redis.withConnection { connection in try queue.enqueue(requests, on: connection) }
    }

    /// Depths, ages and counters.
    public func stats() async throws -> QueueStats {
        let queue = self.queue
        return try await redis.withConnection { connection in try queue.stats(on: connection) }
    }
}
