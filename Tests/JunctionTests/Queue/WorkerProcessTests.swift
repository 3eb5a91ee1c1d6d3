import Foundation
import JunctionCore
import JunctionQueue
import Testing

/// Real `junction-worker` processes against real Redis and PostgreSQL.
@Suite("Worker processes")
struct WorkerProcessTests {
    static func startWorker(_ stack: TestStack, queue: Queue, database: PostgresConfiguration? = nil, _ extra: [String: String] = [:]) async throws -> ChildProcess {
        let worker = try ChildProcess(junction: "junction-worker", environment: QueueKit.environment(stack, queue: queue, database: database, extra))
        try await worker.waitForLine(containing: "\"msg\":\"worker started\"")
        return worker
    }

    static func stats(_ stack: TestStack, _ queue: Queue) async throws -> QueueStats {
        try await TestStack.onThread { try queue.stats(on: try RedisConnection(stack.redis)) }
    }

    static func enqueue(_ stack: TestStack, _ queue: Queue, _ requests: [JobRequest]) async throws -> [EnqueueOutcome] {
        try await TestStack.onThread { try queue.enqueue(requests, on: try RedisConnection(stack.redis)) }
    }

    @Test func jobOfAWorkerKilledMidJobCompletesExactlyOnceAfterItsLeaseExpires() async throws {
        let stack = try await TestStack.shared()
        let queue = QueueKit.queue()
        let settings = ["JUNCTION_WORKER_LEASE": "1s", "JUNCTION_WORKER_CONCURRENCY": "1"]
        let doomed = try await Self.startWorker(stack, queue: queue, settings)
        // Long enough that the kill lands while the job runs, even on a loaded CI machine.
        _ = try await Self.enqueue(stack, queue, [QueueKit.request(["sleep_ms": 4000])])
        try await QueueKit.eventually("the job is running") { try await Self.stats(stack, queue).inflight == 1 }
        #expect(try await doomed.stop(signal: SIGKILL) == 128 + SIGKILL)

        let survivor = try await Self.startWorker(stack, queue: queue, settings)
        try await QueueKit.eventually("the job completed") { try await Self.stats(stack, queue).counters["processed"] == 1 }
        let stats = try await Self.stats(stack, queue)
        #expect(stats.inflight == 0 && stats.ready.values.reduce(0, +) == 0 && stats.dead == 0)
        #expect(stats.counters["processed"] == 1)
        // Logged before the job ran again, but read from the process's output a moment later.
        try await survivor.waitForLine(containing: "recovered jobs whose lease expired")
        #expect(try await survivor.stop() == 0)
    }

    /// The acknowledgement of finished jobs rides on the next fetch. When Redis answers that
    /// acknowledgement with an error, the jobs the same round trip leased still run at once: they
    /// are not left leased to nobody until their lease (here a minute) runs out.
    @Test func jobsFetchedWithARefusedAcknowledgementStillRunAtOnce() async throws {
        let stack = try await TestStack.shared()
        let queue = QueueKit.queue()
        let keys = queue.settings.keys
        let redis: @Sendable () throws -> RedisConnection = { try RedisConnection(stack.redis) }
        let worker = try await Self.startWorker(stack, queue: queue, ["JUNCTION_WORKER_LEASE": "60s", "JUNCTION_WORKER_CONCURRENCY": "1"])
        // The acknowledgement script is the only one that writes the recoveries hash on this
        // path: a string there makes Redis refuse every acknowledgement (WRONGTYPE).
        try await TestStack.onThread { _ = try redis().command("SET", RedisArgument(keys.recoveries), "not-a-hash") }
        // The processor leases one job at a time at first: it runs the first, and the round trip
        // that acknowledges it (refused) leases the second.
        let ids = try await Self.enqueue(stack, queue, [QueueKit.request(), QueueKit.request()]).compactMap { outcome -> String? in
            if case .enqueued(let id) = outcome { return id }
            return nil
        }
        #expect(ids.count == 2)
        try await QueueKit.eventually("both jobs ran, the second fetched along with a refused acknowledgement", limit: .seconds(20)) {
            try await TestStack.onThread {
                let connection = try redis()
                let bodies = try ids.map { try connection.command("HEXISTS", RedisArgument(keys.jobs), RedisArgument($0)).int() }
                let inflight = try queue.stats(on: connection).inflight
                return bodies == [0, 0] && inflight == 0
            }
        }
        try await TestStack.onThread { _ = try redis().command("DEL", RedisArgument(keys.recoveries)) }
        _ = try await Self.enqueue(stack, queue, [QueueKit.request()])
        try await QueueKit.eventually("jobs are acknowledged again once Redis takes the acknowledgement", limit: .seconds(20)) {
            try await Self.stats(stack, queue).counters["processed"] == 1
        }
        #expect(try await worker.stop() == 0)
        #expect(worker.lines.contains { $0.contains("Redis refused the acknowledgement of finished jobs") && $0.contains("WRONGTYPE") })
        #expect(!worker.lines.contains { $0.contains("cannot reach Redis") }, "Redis was reachable all along, and the log says so")
    }

