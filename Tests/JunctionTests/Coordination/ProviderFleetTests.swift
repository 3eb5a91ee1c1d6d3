import Foundation
import Hummingbird
import JunctionCoordination
import JunctionCore
import JunctionProviders
import JunctionQueue
import JunctionStores
import JunctionWorker
import Synchronization
import Testing

/// A provider stand-in that answers as told and records when each request arrived and ended.
final class FlakyProvider: Sendable {
    enum Mode: Sendable { case ok, fail(Int), slowOK(Duration), rateLimitedOnce(retryAfter: Int) }
    struct Call: Sendable {
        let start: ContinuousClock.Instant
        /// The same moment on the wall clock, to compare with log timestamps.
        let startDate: Date
        var end: ContinuousClock.Instant?
        let status: Int
    }

    private let state = Mutex<(mode: Mode, calls: [Call])>((.ok, []))

    var calls: [Call] { state.withLock { $0.calls } }
    func set(_ mode: Mode) { state.withLock { $0.mode = mode } }

    func router() -> Router<BasicRequestContext> {
        let router = Router()
        router.get("/**") { _, _ -> Response in
            let start = ContinuousClock.now
            let (mode, index) = self.state.withLock { state -> (Mode, Int) in
                var status = 200
                switch state.mode {
                case .fail(let code): status = code
                case .rateLimitedOnce: status = 429
                default: break
                }
                state.calls.append(Call(start: start, startDate: Date(), end: nil, status: status))
                let mode = state.mode
                if case .rateLimitedOnce = mode { state.mode = .ok }
                return (mode, state.calls.count - 1)
            }
            defer { self.state.withLock { $0.calls[index].end = ContinuousClock.now } }
            switch mode {
            case .ok: return Response(status: .ok)
            case .fail(let code): return Response(status: .init(code: code))
            case .slowOK(let delay):
                try await Task.sleep(for: delay)
                return Response(status: .ok)
            case .rateLimitedOnce(let seconds):
                return Response(status: .tooManyRequests, headers: [.retryAfter: "\(seconds)"])
            }
        }
        return router
    }
}

@Suite("Provider calls")
struct ProviderClientTests {
    @Test func clientErrorsKeepTheBreakerClosedServerErrorsOpenItAndAnOpenBreakerSendsNothing() async throws {
        let stack = try await TestStack.shared()
        let provider = FlakyProvider()
        let queue = QueueKit.queue()
        try await withLiveServer(provider.router()) { port in
            let settings = try coordinationSettings(["JUNCTION_PROVIDER_URL_STRIPE": "http://127.0.0.1:\(port)"])
            try await TestStack.onThread {
                let client = ProviderClient(QueueKit.coordination(queue), settings: settings, redis: try RedisConnection(stack.redis), logger: .init(label: "test"))
                let url = client.url(provider: "stripe", path: "/v1/customers")
                provider.set(.fail(404))
                for _ in 0..<10 { #expect(try client.send(OutboundRequest(url: url), provider: "stripe", connection: "acct_1").status == 404) }
                provider.set(.fail(503))
                for _ in 0..<3 { #expect(try client.send(OutboundRequest(url: url), provider: "stripe", connection: "acct_1").status == 503) }
                let sent = provider.calls.count
                #expect(throws: ProviderBackoff.self) { try client.send(OutboundRequest(url: url), provider: "stripe", connection: "acct_1") }
                #expect(provider.calls.count == sent, "an open breaker refuses before anything is sent")
                let breakers = CircuitBreakers(QueueKit.coordination(queue), settings: settings)
                let redis = try RedisConnection(stack.redis)
                #expect(try breakers.status("stripe", on: redis).state == .open)
                #expect(try breakers.status("stripe:acct_1", on: redis).state == .open)
            }
        }
    }

    @Test func a429PausesTheProviderAndTheCallIsRescheduledNotFailed() async throws {
        let stack = try await TestStack.shared()
        let provider = FlakyProvider()
        let queue = QueueKit.queue()
        try await withLiveServer(provider.router()) { port in
            let settings = try coordinationSettings(["JUNCTION_PROVIDER_URL_QUICKBOOKS": "http://127.0.0.1:\(port)"])
            try await TestStack.onThread {
                let client = ProviderClient(QueueKit.coordination(queue), settings: settings, redis: try RedisConnection(stack.redis), logger: .init(label: "test"))
                provider.set(.rateLimitedOnce(retryAfter: 30))
                let before = Date()
                let error = #expect(throws: ProviderBackoff.self) {
                    try client.send(OutboundRequest(url: client.url(provider: "quickbooks", path: "/v3/company/1/query")), provider: "quickbooks", connection: "realm-1")
                }
                #expect(error?.reason == .tooManyRequests)
                #expect((error?.retryAt.timeIntervalSince(before) ?? 0) >= 29)
                // Every caller of that provider waits now, without a request going out.
                #expect(throws: ProviderBackoff.self) {
                    try client.send(OutboundRequest(url: client.url(provider: "quickbooks", path: "/")), provider: "quickbooks", connection: "realm-2")
                }
                #expect(provider.calls.count == 1)
                // The worker turns it into a reschedule that spends no attempt.
                let envelope = queue.envelope(for: JobRequest(type: "provider.check", payload: [:], priority: .normal))
                let (next, end, _) = Retries(settings: queue.settings).end(envelope, error: error!)
                #expect(next.attempt == envelope.attempt && next.errors.isEmpty)
                guard case .reschedule = end else { Issue.record("not rescheduled: \(end)"); return }
            }
        }
    }
}

