import Foundation

/// A breaker's state as `junction breakers` shows it.
public struct BreakerStatus: Sendable, Equatable {
    public var scope: String
    public var state: String
    public var reopenAt: Date?
    public var openedAt: Date?
    /// Failures and calls in the window when it opened.
    public var failuresWhenOpened: Int?
    public var callsWhenOpened: Int?
}

/// What ``CircuitBreakers/allow(_:token:now:)`` decided.
public enum BreakerDecision: Sendable, Equatable {
    case closed
    /// Half-open: this caller is the fleet's one probe; its outcome decides.
    case probe
    /// Open (try again when the cool-down ends) or half-open with the probe out (try again in a
    /// second at most).
    case refused(state: String, retryAt: Date)
}

/// Fleet-wide circuit breakers in Redis, per scope (`stripe`, `stripe:<connection>`): closed →
/// open when the failures in the rolling window pass the threshold (or too many in a row) → after
/// the cool-down half-open, where exactly one probe in the fleet decides → closed or open again.
public struct CircuitBreakers: Sendable {
    public let keys: QueueKeys
    public let scripts: QueueScripts
    public let settings: CoordinationSettings

    public init(queue: Queue, settings: CoordinationSettings) {
        keys = queue.settings.keys
        scripts = queue.scripts
        self.settings = settings
    }

    /// `now` nil (the default): the scripts use Redis's clock, shared by every replica, so skewed
    /// host clocks cannot reopen a breaker early. Tests pass a fixed clock.
    private func arguments(_ operation: String, token: String, outcome: String, now: Date?) -> [RedisArgument] {
        [
            RedisArgument(operation), now.map { RedisArgument(Int64($0.timeIntervalSince1970 * 1000)) } ?? "", RedisArgument(token), RedisArgument(outcome),
            RedisArgument(Queue.milliseconds(settings.breakerWindow)), "6", RedisArgument(settings.breakerMinimumCalls),
            RedisArgument(String(settings.breakerFailureRatio)), RedisArgument(settings.breakerConsecutiveFailures),
            RedisArgument(Queue.milliseconds(settings.breakerCooldown)), RedisArgument(Queue.milliseconds(settings.breakerProbeTimeout)),
        ]
    }

    public func allow(_ scope: String, token: String, now: Date? = nil, on redis: RedisConnection) throws -> BreakerDecision {
        let reply = try redis.evaluate(scripts.breaker, keys: [RedisArgument(keys.breaker(scope))],
                                       arguments: arguments("allow", token: token, outcome: "", now: now)).array()
        guard reply.count >= 2 else { throw RedisError.unexpectedReply(expected: "breaker decision", got: .array(reply)) }
        if try reply[0].int() == 1 { return try reply[1].string() == "probe" ? .probe : .closed }
        let at = reply.count > 2 ? try reply[2].int() : 0
        let state = try reply[1].string() ?? "open"
        var retryAt = Date(timeIntervalSince1970: Double(at) / 1000)
        // Half-open: the probe usually answers long before its deadline; look again soon.
        if state == "half_open" { retryAt = min(retryAt, (now ?? Date()) + 1) }
        return .refused(state: state, retryAt: retryAt)
    }

    public enum Outcome: String, Sendable {
        /// The provider answered sanely (2xx–4xx but 429).
        case success
        /// The provider looks unhealthy: timeout, connection error, 5xx.
        case failure
        /// No verdict (a 429: healthy but busy).
        case neutral
    }

    /// Records a call's outcome; returns the state after it and whether this call changed it.
    @discardableResult
    public func record(_ scope: String, _ outcome: Outcome, token: String, now: Date? = nil, on redis: RedisConnection) throws -> (state: String, changed: Bool) {
        let reply = try redis.evaluate(scripts.breaker, keys: [RedisArgument(keys.breaker(scope))],
                                       arguments: arguments("record", token: token, outcome: outcome.rawValue, now: now)).array()
        guard reply.count == 2 else { throw RedisError.unexpectedReply(expected: "breaker state", got: .array(reply)) }
        return (try reply[0].string() ?? "closed", try reply[1].int() == 1)
    }

    /// Closes the breaker by hand (`junction breakers reset`): it forgets its window too.
    @discardableResult
    public func reset(_ scope: String, on redis: RedisConnection) throws -> Bool {
        try redis.command("DEL", RedisArgument(keys.breaker(scope))).int() == 1
    }

    public func status(_ scope: String, on redis: RedisConnection) throws -> BreakerStatus {
        let fields = try redis.command("HGETALL", RedisArgument(keys.breaker(scope))).array().map { try $0.string() ?? "" }
        var values: [String: String] = [:]
        var index = 0
        while index + 1 < fields.count {
            values[fields[index]] = fields[index + 1]
            index += 2
        }
        func date(_ field: String) -> Date? { values[field].flatMap(Double.init).map { Date(timeIntervalSince1970: $0 / 1000) } }
        return BreakerStatus(scope: scope, state: values["state"] ?? "closed", reopenAt: values["state"] == "open" ? date("reopen_at") : nil,
                             openedAt: date("opened_at"), failuresWhenOpened: values["last_failures"].flatMap { Int($0) },
                             callsWhenOpened: values["last_calls"].flatMap { Int($0) })
    }

    /// Every breaker that has seen a call.
    public func list(on redis: RedisConnection) throws -> [BreakerStatus] {
        let prefix = keys.breaker("")
        return try scan(redis, pattern: keys.breaker("*")).map { try status(String($0.dropFirst(prefix.count)), on: redis) }
    }
}

/// Every key matching `pattern`, sorted.
func scan(_ redis: RedisConnection, pattern: String) throws -> [String] {
    var cursor = "0"
    var found: [String] = []
    repeat {
        let reply = try redis.command("SCAN", RedisArgument(cursor), "MATCH", RedisArgument(pattern), "COUNT", "500").array()
        cursor = try reply[0].string() ?? "0"
        found += try reply[1].array().compactMap { try $0.string() }
    } while cursor != "0"
    return found.sorted()
}
