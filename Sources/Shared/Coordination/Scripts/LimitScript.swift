import Foundation
import JunctionCore
import JunctionProviders

/// `lua/limit-3.lua`: fleet-wide rate limits over one or two scopes (3 keys each): `acquire`,
/// `release`, `pause`.
struct LimitScript: Sendable {
    static let file = "limit-3"
    /// KEYS: this many per scope (arrival time, calls in flight, pause).
    static let keysPerScope = 3

    let script: RedisScript

    init(_ script: RedisScript) { self.script = script }

    private static func keys(_ scopes: [(scope: String, limit: RateLimit)], _ keys: CoordinationKeys) -> [RedisArgument] {
        let names = scopes.flatMap { keys.limit($0.scope).map { RedisArgument($0) } }
        precondition(names.count == scopes.count * keysPerScope)
        return names
    }

    private static func clock(_ now: Date?) -> RedisArgument { now.map { RedisArgument(Milliseconds.of($0)) } ?? "" }

    /// ARGV 'acquire', now, token, then per scope interval, burst, concurrency cap; then the
    /// in-flight TTL.
    func acquire(_ scopes: [(scope: String, limit: RateLimit)], token: String, inFlightTTL: Duration, now: Date?, keys: CoordinationKeys) -> ScriptCall {
        var arguments: [RedisArgument] = ["acquire", Self.clock(now), RedisArgument(token)]
        for (_, limit) in scopes {
            arguments += [RedisArgument(limit.intervalMilliseconds), RedisArgument(max(1, limit.burst)), RedisArgument(limit.concurrent)]
        }
        arguments.append(RedisArgument(Milliseconds.of(inFlightTTL)))
        return (script, Self.keys(scopes, keys), arguments)
    }

    /// ARGV 'release', a clock the script does not read, token.
    func release(_ scopes: [(scope: String, limit: RateLimit)], token: String, keys: CoordinationKeys) -> ScriptCall {
        (script, Self.keys(scopes, keys), ["release", "0", RedisArgument(token)])
    }

    /// ARGV 'pause', now, an unused token, how long.
    func pause(_ scopes: [(scope: String, limit: RateLimit)], for duration: Duration, now: Date?, keys: CoordinationKeys) -> ScriptCall {
        (script, Self.keys(scopes, keys), ["pause", Self.clock(now), "-", RedisArgument(Milliseconds.of(duration))])
    }

    /// `acquire` → `{1, arrival time, now}`, or `{0, when to try again (ms), reason}`.
    static func decision(_ reply: RedisReply) throws -> LimitDecision {
        let parts = try reply.array()
        if try parts.first?.int() == 1 { return .granted }
        guard parts.count == 3, let text = try parts[2].string(), let reason = LimitReason(rawValue: text) else {
            throw RedisError.unexpectedReply(expected: "limit decision", got: reply)
        }
        return .wait(until: Date(timeIntervalSince1970: Double(try parts[1].int()) / 1000), reason: reason)
    }

    /// A granted `acquire`'s first-scope arrival time and Redis's clock (ms), for the calls left.
    static func arrival(_ reply: RedisReply) throws -> (tat: Int64, now: Int64)? {
        let parts = try reply.array()
        guard try parts.first?.int() == 1, parts.count == 3 else { return nil }
        return (Int64(try parts[1].int()), Int64(try parts[2].int()))
    }
}