/// Several real worker processes sharing locks, breakers and limits through Redis.
@Suite("Fleet coordination")
struct FleetCoordinationTests {
    static func workers(_ count: Int, _ stack: TestStack, _ queue: Queue, database: PostgresConfiguration? = nil, _ extra: [String: String]) async throws -> [ChildProcess] {
        var started: [ChildProcess] = []
        for _ in 0..<count { started.append(try await WorkerProcessTests.startWorker(stack, queue: queue, database: database, extra)) }
        return started
    }

    static func stop(_ workers: [ChildProcess]) async throws {
        for worker in workers { #expect(try await worker.stop() == 0) }
    }

    static func logged(_ workers: [ChildProcess], _ message: String) -> [[String: Any]] {
        workers.flatMap(\.lines).filter { $0.contains("\"msg\":\"\(message)\"") }.compactMap {
            try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
        }
    }

    @Test func twoProcessesContendingForOneLockRunItsJobsOneAtATime() async throws {
        let stack = try await TestStack.shared()
        let queue = QueueKit.queue()
        let fleet = try await Self.workers(2, stack, queue, ["JUNCTION_WORKER_CONCURRENCY": "2", "JUNCTION_LOG_LEVEL": "debug"])
        _ = try await WorkerProcessTests.enqueue(stack, queue, (0..<6).map { _ in QueueKit.request(["lock": "sync:venue-1:stripe:customers", "sleep_ms": 100]) })
        try await QueueKit.eventually("all six ran") { try await WorkerProcessTests.stats(stack, queue).counters["processed"] == 6 }
        try await Self.stop(fleet)
        let taken = Self.logged(fleet, "lock taken")
        let releasing = Self.logged(fleet, "lock releasing")
        #expect(Set(taken.compactMap { $0["job_id"] as? String }).count == 6 && taken.count == 6, "each job held the lock exactly once")
        // Sorted by fence, each holder let go before the next one took it.
        func fence(_ line: [String: Any]) -> Int { Int(line["fence"] as? String ?? "") ?? -1 }
        let takes = taken.sorted { fence($0) < fence($1) }
        let fences = takes.map(fence)
        #expect(fences == Array(fences[0]...(fences[0] + 5)), "fences grow by one per holder: \(fences)")
        for (holder, next) in zip(takes, takes.dropFirst()) {
            let released = try #require(releasing.first { fence($0) == fence(holder) })
            #expect((released["ts"] as? String ?? "~") <= (next["ts"] as? String ?? ""), "fence \(fence(next)) taken before \(fence(holder)) let go")
        }
        #expect((try await WorkerProcessTests.stats(stack, queue).counters["rescheduled"] ?? 0) > 0, "the busy lock rescheduled jobs")
    }

    @Test func aJobWhoseLockIsLostIsStoppedAndRescheduled() async throws {
        let stack = try await TestStack.shared()
        let queue = QueueKit.queue()
        // A 3 s lease (and lock TTL), renewed every second: a renewal that a loaded CI machine
        // delays by more than a second does not lose the lock by itself (CI once saw a third
        // "lock taken" with a 1 s lease), while the deleted lock is still noticed within a second.
        let worker = try await WorkerProcessTests.startWorker(stack, queue: queue, [
            "JUNCTION_WORKER_LEASE": "3s", "JUNCTION_WORKER_CONCURRENCY": "1", "JUNCTION_LOG_LEVEL": "debug",
        ])
        // Long enough that the lock is deleted while the job runs, even on a loaded CI machine.
        _ = try await WorkerProcessTests.enqueue(stack, queue, [QueueKit.request(["lock": "sync:t2:hubspot:contacts", "sleep_ms": 4000])])
        try await worker.waitForLine(containing: "\"msg\":\"lock taken\"")
        // The lock disappears under the job (an operator, a Redis failover).
        try await TestStack.onThread { _ = try RedisConnection(stack.redis).command("DEL", RedisArgument(QueueKit.coordination(queue).keys.lock("sync:t2:hubspot:contacts"))) }
        try await worker.waitForLine(containing: "lost a job's lock; stopping it")
        try await QueueKit.eventually("it ran again, under a new fence") { try await WorkerProcessTests.stats(stack, queue).counters["processed"] == 1 }
        let fences = Self.logged([worker], "lock taken").compactMap { Int($0["fence"] as? String ?? "") }
        // At least the first run and its rerun; each take of the lock under a newer fence.
        #expect(fences.count >= 2 && zip(fences, fences.dropFirst()).allSatisfy { $0 < $1 },
                "fences of the lock's takes: \(fences); worker log: \(worker.lines.filter { $0.contains("lock") || $0.contains("lease") })")
        let stats = try await WorkerProcessTests.stats(stack, queue)
        #expect(stats.dead == 0 && (stats.counters["rescheduled"] ?? 0) >= 1)
        try await Self.stop([worker])
    }

