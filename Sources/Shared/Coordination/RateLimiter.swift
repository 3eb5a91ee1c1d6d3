import Foundation
import JunctionCore
import JunctionProviders
import JunctionQueue

/// What ``RateLimiter/acquire(provider:connection:token:now:on:)`` found.
public enum LimitDecision: Sendable, Equatable {
    case granted
    /// No slot now; try again at `retryAt`. `reason`: `rate`, `concurrency` or `paused`.
    case wait(until: Date, reason: String)
}

/// Fleet-wide rate limits in Redis: GCRA per scope plus a cap on calls in flight, checked for the
/// provider as a whole and for the connection together (a slot is taken in both or neither). A
/// `429` pauses both scopes for the whole fleet until its `Retry-After`.
public struct RateLimiter: Sendable {
    public let keys: QueueKeys
    public let scripts: QueueScripts
    public let settings: CoordinationSettings

    public init(queue: Queue, settings: CoordinationSettings) {
        keys = queue.settings.keys
        scripts = queue.scripts
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

    private func scopeKeys(_ scopes: [(scope: String, limit: RateLimit)]) -> [RedisArgument] {
        scopes.flatMap { keys.limit($0.scope).map { RedisArgument($0) } }
    }


    /// Takes a slot, or says when to try again. A granted call with a concurrency cap must be
    /// followed by ``release(provider:connection:token:on:)``.
    /// `now` nil (the default): Redis's clock, shared by every replica. Tests pass a fixed one.
    public func acquire(provider: String, connection: String?, token: String, now: Date? = nil, on redis: RedisConnection) throws -> LimitDecision {
        let scopes = scopes(provider: provider, connection: connection)
        var arguments: [RedisArgument] = ["acquire", now.map { RedisArgument(Milliseconds.of($0)) } ?? "", RedisArgument(token)]
        for (_, limit) in scopes {
            arguments += [RedisArgument(limit.intervalMilliseconds), RedisArgument(max(1, limit.burst)), RedisArgument(limit.concurrent)]
        }
        // A call's concurrency slot expires on its own after the call timeout and a margin, in
        // case its worker dies mid-call.
        arguments.append(RedisArgument(Milliseconds.of(settings.callTimeout) + 5000))
        let reply = try redis.evaluate(scripts.limit, keys: scopeKeys(scopes), arguments: arguments).array()
        if try reply.first?.int() == 1 { return .granted }
        guard reply.count == 3 else { throw RedisError.unexpectedReply(expected: "limit decision", got: .array(reply)) }
        return .wait(until: Date(timeIntervalSince1970: Double(try reply[1].int()) / 1000), reason: try reply[2].string() ?? "rate")
    }

    public func release(provider: String, connection: String?, token: String, on redis: RedisConnection) throws {
        let scopes = scopes(provider: provider, connection: connection)
        // Only a concurrency cap holds anything to give back.
        guard scopes.contains(where: { $0.limit.concurrent > 0 }) else { return }
        _ = try redis.evaluate(scripts.limit, keys: scopeKeys(scopes), arguments: ["release", "0", RedisArgument(token)])
    }

    /// Stops every call to this provider (and connection) in the fleet for `duration` (a 429's
    /// `Retry-After`), from now on Redis's clock; never shortens a longer pause.
    public func pause(provider: String, connection: String?, for duration: Duration, now: Date? = nil, on redis: RedisConnection) throws {
        let scopes = scopes(provider: provider, connection: connection)
        _ = try redis.evaluate(scripts.limit, keys: scopeKeys(scopes), arguments: [
            "pause", now.map { RedisArgument(Milliseconds.of($0)) } ?? "", "-", RedisArgument(Milliseconds.of(duration)),
        ])
    }

    /// Scopes with calls in flight or a pause, for `junction limits`.
    public func activity(now: Date = Date(), on redis: RedisConnection) throws -> [(scope: String, inFlight: Int, pausedUntil: Date?)] {
        let prefix = keys.prefix + ":limit:"
        var scopes = Set<String>()
        for key in try redis.keys(matching: keys.prefix + ":limit:*") {
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
