import Foundation
import JunctionCore

/// One field of the mapped record: its `target` (`email`, `address.city`) takes the value at its
/// `sources` in the provider's object, through its `transforms` in order.
///
/// ```json
/// {"target": "email", "source": "email", "transforms": ["trim", "lower"]}
/// {"target": "name", "sources": ["given_name", "family_name"], "transforms": [{"concat": {"separator": " "}}]}
/// {"target": "kind", "transforms": [{"constant": "customer"}]}
/// ```
public struct MappingRule: Sendable, Equatable {
    public var target: String
    public var sources: [FieldPath]
    public var transforms: [Transform]

    public init(target: String, sources: [FieldPath] = [], transforms: [Transform] = []) {
        self.target = target
        self.sources = sources
        self.transforms = transforms
    }

    /// `target ← source`, with the source written as text (for the default mappings).
    public init(_ target: String, _ source: String, _ transforms: Transform...) {
        self.init(target: target, sources: [try! FieldPath(parsing: source)], transforms: transforms)
    }

    public var json: JSONValue {
        var object: [String: JSONValue] = ["target": .string(target)]
        if sources.count == 1 { object["source"] = .string(sources[0].description) }
        if sources.count > 1 { object["sources"] = .array(sources.map { .string($0.description) }) }
        if !transforms.isEmpty { object["transforms"] = .array(transforms.map(\.json)) }
        return .object(object)
    }
}

/// A tenant's mapping of one provider resource: the fields of the mapped record. Checked against
/// the resource's documented shape before it is saved (``validate(against:)``); applied to each
/// synced object (``apply(to:)``).
public struct FieldMapping: Sendable, Equatable {
    public var rules: [MappingRule]

    public init(rules: [MappingRule]) {
        self.rules = rules
    }

    public static let maxRules = 200

    /// Reads `{"rules": [...]}`; throws every problem found, each naming its rule's field.
    public static func parse(_ json: JSONValue) throws(MappingProblems) -> FieldMapping {
        guard case .array(let entries)? = json["rules"] else {
            throw MappingProblems([MappingProblem("a mapping is {\"rules\": [...]}, one rule per target field", field: "rules")])
        }
        guard entries.count <= maxRules else { throw MappingProblems([MappingProblem("at most \(maxRules) rules", field: "rules")]) }
        var rules: [MappingRule] = []
        var problems: [MappingProblem] = []
        for (position, entry) in entries.enumerated() {
            let name = entry["target"]?.stringValue ?? "rules[\(position)]"
            do {
                rules.append(try rule(entry, field: name))
            } catch {
                problems.append(error)
            }
        }
        guard problems.isEmpty else { throw MappingProblems(problems) }
        return FieldMapping(rules: rules)
    }

    private static func rule(_ entry: JSONValue, field: String) throws(MappingProblem) -> MappingRule {
        guard case .object(let members) = entry else { throw MappingProblem("a rule is an object with target, source and transforms", field: field) }
        if let unknown = members.keys.sorted().first(where: { !["target", "source", "sources", "transforms"].contains($0) }) {
            throw MappingProblem("a rule has no \(unknown) (it has target, source or sources, transforms)", field: field)
        }
        guard let target = members["target"]?.stringValue else { throw MappingProblem("target must be a string", field: field) }
        var texts: [String] = []
        switch (members["source"], members["sources"]) {
        case (nil, nil): break
        case (let source?, nil):
            guard let text = source.stringValue else { throw MappingProblem("source must be a path", field: field) }
            texts = [text]
        case (nil, let sources?):
            guard let array = sources.arrayValue, (2...20).contains(array.count), array.allSatisfy({ $0.stringValue != nil }) else {
                throw MappingProblem("sources must be 2 to 20 paths", field: field)
            }
            texts = array.compactMap(\.stringValue)
        default: throw MappingProblem("a rule has source or sources, not both", field: field)
        }
        var sources: [FieldPath] = []
        for text in texts {
            do {
                sources.append(try FieldPath(parsing: text))
            } catch {
                throw MappingProblem(error.message, field: field)
            }
        }
        var transforms: [Transform] = []
        switch members["transforms"] {
        case nil: break
        case .array(let entries)?:
            guard entries.count <= 20 else { throw MappingProblem("at most 20 transforms a rule", field: field) }
            for entry in entries { transforms.append(try Transform(entry, field: field)) }
        default: throw MappingProblem("transforms must be an array", field: field)
        }
        return MappingRule(target: target, sources: sources, transforms: transforms)
    }

    public var json: JSONValue { ["rules": .array(rules.map(\.json))] }

    // MARK: Checking

