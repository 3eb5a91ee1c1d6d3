import Foundation
import JunctionCoordination
import JunctionCore
import JunctionQueue
import JunctionScheduler
import JunctionStores
import JunctionWorker
import Testing

/// Real `junction-scheduler` processes: leadership, takeover, and no duplicate enqueue.
@Suite("Scheduler processes")
struct SchedulerProcessTests {
    /// Debug logs: a follower says on every tick that it follows, which the tests wait for.
    static let fast = ["JUNCTION_SCHEDULER_TICK": "200ms", "JUNCTION_SCHEDULER_LEASE": "1s", "JUNCTION_SCHEDULER_JITTER": "0s", "JUNCTION_LOG_LEVEL": "debug"]

    static func start(_ stack: TestStack, _ queue: Queue, _ database: PostgresConfiguration) async throws -> ChildProcess {
        let process = try ChildProcess(junction: "junction-scheduler", environment: QueueKit.environment(stack, queue: queue, database: database, fast))
        try await process.waitForLine(containing: "\"msg\":\"scheduler started\"")
        return process
    }

    static func leads(_ process: ChildProcess) -> Bool {
        process.lines.contains { $0.contains("\"msg\":\"became the leader\"") }
    }

    /// How many ticks `process` spent as a follower after the first line containing `after`
    /// (from its start when nil).
    static func followingTicks(_ process: ChildProcess, after: String? = nil) -> Int {
        let lines = after.map { marker in process.lines.drop { !$0.contains(marker) } } ?? process.lines[...]
        return lines.count { $0.contains("\"msg\":\"following: another scheduler holds the lease\"") }
    }

    static func holder(_ stack: TestStack, _ queue: Queue) async throws -> String? {
        try await TestStack.onThread { try LeaderLease.holder(keys: QueueKit.coordination(queue).keys, on: try RedisConnection(stack.redis))?.owner }
    }

