import Foundation
import JunctionCoordination
import JunctionCore
import JunctionProviders
import JunctionStores
import Testing

/// Settings with small thresholds, for breaker and limiter tests.
func coordinationSettings(_ extra: [String: String] = [:]) throws -> CoordinationSettings {
    try CoordinationSettings(environment: EnvironmentVariables([
        "JUNCTION_BREAKER_MIN_CALLS": "4", "JUNCTION_BREAKER_CONSECUTIVE_FAILURES": "3", "JUNCTION_BREAKER_COOLDOWN": "30s",
        "JUNCTION_BREAKER_PROBE_TIMEOUT": "10s",
    ].merging(extra) { $1 }))
}

@Suite("Distributed locks and fencing")
struct DistributedLockTests {
    @Test func onlyOneHolderAtATimeAndEachAcquisitionGetsALargerFence() async throws {
        let stack = try await TestStack.shared()
        let queue = QueueKit.queue()
        try await TestStack.onThread {
            let redis = try RedisConnection(stack.redis)
            let locks = DistributedLocks(QueueKit.coordination(queue))
            guard case .acquired(let first) = try locks.acquire("sync:venue-1:stripe:customers", ttl: .seconds(30), on: redis) else {
                Issue.record("the free lock was not taken"); return
            }
            guard case .busy(let expiresIn) = try locks.acquire("sync:venue-1:stripe:customers", ttl: .seconds(30), on: redis) else {
                Issue.record("a held lock was taken twice"); return
            }
            #expect(expiresIn > .seconds(29) && expiresIn <= .seconds(30))
            // Another holder's value cannot renew or release it.
            let impostor = HeldLock(name: first.name, value: "someone-else|\(first.fence)", fence: first.fence, ttl: .seconds(30))
            #expect(try !locks.renew(impostor, on: redis))
            #expect(try !locks.release(impostor, on: redis))
            #expect(try locks.renew(first, on: redis))
            let listed = try locks.list(on: redis)
            #expect(listed.count == 1 && listed.first?.name == first.name && listed.first?.fence == first.fence)
            #expect(try locks.release(first, on: redis))
            guard case .acquired(let second) = try locks.acquire(first.name, ttl: .seconds(30), on: redis) else {
                Issue.record("a released lock was not free"); return
            }
            #expect(second.fence > first.fence)
            #expect(try !locks.release(first, on: redis), "the first holder cannot release its successor's lock")
            #expect(try locks.list(on: redis).first?.fence == second.fence)
        }
    }

    @Test func anExpiredLockCannotBeRenewedAndItsHoldersWriteIsRefused() async throws {
        let stack = try await TestStack.shared()
        let queue = QueueKit.queue()
        let database = try await stack.migratedDatabase()
        try await TestStack.onThread {
            let redis = try RedisConnection(stack.redis)
            let postgres = try PostgresConnection(database)
            let locks = DistributedLocks(QueueKit.coordination(queue))
            let store = SyncStateStore()
            guard case .acquired(let paused) = try locks.acquire("sync:t1:quickbooks:invoices", ttl: .milliseconds(100), on: redis) else {
                Issue.record("not taken"); return
            }
            try store.save(tenant: "t1", provider: "quickbooks", resource: "invoices", cursor: "page-1", fence: paused.fence, on: postgres)
            // The holder stalls past its TTL (a GC pause, SIGSTOP); someone else takes over.
            Thread.sleep(forTimeInterval: 0.2)
            #expect(try !locks.renew(paused, on: redis), "an expired lock is not taken back by renewing")
            guard case .acquired(let successor) = try locks.acquire("sync:t1:quickbooks:invoices", ttl: .seconds(30), on: redis) else {
                Issue.record("the expired lock was not free"); return
            }
            try store.save(tenant: "t1", provider: "quickbooks", resource: "invoices", cursor: "page-7", fence: successor.fence, on: postgres)
            try store.save(tenant: "t1", provider: "quickbooks", resource: "invoices", cursor: "page-8", fence: successor.fence, on: postgres)
            // The stalled holder wakes up and writes: refused, and the newer cursor stays.
            #expect(throws: StaleFence(attempted: paused.fence, current: successor.fence)) {
                try store.save(tenant: "t1", provider: "quickbooks", resource: "invoices", cursor: "page-2", fence: paused.fence, on: postgres)
            }
            let state = try store.load(tenant: "t1", provider: "quickbooks", resource: "invoices", on: postgres)
            #expect(state?.cursor == "page-8" && state?.fence == successor.fence)
        }
    }
}

