import JunctionCore

/// How often a job may run and how long it waits between attempts: exponential back-off with
/// full jitter (a random wait between zero and `base × 2^(attempt-1)`, capped), which spreads a
/// burst of failures out instead of retrying them in lockstep.
public struct RetryPolicy: Sendable, Equatable {
    /// Attempts in all, the first included.
    public var maxAttempts: Int
    public var baseDelay: Duration
    public var maxDelay: Duration

    public init(maxAttempts: Int, baseDelay: Duration, maxDelay: Duration = .seconds(3600)) {
        self.maxAttempts = maxAttempts
        self.baseDelay = baseDelay
        self.maxDelay = maxDelay
    }

    /// The defaults per priority: 5 attempts from 1 s for critical, 3 from 2 s for high,
    /// 3 from 5 s for normal, 2 from 10 s for low.
    public static func defaults(for priority: JobPriority) -> RetryPolicy {
        switch priority {
        case .critical: RetryPolicy(maxAttempts: 5, baseDelay: .seconds(1))
        case .high: RetryPolicy(maxAttempts: 3, baseDelay: .seconds(2))
        case .normal: RetryPolicy(maxAttempts: 3, baseDelay: .seconds(5))
        case .low: RetryPolicy(maxAttempts: 2, baseDelay: .seconds(10))
        }
    }

    /// The longest wait after failed attempt `attempt` (1-based): `base × 2^(attempt-1)`, capped.
    public func ceiling(afterAttempt attempt: Int) -> Duration {
        let exponent = min(max(attempt - 1, 0), 40)
        let scaled = baseDelay * Double(1 << exponent)
        return min(scaled, maxDelay)
    }

    /// The wait after failed attempt `attempt`: uniformly random in `0...ceiling`. `random` is a
    /// number in `0..<1` (injectable for tests).
    public func delay(afterAttempt attempt: Int, random: Double = Double.random(in: 0..<1)) -> Duration {
        ceiling(afterAttempt: attempt) * random
    }

    /// Parses `ATTEMPTS/BASE`, such as `5/1s` or `3/500ms`.
    public static func parse(_ text: String, maxDelay: Duration) throws(InvalidValue) -> RetryPolicy {
        let parts = text.split(separator: "/", maxSplits: 1).map(String.init)
        guard parts.count == 2, let attempts = Int(parts[0]), attempts >= 1, attempts <= 1000,
              let base = EnvironmentVariables.parseDuration(parts[1])
        else {
            throw InvalidValue("must be ATTEMPTS/BASE_DELAY, such as 5/1s")
        }
        return RetryPolicy(maxAttempts: attempts, baseDelay: base, maxDelay: maxDelay)
    }
}
