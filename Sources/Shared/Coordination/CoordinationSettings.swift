import Foundation

/// A rate limit: `count` calls per `period`, up to `burst` at once, and at most `concurrent` in
/// flight (0: no cap). Written `100/1s`, `500/60s,burst=10,concurrent=10`, `concurrent=10`, `off`.
public struct RateLimit: Sendable, Equatable, CustomStringConvertible {
    public var count: Int
    public var period: Duration
    public var burst: Int
    public var concurrent: Int

    public static let off = RateLimit(count: 0, period: .seconds(1), burst: 0, concurrent: 0)

    public init(count: Int, period: Duration, burst: Int? = nil, concurrent: Int = 0) {
        self.count = count
        self.period = period
        // Default burst: a second's worth of calls (at least 1), never more than the count.
        let perSecond = count > 0 ? Double(count) / (Double(Queue.milliseconds(period)) / 1000) : 0
        self.burst = burst ?? (count > 0 ? min(count, max(1, Int(perSecond.rounded(.up)))) : 0)
        self.concurrent = concurrent
    }

    public var isOff: Bool { count == 0 && concurrent == 0 }

    /// Milliseconds between calls at the sustained rate (0: no rate).
    public var intervalMilliseconds: Int64 {
        count > 0 ? max(1, Queue.milliseconds(period) / Int64(count)) : 0
    }

    public init(parsing text: String) throws(InvalidValue) {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        if trimmed == "off" || trimmed.isEmpty {
            self = .off
            return
        }
        var count = 0
        var period = Duration.seconds(1)
        var burst: Int?
        var concurrent = 0
        for part in trimmed.split(separator: ",").map({ $0.trimmingCharacters(in: .whitespaces) }) {
            if let slash = part.firstIndex(of: "/") {
                guard let number = Int(part[..<slash]), number > 0 else { throw InvalidValue("\"\(part)\": the count before / must be a positive whole number") }
                guard let every = EnvironmentVariables.parseDuration(String(part[part.index(after: slash)...])), every > .zero else {
                    throw InvalidValue("\"\(part)\": the period after / must be a duration such as 1s or 60s")
                }
                (count, period) = (number, every)
            } else if part.hasPrefix("burst=") {
                guard let value = Int(part.dropFirst(6)), value > 0 else { throw InvalidValue("burst must be a positive whole number") }
                burst = value
            } else if part.hasPrefix("concurrent=") {
                guard let value = Int(part.dropFirst(11)), value > 0 else { throw InvalidValue("concurrent must be a positive whole number") }
                concurrent = value
            } else {
                throw InvalidValue("\"\(part)\" is not COUNT/PERIOD, burst=N, concurrent=N or off")
            }
        }
        self.init(count: count, period: period, burst: burst, concurrent: concurrent)
    }

    public var description: String {
        if isOff { return "off" }
        var parts: [String] = []
        if count > 0 { parts += ["\(count)/\(Queue.milliseconds(period) % 1000 == 0 ? "\(Queue.milliseconds(period) / 1000)s" : "\(Queue.milliseconds(period))ms")", "burst=\(burst)"] }
        if concurrent > 0 { parts.append("concurrent=\(concurrent)") }
        return parts.joined(separator: ",")
    }
}

/// How the fleet treats providers: circuit breaker thresholds, rate limits, base URLs. Read from
/// `JUNCTION_BREAKER_*`, `JUNCTION_RATE_LIMIT_*` and `JUNCTION_PROVIDER_URL_*`.
public struct CoordinationSettings: Sendable {
    public var breakerWindow: Duration
    public var breakerMinimumCalls: Int
    /// Failure share (0…1) of at least ``breakerMinimumCalls`` calls in the window that opens it.
    public var breakerFailureRatio: Double
    public var breakerConsecutiveFailures: Int
    public var breakerCooldown: Duration
    /// A half-open probe that never reports (its worker died) frees the slot after this long.
    public var breakerProbeTimeout: Duration
    /// Per connection (or per provider account) limits, by provider.
    public var connectionLimits: [String: RateLimit]
    /// Limits shared by every connection of a provider.
    public var fleetLimits: [String: RateLimit]
    /// A wait for a rate-limit slot up to this long happens in place; a longer one reschedules
    /// the job instead of holding its processor.
    public var maxLimitWait: Duration
    /// Timeout of one provider call.
    public var callTimeout: Duration
    /// Base URL per provider (the sandbox locally, the real API in production).
    public var baseURLs: [String: String]

