import Foundation
import JunctionCore

/// A five-field cron expression (`minute hour day-of-month month day-of-week`), evaluated in a
/// time zone.
///
/// Each field takes `*`, a number, a range `a-b`, a step `*/n` or `a-b/n`, and comma-separated
/// lists of those; months and weekdays also take names (`JAN`, `MON`). Weekday 0 and 7 are Sunday.
/// As in classic cron, when both day fields are restricted a day matches if either does. The
/// macros `@hourly`, `@daily`, `@weekly`, `@monthly` and `@yearly` are accepted.
///
/// Daylight-saving changes: a local time that does not exist (the skipped hour) does not fire; a
/// local time that happens twice fires once, at its first occurrence.
///
/// ```swift
/// let cron = try CronExpression("*/15 9-17 * * MON-FRI")
/// let next = cron.nextFire(after: Date(), in: TimeZone(identifier: "Europe/Paris")!)
/// ```
public struct CronExpression: Sendable, Equatable, CustomStringConvertible {
    public let description: String
    let minutes: Set<Int>
    let hours: Set<Int>
    let daysOfMonth: Set<Int>
    let months: Set<Int>
    /// 0 (Sunday) … 6 (Saturday).
    let weekdays: Set<Int>
    let daysOfMonthRestricted: Bool
    let weekdaysRestricted: Bool

    public init(_ text: String) throws(InvalidValue) {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        let expanded = switch trimmed.lowercased() {
        case "@hourly": "0 * * * *"
        case "@daily", "@midnight": "0 0 * * *"
        case "@weekly": "0 0 * * 0"
        case "@monthly": "0 0 1 * *"
        case "@yearly", "@annually": "0 0 1 1 *"
        default: trimmed
        }
        let fields = expanded.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)
        guard fields.count == 5 else {
            throw InvalidValue("a cron expression has 5 fields (minute hour day-of-month month day-of-week), not \(fields.count)")
        }
        description = trimmed
        minutes = try Self.field(fields[0], name: "minute", range: 0...59)
        hours = try Self.field(fields[1], name: "hour", range: 0...23)
        daysOfMonth = try Self.field(fields[2], name: "day-of-month", range: 1...31)
        months = try Self.field(fields[3], name: "month", range: 1...12, names: Self.monthNames)
        weekdays = Set(try Self.field(fields[4], name: "day-of-week", range: 0...7, names: Self.weekdayNames).map { $0 % 7 })
        daysOfMonthRestricted = fields[2] != "*"
        weekdaysRestricted = fields[4] != "*"
    }

    /// The first time strictly after `date` at which the expression fires, or nil if none within
    /// the next eight years (such as `0 0 30 2 *`).
    public func nextFire(after date: Date, in timeZone: TimeZone) -> Date? {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = timeZone
        let start = calendar.dateComponents([.year, .month, .day, .hour, .minute], from: date)
        guard var day = calendar.date(from: DateComponents(year: start.year, month: start.month, day: start.day)) else { return nil }
        let sortedHours = hours.sorted()
        let sortedMinutes = minutes.sorted()
        for offset in 0..<(366 * 8) {
            let parts = calendar.dateComponents([.year, .month, .day, .weekday], from: day)
            if let year = parts.year, let month = parts.month, let dayOfMonth = parts.day, let weekday = parts.weekday,
               months.contains(month), matches(dayOfMonth: dayOfMonth, weekday: weekday - 1) {
                // On the first day, wall-clock times before the start cannot be later than it.
                let earliest = offset == 0 ? (hour: start.hour ?? 0, minute: start.minute ?? 0) : (hour: 0, minute: 0)
                for hour in sortedHours where hour >= earliest.hour {
                    for minute in sortedMinutes where hour > earliest.hour || minute >= earliest.minute {
                        let wanted = DateComponents(year: year, month: month, day: dayOfMonth, hour: hour, minute: minute)
                        guard let candidate = calendar.date(from: wanted), candidate > date else { continue }
                        // A local time skipped by a daylight-saving change comes back shifted: not a fire.
                        let actual = calendar.dateComponents([.day, .hour, .minute], from: candidate)
                        guard actual.day == dayOfMonth, actual.hour == hour, actual.minute == minute else { continue }
                        return candidate
                    }
                }
            }
            guard let next = calendar.date(byAdding: .day, value: 1, to: day) else { return nil }
            day = next
        }
        return nil
    }

    /// The next `count` fire times after `date`.
    public func nextFires(after date: Date, in timeZone: TimeZone, count: Int) -> [Date] {
        var fires: [Date] = []
        var cursor = date
        while fires.count < count, let next = nextFire(after: cursor, in: timeZone) {
            fires.append(next)
            cursor = next
        }
        return fires
    }

    private func matches(dayOfMonth: Int, weekday: Int) -> Bool {
        switch (daysOfMonthRestricted, weekdaysRestricted) {
        case (true, true): daysOfMonth.contains(dayOfMonth) || weekdays.contains(weekday)
        case (true, false): daysOfMonth.contains(dayOfMonth)
        case (false, true): weekdays.contains(weekday)
        case (false, false): true
        }
    }

    private static let monthNames = ["jan": 1, "feb": 2, "mar": 3, "apr": 4, "may": 5, "jun": 6, "jul": 7, "aug": 8, "sep": 9, "oct": 10, "nov": 11, "dec": 12]
    private static let weekdayNames = ["sun": 0, "mon": 1, "tue": 2, "wed": 3, "thu": 4, "fri": 5, "sat": 6]

    private static func field(_ text: String, name: String, range: ClosedRange<Int>, names: [String: Int] = [:]) throws(InvalidValue) -> Set<Int> {
        func value(_ token: Substring) throws(InvalidValue) -> Int {
            if let number = Int(token) {
                guard range.contains(number) else { throw InvalidValue("\(name) \(number) is outside \(range.lowerBound)-\(range.upperBound)") }
                return number
            }
            guard let named = names[token.lowercased()] else { throw InvalidValue("\(name) field: \"\(token)\" is not a number\(names.isEmpty ? "" : " or a name")") }
            return named
        }
        var values = Set<Int>()
        for part in text.split(separator: ",", omittingEmptySubsequences: false) {
            guard !part.isEmpty else { throw InvalidValue("\(name) field: empty list element in \"\(text)\"") }
            let pieces = part.split(separator: "/", omittingEmptySubsequences: false)
            guard pieces.count <= 2 else { throw InvalidValue("\(name) field: \"\(part)\" has more than one /") }
            var step = 1
            if pieces.count == 2 {
                guard let parsed = Int(pieces[1]), parsed > 0 else { throw InvalidValue("\(name) field: step \"\(pieces[1])\" must be a positive number") }
                step = parsed
            }
            let base = pieces[0]
            let lower: Int
            let upper: Int
            if base == "*" {
                (lower, upper) = (range.lowerBound, range.upperBound)
            } else if let dash = base.firstIndex(of: "-") {
                lower = try value(base[..<dash])
                upper = try value(base[base.index(after: dash)...])
                guard lower <= upper else { throw InvalidValue("\(name) field: range \"\(base)\" runs backwards") }
            } else {
                lower = try value(base)
                upper = pieces.count == 2 ? range.upperBound : lower
            }
            values.formUnion(stride(from: lower, through: upper, by: step))
        }
        return values
    }
}
