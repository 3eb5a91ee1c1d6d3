/// Reading and writing JSON text directly, for the hot paths (every job's envelope is written at
/// enqueue and read at fetch). Foundation's `JSONDecoder` spent most of a worker's CPU there.
extension JSONValue {
    /// Parses JSON text (RFC 8259). Integers that fit 64 bits stay exact; other numbers become
    /// doubles. Nesting deeper than 256 levels is refused rather than risking the stack.
    public init(parsing bytes: some Collection<UInt8>) throws(JSONParseError) {
        let result = bytes.withContiguousStorageIfAvailable(Self.parse) ?? Array(bytes).withUnsafeBufferPointer(Self.parse)
        self = try result.get()
    }

    /// Parses JSON text.
    public init(parsing text: String) throws(JSONParseError) {
        var text = text
        self = try text.withUTF8(Self.parse).get()
    }

    /// The string values of the chosen members of a top-level JSON object, read without building
    /// the rest of the document: what the ingress needs from a webhook body (its event id and
    /// type). The whole text is still checked to be valid JSON, as ``init(parsing:)-(Collection<UInt8>)``
    /// checks it. The result is aligned with `keys`: nil where the member is absent or not a
    /// string (a repeated member counts by its last occurrence, as when parsing). Returns nil when
    /// the document is valid JSON but not an object.
    public static func topLevelStrings(_ keys: [String], in bytes: some Collection<UInt8>) throws(JSONParseError) -> [String?]? {
        let wanted = keys.map { Array($0.utf8) }
        let scan = { (buffer: UnsafeBufferPointer<UInt8>) -> Result<[String?]?, JSONParseError> in
            var parser = JSONParser(buffer)
            return Result { () throws(JSONParseError) in try parser.scanDocument(wanted) }
        }
        return try (bytes.withContiguousStorageIfAvailable(scan) ?? Array(bytes).withUnsafeBufferPointer(scan)).get()
    }

    private static func parse(_ buffer: UnsafeBufferPointer<UInt8>) -> Result<JSONValue, JSONParseError> {
        var parser = JSONParser(buffer)
        return Result { () throws(JSONParseError) in try parser.parseDocument() }
    }

    /// Compact JSON with object keys sorted, so equal values give equal text.
    public var serialized: String {
        var output = JSONBytes(capacity: 256)
        write(to: &output, sortedKeys: true)
        return String(decoding: output.bytes, as: UTF8.self)
    }

    /// Appends this value as compact JSON into a byte buffer: with object keys sorted (as
    /// ``serialized``), or, where the reader does not care about their order (PostgreSQL's
    /// `jsonb` sorts them itself), as the dictionary holds them, which is cheaper.
    public func write(to output: inout JSONBytes, sortedKeys: Bool) {
        switch self {
        case .null: output.raw("null")
        case .bool(let value): output.raw(value ? "true" : "false")
        case .integer(let value): output.raw(String(value))
        case .number(let value):
            // JSON has no NaN or infinity; null is the conventional stand-in.
            if value.isFinite { output.raw("\(value)") } else { output.raw("null") }
        case .string(let value): output.string(value)
        case .array(let elements):
            output.raw("[")
            for (index, element) in elements.enumerated() {
                if index > 0 { output.raw(",") }
                element.write(to: &output, sortedKeys: sortedKeys)
            }
            output.raw("]")
        case .object(let members):
            output.raw("{")
            var first = true
            func member(_ key: String, _ value: JSONValue) {
                if !first { output.raw(",") }
                first = false
                output.string(key)
                output.raw(":")
                value.write(to: &output, sortedKeys: sortedKeys)
            }
            if sortedKeys {
                for key in members.keys.sorted() { member(key, members[key]!) }
            } else {
                for (key, value) in members { member(key, value) }
            }
            output.raw("}")
        }
    }
}

/// Why JSON text could not be read, and where.
public struct JSONParseError: Error, Sendable, Equatable, CustomStringConvertible {
    public let reason: String
    /// Byte offset of the problem.
    public let offset: Int

    public var description: String { "invalid JSON at byte \(offset): \(reason)" }
}

/// A recursive-descent parser over UTF-8 bytes.
private struct JSONParser {
    let bytes: UnsafeBufferPointer<UInt8>
    var index = 0
    var depth = 0

    init(_ bytes: UnsafeBufferPointer<UInt8>) {
        self.bytes = bytes
    }

