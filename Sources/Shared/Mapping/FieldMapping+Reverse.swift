import JunctionCore

/// A push in the mapped shape (the platform's field names) turned back into the provider's.
extension FieldMapping {
    /// The provider's fields for `mapped`, a partial record in this mapping's shape
    /// (`{"email": …, "address": {"city": …}}`): each mapped field is written back to the source
    /// of the rule that makes it. A rule can be written back when it reads one path of plain
    /// keys through transforms that lose nothing a provider needs: none, `trim`, `lower`,
    /// `upper`, `phone` (E.164 is what providers take), `default`, `money` (converted back) and a
    /// `lookup` whose table names each value once. Every field that cannot be written back is a
    /// problem naming it and why; nothing is answered then.
    public func reverse(_ mapped: [String: JSONValue]) -> Result<[String: JSONValue], MappingProblems> {
        var fields: [String: JSONValue] = [:]
        var problems: [MappingProblem] = []
        var pending: [(rule: MappingRule, value: JSONValue, target: String)] = []
        for (target, value) in Self.flatten(mapped, prefix: "") {
            // The rule making this field, or one making a whole object the field is inside.
            guard let rule = rules.first(where: { $0.target == target }) ?? rules.first(where: { target.hasPrefix($0.target + ".") }) else {
                let known = rules.map(\.target).sorted().joined(separator: ", ")
                problems.append(MappingProblem("not a field of the mapping (\(known))", field: target))
                continue
            }
            pending.append((rule, value, target))
        }
        // Money converted back may read its currency from another field of the same push: the
        // other fields first.
        pending.sort { !$0.rule.isMoney && $1.rule.isMoney }
        for (rule, value, target) in pending {
            switch Self.writeBack(rule, value, target: target, fields: fields) {
            case .success(let (path, written)):
                if let earlier = Self.value(at: path[...], in: fields), earlier != written {
                    problems.append(MappingProblem("writes \(path.joined(separator: ".")), which another field also writes with another value", field: target))
                } else {
                    Self.set(written, at: path[...], in: &fields)
                }
            case .failure(let problem):
                problems.append(problem)
            }
        }
        return problems.isEmpty ? .success(fields) : .failure(MappingProblems(problems.sorted { ($0.field ?? "") < ($1.field ?? "") }))
    }

    /// Leaves of `object` by dotted path; an empty object or an array is a leaf.
    static func flatten(_ object: [String: JSONValue], prefix: String) -> [(String, JSONValue)] {
        object.keys.sorted().flatMap { key -> [(String, JSONValue)] in
            let path = prefix.isEmpty ? key : "\(prefix).\(key)"
            if case .object(let members) = object[key]!, !members.isEmpty { return flatten(members, prefix: path) }
            return [(path, object[key]!)]
        }
    }

    static func value(at path: ArraySlice<String>, in object: [String: JSONValue]) -> JSONValue? {
        guard let key = path.first else { return nil }
        guard path.count > 1 else { return object[key] }
        guard case .object(let members)? = object[key] else { return nil }
        return value(at: path.dropFirst(), in: members)
    }

    /// The provider path a mapped field goes back to, and the value written there.
    static func writeBack(_ rule: MappingRule, _ value: JSONValue, target: String, fields: [String: JSONValue]) -> Result<([String], JSONValue), MappingProblem> {
        func refuse(_ why: String) -> Result<([String], JSONValue), MappingProblem> { .failure(MappingProblem(why, field: target)) }
        guard rule.sources.count == 1, let source = rule.sources.first else {
            if rule.sources.isEmpty { return refuse("is a constant of the mapping, not a provider field") }
            let names = rule.sources.map(\.description).joined(separator: " and ")
            return refuse("is made of \(names): push those by the provider's names in `fields`")
        }
        var path: [String] = []
        for step in source.steps {
            guard case .key(let key) = step else { return refuse("comes from \(source.description), inside an array: push it by the provider's names in `fields`") }
            path.append(key)
        }
        // A field inside an object the rule maps whole: the same place under the source.
        if target != rule.target { path += target.dropFirst(rule.target.count + 1).split(separator: ".").map(String.init) }
        var written = value
        for transform in rule.transforms.reversed() {
            switch transform {
            case .trim, .lower, .upper, .phone, .defaultValue:
                continue
            case .money(let unit, let currency):
                let code: String? = switch currency {
                case .fixed(let code): code
                case .field(let path): path.value(in: .object(fields))?.stringValue
                case .unspecified: nil
                }
                if case .field(let currencyPath) = currency, code == nil {
                    return refuse("is an amount whose currency is \(currencyPath.description): push that too")
                }
                let scale = [1.0, 10, 100, 1000][Currencies.exponent(code)]
                switch (unit, written) {
                case (.decimal, .integer(let amount)): written = .integer(amount * Int64(scale))
                case (.decimal, .number(let amount)): written = .integer(Int64((amount * scale).rounded()))
                case (.minor, .integer(let minor)): written = .number(Double(minor) / scale)
                case (.minor, .number(let minor)) where minor == minor.rounded(): written = .number(minor / scale)
                default: return refuse("\(written.serialized) is not an amount")
                }
            case .lookup(let table, _):
                let keys = table.filter { $0.value == written }.map(\.key)
                guard keys.count == 1, let key = keys.first else {
                    return refuse(keys.isEmpty ? "\(written.serialized) is not a value of the mapping's lookup table" : "\(written.serialized) is the lookup table's value for \(keys.sorted().joined(separator: " and ")): which one is meant is not known")
                }
                written = .string(key)
            case .date:
                return refuse("is a date the mapping formats: push \(source.description) in the provider's own format in `fields`")
            case .concat, .split:
                return refuse("is cut or joined from \(source.description): push it by the provider's names in `fields`")
            case .constant:
                return refuse("is a constant of the mapping, not a provider field")
            }
        }
        return .success((path, written))
    }
}

extension MappingRule {
    var isMoney: Bool {
        transforms.contains { if case .money = $0 { true } else { false } }
    }
}
