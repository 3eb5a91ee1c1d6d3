import Foundation
import JunctionCore

/// `lua/breaker-1.lua`: a fleet-wide circuit breaker's `allow` and `record`.
struct BreakerScript: Sendable {
    static let file = "breaker-1"
    /// ARGV[6]: the rolling window is kept as this many buckets.
    static let bucketsPerWindow = 6

    let script: RedisScript

    init(_ script: RedisScript) { self.script = script }

    enum Operation: String { case allow, record }

    /// KEYS[1] the breaker's hash; ARGV operation, now (empty: Redis's clock), token, outcome,
    /// window, buckets, minimum calls, failure ratio, consecutive failures, cool-down, probe timeout.
    func call(_ operation: Operation, scope: String, token: String, outcome: CircuitBreakers.Outcome?, now: Date?,
              settings: CoordinationSettings, keys: CoordinationKeys) -> ScriptCall {
        (script, [RedisArgument(keys.breaker(scope))], [
            RedisArgument(operation.rawValue), now.map { RedisArgument(Milliseconds.of($0)) } ?? "", RedisArgument(token),
            RedisArgument(outcome?.rawValue ?? ""),
            RedisArgument(Milliseconds.of(settings.breakerWindow)), RedisArgument(Self.bucketsPerWindow), RedisArgument(settings.breakerMinimumCalls),
            RedisArgument(String(settings.breakerFailureRatio)), RedisArgument(settings.breakerConsecutiveFailures),
            RedisArgument(Milliseconds.of(settings.breakerCooldown)), RedisArgument(Milliseconds.of(settings.breakerProbeTimeout)),
        ])
    }

    /// `allow` → `{1, 'closed'}`, `{1, 'probe'}`, `{0, 'open', reopen_at}` or `{0, 'half_open', probe_until}`.
    static func decision(_ reply: RedisReply, now: Date?) throws -> BreakerDecision {
        let fields = try reply.check().array()
        guard fields.count >= 2 else { throw RedisError.unexpectedReply(expected: "breaker decision", got: reply) }
        if try fields[0].int() == 1 { return try fields[1].string() == "probe" ? .probe : .closed }
        let at = fields.count > 2 ? try fields[2].int() : 0
        let state = try state(fields[1])
        var retryAt = Date(timeIntervalSince1970: Double(at) / 1000)
        // Half-open: the probe usually answers long before its deadline; look again soon.
        if state == .halfOpen { retryAt = min(retryAt, (now ?? Date()) + 1) }
        return .refused(state: state, retryAt: retryAt)
    }

    /// `record` → `{state after, 1 when this call changed it}`.
    static func recorded(_ reply: RedisReply) throws -> (state: BreakerState, changed: Bool) {
        let fields = try reply.check().array()
        guard fields.count == 2 else { throw RedisError.unexpectedReply(expected: "breaker state", got: reply) }
        return (try state(fields[0]), try fields[1].int() == 1)
    }

    private static func state(_ reply: RedisReply) throws -> BreakerState {
        guard let text = try reply.string(), let state = BreakerState(rawValue: text) else {
            throw RedisError.unexpectedReply(expected: "a breaker state", got: reply)
        }
        return state
    }
}
