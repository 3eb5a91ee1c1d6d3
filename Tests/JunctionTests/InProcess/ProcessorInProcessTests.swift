import Foundation
import JunctionCoordination
import JunctionCore
import JunctionQueue
import JunctionWorker
import Logging
import Synchronization
import Testing

/// A worker processor run on a thread of this process against real Redis: fetch, run, settle,
/// with handlers the test defines, so the processor's decisions show in a second.
@Suite("Processor in-process")
struct ProcessorInProcessTests {
    /// Records the jobs it ran; throws what the payload's `throw` asks for.
    struct RecordingHandler: JobHandler {
        let type = "test.record"
        let seen = Seen()

        final class Seen: Sendable {
            private let ids = Mutex<[String]>([])
            func append(_ id: String) { ids.withLock { $0.append(id) } }
            var all: [String] { ids.withLock { $0 } }
        }

        func run(_ job: JobContext) throws {
            seen.append(job.envelope.id)
            switch job.payload["throw"]?.stringValue {
            case "unauthorized": throw JobFailure.unauthorized("stripe answered 401: Invalid API Key provided")
            case "retryable": throw JobFailure.retryable("sandbox answered 503")
            default: return
            }
        }
    }

    /// Runs one processor over `queue` with `handler` until `body` returns.
    static func withProcessor(_ queue: Queue, _ handler: RecordingHandler, _ body: () async throws -> Void) async throws {
        let stack = try await TestStack.shared()
        let environment = EnvironmentVariables(QueueKit.environment(stack, queue: queue))
        let stopping = CancellationFlag()
        let context = ProcessorContext(
            queue: queue, coordination: QueueKit.coordination(queue), handlers: HandlerRegistry([handler]),
            settings: try WorkerSettings(environment: environment), core: try CoreSettings(environment: environment, processName: "junction-worker"),
            stopping: stopping, workerID: "in-process", logger: Logger(label: "test.processor"))
        // The processor's own thread, as a worker gives it one; it returns once `stopping` is set
        // (within its one-second wait for work).
        let exited = DispatchGroup()
        exited.enter()
        Thread {
            Processor(index: 0, context: context).run()
            exited.leave()
        }.start()
        func stop() async {
            stopping.set()
            await withCheckedContinuation { (done: CheckedContinuation<Void, Never>) in exited.notify(queue: .global()) { done.resume() } }
        }
        do {
            try await body()
        } catch {
            await stop()
            throw error
        }
        await stop()
    }

    @Test func jobsAreRunOnceAndAcknowledged() async throws {
        let stack = try await TestStack.shared()
        let queue = QueueKit.queue()
        let handler = RecordingHandler()
        let ids = try await TestStack.onThread {
            try queue.enqueue((0..<25).map { _ in JobRequest(type: "test.record") }, on: try RedisConnection(stack.redis))
        }.compactMap { outcome -> String? in
            if case .enqueued(let id) = outcome { return id }
            return nil
        }
        try await Self.withProcessor(queue, handler) {
            try await QueueKit.eventually("every job acknowledged", limit: .seconds(20)) {
                try await WorkerProcessTests.stats(stack, queue).counters["processed"] == 25
            }
        }
        #expect(handler.seen.all.sorted() == ids.sorted(), "each job ran exactly once")
        let stats = try await WorkerProcessTests.stats(stack, queue)
        #expect(stats.inflight == 0 && stats.ready.values.reduce(0, +) == 0 && stats.dead == 0)
    }

    @Test func refusedCredentialsGoToTheDeadLettersAtOnceClassedUnauthorized() async throws {
        let stack = try await TestStack.shared()
        let queue = QueueKit.queue()
        let handler = RecordingHandler()
        _ = try await TestStack.onThread {
            try queue.enqueue([JobRequest(type: "test.record", payload: ["throw": "unauthorized"], priority: .high)], on: try RedisConnection(stack.redis))
        }
        try await Self.withProcessor(queue, handler) {
            try await QueueKit.eventually("the job is dead", limit: .seconds(20)) { try await WorkerProcessTests.stats(stack, queue).dead == 1 }
        }
        #expect(handler.seen.all.count == 1, "no retry: the high priority's 3 attempts were not spent")
        let letter = try await TestStack.onThread { try queue.deadLetters(on: try RedisConnection(stack.redis), limit: 1).first }
        #expect(letter?.envelope.errors.map(\.errorClass) == [.unauthorized])
        #expect(letter?.raw.contains(#""class":"unauthorized""#) == true, "readable as such with redis-cli")
    }
}