    /// Every provider Junction knows, with its published API base URL.
    public static let providers: [String: String] = [
        "stripe": "https://api.stripe.com", "square": "https://connect.squareup.com", "mailchimp": "https://us1.api.mailchimp.com",
        "quickbooks": "https://quickbooks.api.intuit.com", "shopify": "https://shop.myshopify.com", "hubspot": "https://api.hubapi.com",
        "twilio": "https://api.twilio.com", "github": "https://api.github.com", "slack": "https://slack.com/api",
        "google": "https://www.googleapis.com", "dropbox": "https://api.dropboxapi.com", "box": "https://api.box.com",
        "keap": "https://api.infusionsoft.com", "gohighlevel": "https://services.leadconnectorhq.com",
    ]

    /// Per-connection defaults from the published limits (`shared/reference/providers.md`);
    /// providers that publish none get no rate, only the 429 feedback.
    public static let defaultConnectionLimits: [String: RateLimit] = [
        "stripe": RateLimit(count: 100, period: .seconds(1)),
        "quickbooks": RateLimit(count: 500, period: .seconds(60), concurrent: 10),
        "mailchimp": RateLimit(count: 0, period: .seconds(1), concurrent: 10),
        "shopify": RateLimit(count: 2, period: .seconds(1), burst: 40),
        "hubspot": RateLimit(count: 100, period: .seconds(10), burst: 10),
        "gohighlevel": RateLimit(count: 100, period: .seconds(10), burst: 10),
        "github": RateLimit(count: 5000, period: .seconds(3600), burst: 10),
    ]

    public init(environment: EnvironmentVariables) throws(ConfigurationError) {
        breakerWindow = try environment.duration("JUNCTION_BREAKER_WINDOW", default: "60s")
        breakerMinimumCalls = try environment.integer("JUNCTION_BREAKER_MIN_CALLS", default: 20, in: 1...1_000_000)
        breakerFailureRatio = Double(try environment.integer("JUNCTION_BREAKER_FAILURE_PERCENT", default: 50, in: 1...100)) / 100
        breakerConsecutiveFailures = try environment.integer("JUNCTION_BREAKER_CONSECUTIVE_FAILURES", default: 5, in: 1...1_000_000)
        breakerCooldown = try environment.duration("JUNCTION_BREAKER_COOLDOWN", default: "30s")
        breakerProbeTimeout = try environment.duration("JUNCTION_BREAKER_PROBE_TIMEOUT", default: "60s")
        maxLimitWait = try environment.duration("JUNCTION_RATE_LIMIT_MAX_WAIT", default: "2s")
        callTimeout = try environment.duration("JUNCTION_PROVIDER_TIMEOUT", default: "30s")
        var connection: [String: RateLimit] = [:]
        var fleet: [String: RateLimit] = [:]
        var urls: [String: String] = [:]
        for (provider, url) in Self.providers {
            let name = provider.uppercased()
            connection[provider] = try environment.parse(
                "JUNCTION_RATE_LIMIT_\(name)", default: (Self.defaultConnectionLimits[provider] ?? .off).description,
                example: "100/1s,burst=20,concurrent=10"
            ) { (text: String) throws(InvalidValue) in try RateLimit(parsing: text) }
            fleet[provider] = try environment.parse(
                "JUNCTION_RATE_LIMIT_\(name)_FLEET", default: "off", example: "1000/1s"
            ) { (text: String) throws(InvalidValue) in try RateLimit(parsing: text) }
            urls[provider] = try environment.parse("JUNCTION_PROVIDER_URL_\(name)", default: url, example: url) { (text: String) throws(InvalidValue) in
                guard text.hasPrefix("https://") || text.hasPrefix("http://") else { throw InvalidValue("must start with https:// (or http://)") }
                return text.hasSuffix("/") ? String(text.dropLast()) : text
            }
        }
        connectionLimits = connection
        fleetLimits = fleet
        baseURLs = urls
    }
}
