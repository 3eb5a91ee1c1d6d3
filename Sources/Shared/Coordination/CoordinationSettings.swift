import Foundation
import JunctionCore
import JunctionProviders

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
        for provider in Providers.all {
            let (id, name, url) = (provider.id, provider.id.uppercased(), provider.api.baseURL)
            connection[id] = try environment.parse(
                "JUNCTION_RATE_LIMIT_\(name)", default: provider.api.connectionLimit.description,
                example: "100/1s,burst=20,concurrent=10"
            ) { (text: String) throws(InvalidValue) in try RateLimit(parsing: text) }
            fleet[id] = try environment.parse(
                "JUNCTION_RATE_LIMIT_\(name)_FLEET", default: "off", example: "1000/1s"
            ) { (text: String) throws(InvalidValue) in try RateLimit(parsing: text) }
            urls[id] = try environment.parse("JUNCTION_PROVIDER_URL_\(name)", default: url, example: url) { (text: String) throws(InvalidValue) in
                guard text.hasPrefix("https://") || text.hasPrefix("http://") else { throw InvalidValue("must start with https:// (or http://)") }
                return text.hasSuffix("/") ? String(text.dropLast()) : text
            }
        }
        connectionLimits = connection
        fleetLimits = fleet
        baseURLs = urls
    }
}
