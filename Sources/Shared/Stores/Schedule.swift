import Foundation
import JunctionCore
import JunctionQueue

/// When a schedule fires: every fixed interval, or on a cron expression in a time zone.
public enum ScheduleRule: Sendable, Equatable {
    case every(Duration)
    case cron(CronExpression, TimeZone)

    /// The first fire strictly after `now`, counting from the last nominal fire `previous`.
    /// Fires missed while nothing ran collapse into this one: a scheduler down for an hour runs
    /// an every-minute schedule once when it returns, not sixty times.
    public func next(after now: Date, previous: Date) -> Date? {
        switch self {
        case .every(let interval):
            let seconds = interval / .seconds(1)
            guard seconds > 0 else { return nil }
            let elapsed = now.timeIntervalSince(previous)
            let steps = elapsed < 0 ? 1 : (elapsed / seconds).rounded(.down) + 1
            return previous + steps * seconds
        case .cron(let expression, let zone):
            return expression.nextFire(after: now, in: zone)
        }
    }
}

/// A periodic job: a row of the `schedules` table.
public struct Schedule: Sendable, Equatable {
    public var id: UUID
    public var name: String
    public var jobType: String
    public var payload: JSONValue
    public var priority: JobPriority
    public var tenant: String?
    public var provider: String?
    public var connection: UUID?
    public var rule: ScheduleRule
    public var enabled: Bool
    public var nextRunAt: Date
    public var lastRunAt: Date?

    /// `every 5m` or `cron "*/5 * * * *" Europe/Paris`.
    public var ruleDescription: String {
        switch rule {
        case .every(let interval): "every \(Int64(interval / .seconds(1)))s"
        case .cron(let expression, let zone): "cron \"\(expression)\" \(zone.identifier)"
        }
    }
}