    static func owner(_ process: ChildProcess) -> String? {
        guard let line = process.lines.first(where: { $0.contains("\"msg\":\"scheduler started\"") }),
              let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] else { return nil }
        return object["owner"] as? String
    }

    @Test func exactlyOneLeadsAndAFollowerTakesOverWhenTheLeaderIsKilled() async throws {
        let stack = try await TestStack.shared()
        let database = try await stack.migratedDatabase()
        let queue = QueueKit.queue()
        let first = try await Self.start(stack, queue, database)
        let second = try await Self.start(stack, queue, database)
        try await QueueKit.eventually("someone leads") { try await Self.holder(stack, queue) != nil }
        // Both have ticked with the lease taken: the follower has said so twice.
        try await QueueKit.eventually("the other follows") { [first, second].contains { Self.followingTicks($0) >= 2 } }
        #expect([first, second].filter(Self.leads).count == 1, "exactly one became the leader")
        let leader = Self.leads(first) ? first : second
        let follower = leader === first ? second : first
        #expect(try await Self.holder(stack, queue) == Self.owner(leader))

        #expect(try await leader.stop(signal: SIGKILL) == 128 + SIGKILL)
        try await follower.waitForLine(containing: "\"msg\":\"became the leader\"", limit: .seconds(10))
        #expect(try await Self.holder(stack, queue) == Self.owner(follower))
        #expect(try await follower.stop() == 0)
        #expect(try await Self.holder(stack, queue) == nil, "a stopping leader gives the lease up")
    }

    @Test func aLeaderPausedPastItsLeaseNeverCausesADuplicateEnqueue() async throws {
        let stack = try await TestStack.shared()
        let database = try await stack.migratedDatabase()
        let queue = QueueKit.queue()
        try await TestStack.onThread {
            let connection = try PostgresConnection(database)
            for index in 0..<20 {
                _ = try ScheduleStore().add(name: "s\(index)", jobType: "system.noop", payload: [:], priority: .normal, rule: .every(.seconds(1)), on: connection)
            }
        }
        let first = try await Self.start(stack, queue, database)
        try await QueueKit.eventually("the first leads") { Self.leads(first) }
        let second = try await Self.start(stack, queue, database)
        try await QueueKit.eventually("schedules fire") { (try await WorkerProcessTests.stats(stack, queue).ready[.normal] ?? 0) >= 40 }

        kill(first.pid, SIGSTOP)
        try await second.waitForLine(containing: "\"msg\":\"became the leader\"", limit: .seconds(10))
        // The new leader fires what the paused one had claimed or was about to.
        try await QueueKit.eventually("the new leader fires schedules") {
            second.lines.drop { !$0.contains("\"msg\":\"became the leader\"") }.contains { $0.contains("\"msg\":\"fired due schedules\"") }
        }
        kill(first.pid, SIGCONT)
        try await first.waitForLine(containing: "lost the leadership", limit: .seconds(10))
        // Whatever the resumed one did between waking and noticing is done once it follows.
        try await QueueKit.eventually("the old leader follows") { Self.followingTicks(first, after: "lost the leadership") >= 1 }
        #expect(try await first.stop() == 0)
        #expect(try await second.stop() == 0)

        let keys = try await TestStack.onThread { () -> [String] in
            let redis = try RedisConnection(stack.redis)
            return try redis.command("HVALS", RedisArgument(queue.settings.keys.jobs)).array().compactMap { reply in
                try reply.string().flatMap { try? JobEnvelope.decode($0).dedupeKey }
            }
        }
        #expect(keys.count >= 60)
        #expect(Set(keys).count == keys.count, "each schedule's fire time was enqueued once")
    }

    @Test func schedulerPromotesDelayedJobsAndRecoversExpiredLeasesWithNoWorkerRunning() async throws {
        let stack = try await TestStack.shared()
        let database = try await stack.migratedDatabase()
        let queue = QueueKit.queue()
        let scheduler = try await Self.start(stack, queue, database)
        try await TestStack.onThread {
            let redis = try RedisConnection(stack.redis)
            var delayed = QueueKit.request(["name": "delayed"])
            delayed.delay = .milliseconds(300)
            try queue.enqueue([delayed], on: redis)
            // A job leased a minute ago by a worker that has since vanished: its lease is over.
            let longAgo = Date() - 60
            try queue.enqueue([QueueKit.request(["name": "abandoned"], priority: .high)], on: redis, now: longAgo)
            _ = try QueueKit.fetch(queue, 1, on: redis, now: longAgo)
        }
        try await QueueKit.eventually("both jobs are ready") {
            let stats = try await WorkerProcessTests.stats(stack, queue)
            return stats.ready[.normal] == 1 && stats.ready[.high] == 1
        }
        let stats = try await WorkerProcessTests.stats(stack, queue)
        #expect(stats.delayed == 0 && stats.inflight == 0)
        #expect(scheduler.lines.contains { $0.contains("recovered jobs whose lease expired") })
        #expect(try await scheduler.stop() == 0)
    }
}

