import Foundation
import JunctionCore
import JunctionQueue
import Synchronization
import Testing

@Suite("Group-committed enqueue")
struct JobQueueTests {
    @Test func concurrentCallersEachGetTheirOwnOutcome() async throws {
        let stack = try await TestStack.shared()
        let queue = QueueKit.queue()
        let redis = RedisClient(stack.redis, connections: 2)
        let jobs = GroupCommitEnqueuer(redis: redis, queue: queue)
        // 300 concurrent callers; every third repeats the dedupe key of the one before it.
        let outcomes = try await withThrowingTaskGroup(of: (Int, EnqueueOutcome).self) { group in
            for index in 0..<300 {
                group.addTask {
                    var request = QueueKit.request(["index": .integer(Int64(index))])
                    request.dedupeKey = "event-\(index - (index % 3 == 2 ? 1 : 0))"
                    return (index, try await jobs.enqueue(request))
                }
            }
            return try await group.reduce(into: [Int: EnqueueOutcome]()) { $0[$1.0] = $1.1 }
        }
        #expect(outcomes.count == 300)
        let duplicates = outcomes.values.filter { $0 == .duplicate }.count
        #expect(duplicates == 100, "one of each pair sharing a key")
        var ids = Set<String>()
        for case .enqueued(let id) in outcomes.values { ids.insert(id) }
        #expect(ids.count == 200)
        let stats = try await jobs.stats()
        #expect(stats.ready[.normal] == 200 && stats.counters["enqueued"] == 200)
        await redis.shutdown()
    }

    /// The ingress defers the start of a round trip to the end of its event loop's turn: nothing
    /// is sent until the scheduled start runs, every call made meanwhile joins the one start, and
    /// then all of them are stored in one round trip and completed.
    @Test func aDeferredStartCollectsEveryCallUntilItRuns() async throws {
        let stack = try await TestStack.shared()
        let queue = QueueKit.queue()
        let redis = RedisClient(stack.redis, connections: 2)
        let jobs = GroupCommitEnqueuer(redis: redis, queue: queue)
        let scheduled = Mutex<[@Sendable () -> Void]>([])
        let outcomes = Mutex<[Result<[EnqueueOutcome], any Error>]>([])
        let allDone = AsyncStream<Void>.makeStream()
        for index in 0..<50 {
            jobs.enqueue([QueueKit.request(["index": .integer(Int64(index))])], startingFlushWith: { start in scheduled.withLock { $0.append(start) } }) { result in
                let count = outcomes.withLock { $0.append(result); return $0.count }
                if count == 50 { allDone.continuation.finish() }
            }
        }
        #expect(scheduled.withLock { $0.count } == 1, "one start for all fifty calls")
        #expect(outcomes.withLock { $0.isEmpty })
        #expect(try await jobs.stats().ready[.normal] == 0, "nothing is sent before the start runs")
        scheduled.withLock { $0 }.forEach { $0() }
        for await _ in allDone.stream {}
        let enqueued = outcomes.withLock { $0 }.compactMap { try? $0.get() }.flatMap { $0 }.filter { $0 != .duplicate }
        #expect(enqueued.count == 50)
        let stats = try await jobs.stats()
        #expect(stats.ready[.normal] == 50 && stats.counters["enqueued"] == 50)
        await redis.shutdown()
    }

    @Test func aRedisFailureReachesEveryWaitingCaller() async throws {
        let stack = try await TestStack.dedicated(.redis)
        defer { Task { try await stack.down() } }
        let redis = RedisClient(stack.redis, connections: 1)
        let jobs = GroupCommitEnqueuer(redis: redis, queue: QueueKit.queue())
        try await stack.stop(.redis)
        let failures = await withTaskGroup(of: Bool.self) { group in
            for _ in 0..<20 {
                group.addTask { (try? await jobs.enqueue(QueueKit.request())) == nil }
            }
            return await group.reduce(0) { $0 + ($1 ? 1 : 0) }
        }
        #expect(failures == 20, "nobody is told a job was stored when it was not")
        await redis.shutdown()
    }
}
