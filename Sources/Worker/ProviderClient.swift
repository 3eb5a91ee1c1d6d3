import Foundation
import JunctionCoordination
import JunctionCore
import JunctionProviders
import Logging
import Tracing

/// A provider call refused before it went out, or answered 429: the job should run again later
/// without spending an attempt (the worker turns it into ``JobFailure/reschedule(after:reason:)``).
public struct ProviderBackoff: Error, Sendable, Equatable, CustomStringConvertible {
    public let provider: String
    public let retryAt: Date
    public let reason: Reason

    /// Why the call did not go out, or came back without an answer to use.
    public enum Reason: Sendable, Equatable, CustomStringConvertible {
        /// A breaker of `scope` (the provider, or provider and connection) is open or half-open
        /// with its probe out.
        case circuit(BreakerState, scope: String)
        /// No rate-limit slot within the wait allowed in place.
        case rateLimit(LimitReason)
        /// The provider answered 429; the provider (and connection) is paused fleet-wide.
        case tooManyRequests

        public var description: String {
            switch self {
            case .circuit(let state, let scope): "circuit \(state) for \(scope)"
            case .rateLimit(.paused): "paused after a 429"
            case .rateLimit(let reason): "rate limit (\(reason.rawValue))"
            case .tooManyRequests: "429"
            }
        }
    }

    public init(provider: String, retryAt: Date, reason: Reason) {
        self.provider = provider
        self.retryAt = retryAt
        self.reason = reason
    }

    public var description: String { "\(provider): \(reason); try again at \(Timestamp.format(retryAt))" }
}

/// The one way a job calls a provider: circuit breakers → rate limiter → HTTP call with a timeout
/// → classify the outcome → feed the breakers and the limiter. (Breakers first: a call an open
/// breaker refuses should not spend a rate slot.) One per worker processor (it owns
/// a curl handle and uses the processor's Redis connection); handlers get it from their
/// ``JobContext`` and have no other HTTP client.
///
/// Outcomes: a response is returned for every status but 429 (the handler judges 4xx); a 429
/// pauses the provider (and connection) fleet-wide until its `Retry-After` and throws
/// ``ProviderBackoff``; an open breaker or a long wait for a rate slot throws ``ProviderBackoff``
/// before any request goes out; a timeout or connection failure throws the
/// ``OutboundHTTPError`` (retryable). Timeouts, connection errors and 5xx count against the
/// breakers; other answers, 4xx included, count as healthy; a 429 counts as neither.
public final class ProviderClient {
    public let settings: CoordinationSettings
    let coordination: Coordination
    let breakers: CircuitBreakers
    let limiter: RateLimiter
    public let redis: RedisConnection
    /// The running job's logger (its `trace_id`, `job_id`): the processor sets it for each job.
    var logger: Logger
    /// The running job's span context (when traces are exported): each call is a client span
    /// under it. The processor sets it for each job.
    var trace: ServiceContext?
    private var handle: CurlHandle?
    /// Stops waits early when the job is cancelled.
    var isCancelled: () -> Bool = { false }

    public init(_ coordination: Coordination, settings: CoordinationSettings, redis: RedisConnection, logger: Logger) {
        self.settings = settings
        self.coordination = coordination
        breakers = CircuitBreakers(coordination, settings: settings)
        limiter = RateLimiter(coordination, settings: settings)
        self.redis = redis
        self.logger = logger
    }

    deinit { handle?.close() }

    /// A second client to the same fleet-wide breakers and limits, on its own Redis connection and
    /// curl handle: for calls made on another thread while this client's thread does something
    /// else (a sync asks for its next page while it commits the last). Closed when released.
    public func companion() throws -> ProviderClient {
        let client = ProviderClient(coordination, settings: settings, redis: try RedisConnection(redis.configuration), logger: logger)
        client.isCancelled = isCancelled
        client.trace = trace
        return client
    }

    /// The provider's base URL (the sandbox or the real API) followed by `path`.
    public func url(provider: String, path: String) -> String {
        (settings.baseURLs[provider] ?? "") + (path.hasPrefix("/") ? path : "/" + path)
    }

    /// The URL of one connection's call: on its account's own host where the provider has one per
    /// account (Mailchimp's data centres) and no `JUNCTION_PROVIDER_URL_<PROVIDER>` overrides it.
    public func url(provider: Provider, account: String?, apiKey: String?, path: String) -> String {
        let configured = settings.baseURLs[provider.id] ?? provider.api.baseURL
        guard configured == provider.api.baseURL, let host = provider.api.accountBaseURL(account, apiKey) else { return url(provider: provider.id, path: path) }
        return host + (path.hasPrefix("/") ? path : "/" + path)
    }