@Suite("Circuit breakers")
struct CircuitBreakerTests {
    static let start = Date(timeIntervalSince1970: 1_800_000_000)

    @Test func consecutiveFailuresOpenItAndOneProbeAfterTheCooldownDecides() async throws {
        let stack = try await TestStack.shared()
        let breakers = CircuitBreakers(QueueKit.coordination(QueueKit.queue()), settings: try coordinationSettings())
        try await TestStack.onThread {
            let redis = try RedisConnection(stack.redis)
            var now = Self.start
            #expect(try breakers.allow("stripe", token: "a", now: now, on: redis) == .closed)
            #expect(try breakers.record("stripe", .failure, token: "a", now: now, on: redis) == (.closed, false))
            #expect(try breakers.record("stripe", .failure, token: "a", now: now, on: redis) == (.closed, false))
            #expect(try breakers.record("stripe", .failure, token: "a", now: now, on: redis) == (.open, true))
            #expect(try breakers.allow("stripe", token: "b", now: now, on: redis) == .refused(state: .open, retryAt: now + 30))
            #expect(try breakers.allow("stripe:conn-1", token: "b", now: now, on: redis) == .closed, "scopes are independent")
            // Still open until the cool-down ends.
            now += 29
            #expect(try breakers.allow("stripe", token: "b", now: now, on: redis) == .refused(state: .open, retryAt: Self.start + 30))
            // Half-open: exactly one probe; the others wait for its verdict.
            now += 2
            #expect(try breakers.allow("stripe", token: "probe-1", now: now, on: redis) == .probe)
            #expect(try breakers.allow("stripe", token: "c", now: now, on: redis) == .refused(state: .halfOpen, retryAt: now + 1))
            // A late answer from a call that is not the probe does not decide.
            #expect(try breakers.record("stripe", .success, token: "a", now: now, on: redis) == (.halfOpen, false))
            #expect(try breakers.record("stripe", .failure, token: "probe-1", now: now, on: redis) == (.open, true))
            #expect(try breakers.status("stripe", on: redis).reopenAt == now + 30)
            now += 31
            #expect(try breakers.allow("stripe", token: "probe-2", now: now, on: redis) == .probe)
            #expect(try breakers.record("stripe", .success, token: "probe-2", now: now, on: redis) == (.closed, true))
            #expect(try breakers.allow("stripe", token: "d", now: now, on: redis) == .closed)
        }
    }

