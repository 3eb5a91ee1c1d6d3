import JunctionCore
import JunctionQueue

/// Which priority list a provider's events go to, by event type.
///
/// `JUNCTION_WEBHOOK_PRIORITY_<PROVIDER>` is either one priority for all its events (`high`) or
/// comma-separated `pattern=priority` rules, where a pattern is an event type
/// (`invoice.payment_failed`), a prefix ending in `*` (`customer.*`) or `*` alone (the rest):
///
/// ```text
/// JUNCTION_WEBHOOK_PRIORITY_STRIPE=invoice.payment_failed=critical,customer.*=normal,*=high
/// ```
///
/// An exact type wins over any prefix, a longer prefix over a shorter one; events matching no
/// rule, and events without a type, get the `*` rule, or `critical` when there is none.
public struct WebhookPriorities: Sendable, Equatable {
    public static let defaultPriority = JobPriority.critical

    struct Rule: Sendable, Equatable {
        var pattern: String
        var isPrefix: Bool
        var priority: JobPriority
    }

    var byProvider: [String: (exact: [String: JobPriority], prefixes: [Rule], fallback: JobPriority)]

    public init() {
        byProvider = [:]
    }

    public static func == (lhs: Self, rhs: Self) -> Bool {
        lhs.byProvider.keys == rhs.byProvider.keys && lhs.byProvider.allSatisfy { key, value in
            let other = rhs.byProvider[key]!
            return value.exact == other.exact && value.prefixes == other.prefixes && value.fallback == other.fallback
        }
    }

    /// Parses one provider's setting.
    public mutating func set(provider: String, rules text: String) throws(InvalidValue) {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        if let single = JobPriority(rawValue: trimmed) {
            byProvider[provider] = ([:], [], single)
            return
        }
        var exact: [String: JobPriority] = [:]
        var prefixes: [Rule] = []
        var fallback = Self.defaultPriority
        for entry in trimmed.split(separator: ",") {
            let parts = entry.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            guard parts.count == 2, !parts[0].isEmpty else {
                throw InvalidValue("\"\(entry)\" is not pattern=priority (or use one of critical, high, normal, low)")
            }
            guard let priority = JobPriority(rawValue: parts[1]) else {
                throw InvalidValue("\"\(parts[1])\" in \"\(entry)\" must be critical, high, normal or low")
            }
            let pattern = parts[0]
            if pattern == "*" {
                fallback = priority
            } else if pattern.hasSuffix("*") {
                let prefix = String(pattern.dropLast())
                guard !prefix.contains("*") else { throw InvalidValue("\"\(pattern)\": '*' may only end a pattern") }
                prefixes.append(Rule(pattern: prefix, isPrefix: true, priority: priority))
            } else {
                guard !pattern.contains("*") else { throw InvalidValue("\"\(pattern)\": '*' may only end a pattern") }
                exact[pattern] = priority
            }
        }
        prefixes.sort { $0.pattern.count > $1.pattern.count }
        byProvider[provider] = (exact, prefixes, fallback)
    }

    public func priority(provider: String, eventType: String?) -> JobPriority {
        guard let rules = byProvider[provider] else { return Self.defaultPriority }
        guard let eventType else { return rules.fallback }
        if let exact = rules.exact[eventType] { return exact }
        for rule in rules.prefixes where eventType.hasPrefix(rule.pattern) { return rule.priority }
        return rules.fallback
    }
}