@Suite("Retention")
struct RetentionTests {
    @Test func retentionDeletesOnlyWhatIsOld() async throws {
        let stack = try await TestStack.shared()
        let database = try await stack.migratedDatabase()
        let queue = QueueKit.queue { $0.deadLetterMaxAge = .seconds(86_400); $0.deadLetterMaxEntries = 100 }
        let now = Date()
        let (removed, runs, events, dead) = try await TestStack.onThread {
            let db = try PostgresConnection(database)
            let redis = try RedisConnection(stack.redis)
            for (job, age) in [("old", 40.0), ("new", 1.0)] {
                try db.query("""
                    INSERT INTO job_runs (job_id, job_type, attempt, outcome, worker, started_at, finished_at)
                    VALUES (\(job), 'system.noop', 1, 'dead', 'w', \(now - age * 86_400), \(now - age * 86_400))
                    """)
            }
            for (event, age, processed) in [("old-done", 40.0, true), ("old-pending", 40.0, false), ("new-done", 1.0, true)] {
                try db.query("""
                    INSERT INTO webhook_events (provider, event_id, body, received_at, processed_at)
                    VALUES ('stripe', \(event), \(Array("{}".utf8)), \(now - age * 86_400), \(processed ? now - age * 86_400 : nil))
                    """)
            }
            // The recent death first: each death trims by age relative to its own time, so the
            // old letter, recorded last, is left for retention to find.
            for (hoursAgo, name) in [(1.0, "new"), (48.0, "old")] {
                let died = now - hoursAgo * 3600
                try queue.enqueue([QueueKit.request(["name": .string(name)])], on: redis, now: died)
                let job = try #require(try QueueKit.fetch(queue, 1, on: redis, now: died).first)
                let (next, end, _) = Retries(settings: queue.settings).end(job.envelope, error: JobFailure.permanent("no"), now: died)
                try queue.end(next, token: job.token, as: end, on: redis, now: died)
            }
            let removed = try Retention(queue: queue, jobRuns: .seconds(30 * 86_400), webhookEvents: .seconds(30 * 86_400)).run(database: db, redis: redis, now: now)
            let runs = try db.query("SELECT job_id FROM job_runs ORDER BY job_id").rows.map { try $0.decode("job_id", as: String.self) }
            let events = try db.query("SELECT event_id FROM webhook_events ORDER BY event_id").rows.map { try $0.decode("event_id", as: String.self) }
            let dead = try queue.deadLetters(on: redis, limit: 10).map { $0.envelope.payload["name"]?.stringValue ?? "" }
            return (removed, runs, events, dead)
        }
        #expect(runs == ["new"])
        #expect(events == ["new-done", "old-pending"], "an event not yet processed is kept whatever its age")
        #expect(dead == ["new"])
        #expect(removed.jobRuns == 1 && removed.webhookEvents == 1 && removed.deadLetters == 1)
    }
}

@Suite("Schedules CLI")
struct SchedulesCommandTests {
    static func junction(_ environment: [String: String], _ arguments: [String]) async throws -> ChildProcess {
        let process = try ChildProcess(junction: "junction", arguments: arguments, environment: environment)
        _ = try await process.exitStatus()
        return process
    }

    @Test func addListPauseResumeRunNowAndRemove() async throws {
        let stack = try await TestStack.shared()
        let environment = QueueKit.environment(stack, queue: QueueKit.queue(), database: try await stack.migratedDatabase())
        let add = try await Self.junction(environment, ["schedules", "add", "nightly", "cleanup.run", "--cron", "30 2 * * *", "--time-zone", "Europe/Paris", "--priority", "low"])
        #expect(try await add.exitStatus() == 0)
        #expect(add.lines.first?.hasPrefix("added nightly  cron \"30 2 * * *\" Europe/Paris  cleanup.run  low  next ") == true)
        #expect(add.lines.filter { $0.hasPrefix("  20") }.count == 5, "the next five fire times")
        #expect(add.lines.dropFirst(2).allSatisfy { !$0.hasPrefix("  ") || $0.contains(":30:00.000000Z") })

        let invalid = try await Self.junction(environment, ["schedules", "add", "bad", "x", "--cron", "61 * * * *"])
        #expect(try await invalid.exitStatus() == 65)
        #expect(invalid.standardError.contains("minute 61 is outside 0-59"))
        let duplicate = try await Self.junction(environment, ["schedules", "add", "nightly", "x", "--every", "5m"])
        #expect(try await duplicate.exitStatus() == 65)

        #expect(try await Self.junction(environment, ["schedules", "pause", "nightly"]).lines == ["paused nightly"])
        #expect(try await Self.junction(environment, ["schedules", "list"]).lines.first?.contains("  paused") == true)
        #expect(try await Self.junction(environment, ["schedules", "resume", "nightly"]).lines == ["resumed nightly"])
        #expect(try await Self.junction(environment, ["schedules", "run-now", "nightly"]).lines == ["due now: nightly"])
        #expect(try await Self.junction(environment, ["schedules", "remove", "nightly"]).lines == ["removed nightly"])
        let gone = try await Self.junction(environment, ["schedules", "remove", "nightly"])
        #expect(try await gone.exitStatus() == 66)
        #expect(try await Self.junction(environment, ["scheduler", "status"]).lines.first?.hasPrefix("no leader") == true)
    }
}