    @Test func sigtermLetsTheRunningJobFinishBeforeExiting() async throws {
        let stack = try await TestStack.shared()
        let queue = QueueKit.queue()
        let worker = try await Self.startWorker(stack, queue: queue, ["JUNCTION_WORKER_CONCURRENCY": "1", "JUNCTION_LOG_LEVEL": "debug"])
        // Long enough that the SIGTERM is handled while it runs, even on a loaded CI machine (a
        // 1 s job once finished first there, and the worker then took the second job; so did a
        // 3 s one in a clean-clone run beside other tests).
        _ = try await Self.enqueue(stack, queue, [QueueKit.request(["sleep_ms": 10000])])
        // Started, not only leased: a job leased but not yet begun when SIGTERM lands is handed
        // back unstarted, as it should be (that happened here on a loaded machine).
        try await worker.waitForLine(containing: "\"msg\":\"job started\"")
        _ = try await Self.enqueue(stack, queue, [QueueKit.request()])
        #expect(try await worker.stop(signal: SIGTERM) == 0)
        #expect(worker.lines.contains { $0.contains("stopping: fetching no more jobs") })
        let stats = try await Self.stats(stack, queue)
        #expect(stats.counters["processed"] == 1, "the running job finished and was acknowledged")
        #expect(stats.inflight == 0)
        #expect(stats.ready[.normal] == 1, "the job not yet started waits for the next worker")
    }

    @Test func jobStillRunningWhenTheGraceEndsIsHandedBackAtOnce() async throws {
        let stack = try await TestStack.shared()
        let queue = QueueKit.queue()
        let worker = try await Self.startWorker(stack, queue: queue, ["JUNCTION_WORKER_SHUTDOWN_GRACE": "300ms", "JUNCTION_WORKER_CONCURRENCY": "1"])
        _ = try await Self.enqueue(stack, queue, [QueueKit.request(["sleep_ms": 60_000])])
        try await QueueKit.eventually("the job is running") { try await Self.stats(stack, queue).inflight == 1 }
        #expect(try await worker.stop(signal: SIGTERM) == 0)
        let stats = try await Self.stats(stack, queue)
        #expect(stats.inflight == 0)
        #expect(stats.ready[.normal] == 1, "back on its list, not waiting for a lease to expire")
        #expect(worker.lines.contains { $0.contains("grace period over: handed running jobs back") })
    }

    @Test func jobWhoseLeaseCannotBeRenewedIsStopped() async throws {
        let stack = try await TestStack.ownRedis()
        defer { Task { try await stack.down() } }
        let queue = QueueKit.queue()
        let worker = try await Self.startWorker(stack, queue: queue, [
            "JUNCTION_WORKER_LEASE": "1s", "JUNCTION_WORKER_CONCURRENCY": "1", "JUNCTION_WORKER_SHUTDOWN_GRACE": "300ms",
        ])
        _ = try await Self.enqueue(stack, queue, [QueueKit.request(["sleep_ms": 60_000])])
        try await QueueKit.eventually("the job is running") { try await Self.stats(stack, queue).inflight == 1 }
        try await stack.stop(.redis)
        try await worker.waitForLine(containing: "could not renew a job's lease before it ran out; stopping it")
        try await worker.waitForLine(containing: "job stopped: its lease was lost or the worker is shutting down")
        try await stack.start(.redis)
        #expect(try await worker.stop() == 0)
    }

    @Test func failingJobIsRetriedThenDeadLetteredWithItsHistory() async throws {
        let stack = try await TestStack.shared()
        let queue = QueueKit.queue()
        let worker = try await Self.startWorker(stack, queue: queue, ["JUNCTION_RETRY_NORMAL": "3/50ms", "JUNCTION_QUEUE_MAINTENANCE_INTERVAL": "50ms"])
        let outcome = try await Self.enqueue(stack, queue, [QueueKit.request(["fail": true])])
        guard case .enqueued(let id) = outcome[0] else { throw StackError("not enqueued") }
        try await QueueKit.eventually("the job is dead") { try await Self.stats(stack, queue).dead == 1 }
        let letter = try await TestStack.onThread { try queue.deadLetter(id: id, on: try RedisConnection(stack.redis)) }
        #expect(letter?.envelope.errors.map(\.attempt) == [1, 2, 3])
        #expect(letter?.envelope.errors.allSatisfy { $0.errorClass == .retryable && $0.message == "system.noop was asked to fail" } == true)
        #expect(try await Self.stats(stack, queue).counters["retried"] == 2)
        #expect(try await worker.stop() == 0)
    }

