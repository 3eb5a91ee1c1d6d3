import Foundation

/// Reads and writes timestamps as text: ISO 8601 in UTC for job envelopes and query parameters,
/// and PostgreSQL's output form (connections run with `TimeZone=UTC`, so `timestamptz` values
/// arrive as `2026-11-21 17:01:43.123456+00`).
public enum Timestamp {
    /// `2026-11-21T17:01:43.123456Z`.
    public static func format(_ date: Date) -> String {
        let totalMicros = Int64((date.timeIntervalSince1970 * 1_000_000).rounded(.down))
        let seconds = totalMicros.floorDiv(1_000_000)
        let micros = Int(totalMicros - seconds * 1_000_000)
        let (year, month, day) = civilDate(daysSinceEpoch: seconds.floorDiv(86_400))
        let secondOfDay = Int(seconds - seconds.floorDiv(86_400) * 86_400)
        // Written digit by digit into the string's own storage: String(format:) was a tenth of
        // the cost of an enqueue, and gmtime_r takes glibc's time zone lock on every call.
        return String(unsafeUninitializedCapacity: 27) { bytes in
            func put(_ value: Int, at offset: Int, width: Int) {
                var remaining = value
                for position in stride(from: offset + width - 1, through: offset, by: -1) {
                    bytes[position] = UInt8(ascii: "0") + UInt8(remaining % 10)
                    remaining /= 10
                }
            }
            put(year, at: 0, width: 4)
            bytes[4] = UInt8(ascii: "-")
            put(month, at: 5, width: 2)
            bytes[7] = UInt8(ascii: "-")
            put(day, at: 8, width: 2)
            bytes[10] = UInt8(ascii: "T")
            put(secondOfDay / 3600, at: 11, width: 2)
            bytes[13] = UInt8(ascii: ":")
            put(secondOfDay / 60 % 60, at: 14, width: 2)
            bytes[16] = UInt8(ascii: ":")
            put(secondOfDay % 60, at: 17, width: 2)
            bytes[19] = UInt8(ascii: ".")
            put(micros, at: 20, width: 6)
            bytes[26] = UInt8(ascii: "Z")
            return 27
        }
    }

    /// The proleptic Gregorian date of a day counted from 1970-01-01 (Howard Hinnant's
    /// `civil_from_days`), for years 0 to 9999.
    static func civilDate(daysSinceEpoch days: Int64) -> (year: Int, month: Int, day: Int) {
        let shifted = days + 719_468
        let era = shifted.floorDiv(146_097)
        let dayOfEra = shifted - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let monthIndex = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * monthIndex + 2) / 5 + 1
        let month = monthIndex < 10 ? monthIndex + 3 : monthIndex - 9
        let year = yearOfEra + era * 400 + (month <= 2 ? 1 : 0)
        return (Int(year), Int(month), Int(day))
    }

    /// Parses `YYYY-MM-DD HH:MM:SS[.ffffff][±HH[:MM[:SS]]]` (a `T` separator is accepted too);
    /// without an offset the time is taken as UTC. `infinity` and `-infinity` map to the distant
    /// future and past.
    public static func parse(_ text: String) -> Date? {
        if text == "infinity" { return .distantFuture }
        if text == "-infinity" { return .distantPast }
        let bytes = Array(text.utf8)
        var index = 0
        func number(_ digits: Int) -> Int? {
            guard index + digits <= bytes.count else { return nil }
            var value = 0
            for _ in 0..<digits {
                let byte = bytes[index]
                guard byte >= 48 && byte <= 57 else { return nil }
                value = value * 10 + Int(byte - 48)
                index += 1
            }
            return value
        }
        func expect(_ characters: Character...) -> Bool {
            guard index < bytes.count, characters.contains(Character(UnicodeScalar(bytes[index]))) else { return false }
            index += 1
            return true
        }
        guard let year = number(4), expect("-"), let month = number(2), expect("-"), let day = number(2),
              expect(" ", "T"), let hour = number(2), expect(":"), let minute = number(2), expect(":"),
              let second = number(2)
        else { return nil }
        var fraction = 0.0
        if index < bytes.count && bytes[index] == UInt8(ascii: ".") {
            index += 1
            var scale = 0.1
            while index < bytes.count, bytes[index] >= 48 && bytes[index] <= 57 {
                fraction += Double(bytes[index] - 48) * scale
                scale /= 10
                index += 1
            }
        }
        var offset = 0
        if index < bytes.count {
            if bytes[index] == UInt8(ascii: "Z") {
                index += 1
            } else {
                let sign = bytes[index] == UInt8(ascii: "-") ? -1 : 1
                guard expect("+", "-"), let hours = number(2) else { return nil }
                offset = hours * 3600
                if expect(":"), let minutes = number(2) {
                    offset += minutes * 60
                    if expect(":"), let seconds = number(2) { offset += seconds }
                }
                offset *= sign
            }
        }
        guard index == bytes.count else { return nil }
        var parts = tm()
        parts.tm_year = Int32(year - 1900)
        parts.tm_mon = Int32(month - 1)
        parts.tm_mday = Int32(day)
        parts.tm_hour = Int32(hour)
        parts.tm_min = Int32(minute)
        parts.tm_sec = Int32(second)
        let epoch = timegm(&parts)
        return Date(timeIntervalSince1970: Double(epoch - offset) + fraction)
    }
}

extension Int64 {
    fileprivate func floorDiv(_ divisor: Int64) -> Int64 {
        let quotient = self / divisor
        return (self % divisor != 0 && (self < 0) != (divisor < 0)) ? quotient - 1 : quotient
    }
}
