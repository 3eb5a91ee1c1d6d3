import JunctionCore

/// Where a value is in a provider's object: keys joined by dots, each optionally followed by array
/// steps: `[2]` (the third element), `[-1]` (the last), `[*]` (every element, as an array).
///
/// `address.line1`, `email_addresses[0].email_address`, `Line[*].Amount`, `merge_fields.FNAME`.
/// A key holding a dot or a bracket cannot be named (no provider's documented field does).
public struct FieldPath: Sendable, Hashable, CustomStringConvertible {
    public enum Step: Sendable, Hashable {
        case key(String)
        case index(Int)
        case each
    }

    public let steps: [Step]
    public let description: String

    /// Parses `text`; the error says what is wrong where.
    public init(parsing text: String) throws(MappingProblem) {
        var steps: [Step] = []
        for segment in text.split(separator: ".", omittingEmptySubsequences: false) {
            let open = segment.firstIndex(of: "[") ?? segment.endIndex
            let key = segment[..<open]
            guard !key.isEmpty, key.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" || $0 == "-" || $0 == "$" }) else {
                throw MappingProblem("`\(text)` is not a path: `\(segment)` must start with a field name of letters, digits, `_` or `-`")
            }
            steps.append(.key(String(key)))
            var rest = segment[open...]
            while !rest.isEmpty {
                guard rest.first == "[", let close = rest.firstIndex(of: "]") else {
                    throw MappingProblem("`\(text)` is not a path: an array step is `[n]`, `[-1]` or `[*]`")
                }
                let inside = rest[rest.index(after: rest.startIndex)..<close]
                if inside == "*" {
                    steps.append(.each)
                } else if let index = Int(inside), index >= -1 {
                    steps.append(.index(index))
                } else {
                    throw MappingProblem("`\(text)` is not a path: `[\(inside)]` is not an index (`[0]`, `[-1]` for the last, `[*]` for all)")
                }
                rest = rest[rest.index(after: close)...]
            }
        }
        guard !steps.isEmpty, text.utf8.count <= 200 else { throw MappingProblem("`\(text)` is not a path") }
        self.steps = steps
        description = text
    }

    /// The value at this path in `object`; nil where any step finds nothing. `[*]` gives the array
    /// of what the rest of the path finds in each element (missing ones left out).
    public func value(in object: JSONValue) -> JSONValue? {
        Self.walk(steps[...], object)
    }

    private static func walk(_ steps: ArraySlice<Step>, _ value: JSONValue) -> JSONValue? {
        guard let step = steps.first else { return value }
        let rest = steps.dropFirst()
        switch step {
        case .key(let key):
            guard let next = value[key] else { return nil }
            return walk(rest, next)
        case .index(let index):
            guard let array = value.arrayValue, !array.isEmpty else { return nil }
            let position = index == -1 ? array.count - 1 : index
            guard position < array.count else { return nil }
            return walk(rest, array[position])
        case .each:
            guard let array = value.arrayValue else { return nil }
            let found = array.compactMap { walk(rest, $0) }
            // `Line[*].LinkedTxn[*].TxnId`: one flat array, not an array per line.
            guard rest.contains(.each) else { return .array(found) }
            return .array(found.flatMap { $0.arrayValue ?? [$0] })
        }
    }

    /// The same path with every index written `[*]`: how the resource's shape names it.
    var shapeKey: String {
        steps.enumerated().map { position, step in
            switch step {
            case .key(let key): position == 0 ? key : "." + key
            case .index, .each: "[*]"
            }
        }.joined()
    }

    /// Whether the path passes through `[*]` (its value is an array).
    var fansOut: Bool { steps.contains(.each) }
}

/// A mapping that cannot be saved, or a value that could not be mapped: what, and where.
public struct MappingProblem: Error, Sendable, Equatable, CustomStringConvertible {
    /// The rule's target (or `rules[n]` where the target itself is at fault); nil for the
    /// mapping as a whole.
    public var field: String?
    public var message: String

    public init(_ message: String, field: String? = nil) {
        self.message = message
        self.field = field
    }

    public var description: String { field.map { "\($0): \(message)" } ?? message }
}

/// Every problem of a mapping that cannot be saved.
public struct MappingProblems: Error, Sendable, Equatable, CustomStringConvertible {
    public var problems: [MappingProblem]

    public init(_ problems: [MappingProblem]) {
        self.problems = problems
    }

    public var description: String { problems.map(\.description).joined(separator: "; ") }
}
