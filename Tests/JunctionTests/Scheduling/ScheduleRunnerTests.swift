import Foundation
import JunctionCore
import JunctionQueue
import JunctionScheduler
import JunctionStores
import Testing

@Suite("Schedules")
struct ScheduleRunnerTests {
    static let start = Timestamp.parse("2026-11-21T17:01:43Z")!

    struct Fixture {
        let database: PostgresConnection
        let redis: RedisConnection
        let queue: Queue
        let runner: ScheduleRunner
        let store = ScheduleStore()

        func ready() throws -> Int { try queue.stats(on: redis).ready.values.reduce(0, +) }
    }

    static func fixture() async throws -> UncheckedBox<Fixture> {
        let stack = try await TestStack.shared()
        let database = try await stack.migratedDatabase()
        let queue = QueueKit.queue()
        return try await TestStack.onThread {
            UncheckedBox(Fixture(
                database: try PostgresConnection(database), redis: try RedisConnection(stack.redis), queue: queue,
                runner: ScheduleRunner(queue: queue, jitter: .zero)))
        }
    }

    @Test func everySecondScheduleFiresOncePerSecond() async throws {
        let fixture = try await Self.fixture()
        let fired = try await TestStack.onThread {
            let f = fixture.value
            _ = try f.store.add(name: "tick", jobType: "system.noop", payload: [:], priority: .normal, rule: .every(.seconds(1)), now: Self.start, on: f.database)
            var enqueued = 0
            // Ticks every 250 ms for ten seconds.
            for step in 1...40 {
                enqueued += try f.runner.fireDue(database: f.database, redis: f.redis, now: Self.start + Double(step) * 0.25).enqueued
            }
            return (enqueued, try f.ready())
        }
        #expect(fired.0 == 10)
        #expect(fired.1 == 10)
    }

    @Test func cronScheduleFiresAtItsTimes() async throws {
        let fixture = try await Self.fixture()
        let (counts, next) = try await TestStack.onThread {
            let f = fixture.value
            _ = try f.store.add(
                name: "quarter", jobType: "sync.run", payload: ["resource": "customers"], priority: .normal,
                rule: .cron(try CronExpression("*/15 * * * *"), TimeZone(identifier: "UTC")!), now: Self.start, on: f.database)
            let times = ["2026-11-21T17:14:59Z", "2026-11-21T17:15:00Z", "2026-11-21T17:20:00Z", "2026-11-21T17:30:00Z"]
            let counts = try times.map { try f.runner.fireDue(database: f.database, redis: f.redis, now: Timestamp.parse($0)!).enqueued }
            return (counts, try f.store.find(name: "quarter", on: f.database)?.nextRunAt)
        }
        #expect(counts == [0, 1, 0, 1])
        #expect(next == Timestamp.parse("2026-11-21T17:45:00Z"))
    }

    @Test func firesMissedWhileDownCollapseIntoOne() async throws {
        let fixture = try await Self.fixture()
        let (enqueued, next) = try await TestStack.onThread {
            let f = fixture.value
            _ = try f.store.add(name: "minutely", jobType: "system.noop", payload: [:], priority: .low, rule: .every(.seconds(60)), now: Self.start, on: f.database)
            // The scheduler was down for an hour.
            let enqueued = try f.runner.fireDue(database: f.database, redis: f.redis, now: Self.start + 3600 + 5).enqueued
            return (enqueued, try f.store.find(name: "minutely", on: f.database)?.nextRunAt)
        }
        #expect(enqueued == 1)
        #expect(next == Self.start + 3660, "back on its grid, after now")
    }

    @Test func aSecondLeaderFiringTheSameTimeEnqueuesNothing() async throws {
        let fixture = try await Self.fixture()
        let (first, second, ready) = try await TestStack.onThread {
            let f = fixture.value
            for index in 0..<50 {
                _ = try f.store.add(name: "s\(index)", jobType: "system.noop", payload: [:], priority: .normal, rule: .every(.seconds(30)), now: Self.start, on: f.database)
            }
            let due = Self.start + 30
            // The first leader enqueued, then its commit was lost: the rows are still due.
            let first = try f.runner.fireDue(database: f.database, redis: f.redis, now: due)
            try f.database.query("UPDATE schedules SET next_run_at = \(Self.start + 30)")
            let second = try f.runner.fireDue(database: f.database, redis: f.redis, now: due + 0.5)
            return (first, second, try f.ready())
        }
        #expect(first == (50, 50))
        #expect(second == (50, 0), "claimed again, but every fire time was enqueued already")
        #expect(ready == 50)
    }