    @Test func aWorkerPausedPastItsLockCannotOverwriteNewerState() async throws {
        let stack = try await TestStack.shared()
        let database = try await stack.migratedDatabase()
        let queue = QueueKit.queue()
        let settings = ["JUNCTION_WORKER_LEASE": "1s", "JUNCTION_WORKER_CONCURRENCY": "1", "JUNCTION_LOG_LEVEL": "debug"]
        let paused = try await WorkerProcessTests.startWorker(stack, queue: queue, database: database, settings)
        _ = try await WorkerProcessTests.enqueue(stack, queue, [QueueKit.request([
            "lock": "sync:t1:quickbooks:invoices", "sleep_ms": 1500,
            "sync_state": ["tenant": "t1", "provider": "quickbooks", "resource": "invoices", "cursor": "written-under-lock"],
        ])])
        try await paused.waitForLine(containing: "\"msg\":\"lock taken\"")
        kill(paused.pid, SIGSTOP)
        // Its lease and lock run out; another worker recovers the job, takes the lock with a
        // newer fence and writes.
        let successor = try await WorkerProcessTests.startWorker(stack, queue: queue, database: database, settings)
        let store = SyncStateStore()
        try await QueueKit.eventually("the successor wrote") {
            try await TestStack.onThread { try store.load(tenant: "t1", provider: "quickbooks", resource: "invoices", on: try PostgresConnection(database)) } != nil
        }
        let newer = try await TestStack.onThread { try store.load(tenant: "t1", provider: "quickbooks", resource: "invoices", on: try PostgresConnection(database)) }
        kill(paused.pid, SIGCONT)
        // The resumed worker either notices the lost lock and stops, or tries its write and is refused.
        try await QueueKit.eventually("the resumed worker gave up") {
            paused.lines.contains { $0.contains("refused a write under fence") || $0.contains("lost") || $0.contains("stopped") }
        }
        try await Task.sleep(for: .milliseconds(300))
        let final = try await TestStack.onThread { try store.load(tenant: "t1", provider: "quickbooks", resource: "invoices", on: try PostgresConnection(database)) }
        #expect(final == newer, "the newer state stays")
        #expect((final?.fence ?? 0) >= 2)
        let stats = try await WorkerProcessTests.stats(stack, queue)
        #expect(stats.counters["processed"] == 1 && stats.dead == 0)
        try await Self.stop([paused, successor])
    }