    @Test func aFailureRatioOverTheMinimumCallsOpensItAndClientErrorsNeverDo() async throws {
        let stack = try await TestStack.shared()
        let breakers = CircuitBreakers(QueueKit.coordination(QueueKit.queue()), settings: try coordinationSettings(["JUNCTION_BREAKER_CONSECUTIVE_FAILURES": "100"]))
        try await TestStack.onThread {
            let redis = try RedisConnection(stack.redis)
            let now = Self.start
            // 4xx answers are successes to the breaker: a hundred of them change nothing.
            for _ in 0..<100 { #expect(try breakers.record("hubspot", .success, token: "x", now: now, on: redis).state == .closed) }
            // 2 failures of 3 calls: under the minimum of 4 calls; the 4th call (a failure) passes 50 %.
            let scope = "square"
            #expect(try breakers.record(scope, .failure, token: "x", now: now, on: redis).state == .closed)
            #expect(try breakers.record(scope, .success, token: "x", now: now, on: redis).state == .closed)
            #expect(try breakers.record(scope, .failure, token: "x", now: now, on: redis).state == .closed)
            #expect(try breakers.record(scope, .failure, token: "x", now: now, on: redis) == (.open, true))
            let status = try breakers.status(scope, on: redis)
            #expect(status.failuresWhenOpened == 3 && status.callsWhenOpened == 4)
            // Calls older than the window no longer count.
            let later = now + 61
            #expect(try breakers.record("mailchimp", .failure, token: "x", now: now, on: redis).state == .closed)
            #expect(try breakers.record("mailchimp", .failure, token: "x", now: now, on: redis).state == .closed)
            #expect(try breakers.record("mailchimp", .success, token: "x", now: later, on: redis).state == .closed)
            #expect(try breakers.record("mailchimp", .failure, token: "x", now: later, on: redis).state == .closed, "1 of 2 in the window")
            #expect(try breakers.reset(scope, on: redis))
            #expect(try breakers.allow(scope, token: "y", now: now, on: redis) == .closed)
        }
    }

    @Test func manyConcurrentCallersGetExactlyOneHalfOpenProbe() async throws {
        let stack = try await TestStack.shared()
        let breakers = CircuitBreakers(QueueKit.coordination(QueueKit.queue()), settings: try coordinationSettings())
        let opened = Self.start
        try await TestStack.onThread {
            let redis = try RedisConnection(stack.redis)
            for _ in 0..<3 { try breakers.record("quickbooks", .failure, token: "x", now: opened, on: redis) }
        }
        // Eight connections (as eight worker processes would) ask at once after the cool-down.
        let decisions = try await withThrowingTaskGroup(of: BreakerDecision.self) { group in
            for index in 0..<8 {
                group.addTask {
                    try await TestStack.onThread {
                        try breakers.allow("quickbooks", token: "caller-\(index)", now: opened + 31, on: try RedisConnection(stack.redis))
                    }
                }
            }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        #expect(decisions.filter { $0 == .probe }.count == 1)
        #expect(decisions.filter { if case .refused = $0 { true } else { false } }.count == 7)
    }
}

@Suite("Rate limits")
struct RateLimiterTests {
    static let start = Date(timeIntervalSince1970: 1_800_000_000)

    @Test func gcraSpacesCallsAndAllowsTheBurst() async throws {
        let stack = try await TestStack.shared()
        let limiter = RateLimiter(QueueKit.coordination(QueueKit.queue()), settings: try coordinationSettings(["JUNCTION_RATE_LIMIT_STRIPE": "20/1s,burst=3"]))
        try await TestStack.onThread {
            let redis = try RedisConnection(stack.redis)
            let now = Self.start
            for index in 0..<3 {
                #expect(try limiter.acquire(provider: "stripe", connection: "acct_1", token: "t\(index)", now: now, on: redis) == .granted)
            }
            // The burst is spent: the next slot opens one emission interval (50 ms) later.
            #expect(try limiter.acquire(provider: "stripe", connection: "acct_1", token: "t3", now: now, on: redis) == .wait(until: now + 0.05, reason: .rate))
            #expect(try limiter.acquire(provider: "stripe", connection: "acct_1", token: "t3", now: now + 0.05, on: redis) == .granted)
            #expect(try limiter.acquire(provider: "stripe", connection: "acct_2", token: "t4", now: now, on: redis) == .granted, "each connection has its own")
        }
    }

    @Test func concurrencyIsCappedAndA429PausesEveryScopeUntilItsRetryAfter() async throws {
        let stack = try await TestStack.shared()
        let limiter = RateLimiter(QueueKit.coordination(QueueKit.queue()), settings: try coordinationSettings(["JUNCTION_RATE_LIMIT_QUICKBOOKS": "concurrent=2"]))
        try await TestStack.onThread {
            let redis = try RedisConnection(stack.redis)
            let now = Self.start
            #expect(try limiter.acquire(provider: "quickbooks", connection: "realm-1", token: "a", now: now, on: redis) == .granted)
            #expect(try limiter.acquire(provider: "quickbooks", connection: "realm-1", token: "b", now: now, on: redis) == .granted)
            let third = try limiter.acquire(provider: "quickbooks", connection: "realm-1", token: "c", now: now, on: redis)
            guard case .wait(_, .concurrency) = third else { Issue.record("a third concurrent call got \(third)"); return }
            try limiter.release(provider: "quickbooks", connection: "realm-1", token: "a", on: redis)
            #expect(try limiter.acquire(provider: "quickbooks", connection: "realm-1", token: "c", now: now, on: redis) == .granted)
            // A 429 pauses the connection and the provider scope until Retry-After; a shorter
            // pause never cuts a longer one short.
            try limiter.pause(provider: "quickbooks", connection: "realm-1", for: .seconds(2), now: now, on: redis)
            try limiter.pause(provider: "quickbooks", connection: "realm-1", for: .seconds(1), now: now, on: redis)
            #expect(try limiter.acquire(provider: "quickbooks", connection: "realm-2", token: "d", now: now + 1.5, on: redis) == .wait(until: now + 2, reason: .paused))
            let activity = try limiter.activity(now: now, on: redis)
            #expect(activity.first { $0.scope == "quickbooks:realm-1" }?.inFlight == 2)
        }
    }

    @Test func limitsAreWrittenAsCountPerPeriodWithOptions() throws {
        #expect(try RateLimit(parsing: "500/60s,concurrent=10") == RateLimit(count: 500, period: .seconds(60), burst: 9, concurrent: 10))
        #expect(try RateLimit(parsing: "off").isOff)
        #expect(try RateLimit(parsing: "100/1s").burst == 100)
        for bad in ["fast", "0/1s", "10/0s", "10/1s,burst=0", "10/1s,bursts=3"] {
            #expect(throws: InvalidValue.self, "\(bad)") { try RateLimit(parsing: bad) }
        }
        let error = #expect(throws: ConfigurationError.self) { try coordinationSettings(["JUNCTION_RATE_LIMIT_SHOPIFY": "2 per second"]) }
        #expect(error?.description.contains("JUNCTION_RATE_LIMIT_SHOPIFY") == true)
        let defaults = try coordinationSettings()
        #expect(defaults.connectionLimits["quickbooks"] == RateLimit(count: 500, period: .seconds(60), concurrent: 10))
        #expect(defaults.connectionLimits["stripe"]?.count == 100)
        #expect(defaults.connectionLimits["mailchimp"]?.concurrent == 10)
    }
}

@Suite("Coordination commands")
struct CoordinationCommandTests {
    @Test func locksBreakersAndLimitsAreVisibleAndABreakerCanBeClosedByHand() async throws {
        let stack = try await TestStack.shared()
        let queue = QueueKit.queue()
        let settings = try coordinationSettings()
        try await TestStack.onThread {
            let redis = try RedisConnection(stack.redis)
            _ = try DistributedLocks(QueueKit.coordination(queue)).acquire("sync:venue-9:square:payments", ttl: .seconds(60), owner: "worker-a", on: redis)
            let breakers = CircuitBreakers(QueueKit.coordination(queue), settings: settings)
            for _ in 0..<3 { try breakers.record("square", .failure, token: "x", on: redis) }
            try RateLimiter(QueueKit.coordination(queue), settings: settings).pause(provider: "square", connection: "loc-1", for: .seconds(600), on: redis)
        }
        let environment = QueueKit.environment(stack, queue: queue, ["JUNCTION_BREAKER_CONSECUTIVE_FAILURES": "3"])
        let locks = try ChildProcess(junction: "junction", arguments: ["locks"], environment: environment)
        #expect(try await locks.exitStatus() == 0)
        #expect(locks.lines.count == 1 && locks.lines[0].hasPrefix("sync:venue-9:square:payments  fence 1  holder worker-a  expires in "))
        let breakers = try ChildProcess(junction: "junction", arguments: ["breakers"], environment: environment)
        #expect(try await breakers.exitStatus() == 0)
        #expect(breakers.lines.count == 1 && breakers.lines[0].hasPrefix("square  open  half-open at ") && breakers.lines[0].hasSuffix("(3 of 3 calls failed)"))
        let reset = try ChildProcess(junction: "junction", arguments: ["breakers", "reset", "square"], environment: environment)
        #expect(try await reset.exitStatus() == 0)
        #expect(reset.lines == ["closed square"])
        let after = try await TestStack.onThread {
            try CircuitBreakers(QueueKit.coordination(queue), settings: settings).status("square", on: try RedisConnection(stack.redis)).state
        }
        #expect(after == .closed)
        let limits = try ChildProcess(junction: "junction", arguments: ["limits"], environment: environment)
        #expect(try await limits.exitStatus() == 0)
        #expect(limits.lines.contains("quickbooks  per connection 500/60s,burst=9,concurrent=10  fleet off"))
        #expect(limits.lines.contains { $0.hasPrefix("  square:loc-1  in flight 0  paused until ") })
    }
}
