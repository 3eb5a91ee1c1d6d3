import Foundation

/// A value as it is sent to PostgreSQL as a query parameter.
public enum PostgresParameter: Sendable, Equatable {
    case null
    /// Text; the server infers the type from where the parameter is used.
    case text(String)
    /// Raw bytes sent in binary format (`bytea`), NUL bytes included.
    case bytea([UInt8])
}

/// A Swift value that can be a query parameter.
public protocol PostgresEncodable: Sendable {
    var postgresParameter: PostgresParameter { get }
}

extension String: PostgresEncodable {
    public var postgresParameter: PostgresParameter { .text(self) }
}

extension Substring: PostgresEncodable {
    public var postgresParameter: PostgresParameter { .text(String(self)) }
}

extension Int: PostgresEncodable {
    public var postgresParameter: PostgresParameter { .text(String(self)) }
}

extension Int64: PostgresEncodable {
    public var postgresParameter: PostgresParameter { .text(String(self)) }
}

extension Int32: PostgresEncodable {
    public var postgresParameter: PostgresParameter { .text(String(self)) }
}

extension Double: PostgresEncodable {
    public var postgresParameter: PostgresParameter { .text("\(self)") }
}

extension Bool: PostgresEncodable {
    public var postgresParameter: PostgresParameter { .text(self ? "t" : "f") }
}

extension UUID: PostgresEncodable {
    public var postgresParameter: PostgresParameter { .text(uuidString.lowercased()) }
}

extension Date: PostgresEncodable {
    /// An ISO 8601 timestamp in UTC with microseconds, which `timestamptz` reads exactly.
    public var postgresParameter: PostgresParameter { .text(Timestamp.format(self)) }
}

extension Array: PostgresEncodable where Element == UInt8 {
    public var postgresParameter: PostgresParameter { .bytea(self) }
}

extension Data: PostgresEncodable {
    public var postgresParameter: PostgresParameter { .bytea(Array(self)) }
}

/// JSON text bound as a parameter, for `json`/`jsonb` columns.
public struct PostgresJSON: PostgresEncodable, Equatable {
    public let text: String

    public init(text: String) { self.text = text }

    /// Encodes `value` with `JSONEncoder` (sorted keys, so equal values give equal text).
    public init(encoding value: some Encodable) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        self.text = String(decoding: try encoder.encode(value), as: UTF8.self)
    }

    public var postgresParameter: PostgresParameter { .text(text) }
}

/// A list of strings bound as one text-array parameter (`{"a","b"}`), for `= ANY($1::text[])`
/// and `unnest($1::text[])`: one statement for many rows.
public struct PostgresTextArray: PostgresEncodable {
    public let elements: [String]

    public init(_ elements: [String]) { self.elements = elements }

    public var postgresParameter: PostgresParameter {
        var literal = "{"
        for (index, element) in elements.enumerated() {
            if index > 0 { literal += "," }
            literal += "\""
            for character in element {
                if character == "\"" || character == "\\" { literal += "\\" }
                literal.append(character)
            }
            literal += "\""
        }
        return .text(literal + "}")
    }
}
