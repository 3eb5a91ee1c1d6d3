import Foundation
import JunctionCore
import JunctionQueue
import JunctionWorker
import Testing

@Suite("Retry schedule")
struct RetriesTests {
    static let now = Date(timeIntervalSince1970: 1_800_000_000)

    static func envelope(priority: JobPriority = .normal, attempt: Int = 1, maxAttempts: Int = 3) -> JobEnvelope {
        JobEnvelope(id: "j1", type: "sync.run", priority: priority, attempt: attempt, maxAttempts: maxAttempts, traceID: "t")
    }

    @Test func backOffDoublesFromTheBaseUpToTheCap() {
        let policy = RetryPolicy(maxAttempts: 10, baseDelay: .seconds(2), maxDelay: .seconds(30))
        #expect((1...6).map { policy.ceiling(afterAttempt: $0) } == [.seconds(2), .seconds(4), .seconds(8), .seconds(16), .seconds(30), .seconds(30)])
    }

    @Test(arguments: [0.0, 0.25, 0.999])
    func fullJitterPicksAWaitBetweenZeroAndTheCeiling(random: Double) {
        let retries = Retries(settings: QueueSettings())
        let (next, end, errorClass) = retries.end(Self.envelope(attempt: 2), error: JobFailure.retryable("timeout"), now: Self.now, random: random)
        // normal: base 5 s; after attempt 2 the ceiling is 10 s.
        #expect(end == .retry(due: Self.now + 10 * random))
        #expect(next.attempt == 3)
        #expect(errorClass == .retryable)
        #expect(next.errors == [JobErrorRecord(at: Self.now, attempt: 2, errorClass: .retryable, message: "timeout")])
    }

    @Test func defaultsPerPriorityMatchTheDesign() {
        let settings = QueueSettings()
        let table = JobPriority.allCases.map { settings.retryPolicy(type: "x", priority: $0) }.map { ($0.maxAttempts, $0.baseDelay) }
        #expect(table.map(\.0) == [5, 3, 3, 2])
        #expect(table.map(\.1) == [.seconds(1), .seconds(2), .seconds(5), .seconds(10)])
    }

    @Test func retryAfterIsHonouredExactly() {
        let (_, end, _) = Retries(settings: QueueSettings()).end(Self.envelope(), error: JobFailure.retryAfter(.seconds(120), "429 Too Many Requests"), now: Self.now, random: 0.5)
        #expect(end == .retry(due: Self.now + 120))
    }

    @Test func rescheduleSpendsNoAttemptAndAddsNoError() {
        let envelope = Self.envelope(attempt: 3, maxAttempts: 3)
        let (next, end, errorClass) = Retries(settings: QueueSettings()).end(envelope, error: JobFailure.reschedule(after: .seconds(30), reason: "circuit open"), now: Self.now)
        #expect(end == .reschedule(due: Self.now + 30))
        #expect(next == envelope)
        #expect(errorClass == nil, "a reschedule is not a failure and records no class")
    }

    @Test func aProviderBackoffIsARescheduleUntilTheProviderCanTakeTheCall() {
        let envelope = Self.envelope(attempt: 2, maxAttempts: 3)
        let backoff = ProviderBackoff(provider: "stripe", retryAt: Self.now + 12, reason: .circuit(.open, scope: "stripe"))
        let (next, end, errorClass) = Retries(settings: QueueSettings()).end(envelope, error: backoff, now: Self.now)
        #expect(end == .reschedule(due: Self.now + 12) && next == envelope && errorClass == nil)
        #expect("\(backoff)".hasPrefix("stripe: circuit open for stripe; try again at "))
        #expect("\(ProviderBackoff.Reason.rateLimit(.paused))" == "paused after a 429")
    }

    /// A 401 or 403 from a provider cannot be fixed by retrying: it goes to the dead letters at
    /// once, classed `unauthorized`, with attempts left.
    @Test func refusedCredentialsAreDeadAtOnceAndClassedUnauthorized() throws {
        let (next, end, errorClass) = Retries(settings: QueueSettings()).end(
            Self.envelope(attempt: 1, maxAttempts: 5), error: JobFailure.unauthorized("stripe answered 401: Invalid API Key provided"), now: Self.now)
        #expect(end == .dead && errorClass == .unauthorized)
        #expect(next.errors == [JobErrorRecord(at: Self.now, attempt: 1, errorClass: .unauthorized, message: "stripe answered 401: Invalid API Key provided")])
        #expect(try JobEnvelope.decode(next.encoded()).errors.first?.errorClass == .unauthorized, "stored and read back as unauthorized")
    }