    /// Every reason this mapping cannot be saved for `shape`'s resource: targets that are not
    /// names or that two rules write, sources the resource does not document, transforms that do
    /// not fit their input. Empty when it can be.
    public func validate(against shape: ResourceShape) -> [MappingProblem] {
        var problems: [MappingProblem] = []
        if rules.isEmpty { problems.append(MappingProblem("a mapping has at least one rule", field: "rules")) }
        var targets: [String: Int] = [:]
        for (position, rule) in rules.enumerated() {
            let field = rule.target
            if !Self.isTargetName(rule.target) {
                problems.append(MappingProblem("target \(rule.target.debugDescription) must be lower-case names of letters, digits and _ joined by dots (address.city), at most 4 deep",
                                               field: "rules[\(position)]"))
                continue
            }
            if let first = targets[rule.target] {
                problems.append(MappingProblem("rules \(first) and \(position) both write \(rule.target)", field: field))
            }
            targets[rule.target] = targets[rule.target] ?? position
            if case .failure(let problem) = type(of: rule, shape: shape) {
                problems.append(MappingProblem(problem.message, field: field))
            }
        }
        // `address` and `address.city` cannot both be written.
        for target in targets.keys.sorted() {
            if let parent = targets.keys.sorted().first(where: { target.hasPrefix($0 + ".") }) {
                problems.append(MappingProblem("\(parent) is written by another rule, so \(target) cannot be inside it", field: target))
            }
        }
        return problems
    }

    static func isTargetName(_ target: String) -> Bool {
        let parts = target.split(separator: ".", omittingEmptySubsequences: false)
        return (1...4).contains(parts.count) && target.utf8.count <= 100 && parts.allSatisfy { part in
            guard let first = part.unicodeScalars.first, ("a"..."z").contains(first) else { return false }
            return part.unicodeScalars.allSatisfy { ("a"..."z").contains($0) || ("0"..."9").contains($0) || $0 == "_" }
        }
    }

    /// The type of the value `rule` writes, following its sources through its transforms.
    func type(of rule: MappingRule, shape: ResourceShape) -> Result<FieldType, MappingProblem> {
        var transforms = rule.transforms[...]
        var current: FieldType
        switch rule.sources.count {
        case 0:
            guard case .constant(let value)? = transforms.first else {
                return .failure(MappingProblem("a rule without a source starts with constant"))
            }
            current = Transform.type(of: value)
            transforms = transforms.dropFirst()
        default:
            var types: [FieldType] = []
            for source in rule.sources {
                guard let type = shape.type(of: source) else {
                    return .failure(MappingProblem("\(source) is not a field of \(shape.provider) \(shape.resource)\(Self.suggestion(for: source, in: shape))"))
                }
                types.append(source.fansOut ? .array(type) : type)
            }
            if types.count == 1 {
                current = types[0]
            } else {
                guard case .concat? = transforms.first else {
                    return .failure(MappingProblem("a rule with several sources joins them: concat first"))
                }
                guard let bad = zip(rule.sources, types).first(where: { !$0.1.isText && !$0.1.isNumeric }) else {
                    current = .string
                    transforms = transforms.dropFirst()
                    break
                }
                return .failure(MappingProblem("concat joins text and numbers, and \(bad.0) is \(bad.1)"))
            }
        }
        for transform in transforms {
            switch transform.output(for: current, shape: shape) {
            case .success(let next): current = next
            case .failure(let problem): return .failure(problem)
            }
        }
        return .success(current)
    }

    /// " (did you mean email?)" when a documented field is one or two edits away (a typo, two
    /// letters swapped, another case).
    static func suggestion(for path: FieldPath, in shape: ResourceShape) -> String {
        let wanted = Array(path.shapeKey.lowercased())
        let scored = shape.fields.keys.map { ($0, distance(Array($0.lowercased()), wanted)) }.filter { $0.1 <= 2 }
        guard let best = scored.min(by: { $0.1 != $1.1 ? $0.1 < $1.1 : $0.0 < $1.0 }) else { return "" }
        return " (did you mean \(best.0)?)"
    }

    /// Edits (insert, delete, replace, swap two neighbours) from `a` to `b`.
    static func distance(_ a: [Character], _ b: [Character]) -> Int {
        guard abs(a.count - b.count) <= 2 else { return 3 }
        var rows = [[Int]](repeating: [Int](repeating: 0, count: b.count + 1), count: a.count + 1)
        for i in 0...a.count { rows[i][0] = i }
        for j in 0...b.count { rows[0][j] = j }
        for i in stride(from: 1, through: a.count, by: 1) {
            for j in stride(from: 1, through: b.count, by: 1) {
                let cost = a[i - 1] == b[j - 1] ? 0 : 1
                rows[i][j] = Swift.min(rows[i - 1][j] + 1, rows[i][j - 1] + 1, rows[i - 1][j - 1] + cost)
                if i > 1, j > 1, a[i - 1] == b[j - 2], a[i - 2] == b[j - 1] { rows[i][j] = Swift.min(rows[i][j], rows[i - 2][j - 2] + 1) }
            }
        }
        return rows[a.count][b.count]
    }

    // MARK: Applying

    /// The mapped record of `object`, and what could not be mapped (a phone number that is none, a
    /// date that does not parse): those fields are null; the rest map.
    public func apply(to object: JSONValue) -> (record: JSONValue, problems: [MappingProblem]) {
        var record: [String: JSONValue] = [:]
        var problems: [MappingProblem] = []
        for rule in rules {
            let value: JSONValue
            do {
                value = try Self.evaluate(rule, object)
            } catch {
                problems.append(MappingProblem(error.message, field: rule.target))
                value = .null
            }
            Self.set(value, at: rule.target.split(separator: ".").map(String.init)[...], in: &record)
        }
        return (.object(record), problems)
    }

