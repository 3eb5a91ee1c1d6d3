import Foundation
import JunctionCore
import JunctionProviders

/// What ``RateLimiter/acquire(provider:connection:token:now:on:)`` found.
public enum LimitDecision: Sendable, Equatable {
    case granted
    /// No slot now; try again at `until`.
    case wait(until: Date, reason: LimitReason)
}

/// Why a call has to wait for a rate-limit slot.
public enum LimitReason: String, Sendable, Equatable {
    /// The sustained rate (GCRA) leaves no slot before the next emission time.
    case rate
    /// As many calls as the concurrency cap allows are in flight.
    case concurrency
    /// A 429 paused the scope until its `Retry-After`.
    case paused
}

/// Fleet-wide rate limits in Redis: GCRA per scope plus a cap on calls in flight, checked for the
/// provider as a whole and for the connection together (a slot is taken in both or neither). A
/// `429` pauses both scopes for the whole fleet until its `Retry-After`.
public struct RateLimiter: Sendable {
    public let coordination: Coordination
    public let settings: CoordinationSettings
    private var keys: CoordinationKeys { coordination.keys }

    public init(_ coordination: Coordination, settings: CoordinationSettings) {
        self.coordination = coordination
        self.settings = settings
    }

    /// The scopes a call counts against, with their limits.
    func scopes(provider: String, connection: String?) -> [(scope: String, limit: RateLimit)] {
        let fleet = settings.fleetLimits[provider] ?? .off
        let own = settings.connectionLimits[provider] ?? .off
        guard let connection else { return [(scope: provider, limit: combined(fleet, own))] }
        return [(scope: provider, limit: fleet), (scope: "\(provider):\(connection)", limit: own)]
    }

    /// Without a connection, the call counts against the provider scope under the stricter limits.
    private func combined(_ lhs: RateLimit, _ rhs: RateLimit) -> RateLimit {
        if lhs.isOff { return rhs }
        if rhs.isOff { return lhs }
        return lhs.intervalMilliseconds >= rhs.intervalMilliseconds ? lhs : rhs
    }

    /// What one request against a scope of its own (the management API's per tenant) found: how
    /// many more the burst allows now, and how long until it is full again; or, refused, how long to wait.
    public struct Allowance: Sendable, Equatable {
        public var granted: Bool
        public var remaining: Int
        /// Granted: until the burst is whole again. Refused: until the next request is allowed.
        public var resetAfter: Duration
    }

    /// One request against `scope` under `limit` (a rate; no concurrency cap), on Redis's clock.
    public func take(scope: String, limit: RateLimit, on redis: RedisConnection) throws -> Allowance {
        let call = coordination.scripts.limit.acquire([(scope: scope, limit: limit)], token: "-", inFlightTTL: .seconds(1), now: nil, keys: keys)
        let reply = try redis.evaluate(call)
        let interval = max(1, limit.intervalMilliseconds)
        let burst = Int64(max(1, limit.burst))
        if let (tat, now) = try LimitScript.arrival(reply) {
            // The arrival time runs ahead of now by one interval per request the burst has used.
            let used = (max(0, tat - now) + interval - 1) / interval
            return Allowance(granted: true, remaining: Int(max(0, burst - used)), resetAfter: .milliseconds(max(0, tat - now)))
        }
        switch try LimitScript.decision(reply) {
        case .granted: return Allowance(granted: true, remaining: 0, resetAfter: .zero)
        case .wait(let until, _): return Allowance(granted: false, remaining: 0, resetAfter: .milliseconds(max(1, Int64(until.timeIntervalSinceNow * 1000))))
        }
    }

    /// Takes a slot, or says when to try again. A granted call with a concurrency cap must be
    /// followed by ``release(provider:connection:token:on:)``.
    /// `now` nil (the default): Redis's clock, shared by every replica. Tests pass a fixed one.
    public func acquire(provider: String, connection: String?, token: String, now: Date? = nil, on redis: RedisConnection) throws -> LimitDecision {
        let scopes = scopes(provider: provider, connection: connection)
        // A call's concurrency slot expires on its own after the call timeout and a margin, in
        // case its worker dies mid-call.
        let call = coordination.scripts.limit.acquire(scopes, token: token, inFlightTTL: settings.callTimeout + .seconds(5), now: now, keys: keys)
        return try LimitScript.decision(try redis.evaluate(call))
    }

    public func release(provider: String, connection: String?, token: String, on redis: RedisConnection) throws {
        let scopes = scopes(provider: provider, connection: connection)
        // Only a concurrency cap holds anything to give back.
        guard scopes.contains(where: { $0.limit.concurrent > 0 }) else { return }
        _ = try redis.evaluate(coordination.scripts.limit.release(scopes, token: token, keys: keys))
    }

    /// Stops every call to this provider (and connection) in the fleet for `duration` (a 429's
    /// `Retry-After`), from now on Redis's clock; never shortens a longer pause.
    public func pause(provider: String, connection: String?, for duration: Duration, now: Date? = nil, on redis: RedisConnection) throws {
        let scopes = scopes(provider: provider, connection: connection)
        _ = try redis.evaluate(coordination.scripts.limit.pause(scopes, for: duration, now: now, keys: keys))
    }

    /// Scopes with calls in flight or a pause, for `junction limits`.
    public func activity(now: Date = Date(), on redis: RedisConnection) throws -> [(scope: String, inFlight: Int, pausedUntil: Date?)] {
        let prefix = keys.namespace.key("limit", "")
        var scopes = Set<String>()
        for key in try redis.keys(matching: prefix + "*") {
            let rest = key.dropFirst(prefix.count)
            guard let colon = rest.lastIndex(of: ":") else { continue }
            scopes.insert(String(rest[..<colon]))
        }
        return try scopes.sorted().map { scope in
            let names = keys.limit(scope)
            let replies = try redis.pipeline([
                ["ZCOUNT", RedisArgument(names[1]), RedisArgument(Milliseconds.of(now)), "+inf"], ["GET", RedisArgument(names[2])],
            ])
            let paused = try replies[1].string().flatMap(Double.init).map { Date(timeIntervalSince1970: $0 / 1000) }
            return (scope, Int(try replies[0].int()), paused.flatMap { $0 > now ? $0 : nil })
        }
    }
}