    @Test func aBreakerOpenedInOneProcessStopsTheOthersAndOneProbeClosesIt() async throws {
        let stack = try await TestStack.shared()
        let provider = FlakyProvider()
        let queue = QueueKit.queue()
        try await withLiveServer(provider.router()) { port in
            provider.set(.fail(503))
            let fleet = try await Self.workers(2, stack, queue, [
                "JUNCTION_WORKER_CONCURRENCY": "1", "JUNCTION_PROVIDER_URL_STRIPE": "http://127.0.0.1:\(port)",
                "JUNCTION_BREAKER_CONSECUTIVE_FAILURES": "3", "JUNCTION_BREAKER_COOLDOWN": "6s",
                "JUNCTION_RETRY_TYPE_PROVIDER_CHECK": "50/100ms", "JUNCTION_RATE_LIMIT_STRIPE": "off",
            ])
            _ = try await WorkerProcessTests.enqueue(stack, queue, (0..<8).map { _ in QueueKit.request(["provider": "stripe", "path": "/v1/balance"], type: "provider.check") })
            let breakers = CircuitBreakers(QueueKit.coordination(queue), settings: try coordinationSettings())
            try await QueueKit.eventually("the breaker opened") {
                try await TestStack.onThread { try breakers.status("stripe", on: try RedisConnection(stack.redis)).state } == .open
            }
            let status = try await TestStack.onThread { try breakers.status("stripe", on: try RedisConnection(stack.redis)) }
            // A call each process let out just before it opened may still land; give it a moment.
            try await Task.sleep(for: .milliseconds(300))
            let whenOpen = provider.calls.count
            // 3 failures open it; a call each process had already let out may land as well.
            #expect(whenOpen >= 3 && whenOpen <= 5, "\(whenOpen) calls before it opened")
            provider.set(.slowOK(.milliseconds(400)))
            // Nothing goes out until the cool-down ends.
            let reopen = try #require(status.reopenAt)
            // The premise: the provider answers well before the first probe. (With a 2 s cool-down a
            // loaded clean-clone run once switched it too late: the probe failed and the breaker
            // opened a second time.)
            try #require(Date() < reopen, "the provider was switched after the cool-down had ended: this machine was too slow for the test's premise")
            try await Task.sleep(for: .seconds(max(0, reopen.timeIntervalSinceNow - 0.3)))
            #expect(provider.calls.count == whenOpen, "no call while open")
            try await QueueKit.eventually("all eight succeeded") { try await WorkerProcessTests.stats(stack, queue).counters["processed"] == 8 }
            let afterOpen = Array(provider.calls.dropFirst(whenOpen))
            let probe = try #require(afterOpen.first)
            #expect(probe.status == 200)
            #expect(afterOpen.dropFirst().allSatisfy { $0.start >= probe.end! }, "the probe went out alone")
            #expect(try await TestStack.onThread { try breakers.status("stripe", on: try RedisConnection(stack.redis)).state } == .closed)
            #expect(Self.logged(fleet, "circuit opened").filter { ($0["scope"] as? String) == "stripe" }.count == 1, "one process saw it open, once")
            #expect(Self.logged(fleet, "circuit closed").filter { ($0["scope"] as? String) == "stripe" }.count == 1)
            try await Self.stop(fleet)
        }
    }

