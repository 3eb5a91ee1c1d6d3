import Foundation
import JunctionCore
import JunctionQueue
import JunctionWorker
import Testing

/// The `junction` CLI's queue commands, as on-call uses them.
@Suite("Queue CLI")
struct QueueCommandTests {
    static func junction(_ stack: TestStack, _ queue: Queue, _ arguments: [String]) async throws -> ChildProcess {
        let process = try ChildProcess(junction: "junction", arguments: arguments, environment: QueueKit.environment(stack, queue: queue))
        _ = try await process.exitStatus()
        return process
    }

    @Test func enqueueThenStatsShowsTheDepthPerPriority() async throws {
        let stack = try await TestStack.shared()
        let queue = QueueKit.queue()
        let enqueued = try await Self.junction(stack, queue, ["jobs", "enqueue", "system.noop", "--payload", #"{"sleep_ms": 1}"#, "--priority", "low", "--count", "1500"])
        #expect(try await enqueued.exitStatus() == 0)
        #expect(enqueued.lines == ["enqueued 1500 system.noop jobs"])
        let stats = try await Self.junction(stack, queue, ["queue", "stats", "--json"])
        let object = try #require(try JSONSerialization.jsonObject(with: Data(stats.standardOutput.utf8)) as? [String: Any])
        #expect((object["ready"] as? [String: Int])?["low"] == 1500)
        #expect((object["counters"] as? [String: Int])?["enqueued"] == 1500)
        #expect((object["oldest_ready_age_ms"] as? [String: Int])?["low"] != nil)
        let table = try await Self.junction(stack, queue, ["queue", "stats"])
        #expect(table.lines.contains { $0.hasPrefix("low") && $0.contains("1500") })
    }

    @Test func deadLetterListShowReplayAndPurge() async throws {
        let stack = try await TestStack.shared()
        let queue = QueueKit.queue()
        let id = try await TestStack.onThread { () -> String in
            let redis = try RedisConnection(stack.redis)
            try queue.enqueue([JobRequest(type: "sync.run", payload: ["resource": "customers"])], on: redis)
            let job = try #require(try QueueKit.fetch(queue, 1, on: redis).first)
            let (next, end, _) = Retries(settings: queue.settings).end(job.envelope, error: JobFailure.permanent("No such customer"))
            try queue.end(next, token: job.token, as: end, on: redis)
            return job.envelope.id
        }
        let list = try await Self.junction(stack, queue, ["dlq", "list", "--type", "sync.run"])
        #expect(list.lines.count == 1)
        #expect(list.lines.first?.contains("\(id)  sync.run  attempt 1/3  permanent: No such customer") == true)
        let show = try await Self.junction(stack, queue, ["dlq", "show", id])
        #expect(try await show.exitStatus() == 0)
        #expect(show.standardOutput.contains("\"message\" : \"No such customer\""))

        let missing = try await Self.junction(stack, queue, ["dlq", "show", "no-such-id"])
        #expect(try await missing.exitStatus() == 66)
        #expect(missing.standardError.contains("no dead letter with id no-such-id"))

        let replay = try await Self.junction(stack, queue, ["dlq", "replay", id])
        #expect(replay.lines == ["replayed \(id)"])
        let replayed = try await TestStack.onThread { try QueueKit.fetch(queue, 1, on: try RedisConnection(stack.redis)).first?.envelope }
        #expect(replayed?.id == id && replayed?.attempt == 1)

        let refused = try await Self.junction(stack, queue, ["dlq", "purge"])
        #expect(try await refused.exitStatus() == 64, "purging everything needs --all")
        let purge = try await Self.junction(stack, queue, ["dlq", "purge", "--all"])
        #expect(purge.lines == ["purged 0"])
    }

    @Test func payloadThatIsNotJSONIsADataError() async throws {
        let stack = try await TestStack.shared()
        let process = try await Self.junction(stack, QueueKit.queue(), ["jobs", "enqueue", "system.noop", "--payload", "{sleep_ms: 1"])
        #expect(try await process.exitStatus() == 65)
        #expect(process.standardError.contains("--payload is not valid JSON"))
    }

    @Test func unreachableRedisIsExitStatus69() async throws {
        let stack = try await TestStack.shared()
        let process = try ChildProcess(junction: "junction", arguments: ["queue", "stats"], environment: [
            "JUNCTION_REDIS_URL": "redis://127.0.0.1:\(try closedPort())/0", "JUNCTION_DATABASE_URL": stack.database.url,
        ])
        #expect(try await process.exitStatus() == 69)
        #expect(process.standardError.contains("cannot connect to Redis"))
    }
}
