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
