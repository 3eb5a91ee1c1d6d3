import Foundation
import JunctionCore

/// A breaker's state as `junction breakers` shows it.
public struct BreakerStatus: Sendable, Equatable {
    public var scope: String
    public var state: BreakerState
    public var reopenAt: Date?
    public var openedAt: Date?
    /// Failures and calls in the window when it opened.
    public var failuresWhenOpened: Int?
    public var callsWhenOpened: Int?
}

/// A breaker's state, as the script stores it in the breaker's hash.
public enum BreakerState: String, Sendable, Equatable, CustomStringConvertible {
    /// Calls go out; failures are counted in the rolling window.
    case closed
    /// Calls are refused fleet-wide until the cool-down ends.
    case open
    /// The cool-down ended: one probe in the fleet decides between closed and open.
    case halfOpen = "half_open"

    /// For logs and `junction breakers`: `closed`, `open`, `half-open`.
    public var description: String { self == .halfOpen ? "half-open" : rawValue }

    /// The value of the `junction_breaker_state` gauge: 0 closed, 1 half-open, 2 open.
    public var metricValue: Double {
        switch self {
        case .closed: 0
        case .halfOpen: 1
        case .open: 2
        }
    }
}

/// What ``CircuitBreakers/allow(_:token:now:on:)`` decided.
public enum BreakerDecision: Sendable, Equatable {
    case closed
    /// Half-open: this caller is the fleet's one probe; its outcome decides.
    case probe
    /// Open (try again when the cool-down ends) or half-open with the probe out (try again in a
    /// second at most).
    case refused(state: BreakerState, retryAt: Date)
}

/// Fleet-wide circuit breakers in Redis, per scope (`stripe`, `stripe:<connection>`): closed →
/// open when the failures in the rolling window pass the threshold (or too many in a row) → after
/// the cool-down half-open, where exactly one probe in the fleet decides → closed or open again.
public struct CircuitBreakers: Sendable {
    public let coordination: Coordination
    public let settings: CoordinationSettings
    private var keys: CoordinationKeys { coordination.keys }

    public init(_ coordination: Coordination, settings: CoordinationSettings) {
        self.coordination = coordination
        self.settings = settings
    }

    /// `now` nil (the default): the scripts use Redis's clock, shared by every replica, so skewed
    /// host clocks cannot reopen a breaker early. Tests pass a fixed clock.
    public func allow(_ scope: String, token: String, now: Date? = nil, on redis: RedisConnection) throws -> BreakerDecision {
        try allow([scope], token: token, now: now, on: redis)[0]
    }

    /// Asks every scope at once, in one round trip (a call counts against its provider and its
    /// connection); the decisions come back in order.
    public func allow(_ scopes: [String], token: String, now: Date? = nil, on redis: RedisConnection) throws -> [BreakerDecision] {
        let replies = try redis.evaluate(scopes.map { scope in
            coordination.scripts.breaker.call(.allow, scope: scope, token: token, outcome: nil, now: now, settings: settings, keys: keys)
        })
        return try replies.map { try BreakerScript.decision($0, now: now) }
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
    public func record(_ scope: String, _ outcome: Outcome, token: String, now: Date? = nil, on redis: RedisConnection) throws -> (state: BreakerState, changed: Bool) {
        try record([scope], outcome, token: token, now: now, on: redis)[0]
    }

    /// Records the outcome in every scope, in one round trip.
    @discardableResult
    public func record(_ scopes: [String], _ outcome: Outcome, token: String, now: Date? = nil, on redis: RedisConnection) throws -> [(state: BreakerState, changed: Bool)] {
        let replies = try redis.evaluate(scopes.map { scope in
            coordination.scripts.breaker.call(.record, scope: scope, token: token, outcome: outcome, now: now, settings: settings, keys: keys)
        })
        return try replies.map(BreakerScript.recorded)
    }

    /// Closes the breaker by hand (`junction breakers reset`): it forgets its window too.
    @discardableResult
    public func reset(_ scope: String, on redis: RedisConnection) throws -> Bool {
        try redis.command("DEL", RedisArgument(keys.breaker(scope))).int() == 1
    }

    public func status(_ scope: String, on redis: RedisConnection) throws -> BreakerStatus {
        try coordination.breakerStatus(scope, on: redis)
    }

    /// Every breaker that has seen a call.
    public func list(on redis: RedisConnection) throws -> [BreakerStatus] {
        let prefix = keys.breaker("")
        return try redis.keys(matching: keys.breaker("*")).map { try status(String($0.dropFirst(prefix.count)), on: redis) }
    }
}

extension Coordination {
    /// A breaker as stored, read without calling anything (the leading scheduler's fleet-wide
    /// `junction_breaker_state`, `junction breakers`). One that never saw a call is closed.
    public func breakerStatus(_ scope: String, on redis: RedisConnection) throws -> BreakerStatus {
        let fields = try redis.command("HGETALL", RedisArgument(keys.breaker(scope))).array().map { try $0.string() ?? "" }
        var values: [String: String] = [:]
        var index = 0
        while index + 1 < fields.count {
            values[fields[index]] = fields[index + 1]
            index += 2
        }
        func date(_ field: String) -> Date? { values[field].flatMap(Double.init).map { Date(timeIntervalSince1970: $0 / 1000) } }
        let state = values["state"].flatMap(BreakerState.init(rawValue:)) ?? .closed
        return BreakerStatus(scope: scope, state: state, reopenAt: state == .open ? date("reopen_at") : nil,
                             openedAt: date("opened_at"), failuresWhenOpened: values["last_failures"].flatMap { Int($0) },
                             callsWhenOpened: values["last_calls"].flatMap { Int($0) })
    }
}