    mutating func parseDocument() throws(JSONParseError) -> JSONValue {
        skipWhitespace()
        let value = try parseValue()
        skipWhitespace()
        guard index == bytes.count else { throw fail("unexpected text after the value") }
        return value
    }

    /// See ``JSONValue/topLevelStrings(_:in:)``.
    mutating func scanDocument(_ keys: [[UInt8]]) throws(JSONParseError) -> [String?]? {
        skipWhitespace()
        guard index < bytes.count, bytes[index] == UInt8(ascii: "{") else {
            try skipValue()
            skipWhitespace()
            guard index == bytes.count else { throw fail("unexpected text after the value") }
            return nil
        }
        var found = [String?](repeating: nil, count: keys.count)
        try enter()
        index += 1
        skipWhitespace()
        if index < bytes.count && bytes[index] == UInt8(ascii: "}") {
            index += 1
        } else {
            while true {
                skipWhitespace()
                guard index < bytes.count, bytes[index] == UInt8(ascii: "\"") else { throw fail("expected a member name") }
                let keyStart = index + 1
                let escaped = try skipString()
                let match: Int?
                if escaped {
                    // Rare: compare the decoded name.
                    var again = self
                    again.index = keyStart - 1
                    let name = Array(try again.parseString().utf8)
                    match = keys.firstIndex(of: name)
                } else {
                    let name = UnsafeBufferPointer(rebasing: bytes[keyStart..<(index - 1)])
                    match = keys.firstIndex { $0.elementsEqual(name) }
                }
                skipWhitespace()
                guard index < bytes.count, bytes[index] == UInt8(ascii: ":") else { throw fail("expected ':'") }
                index += 1
                skipWhitespace()
                if let match {
                    if index < bytes.count && bytes[index] == UInt8(ascii: "\"") {
                        found[match] = try parseString()
                    } else {
                        found[match] = nil
                        try skipValue()
                    }
                } else {
                    try skipValue()
                }
                if try !nextMember(close: UInt8(ascii: "}")) { break }
            }
        }
        depth -= 1
        skipWhitespace()
        guard index == bytes.count else { throw fail("unexpected text after the value") }
        return found
    }

