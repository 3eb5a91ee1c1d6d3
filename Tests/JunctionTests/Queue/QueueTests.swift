import Foundation
import JunctionCore
import JunctionQueue
import JunctionWorker
import Testing

@Suite("Queue transitions")
struct QueueTests {
    @Test func fetchTakesTheHighestPriorityFirstAndFIFOWithinOne() async throws {
        let stack = try await TestStack.shared()
        let queue = QueueKit.queue { $0.lowPriorityEvery = 0 }
        let order = try await TestStack.onThread {
            let redis = try RedisConnection(stack.redis)
            for (name, priority) in [("low-1", JobPriority.low), ("normal-1", .normal), ("critical-1", .critical), ("high-1", .high), ("critical-2", .critical)] {
                try queue.enqueue([QueueKit.request(["name": .string(name)], priority: priority)], on: redis)
            }
            return try QueueKit.fetch(queue, 10, on: redis).map { $0.envelope.payload["name"]?.stringValue ?? "" }
        }
        #expect(order == ["critical-1", "critical-2", "high-1", "normal-1", "low-1"])
    }

    @Test func lowPriorityStillProgressesUnderAFloodOfCriticalJobs() async throws {
        let stack = try await TestStack.shared()
        let guarded = QueueKit.queue { $0.lowPriorityEvery = 10 }
        let unguarded = QueueKit.queue { $0.lowPriorityEvery = 0 }
        let positions = try await TestStack.onThread {
            let redis = try RedisConnection(stack.redis)
            return try [guarded, unguarded].map { queue -> Int? in
                try queue.enqueue([QueueKit.request(["name": "low"], priority: .low)], on: redis)
                try queue.enqueue(Array(repeating: QueueKit.request(priority: .critical), count: 200), on: redis)
                // One job per fetch, as a busy processor fetches while critical jobs keep coming.
                for position in 1...50 {
                    if try QueueKit.fetch(queue, 1, on: redis).first?.envelope.priority == .low { return position }
                }
                return nil
            }
        }
        #expect(positions[0] != nil && positions[0]! <= 10, "the low job ran within the guard's period")
        #expect(positions[1] == nil, "without the guard the low job waits behind every critical one")
    }

    @Test func dedupeKeyDropsTheSecondJobWithinItsTTL() async throws {
        let stack = try await TestStack.shared()
        let queue = QueueKit.queue()
        let (outcomes, ready) = try await TestStack.onThread {
            let redis = try RedisConnection(stack.redis)
            var request = QueueKit.request()
            request.dedupeKey = "stripe:evt_1"
            let first = try queue.enqueue([request], on: redis)
            let second = try queue.enqueue([request, QueueKit.request()], on: redis)
            return (first + second, try queue.stats(on: redis).ready[.normal])
        }
        guard case .enqueued = outcomes[0], case .enqueued = outcomes[2] else {
            Issue.record("expected the first and the undeduplicated job to be enqueued: \(outcomes)")
            return
        }
        #expect(outcomes[1] == .duplicate)
        #expect(ready == 2)
    }

    @Test func oneCallStoresThousandsOfJobsAcrossPrioritiesDelaysAndDuplicates() async throws {
        // The enqueue script stores a call's envelopes and ids with a few variadic commands; a
        // call far larger than Lua can unpack at once must still store every job exactly once.
        let stack = try await TestStack.shared()
        let queue = QueueKit.queue()
        let priorities: [JobPriority] = [.critical, .high, .normal, .low]
        var all = (0..<6_000).map { index in
            var request = QueueKit.request(["n": .integer(Int64(index))], priority: priorities[index % 4])
            request.dedupeKey = "bulk:\(index)"
            if index % 10 == 0 { request.delay = .seconds(60) }
            return request
        }
        all.append(all[1])  // already in this call: a duplicate
        let requests = all
        let (outcomes, stats, stored) = try await TestStack.onThread {
            let redis = try RedisConnection(stack.redis)
            let outcomes = try queue.enqueue(requests, on: redis)
            return (outcomes, try queue.stats(on: redis), try redis.command("HLEN", RedisArgument(queue.settings.keys.jobs)).int())
        }
        #expect(outcomes.count == 6_001)
        #expect(outcomes.filter { $0 == .duplicate }.count == 1 && outcomes.last == .duplicate)
        #expect(stored == 6_000)
        let unique = requests.dropLast()
        #expect(stats.delayed == unique.filter { $0.delay > .zero }.count)
        for priority in priorities {
            #expect(stats.ready[priority] == unique.filter { $0.priority == priority && $0.delay == .zero }.count, "\(priority)")
        }
    }