    @Test func workersReconnectAfterRedisRestartsAndLoseNothing() async throws {
        let stack = try await TestStack.ownRedis()
        defer { Task { try await stack.down() } }
        let queue = QueueKit.queue()
        let workers = [
            try await Self.startWorker(stack, queue: queue, ["JUNCTION_WORKER_CONCURRENCY": "2", "JUNCTION_WORKER_LEASE": "2s"]),
            try await Self.startWorker(stack, queue: queue, ["JUNCTION_WORKER_CONCURRENCY": "2", "JUNCTION_WORKER_LEASE": "2s"]),
        ]
        _ = try await Self.enqueue(stack, queue, Array(repeating: QueueKit.request(["sleep_ms": 2]), count: 1500))
        try await QueueKit.eventually("work is under way") { (try await Self.stats(stack, queue).counters["processed"] ?? 0) > 100 }
        try await stack.stop(.redis)
        try await QueueKit.eventually("both workers notice Redis is gone") {
            workers.allSatisfy { worker in worker.lines.contains { $0.contains("cannot reach Redis; retrying") } }
        }
        try await stack.start(.redis)
        try await QueueKit.eventually("every job is done", limit: .seconds(120)) {
            let stats = try await Self.stats(stack, queue)
            return stats.counters["processed"] == 1500 && stats.inflight == 0
        }
        let stats = try await Self.stats(stack, queue)
        #expect(stats.ready.values.reduce(0, +) == 0 && stats.delayed == 0 && stats.dead == 0)
        for worker in workers {
            #expect(worker.lines.contains { $0.contains("cannot reach Redis; retrying") }, "each worker saw Redis go away")
            #expect(try await worker.stop() == 0)
        }
    }

    @Test func sameWebhookJobDeliveredTwiceLeavesOneRow() async throws {
        let stack = try await TestStack.shared()
        let database = try await stack.migratedDatabase()
        let queue = QueueKit.queue()
        let worker = try await Self.startWorker(stack, queue: queue, database: database)
        let body = #"{"id":"evt_1","type":"customer.updated"}"#
        let payload: JSONValue = [
            "provider": "stripe", "event_id": "evt_1", "event_type": "customer.updated", "content_type": "application/json",
            "body_base64": .string(Data(body.utf8).base64EncodedString()), "headers": ["stripe-webhook-id": "wh_1"],
        ]
        let job = JobRequest(type: "webhook.process", payload: payload, priority: .critical, tenant: "venue-7")
        _ = try await Self.enqueue(stack, queue, [job, job])
        try await QueueKit.eventually("both deliveries are processed") { try await Self.stats(stack, queue).counters["processed"] == 2 }
        let rows = try await TestStack.onThread {
            try PostgresConnection(database).query("SELECT event_type, tenant, outcome, body, processed_at IS NOT NULL AS processed FROM webhook_events WHERE provider = 'stripe'").rows
        }
        #expect(rows.count == 1)
        let row = try #require(rows.first)
        #expect(try row.decode("event_type", as: String.self) == "customer.updated")
        #expect(try row.decode("tenant", as: String.self) == "venue-7")
        #expect(try row.decode("outcome", as: String.self) == "stored")
        #expect(try row.decode("body", as: [UInt8].self) == Array(body.utf8))
        #expect(try row.decode("processed", as: Bool.self))
        #expect(try await worker.stop() == 0)
    }

    @Test func webhookJobWithoutAnEventIDIsDeadAtOnce() async throws {
        let stack = try await TestStack.shared()
        let database = try await stack.migratedDatabase()
        let queue = QueueKit.queue()
        let worker = try await Self.startWorker(stack, queue: queue, database: database)
        _ = try await Self.enqueue(stack, queue, [JobRequest(type: "webhook.process", payload: ["provider": "stripe"], priority: .critical)])
        try await QueueKit.eventually("the job is dead") { try await Self.stats(stack, queue).dead == 1 }
        let letter = try await TestStack.onThread { try queue.deadLetters(on: try RedisConnection(stack.redis), limit: 1).first }
        #expect(letter?.envelope.errors.map(\.errorClass) == [.permanent])
        #expect(letter?.envelope.errors.first?.message == "webhook.process payload has no event_id")
        #expect(try await worker.stop() == 0)
    }

    @Test func workerRefusesARedisThatEvictsKeys() async throws {
        let stack = try await TestStack.dedicated(.redis)
        defer { Task { try await stack.down() } }
        try await TestStack.onThread { try RedisConnection(stack.redis).command("CONFIG", "SET", "maxmemory-policy", "allkeys-lru") }
        let shared = try await TestStack.shared()
        let worker = try ChildProcess(junction: "junction-worker", environment: QueueKit.environment(
            TestStack(directory: nil, redis: stack.redis, database: shared.database), queue: QueueKit.queue()))
        #expect(try await worker.exitStatus() == 1)
        #expect(worker.standardError.contains("Redis maxmemory-policy is allkeys-lru"))
        #expect(worker.standardError.contains("maxmemory-policy noeviction"))
    }
}