    @Test func pausedSchedulesDoNotFireAndRunNowFiresAtTheNextTick() async throws {
        let fixture = try await Self.fixture()
        let counts = try await TestStack.onThread {
            let f = fixture.value
            _ = try f.store.add(name: "hourly", jobType: "system.noop", payload: [:], priority: .normal, rule: .every(.seconds(3600)), now: Self.start, on: f.database)
            #expect(try f.store.setEnabled(false, name: "hourly", on: f.database))
            let paused = try f.runner.fireDue(database: f.database, redis: f.redis, now: Self.start + 7200).enqueued
            #expect(try f.store.setEnabled(true, name: "hourly", on: f.database))
            #expect(try f.store.runNow(name: "hourly", now: Self.start + 7300, on: f.database))
            let ran = try f.runner.fireDue(database: f.database, redis: f.redis, now: Self.start + 7301).enqueued
            return (paused, ran)
        }
        #expect(counts.0 == 0)
        #expect(counts.1 == 1)
    }

    @Test func enqueuedJobCarriesTheSchedulesTypePayloadAndPriority() async throws {
        let fixture = try await Self.fixture()
        let job = try await TestStack.onThread {
            let f = fixture.value
            _ = try f.store.add(
                name: "refresh", jobType: "token.refresh", payload: ["connection": "c-1"], priority: .high, tenant: "venue-9", provider: "quickbooks",
                rule: .every(.seconds(300)), now: Self.start, on: f.database)
            _ = try f.runner.fireDue(database: f.database, redis: f.redis, now: Self.start + 300)
            return try QueueKit.fetch(f.queue, 1, on: f.redis).first?.envelope
        }
        #expect(job?.type == "token.refresh" && job?.priority == .high && job?.tenant == "venue-9" && job?.provider == "quickbooks")
        #expect(job?.payload == ["connection": "c-1"])
        #expect(job?.dedupeKey?.hasPrefix("schedule:") == true)
    }

    @Test func storeRefusesDuplicateNamesAndFractionalIntervals() async throws {
        let fixture = try await Self.fixture()
        try await TestStack.onThread {
            let f = fixture.value
            _ = try f.store.add(name: "dup", jobType: "system.noop", payload: [:], priority: .normal, rule: .every(.seconds(5)), on: f.database)
            #expect(throws: ScheduleError.duplicateName("dup")) {
                try f.store.add(name: "dup", jobType: "system.noop", payload: [:], priority: .normal, rule: .every(.seconds(5)), on: f.database)
            }
            #expect(throws: ScheduleError.self) {
                try f.store.add(name: "half", jobType: "system.noop", payload: [:], priority: .normal, rule: .every(.milliseconds(1500)), on: f.database)
            }
        }
    }

    @Test func jitterDelaysTheNextFireByAtMostATenthOfTheInterval() async throws {
        let fixture = try await Self.fixture()
        let next = try await TestStack.onThread {
            let f = fixture.value
            let runner = ScheduleRunner(queue: f.queue, jitter: .seconds(5))
            _ = try f.store.add(name: "j", jobType: "system.noop", payload: [:], priority: .normal, rule: .every(.seconds(20)), now: Self.start, on: f.database)
            _ = try runner.fireDue(database: f.database, redis: f.redis, now: Self.start + 20, random: { 0.999_999 })
            return try f.store.find(name: "j", on: f.database)?.nextRunAt
        }
        let delay = try #require(next).timeIntervalSince(Self.start + 40)
        #expect(delay > 1.99 && delay <= 2.0, "a tenth of 20 s, not the 5 s configured")
    }
}