    @Test func delayedJobWaitsUntilItsTimeThenIsPromoted() async throws {
        let stack = try await TestStack.shared()
        let queue = QueueKit.queue()
        let now = Date()
        let (before, promoted, after) = try await TestStack.onThread {
            let redis = try RedisConnection(stack.redis)
            var request = QueueKit.request()
            request.delay = .seconds(30)
            try queue.enqueue([request], on: redis, now: now)
            let before = try queue.promoteDue(on: redis, now: now + 29)
            let promoted = try queue.promoteDue(on: redis, now: now + 31)
            return (before, promoted, try QueueKit.fetch(queue, 1, on: redis).count)
        }
        #expect(before == 0)
        #expect(promoted == 1)
        #expect(after == 1)
    }

    @Test func ackRemovesTheJobAndAStaleTokenIsRefused() async throws {
        let stack = try await TestStack.shared()
        let queue = QueueKit.queue()
        let (stale, acked, stats) = try await TestStack.onThread {
            let redis = try RedisConnection(stack.redis)
            try queue.enqueue([QueueKit.request()], on: redis)
            let job = try #require(try QueueKit.fetch(queue, 1, on: redis).first)
            let stale = try queue.ack([(job.envelope.id, "someone-else:1")], on: redis)
            let acked = try queue.ack([(job.envelope.id, job.token)], on: redis)
            return (stale, acked, try queue.stats(on: redis))
        }
        #expect(stale == [false])
        #expect(acked == [true])
        #expect(stats.inflight == 0 && stats.ready.values.reduce(0, +) == 0 && stats.counters["processed"] == 1)
    }

    @Test func expiredLeaseReturnsJobToTheFrontOfItsPriorityList() async throws {
        let stack = try await TestStack.shared()
        let queue = QueueKit.queue { $0.lease = .seconds(10) }
        let start = Date()
        let (early, recovered, next, lateAck) = try await TestStack.onThread {
            let redis = try RedisConnection(stack.redis)
            try queue.enqueue([QueueKit.request(["name": "abandoned"])], on: redis, now: start)
            let abandoned = try #require(try QueueKit.fetch(queue, 1, on: redis, now: start).first)
            try queue.enqueue([QueueKit.request(["name": "later"])], on: redis, now: start)
            let early = try queue.recoverExpired(on: redis, now: start + 9)
            let recovered = try queue.recoverExpired(on: redis, now: start + 11)
            let next = try QueueKit.fetch(queue, 1, on: redis, now: start + 11).first?.envelope.payload["name"]?.stringValue
            // The first holder finishing late cannot acknowledge what is now someone else's.
            let lateAck = try queue.ack([(abandoned.envelope.id, abandoned.token)], on: redis)
            return (early, recovered, next, lateAck)
        }
        #expect(early.requeued == 0)
        #expect(recovered.requeued == 1 && recovered.dead == 0)
        #expect(next == "abandoned", "a recovered job runs before the backlog")
        #expect(lateAck == [false])
    }