    static func evaluate(_ rule: MappingRule, _ object: JSONValue) throws(MappingProblem) -> JSONValue {
        var transforms = rule.transforms[...]
        var value: JSONValue
        if rule.sources.count > 1 {
            // Several sources: the first transform is concat (validated).
            let separator = if case .concat(let separator)? = transforms.first { separator } else { " " }
            transforms = transforms.dropFirst()
            value = Self.join(rule.sources.map { $0.value(in: object) ?? .null }, separator: separator)
        } else if let source = rule.sources.first {
            value = source.value(in: object) ?? .null
        } else {
            value = .null
        }
        for transform in transforms {
            value = try apply(transform, to: value, in: object)
        }
        return value
    }

    static func join(_ values: [JSONValue], separator: String) -> JSONValue {
        let parts = values.compactMap { value -> String? in
            switch value {
            case .string(let text): text.isEmpty ? nil : text
            case .integer(let number): String(number)
            case .number(let number): String(number)
            case .bool(let flag): String(flag)
            default: nil
            }
        }
        return parts.isEmpty ? .null : .string(parts.joined(separator: separator))
    }

    static func apply(_ transform: Transform, to value: JSONValue, in object: JSONValue) throws(MappingProblem) -> JSONValue {
        switch transform {
        case .constant(let constant): return constant
        case .defaultValue(let fallback):
            switch value {
            case .null: return fallback
            case .string(let text) where text.trimmingCharacters(in: .whitespaces).isEmpty: return fallback
            default: return value
            }
        default: break
        }
        // Nothing in, nothing out.
        if value == .null { return .null }
        switch transform {
        case .trim: return .string(try text(value, transform).trimmingCharacters(in: .whitespacesAndNewlines))
        case .lower: return .string(try text(value, transform).lowercased())
        case .upper: return .string(try text(value, transform).uppercased())
        case .concat(let separator):
            guard let elements = value.arrayValue else { return value }
            return join(elements, separator: separator)
        case .split(let separator, let index):
            let pieces = try text(value, transform).components(separatedBy: separator).map { $0.trimmingCharacters(in: .whitespaces) }
            guard let index else { return .array(pieces.map(JSONValue.string)) }
            let position = index < 0 ? pieces.count + index : index
            return pieces.indices.contains(position) ? .string(pieces[position]) : .null
        case .date(let format, let zone):
            guard let moment = DateFormats.moment(of: value) else { throw MappingProblem("\(value.serialized) is not a time or a date") }
            return DateFormats.write(moment, format: format, timeZone: zone)
        case .money(let unit, let currency):
            let code: String? = switch currency {
            case .fixed(let code): code
            case .field(let path): path.value(in: object)?.stringValue
            case .unspecified: nil
            }
            let scale = Self.power(Currencies.exponent(code))
            switch (unit, value) {
            case (.decimal, .integer(let minor)): return .number(Double(minor) / scale)
            case (.decimal, .number(let minor)) where minor == minor.rounded(): return .number(minor / scale)
            case (.minor, .number(let amount)): return .integer(Int64((amount * scale).rounded()))
            case (.minor, .integer(let amount)): return .integer(amount * Int64(scale))
            case (.minor, .string(let text)) where Double(text) != nil: return .integer(Int64((Double(text)! * scale).rounded()))
            default: throw MappingProblem("\(value.serialized) is not an amount in \(unit == .decimal ? "minor units" : "decimals")")
            }
        case .phone(let region):
            guard let number = PhoneNumbers.e164(try text(value, transform), region: region) else {
                throw MappingProblem("\(value.serialized) is not a phone number (read as \(region)'s)")
            }
            return .string(number)
        case .lookup(let table, let fallback):
            let key: String = switch value {
            case .string(let text): text
            case .integer(let number): String(number)
            case .number(let number) where number == number.rounded() && abs(number) < 1e15: String(Int64(number))
            case .number(let number): String(number)
            case .bool(let flag): String(flag)
            default: value.serialized
            }
            return table[key] ?? fallback ?? .null
        case .constant, .defaultValue: return value
        }
    }

    private static func text(_ value: JSONValue, _ transform: Transform) throws(MappingProblem) -> String {
        switch value {
        case .string(let text): return text
        case .integer(let number): return String(number)
        default: throw MappingProblem("\(transform.name) takes text, and got \(value.serialized)")
        }
    }

    private static func power(_ exponent: Int) -> Double {
        [1, 10, 100, 1000][exponent]
    }

    static func set(_ value: JSONValue, at path: ArraySlice<String>, in record: inout [String: JSONValue]) {
        guard let key = path.first else { return }
        if path.count == 1 {
            record[key] = value
            return
        }
        var child = record[key]?.objectValue ?? [:]
        set(value, at: path.dropFirst(), in: &child)
        record[key] = .object(child)
    }
}