    @Test func twoProcessesUnderOneLimitStayWithinIt() async throws {
        let stack = try await TestStack.shared()
        let provider = FlakyProvider()
        let queue = QueueKit.queue()
        try await withLiveServer(provider.router()) { port in
            let fleet = try await Self.workers(2, stack, queue, [
                "JUNCTION_WORKER_CONCURRENCY": "2", "JUNCTION_PROVIDER_URL_STRIPE": "http://127.0.0.1:\(port)",
                "JUNCTION_RATE_LIMIT_STRIPE": "20/1s,burst=1",
            ])
            _ = try await WorkerProcessTests.enqueue(stack, queue, (0..<50).map { _ in QueueKit.request(["provider": "stripe", "path": "/v1/balance"], type: "provider.check") })
            try await QueueKit.eventually("all fifty ran") { try await WorkerProcessTests.stats(stack, queue).counters["processed"] == 50 }
            try await Self.stop(fleet)
            // The limiter spaces the slots 50 ms apart across both processes, so 50 calls span at
            // least 49 × 50 ms = 2.45 s. Arrivals at the server add each call's own scheduling
            // delay, so the stated tolerance is 250 ms on the span and 25 % on any one second.
            let starts = provider.calls.map(\.start).sorted()
            #expect(starts.count == 50)
            let span = try #require(starts.last) - starts[0]
            #expect(span >= .milliseconds(2200), "50 calls within \(span) under a 20/s limit")
            var most = 0
            for (index, start) in starts.enumerated() {
                most = max(most, starts[index...].prefix { $0 < start + .seconds(1) }.count)
            }
            #expect(most <= 25, "\(most) calls in one second under a 20/s limit")
        }
    }

    @Test func a429WithRetryAfterPausesEveryProcess() async throws {
        let stack = try await TestStack.shared()
        let provider = FlakyProvider()
        let queue = QueueKit.queue()
        try await withLiveServer(provider.router()) { port in
            provider.set(.rateLimitedOnce(retryAfter: 2))
            let fleet = try await Self.workers(2, stack, queue, [
                "JUNCTION_WORKER_CONCURRENCY": "2", "JUNCTION_PROVIDER_URL_STRIPE": "http://127.0.0.1:\(port)", "JUNCTION_RATE_LIMIT_STRIPE": "off",
            ])
            func checks(_ count: Int) -> [JobRequest] { (0..<count).map { _ in QueueKit.request(["provider": "stripe", "path": "/v1/balance"], type: "provider.check") } }
            // One job meets the 429; the other nine are enqueued once the pause is in Redis (the
            // worker logs it right after writing it). None of their calls may start before the
            // pause ends: a loaded machine can only make them later. (Calls already past the
            // limiter when a pause begins cannot be stopped, so the test leaves none in flight.)
            _ = try await WorkerProcessTests.enqueue(stack, queue, checks(1))
            try await QueueKit.eventually("the pause was logged") { !Self.logged(fleet, "provider answered 429; paused fleet-wide").isEmpty }
            _ = try await WorkerProcessTests.enqueue(stack, queue, checks(9))
            try await QueueKit.eventually("all ten ran") { try await WorkerProcessTests.stats(stack, queue).counters["processed"] == 10 }
            try await Self.stop(fleet)
            let calls = provider.calls
            #expect(calls.filter { $0.status == 429 }.count == 1)
            let pause = try #require(Self.logged(fleet, "provider answered 429; paused fleet-wide").first)
            let formatter = ISO8601DateFormatter()
            formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
            let pausedAt = try #require((pause["ts"] as? String).flatMap(formatter.date(from:)))
            let until = try #require((pause["until"] as? String).flatMap(formatter.date(from:)))
            // Retry-After: 2 from the answer; logged after the pause began, so at most 2 s before it ends.
            #expect(until > pausedAt && until.timeIntervalSince(pausedAt) <= 2.1, "paused at \(pausedAt) until \(until)")
            let early = calls.filter { $0.startDate > pausedAt && $0.startDate < until - 0.05 }
            #expect(early.isEmpty, "\(early.count) calls inside the 2 s pause (\(pausedAt) to \(until)): \(early.map(\.startDate))")
            #expect(calls.filter { $0.status == 200 }.count == 10)
            #expect((try await WorkerProcessTests.stats(stack, queue).counters["rescheduled"] ?? 0) >= 1)
        }
    }
}