    @Test func poisonPillGoesToTheDeadLettersWithTheReason() async throws {
        let stack = try await TestStack.shared()
        let queue = QueueKit.queue { $0.lease = .seconds(5); $0.maxRecoveries = 2 }
        let start = Date()
        let (deaths, letter) = try await TestStack.onThread {
            var now = start
            let redis = try RedisConnection(stack.redis)
            let id = try #require(try queue.enqueue([QueueKit.request(["crashes": true])], on: redis, now: now).first.flatMap { outcome -> String? in
                if case .enqueued(let id) = outcome { return id }
                return nil
            })
            var deaths: [Int] = []
            for _ in 0..<3 {
                _ = try QueueKit.fetch(queue, 1, on: redis, now: now)
                now += 6
                deaths.append(try queue.recoverExpired(on: redis, now: now).dead)
            }
            return (deaths, try queue.deadLetter(id: id, on: redis))
        }
        #expect(deaths == [0, 0, 1], "recovered twice, dead on the third expiry")
        let dead = try #require(letter)
        #expect(dead.envelope.errors.last?.errorClass == .leaseExpired)
        #expect(dead.envelope.errors.last?.message.contains("expired 3 times") == true)
        #expect(dead.envelope.payload["crashes"]?.boolValue == true)
    }

    @Test func failedAttemptWaitsInTheDelayedSetUntilItsDueTime() async throws {
        let stack = try await TestStack.shared()
        let queue = QueueKit.queue()
        let now = Date()
        let (score, due) = try await TestStack.onThread {
            let redis = try RedisConnection(stack.redis)
            try queue.enqueue([QueueKit.request()], on: redis, now: now)
            let job = try #require(try QueueKit.fetch(queue, 1, on: redis, now: now).first)
            let (next, end, _) = Retries(settings: queue.settings).end(job.envelope, error: JobFailure.retryAfter(.seconds(42), "429"), now: now)
            #expect(try queue.end(next, token: job.token, as: end, on: redis, now: now))
            let score = try redis.command("ZSCORE", RedisArgument(queue.settings.keys.delayed), RedisArgument(job.envelope.id)).string().flatMap(Double.init)
            return (score, end)
        }
        #expect(due == .retry(due: now + 42))
        #expect(score == Double(Milliseconds.of(now + 42)))
    }

    @Test func deadLetterReplayRunsTheJobAgainWithAttemptsReset() async throws {
        let stack = try await TestStack.shared()
        let queue = QueueKit.queue()
        let (replayed, again, secondReplay) = try await TestStack.onThread {
            let redis = try RedisConnection(stack.redis)
            try queue.enqueue([QueueKit.request(["n": 1])], on: redis)
            let job = try #require(try QueueKit.fetch(queue, 1, on: redis).first)
            let (next, end, _) = Retries(settings: queue.settings).end(job.envelope, error: JobFailure.permanent("bad payload"))
            try queue.end(next, token: job.token, as: end, on: redis)
            let letter = try #require(try queue.deadLetter(id: job.envelope.id, on: redis))
            let replayed = try queue.replay(letter, on: redis)
            let again = try QueueKit.fetch(queue, 1, on: redis).first?.envelope
            return (replayed, again, try queue.replay(letter, on: redis))
        }
        #expect(replayed)
        #expect(again?.attempt == 1)
        #expect(again?.errors.map(\.message) == ["bad payload"], "the history stays with the job")
        #expect(!secondReplay, "a dead letter replays once")
    }

    @Test func deadLettersAreCappedByCountAndAge() async throws {
        let stack = try await TestStack.shared()
        let queue = QueueKit.queue { $0.deadLetterMaxEntries = 3; $0.deadLetterMaxAge = .seconds(3600) }
        let start = Date()
        let remaining = try await TestStack.onThread {
            let redis = try RedisConnection(stack.redis)
            let retries = Retries(settings: queue.settings)
            // Five deaths one hour apart: the age cap keeps the last hour, the count cap three.
            for hour in 0..<5 {
                let now = start + Double(hour) * 1800
                try queue.enqueue([QueueKit.request(["hour": .integer(Int64(hour))])], on: redis, now: now)
                let job = try #require(try QueueKit.fetch(queue, 1, on: redis, now: now).first)
                let (next, end, _) = retries.end(job.envelope, error: JobFailure.permanent("no"), now: now)
                try queue.end(next, token: job.token, as: end, on: redis, now: now)
            }
            let letters = try queue.deadLetters(on: redis, limit: 100)
            let indexed = try redis.command("HLEN", RedisArgument(queue.settings.keys.deadIndex)).int()
            return (letters.map { $0.envelope.payload["hour"]?.intValue ?? -1 }, indexed)
        }
        #expect(remaining.0 == [4, 3, 2])
        #expect(remaining.1 == 3, "the id index is trimmed with the set")
    }

    @Test func deadLettersAreReadableFromRawRedisCLIOutput() async throws {
        let stack = try await TestStack.shared()
        let queue = QueueKit.queue()
        try await TestStack.onThread {
            let redis = try RedisConnection(stack.redis)
            try queue.enqueue([JobRequest(type: "sync.run", payload: ["resource": "customers"], priority: .high, tenant: "venue-42", provider: "stripe")], on: redis)
            let job = try #require(try QueueKit.fetch(queue, 1, on: redis).first)
            let (next, end, _) = Retries(settings: queue.settings).end(job.envelope, error: JobFailure.permanent("Stripe answered 400: No such customer"))
            try queue.end(next, token: job.token, as: end, on: redis)
        }
        let cli = try ChildProcess(
            "/usr/bin/redis-cli", arguments: ["-h", stack.redis.host, "-p", "\(stack.redis.port)", "--no-auth-warning", "-a", stack.redis.password ?? "", "ZREVRANGE", queue.settings.keys.dead, "0", "9"],
            environment: [:])
        #expect(try await cli.exitStatus() == 0)
        let line = try #require(cli.lines.first)
        let entry = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
        #expect(entry["type"] as? String == "sync.run")
        #expect(entry["tenant"] as? String == "venue-42")
        #expect(entry["provider"] as? String == "stripe")
        #expect((entry["payload"] as? [String: Any])?["resource"] as? String == "customers")
        let errors = try #require(entry["errors"] as? [[String: Any]])
        #expect(errors.count == 1)
        #expect(errors[0]["class"] as? String == "permanent")
        #expect(errors[0]["message"] as? String == "Stripe answered 400: No such customer")
        #expect((errors[0]["at"] as? String).flatMap(Timestamp.parse) != nil)
    }

    @Test func handedBackJobsReturnToTheFrontWithoutSpendingAnAttempt() async throws {
        let stack = try await TestStack.shared()
        let queue = QueueKit.queue()
        let (returned, next) = try await TestStack.onThread {
            let redis = try RedisConnection(stack.redis)
            try queue.enqueue([QueueKit.request(["name": "first"]), QueueKit.request(["name": "second"])], on: redis)
            let job = try #require(try QueueKit.fetch(queue, 1, on: redis).first)
            let returned = try queue.handBack([(job.envelope.id, job.token)], on: redis)
            return (returned, try QueueKit.fetch(queue, 1, on: redis).first?.envelope)
        }
        #expect(returned == 1)
        #expect(next?.payload["name"]?.stringValue == "first" && next?.attempt == 1)
    }

    @Test func envelopeKeepsLargeIntegersAndEmptyArraysExactly() async throws {
        let stack = try await TestStack.shared()
        let queue = QueueKit.queue()
        let payload: JSONValue = ["shopify_id": .integer(7_283_839_283_928_392_111), "tags": .array([]), "note": "Zoë ✓"]
        let fetched = try await TestStack.onThread {
            let redis = try RedisConnection(stack.redis)
            try queue.enqueue([QueueKit.request(payload)], on: redis)
            let job = try #require(try QueueKit.fetch(queue, 1, on: redis).first)
            // A retry goes through the delayed set and promotion (Lua reads the priority there).
            let (next, _, _) = Retries(settings: queue.settings).end(job.envelope, error: JobFailure.retryable("again"), random: 0)
            try queue.end(next, token: job.token, as: .retry(due: Date()), on: redis)
            _ = try queue.promoteDue(on: redis, now: Date() + 1)
            return try QueueKit.fetch(queue, 1, on: redis).first?.envelope.payload
        }
        #expect(fetched == payload)
    }
}

