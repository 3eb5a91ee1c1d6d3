import Foundation
import JunctionCore
import JunctionQueue

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
            RedisArgument(operation), now.map { RedisArgument(Milliseconds.of($0)) } ?? "", RedisArgument(token), RedisArgument(outcome),
            RedisArgument(Milliseconds.of(settings.breakerWindow)), "6", RedisArgument(settings.breakerMinimumCalls),
            RedisArgument(String(settings.breakerFailureRatio)), RedisArgument(settings.breakerConsecutiveFailures),
            RedisArgument(Milliseconds.of(settings.breakerCooldown)), RedisArgument(Milliseconds.of(settings.breakerProbeTimeout)),
        ]
    }

    public func allow(_ scope: String, token: String, now: Date? = nil, on redis: RedisConnection) throws -> BreakerDecision {
        try allow([scope], token: token, now: now, on: redis)[0]
    }

    /// Asks every scope at once, in one round trip (a call counts against its provider and its
    /// connection); the decisions come back in order.
    public func allow(_ scopes: [String], token: String, now: Date? = nil, on redis: RedisConnection) throws -> [BreakerDecision] {
        let replies = try redis.evaluate(scopes.map { scope in
            (scripts.breaker, [RedisArgument(keys.breaker(scope))], arguments("allow", token: token, outcome: "", now: now))
        })
        return try replies.map { reply in
            let fields = try reply.check().array()
            guard fields.count >= 2 else { throw RedisError.unexpectedReply(expected: "breaker decision", got: reply) }
            if try fields[0].int() == 1 { return try fields[1].string() == "probe" ? .probe : .closed }
            let at = fields.count > 2 ? try fields[2].int() : 0
            let state = try fields[1].string() ?? "open"
            var retryAt = Date(timeIntervalSince1970: Double(at) / 1000)
            // Half-open: the probe usually answers long before its deadline; look again soon.
            if state == "half_open" { retryAt = min(retryAt, (now ?? Date()) + 1) }
            return .refused(state: state, retryAt: retryAt)
        }
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
        try record([scope], outcome, token: token, now: now, on: redis)[0]
    }

    /// Records the outcome in every scope, in one round trip.
    @discardableResult
    public func record(_ scopes: [String], _ outcome: Outcome, token: String, now: Date? = nil, on redis: RedisConnection) throws -> [(state: String, changed: Bool)] {
        let replies = try redis.evaluate(scopes.map { scope in
            (scripts.breaker, [RedisArgument(keys.breaker(scope))], arguments("record", token: token, outcome: outcome.rawValue, now: now))
        })
        return try replies.map { reply in
            let fields = try reply.check().array()
            guard fields.count == 2 else { throw RedisError.unexpectedReply(expected: "breaker state", got: reply) }
            return (try fields[0].string() ?? "closed", try fields[1].int() == 1)
        }
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
        return try redis.keys(matching: keys.breaker("*")).map { try status(String($0.dropFirst(prefix.count)), on: redis) }
    }
}
