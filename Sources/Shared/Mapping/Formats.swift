import Foundation
import JunctionCore

/// Reading and writing the times the `date` transform handles.
enum DateFormats {
    /// `date`, `datetime`, `time`, `unix`, or a pattern of date-field letters (`y M d H h m s S a E
    /// Z X`), separators and quoted text.
    static func isValid(_ format: String) -> Bool {
        if ["date", "datetime", "time", "unix"].contains(format) { return true }
        guard !format.isEmpty, format.count <= 64 else { return false }
        var quoted = false
        for character in format {
            if character == "'" { quoted.toggle(); continue }
            if quoted { continue }
            guard "yMdHhmsSaEZX".contains(character) || "-/:., T".contains(character) else { return false }
        }
        return !quoted
    }

    /// The moment a value names: Unix seconds, an ISO 8601 time (with or without fractions), or a
    /// calendar date (`dateOnly`: it has no time, so it is written in UTC whatever the zone).
    static func moment(of value: JSONValue) -> (date: Date, dateOnly: Bool)? {
        switch value {
        case .integer(let seconds): return (Date(timeIntervalSince1970: TimeInterval(seconds)), false)
        case .number(let seconds): return (Date(timeIntervalSince1970: seconds), false)
        case .string(let text):
            if text.count == 10, let day = formatter("yyyy-MM-dd", zone: "UTC").date(from: text) { return (day, true) }
            if let date = iso(fractions: false).date(from: text) { return (date, false) }
            return iso(fractions: true).date(from: text).map { ($0, false) }
        default: return nil
        }
    }

    static func write(_ moment: (date: Date, dateOnly: Bool), format: String, timeZone: String) -> JSONValue {
        if format == "unix" { return .integer(Int64(moment.date.timeIntervalSince1970.rounded(.down))) }
        let pattern = switch format {
        case "date": "yyyy-MM-dd"
        case "datetime": moment.dateOnly ? "yyyy-MM-dd" : "yyyy-MM-dd'T'HH:mm:ssXXXXX"
        case "time": "HH:mm:ss"
        default: format
        }
        return .string(formatter(pattern, zone: moment.dateOnly ? "UTC" : timeZone).string(from: moment.date))
    }

    static func iso(fractions: Bool) -> ISO8601DateFormatter {
        let key = fractions ? "junction.mapping.iso fractions" : "junction.mapping.iso"
        let cache = Thread.current.threadDictionary
        if let formatter = cache[key] as? ISO8601DateFormatter { return formatter }
        let formatter = ISO8601DateFormatter()
        if fractions { formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds] }
        cache[key] = formatter
        return formatter
    }

    /// A formatter per pattern and zone, kept per thread (making one costs more than mapping a
    /// record; a sync maps thousands).
    static func formatter(_ pattern: String, zone: String) -> DateFormatter {
        let key = "junction.mapping.date \(pattern) \(zone)"
        let cache = Thread.current.threadDictionary
        if let formatter = cache[key] as? DateFormatter { return formatter }
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: zone)
        formatter.dateFormat = pattern
        if cache.count < 256 { cache[key] = formatter }
        return formatter
    }
}

/// ISO 4217 exponents: how many decimals a currency's minor unit has.
enum Currencies {
    static let zeroDecimal: Set<String> = ["BIF", "CLP", "DJF", "GNF", "ISK", "JPY", "KMF", "KRW", "PYG", "RWF", "UGX", "UYI", "VND", "VUV", "XAF", "XOF", "XPF"]
    static let threeDecimal: Set<String> = ["BHD", "IQD", "JOD", "KWD", "LYD", "OMR", "TND"]

    static func isCode(_ text: String) -> Bool { text.count == 3 && text.allSatisfy { $0.isASCII && $0.isLetter } }

    static func exponent(_ code: String?) -> Int {
        guard let code = code?.uppercased() else { return 2 }
        if zeroDecimal.contains(code) { return 0 }
        if threeDecimal.contains(code) { return 3 }
        return 2
    }
}

/// E.164 for the regions Junction's tenants are in: each one's country calling code and the trunk
/// prefix its national numbers are written with.
enum PhoneNumbers {
    static let table: [String: (code: String, trunk: String?)] = [
        "US": ("1", "1"), "CA": ("1", "1"), "PR": ("1", "1"),
        "GB": ("44", "0"), "IE": ("353", "0"), "FR": ("33", "0"), "DE": ("49", "0"), "NL": ("31", "0"), "BE": ("32", "0"),
        "CH": ("41", "0"), "AT": ("43", "0"), "SE": ("46", "0"), "FI": ("358", "0"), "ES": ("34", nil), "IT": ("39", nil),
        "PT": ("351", nil), "NO": ("47", nil), "DK": ("45", nil), "PL": ("48", nil), "AU": ("61", "0"), "NZ": ("64", "0"),
        "MX": ("52", nil), "BR": ("55", "0"), "AR": ("54", "0"), "IN": ("91", "0"), "JP": ("81", "0"), "CN": ("86", "0"),
        "SG": ("65", nil), "HK": ("852", nil), "ZA": ("27", "0"), "AE": ("971", "0"), "IL": ("972", "0"),
    ]

    static var regions: [String] { table.keys.sorted() }

    static func callingCode(_ region: String) -> String? { table[region]?.code }

    /// `+<digits>`, or nil when `text` cannot be a phone number.
    static func e164(_ text: String, region: String) -> String? {
        guard let (code, trunk) = table[region] else { return nil }
        // An extension ("x123", "ext. 123", ";ext=123") is not part of the number.
        var number = text.lowercased()
        for marker in [";ext=", "ext.", "ext", "x", "#"] {
            if let range = number.range(of: marker) { number = String(number[..<range.lowerBound]) }
        }
        let trimmed = number.trimmingCharacters(in: .whitespaces)
        guard !trimmed.isEmpty, trimmed.allSatisfy({ $0.isNumber || " -.()/+".contains($0) }),
              trimmed.dropFirst().allSatisfy({ $0 != "+" }) else { return nil }
        var digits = trimmed.filter(\.isNumber)
        let international: Bool
        if trimmed.hasPrefix("+") {
            international = true
        } else if digits.hasPrefix("00") {
            digits.removeFirst(2)
            international = true
        } else if code == "1" && digits.hasPrefix("011") {
            digits.removeFirst(3)
            international = true
        } else {
            international = false
        }
        if !international {
            if code == "1" {
                if digits.count == 11 && digits.hasPrefix("1") { digits.removeFirst() }
                guard digits.count == 10 else { return nil }
            } else if let trunk, digits.hasPrefix(trunk) {
                digits.removeFirst(trunk.count)
            }
            digits = code + digits
        }
        guard (8...15).contains(digits.count), digits.first != "0" else { return nil }
        // North American numbers: an area code and an exchange starting 2 to 9.
        if digits.hasPrefix("1") {
            let national = Array(digits.dropFirst())
            guard national.count == 10, national[0] >= "2", national[3] >= "2" else { return nil }
        }
        return "+" + digits
    }
}