    public func send(_ request: OutboundRequest, provider: String, connection: String? = nil) throws -> OutboundResponse {
        let token = UUID().uuidString.lowercased()
        let scopes = [provider] + (connection.map { ["\(provider):\($0)"] } ?? [])

        // 1. The breakers, all scopes in one round trip: any open one refuses the call before it
        //    goes out.
        let decisions = try breakers.allow(scopes, token: token, on: redis)
        let probing = zip(scopes, decisions).filter { $0.1 == .probe }.map(\.0)
        for scope in probing { logger.info("circuit half-open: this call is the probe", metadata: ["scope": .string(scope)]) }
        for (scope, decision) in zip(scopes, decisions) {
            guard case .refused(let state, let retryAt) = decision else { continue }
            Measure.count(MetricName.providerRefusals, [("provider", provider), ("reason", "circuit_\(state.rawValue)")])
            // A probe granted in another scope gets no verdict: let the next caller probe.
            if !probing.isEmpty { try breakers.record(probing, .neutral, token: token, on: redis) }
            throw ProviderBackoff(provider: provider, retryAt: retryAt, reason: .circuit(state, scope: scope))
        }

        // 2. The limiter: wait briefly for a slot, or reschedule.
        while true {
            switch try limiter.acquire(provider: provider, connection: connection, token: token, on: redis) {
            case .granted: break
            case .wait(let until, let reason):
                let wait = until.timeIntervalSinceNow
                if wait > settings.maxLimitWait / .seconds(1) || isCancelled() {
                    Measure.count(MetricName.providerRefusals, [("provider", provider), ("reason", "rate_limit")])
                    if !probing.isEmpty { try breakers.record(probing, .neutral, token: token, on: redis) }
                    throw ProviderBackoff(provider: provider, retryAt: until, reason: .rateLimit(reason))
                }
                Measure.count(MetricName.limiterWaits, [("provider", provider)])
                Measure.time(MetricName.limiterWait, [("provider", provider)], .milliseconds(Int64(max(0.001, wait) * 1000)))
                Thread.sleep(forTimeInterval: max(0.001, wait))
                continue
            }
            break
        }
        defer { try? limiter.release(provider: provider, connection: connection, token: token, on: redis) }

        // 3. The call.
        var call = request
        call.timeout = min(call.timeout, settings.callTimeout)
        let result: Result<OutboundResponse, OutboundHTTPError>
        let calledAt = ContinuousClock.now
        defer { Measure.time(MetricName.providerRequestDuration, [("provider", provider)], ContinuousClock.now - calledAt) }
        // No URL: paths and queries carry ids, search terms, hashed emails.
        let span = trace.flatMap { Traces.start("\(call.method) \(provider)", kind: .client, parent: $0, attributes: [
            ("http.request.method", call.method), ("junction.provider", provider),
        ]) }
        defer { span?.end() }
        do {
            if handle == nil { handle = try CurlHandle() }
            result = .success(try handle!.perform(call, maxResponseBytes: 32 << 20))
        } catch {
            result = .failure(error)
        }

        // 4. Classify and feed the breakers and the limiter.
        let outcome: CircuitBreakers.Outcome
        var pause: Duration?
        switch result {
        case .failure(let error): outcome = error.isRetryable ? .failure : .success
        case .success(let response) where response.status == 429:
            outcome = .neutral
            pause = response.retryAfter() ?? .seconds(1)
        case .success(let response): outcome = response.status >= 500 ? .failure : .success
        }
        Measure.count(MetricName.providerRequests, [("provider", provider), ("status", Self.statusClass(result))])
        if let span {
            switch result {
            case .success(let response):
                span.attributes["http.response.status_code"] = Int(response.status)
                if response.status >= 500 || response.status == 429 { span.setStatus(SpanStatus(code: .error)) }
            case .failure(let error):
                span.recordError(error)
                span.setStatus(SpanStatus(code: .error))
            }
        }
        logger.debug("provider called", metadata: [
            "provider": .string(provider), "method": .string(call.method), "status": .string((try? result.get()).map { String($0.status) } ?? "no answer"),
            "ms": .stringConvertible(Milliseconds.of(ContinuousClock.now - calledAt)),
        ])
        for (index, (scope, (state, changed))) in zip(scopes, try breakers.record(scopes, outcome, token: token, on: redis)).enumerated() {
            // `junction_breaker_state` is the leading scheduler's, read from Redis: a worker's own
            // view goes stale once it stops calling the provider.
            if changed {
                Measure.count(MetricName.breakerTransitions, [("provider", provider), ("scope", index == 0 ? "provider" : "connection"), ("to", state.rawValue)])
                if state == .open {
                    logger.warning("circuit opened", metadata: [
                        "scope": .string(scope), "cooldown_ms": .stringConvertible(Milliseconds.of(settings.breakerCooldown)),
                        "effect": "calls refused fleet-wide until the cool-down ends",
                    ])
                } else {
                    logger.info("circuit \(state)", metadata: ["scope": .string(scope)])
                }
            }
        }
        if let pause {
            Measure.count(MetricName.provider429s, [("provider", provider)])
            try limiter.pause(provider: provider, connection: connection, for: pause, on: redis)
            let pausedUntil = Date() + pause / .seconds(1)
            logger.warning("provider answered 429; paused fleet-wide", metadata: [
                "provider": .string(provider), "until": .string(Timestamp.format(pausedUntil)),
            ])
            throw ProviderBackoff(provider: provider, retryAt: pausedUntil, reason: .tooManyRequests)
        }
        return try result.get()
    }

    /// The `status` label of `junction_provider_requests_total`: `2xx` … `5xx`, or `error` when
    /// no answer came (timeout, refused connection).
    static func statusClass(_ result: Result<OutboundResponse, OutboundHTTPError>) -> String {
        switch result {
        case .success(let response): "\(response.status / 100)xx"
        case .failure: "error"
        }
    }
}