    /// An envelope written by another version with a class this one does not know still reads,
    /// and keeps the class as written.
    @Test func anUnknownErrorClassIsKeptAsStored() throws {
        var envelope = Self.envelope()
        envelope.errors = [JobErrorRecord(at: Self.now, attempt: 1, errorClass: .other("quota_exhausted"), message: "daily quota")]
        let read = try JobEnvelope.decode(envelope.encoded())
        #expect(read.errors.first?.errorClass == .other("quota_exhausted"))
        #expect(read.encoded().contains(#""class":"quota_exhausted""#))
        for known in [JobErrorClass.retryable, .permanent, .unauthorized, .noHandler, .leaseExpired] {
            #expect(JobErrorClass(name: known.name) == known)
        }
    }

    /// A job's `traceparent` survives the queue and its retries (the worker's span continues it),
    /// and an envelope written before the field existed reads with none.
    @Test func theTraceparentIsStoredWithTheJobAndOlderEnvelopesReadWithout() throws {
        var envelope = Self.envelope()
        envelope.traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
        let (next, _, _) = Retries(settings: QueueSettings()).end(try JobEnvelope.decode(envelope.encoded()), error: JobFailure.retryable("down"), now: Self.now)
        #expect(try JobEnvelope.decode(next.encoded()).traceparent == envelope.traceparent)
        let older = Self.envelope().encoded().replacingOccurrences(of: #","traceparent":null"#, with: "")
        #expect(!older.contains("traceparent"))
        #expect(try JobEnvelope.decode(older).traceparent == nil)
    }

    @Test func lastAttemptGoesToTheDeadLetters() {
        let (next, end, _) = Retries(settings: QueueSettings()).end(Self.envelope(attempt: 3, maxAttempts: 3), error: JobFailure.retryable("still down"), now: Self.now)
        #expect(end == .dead)
        #expect(next.attempt == 3 && next.errors.count == 1)
    }

    @Test func permanentErrorsAndMissingHandlersAreDeadAtOnce() {
        let retries = Retries(settings: QueueSettings())
        #expect(retries.end(Self.envelope(), error: JobFailure.permanent("400"), now: Self.now).1 == .dead)
        let (next, end, errorClass) = retries.end(Self.envelope(), error: MissingHandler(type: "nope", known: ["system.noop"]), now: Self.now)
        #expect(end == .dead && errorClass == .noHandler)
        #expect(next.errors.first?.message.contains("no handler for job type nope") == true)
    }

    @Test func clientErrorsAreClassifiedByWhetherARetryCanHelp() {
        let retries = Retries(settings: QueueSettings())
        #expect(retries.end(Self.envelope(), error: RedisError.timeout, now: Self.now).2 == .retryable)
        #expect(retries.end(Self.envelope(), error: OutboundHTTPError.tls("bad certificate"), now: Self.now).1 == .dead)
    }

    @Test func policiesAreConfigurablePerPriorityAndPerType() throws {
        let settings = try QueueSettings(environment: EnvironmentVariables([
            "JUNCTION_RETRY_LOW": "7/3s", "JUNCTION_RETRY_TYPE_WEBHOOK_PROCESS": "9/250ms", "JUNCTION_RETRY_MAX_DELAY": "10m",
        ]))
        #expect(settings.retryPolicy(type: "sync.run", priority: .low) == RetryPolicy(maxAttempts: 7, baseDelay: .seconds(3), maxDelay: .seconds(600)))
        #expect(settings.retryPolicy(type: "webhook.process", priority: .critical) == RetryPolicy(maxAttempts: 9, baseDelay: .milliseconds(250), maxDelay: .seconds(600)))
        #expect(settings.retryPolicy(type: "sync.run", priority: .critical).maxAttempts == 5)
    }

    @Test func malformedRetrySettingNamesTheVariable() {
        #expect {
            _ = try QueueSettings(environment: EnvironmentVariables(["JUNCTION_RETRY_HIGH": "three"]))
        } throws: { error in
            (error as? ConfigurationError)?.description.hasPrefix("JUNCTION_RETRY_HIGH=three is invalid: must be ATTEMPTS/BASE_DELAY") == true
        }
    }
}
