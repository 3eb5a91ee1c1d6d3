import Foundation
@testable import JunctionIngress
import JunctionCore
import JunctionQueue
import NIOCore
import NIOPosix
import Testing

/// The webhook path's group commit (#20): the deliveries an event loop reads in one turn are
/// stored by one script call on that loop's Redis connection, and each caller learns its own jobs'
/// outcomes from it.
@Suite("Event-loop enqueue")
struct EventLoopEnqueuerTests {
    /// Makes `calls` enqueue calls in one turn of an event loop, each of the given requests, and
    /// returns every completion's result, in the order of the calls.
    static func enqueueInOneTurn(_ calls: [[JobRequest]], queue: Queue, redis: RedisConfiguration) async throws -> [Result<[EnqueueOutcome], any Error>] {
        let eventLoop = MultiThreadedEventLoopGroup.singleton.next()
        return try await eventLoop.flatSubmit {
            let jobs = EventLoopEnqueuer(connection: EventLoopRedisConnection(eventLoop: eventLoop, configuration: redis), queue: queue)
            let promise = eventLoop.makePromise(of: [Result<[EnqueueOutcome], any Error>].self)
            var results = [Result<[EnqueueOutcome], any Error>?](repeating: nil, count: calls.count)
            var pending = calls.count
            for (index, requests) in calls.enumerated() {
                jobs.enqueue(requests) { result in
                    results[index] = result
                    pending -= 1
                    if pending == 0 {
                        jobs.connection.close()
                        promise.succeed(results.map { $0! })
                    }
                }
            }
            return promise.futureResult
        }.get()
    }

    /// `cmdstat_evalsha`'s call count in `INFO commandstats`.
    static func scriptCalls(_ redis: RedisConfiguration) async throws -> Int {
        let info = try await TestStack.onThread { try RedisConnection(redis).command("INFO", "commandstats").string() ?? "" }
        guard let line = info.split(whereSeparator: \.isNewline).first(where: { $0.hasPrefix("cmdstat_evalsha:") }),
              let calls = line.split(separator: ",").first?.split(separator: "=").last.flatMap({ Int($0) }) else { return 0 }
        return calls
    }

    @Test func callsMadeInOneTurnAreStoredByOneScriptCallAndEachGetsItsOwnOutcomes() async throws {
        // A Redis of its own, so that its command counts are this test's alone.
        let stack = try await TestStack.dedicated(.redis)
        defer { Task { try await stack.down() } }
        let queue = QueueKit.queue()
        // 300 calls of one or two jobs; every third call repeats the key of the call before it.
        let calls = (0..<300).map { index -> [JobRequest] in
            var first = QueueKit.request(["index": .integer(Int64(index))])
            first.dedupeKey = "event-\(index - (index % 3 == 2 ? 1 : 0))"
            guard index % 5 == 0 else { return [first] }
            var second = QueueKit.request(["index": .integer(Int64(index)), "second": .bool(true)], priority: .high)
            second.dedupeKey = "second-\(index)"
            return [first, second]
        }
        let before = try await Self.scriptCalls(stack.redis)
        let results = try await Self.enqueueInOneTurn(calls, queue: queue, redis: stack.redis)
        let scriptCalls = try await Self.scriptCalls(stack.redis) - before

        let outcomes = try results.map { try $0.get() }
        #expect(zip(outcomes, calls).allSatisfy { $0.count == $1.count }, "each call gets one outcome per job it sent")
        for (index, outcome) in outcomes.enumerated() {
            #expect((outcome[0] == .duplicate) == (index % 3 == 2), "call \(index): \(outcome)")
            if outcome.count == 2 { #expect(outcome[1] != .duplicate, "call \(index)") }
        }
        var ids = Set<String>()
        for case .enqueued(let id) in outcomes.joined() { ids.insert(id) }
        #expect(ids.count == 200 + 60, "a distinct id for every job stored")
        let stats = try await TestStack.onThread { try queue.stats(on: RedisConnection(stack.redis)) }
        #expect(stats.ready[.normal] == 200 && stats.ready[.high] == 60 && stats.counters["enqueued"] == 260)
        // The connection's setup may load the script (not EVALSHA); the calls of one turn are one.
        #expect(scriptCalls == 1, "the 300 calls of one turn went to Redis in \(scriptCalls) script calls")
    }

    @Test func aRedisThatCannotBeReachedFailsEveryWaitingCall() async throws {
        let stack = try await TestStack.dedicated(.redis)
        defer { Task { try await stack.down() } }
        try await stack.stop(.redis)
        let calls = (0..<20).map { index -> [JobRequest] in
            var request = QueueKit.request(["index": .integer(Int64(index))])
            request.dedupeKey = "event-\(index)"
            return [request]
        }
        let results = try await Self.enqueueInOneTurn(calls, queue: QueueKit.queue(), redis: stack.redis)
        let failed = results.filter { if case .failure = $0 { true } else { false } }.count
        #expect(failed == 20, "nobody is told a job was stored when it was not: \(results)")
    }
}
