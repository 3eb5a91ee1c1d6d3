import Foundation
import JunctionCore

/// A rate limit: `count` calls per `period`, up to `burst` at once, and at most `concurrent` in
/// flight (0: no cap). Written `100/1s`, `500/60s,burst=10,concurrent=10`, `concurrent=10`, `off`.
public struct RateLimit: Sendable, Equatable, CustomStringConvertible {
    public var count: Int
    public var period: Duration
    public var burst: Int
    public var concurrent: Int

    public static let off = RateLimit(count: 0, period: .seconds(1), burst: 0, concurrent: 0)

    public init(count: Int, period: Duration, burst: Int? = nil, concurrent: Int = 0) {
        self.count = count
        self.period = period
        // Default burst: a second's worth of calls (at least 1), never more than the count.
        let perSecond = count > 0 ? Double(count) / (Double(Milliseconds.of(period)) / 1000) : 0
        self.burst = burst ?? (count > 0 ? min(count, max(1, Int(perSecond.rounded(.up)))) : 0)
        self.concurrent = concurrent
    }

    public var isOff: Bool { count == 0 && concurrent == 0 }

    /// Milliseconds between calls at the sustained rate (0: no rate).
    public var intervalMilliseconds: Int64 {
        count > 0 ? max(1, Milliseconds.of(period) / Int64(count)) : 0
    }

    public init(parsing text: String) throws(InvalidValue) {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        if trimmed == "off" || trimmed.isEmpty {
            self = .off
            return
        }
        var count = 0
        var period = Duration.seconds(1)
        var burst: Int?
        var concurrent = 0
        for part in trimmed.split(separator: ",").map({ $0.trimmingCharacters(in: .whitespaces) }) {
            if let slash = part.firstIndex(of: "/") {
                guard let number = Int(part[..<slash]), number > 0 else { throw InvalidValue("\"\(part)\": the count before / must be a positive whole number") }
                guard let every = EnvironmentVariables.parseDuration(String(part[part.index(after: slash)...])), every > .zero else {
                    throw InvalidValue("\"\(part)\": the period after / must be a duration such as 1s or 60s")
                }
                (count, period) = (number, every)
            } else if part.hasPrefix("burst=") {
                guard let value = Int(part.dropFirst(6)), value > 0 else { throw InvalidValue("burst must be a positive whole number") }
                burst = value
            } else if part.hasPrefix("concurrent=") {
                guard let value = Int(part.dropFirst(11)), value > 0 else { throw InvalidValue("concurrent must be a positive whole number") }
                concurrent = value
            } else {
                throw InvalidValue("\"\(part)\" is not COUNT/PERIOD, burst=N, concurrent=N or off")
            }
        }
        self.init(count: count, period: period, burst: burst, concurrent: concurrent)
    }

    public var description: String {
        if isOff { return "off" }
        var parts: [String] = []
        if count > 0 { parts += ["\(count)/\(Milliseconds.of(period) % 1000 == 0 ? "\(Milliseconds.of(period) / 1000)s" : "\(Milliseconds.of(period))ms")", "burst=\(burst)"] }
        if concurrent > 0 { parts.append("concurrent=\(concurrent)") }
        return parts.joined(separator: ",")
    }
}