    /// Checks one value and moves past it, keeping nothing.
    private mutating func skipValue() throws(JSONParseError) {
        guard index < bytes.count else { throw fail("unexpected end of input") }
        switch bytes[index] {
        case UInt8(ascii: "{"), UInt8(ascii: "["):
            let object = bytes[index] == UInt8(ascii: "{")
            let close = object ? UInt8(ascii: "}") : UInt8(ascii: "]")
            try enter()
            defer { depth -= 1 }
            index += 1
            skipWhitespace()
            if index < bytes.count && bytes[index] == close {
                index += 1
                return
            }
            while true {
                skipWhitespace()
                if object {
                    guard index < bytes.count, bytes[index] == UInt8(ascii: "\"") else { throw fail("expected a member name") }
                    _ = try skipString()
                    skipWhitespace()
                    guard index < bytes.count, bytes[index] == UInt8(ascii: ":") else { throw fail("expected ':'") }
                    index += 1
                    skipWhitespace()
                }
                try skipValue()
                if try !nextMember(close: close) { return }
            }
        case UInt8(ascii: "\""): _ = try skipString()
        case UInt8(ascii: "t"): try expectLiteral("true")
        case UInt8(ascii: "f"): try expectLiteral("false")
        case UInt8(ascii: "n"): try expectLiteral("null")
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): try skipNumber()
        default: throw fail("unexpected character")
        }
    }

    /// Checks a string and moves past its closing quote; true when it holds escapes.
    private mutating func skipString() throws(JSONParseError) -> Bool {
        index += 1
        var escaped = false
        while index < bytes.count {
            // Most of a string is a run of bytes that need no attention: pass it in a tight loop.
            var at = index
            while at < bytes.count {
                let byte = bytes[at]
                if byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") || byte < 0x20 { break }
                at += 1
            }
            index = at
            guard index < bytes.count else { break }
            let byte = bytes[index]
            switch byte {
            case UInt8(ascii: "\""):
                index += 1
                return escaped
            case UInt8(ascii: "\\"):
                escaped = true
                index += 1
                guard index < bytes.count else { throw fail("unexpected end of input") }
                switch bytes[index] {
                case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"), UInt8(ascii: "b"), UInt8(ascii: "f"),
                     UInt8(ascii: "n"), UInt8(ascii: "r"), UInt8(ascii: "t"):
                    index += 1
                case UInt8(ascii: "u"):
                    index += 1
                    _ = try parseUnicodeEscape()
                default:
                    throw fail("invalid escape")
                }
            default:
                // The run stops only at a quote, a backslash or a control character.
                throw fail("control character in a string")
            }
        }
        throw fail("unterminated string")
    }

    /// Checks a number's grammar and moves past it; true when it has no fraction or exponent.
    @discardableResult
    private mutating func skipNumber() throws(JSONParseError) -> Bool {
        if bytes[index] == UInt8(ascii: "-") { index += 1 }
        guard index < bytes.count, isDigit(bytes[index]) else { throw fail("invalid number") }
        if bytes[index] == UInt8(ascii: "0") {
            index += 1
        } else {
            while index < bytes.count && isDigit(bytes[index]) { index += 1 }
        }
        var isInteger = true
        if index < bytes.count && bytes[index] == UInt8(ascii: ".") {
            isInteger = false
            index += 1
            guard index < bytes.count, isDigit(bytes[index]) else { throw fail("invalid number") }
            while index < bytes.count && isDigit(bytes[index]) { index += 1 }
        }
        if index < bytes.count && (bytes[index] == UInt8(ascii: "e") || bytes[index] == UInt8(ascii: "E")) {
            isInteger = false
            index += 1
            if index < bytes.count && (bytes[index] == UInt8(ascii: "+") || bytes[index] == UInt8(ascii: "-")) { index += 1 }
            guard index < bytes.count, isDigit(bytes[index]) else { throw fail("invalid number") }
            while index < bytes.count && isDigit(bytes[index]) { index += 1 }
        }
        return isInteger
    }

    /// After a member or element: true past a `,` (another one follows), false past the closing
    /// `close` bracket.
    private mutating func nextMember(close: UInt8) throws(JSONParseError) -> Bool {
        skipWhitespace()
        guard index < bytes.count else { throw fail("unexpected end of input") }
        if bytes[index] == UInt8(ascii: ",") {
            index += 1
            return true
        }
        guard bytes[index] == close else { throw fail(close == UInt8(ascii: "}") ? "expected ',' or '}'" : "expected ',' or ']'") }
        index += 1
        return false
    }

    private func fail(_ reason: String) -> JSONParseError {
        JSONParseError(reason: reason, offset: index)
    }

    private mutating func skipWhitespace() {
        while index < bytes.count {
            switch bytes[index] {
            case 0x20, 0x09, 0x0A, 0x0D: index += 1
            default: return
            }
        }
    }

    private mutating func parseValue() throws(JSONParseError) -> JSONValue {
        guard index < bytes.count else { throw fail("unexpected end of input") }
        switch bytes[index] {
        case UInt8(ascii: "{"): return try parseObject()
        case UInt8(ascii: "["): return try parseArray()
        case UInt8(ascii: "\""): return .string(try parseString())
        case UInt8(ascii: "t"): try expectLiteral("true"); return .bool(true)
        case UInt8(ascii: "f"): try expectLiteral("false"); return .bool(false)
        case UInt8(ascii: "n"): try expectLiteral("null"); return .null
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return try parseNumber()
        default: throw fail("unexpected character")
        }
    }

    private mutating func expectLiteral(_ literal: StaticString) throws(JSONParseError) {
        let count = literal.utf8CodeUnitCount
        guard index + count <= bytes.count else { throw fail("unexpected end of input") }
        for offset in 0..<count where bytes[index + offset] != literal.utf8Start[offset] {
            throw fail("invalid literal")
        }
        index += count
    }

    private mutating func enter() throws(JSONParseError) {
        depth += 1
        guard depth <= 256 else { throw fail("nested deeper than 256 levels") }
    }

    private mutating func parseObject() throws(JSONParseError) -> JSONValue {
        try enter()
        defer { depth -= 1 }
        index += 1
        var members: [String: JSONValue] = [:]
        skipWhitespace()
        if index < bytes.count && bytes[index] == UInt8(ascii: "}") {
            index += 1
            return .object(members)
        }
        while true {
            skipWhitespace()
            guard index < bytes.count, bytes[index] == UInt8(ascii: "\"") else { throw fail("expected a member name") }
            let key = try parseString()
            skipWhitespace()
            guard index < bytes.count, bytes[index] == UInt8(ascii: ":") else { throw fail("expected ':'") }
            index += 1
            skipWhitespace()
            members[key] = try parseValue()
            if try !nextMember(close: UInt8(ascii: "}")) { return .object(members) }
        }
    }

    private mutating func parseArray() throws(JSONParseError) -> JSONValue {
        try enter()
        defer { depth -= 1 }
        index += 1
        var elements: [JSONValue] = []
        skipWhitespace()
        if index < bytes.count && bytes[index] == UInt8(ascii: "]") {
            index += 1
            return .array(elements)
        }
        while true {
            skipWhitespace()
            elements.append(try parseValue())
            if try !nextMember(close: UInt8(ascii: "]")) { return .array(elements) }
        }
    }

    private mutating func parseString() throws(JSONParseError) -> String {
        index += 1
        let start = index
        // Fast path: no escapes.
        while index < bytes.count {
            let byte = bytes[index]
            if byte == UInt8(ascii: "\"") {
                let text = String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<index]), as: UTF8.self)
                index += 1
                return text
            }
            if byte == UInt8(ascii: "\\") { break }
            guard byte >= 0x20 else { throw fail("control character in a string") }
            index += 1
        }
        var scalars = Array(bytes[start..<index])
        while index < bytes.count {
            let byte = bytes[index]
            switch byte {
            case UInt8(ascii: "\""):
                index += 1
                return String(decoding: scalars, as: UTF8.self)
            case UInt8(ascii: "\\"):
                index += 1
                guard index < bytes.count else { throw fail("unexpected end of input") }
                let escape = bytes[index]
                index += 1
                switch escape {
                case UInt8(ascii: "\""): scalars.append(0x22)
                case UInt8(ascii: "\\"): scalars.append(0x5C)
                case UInt8(ascii: "/"): scalars.append(0x2F)
                case UInt8(ascii: "b"): scalars.append(0x08)
                case UInt8(ascii: "f"): scalars.append(0x0C)
                case UInt8(ascii: "n"): scalars.append(0x0A)
                case UInt8(ascii: "r"): scalars.append(0x0D)
                case UInt8(ascii: "t"): scalars.append(0x09)
                case UInt8(ascii: "u"):
                    let scalar = try parseUnicodeEscape()
                    scalars.append(contentsOf: String(scalar).utf8)
                default:
                    throw fail("invalid escape")
                }
            default:
                guard byte >= 0x20 else { throw fail("control character in a string") }
                scalars.append(byte)
                index += 1
            }
        }
        throw fail("unterminated string")
    }

    /// The code point of a `\uXXXX` escape whose `\u` was just read, joining a surrogate pair.
    private mutating func parseUnicodeEscape() throws(JSONParseError) -> Unicode.Scalar {
        var code = try parseHex4()
        if (0xD800...0xDBFF).contains(code) {
            guard index + 1 < bytes.count, bytes[index] == UInt8(ascii: "\\"), bytes[index + 1] == UInt8(ascii: "u") else {
                throw fail("unpaired surrogate")
            }
            index += 2
            let low = try parseHex4()
            guard (0xDC00...0xDFFF).contains(low) else { throw fail("unpaired surrogate") }
            code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00)
        } else if (0xDC00...0xDFFF).contains(code) {
            throw fail("unpaired surrogate")
        }
        guard let scalar = Unicode.Scalar(code) else { throw fail("invalid code point") }
        return scalar
    }

    private mutating func parseHex4() throws(JSONParseError) -> UInt32 {
        guard index + 4 <= bytes.count else { throw fail("unexpected end of input") }
        var value: UInt32 = 0
        for _ in 0..<4 {
            let byte = bytes[index]
            let digit: UInt32
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = UInt32(byte - UInt8(ascii: "0"))
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = UInt32(byte - UInt8(ascii: "a") + 10)
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = UInt32(byte - UInt8(ascii: "A") + 10)
            default: throw fail("invalid \\u escape")
            }
            value = value << 4 | digit
            index += 1
        }
        return value
    }

    private mutating func parseNumber() throws(JSONParseError) -> JSONValue {
        let start = index
        let isInteger = try skipNumber()
        let text = String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<index]), as: UTF8.self)
        if isInteger, let value = Int64(text) { return .integer(value) }
        guard let value = Double(text) else { throw fail("invalid number") }
        return .number(value)
    }

    private func isDigit(_ byte: UInt8) -> Bool {
        byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9")
    }
}
