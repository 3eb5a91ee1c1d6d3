/// Compact JSON written straight into a byte array: what the hot paths (the ingress's job
/// payloads and envelopes) use instead of appending to a `String`, every append of which checks
/// the string's uniqueness, capacity and ASCII-ness again. Its string escaping (quotes,
/// backslashes, `\n` `\r` `\t`, other control characters as `\u00xx`; everything else as it is)
/// is the project's one: ``JSONText/appendString(_:to:)`` uses it too.
public struct JSONBytes: Sendable {
    public private(set) var bytes: [UInt8]

    public init(capacity: Int) {
        bytes = []
        bytes.reserveCapacity(capacity)
    }

    /// Appends JSON text as it is (punctuation, member names, a number, a nested value).
    public mutating func raw(_ text: StaticString) {
        text.withUTF8Buffer { bytes.append(contentsOf: $0) }
    }

    /// Appends JSON text as it is.
    public mutating func raw(_ text: String) {
        if text.utf8.withContiguousStorageIfAvailable({ bytes.append(contentsOf: $0) }) == nil {
            bytes.append(contentsOf: text.utf8)
        }
    }

    /// Appends JSON text as it is.
    public mutating func raw(_ json: [UInt8]) {
        bytes.append(contentsOf: json)
    }

    /// Appends `value` as a JSON string literal.
    public mutating func string(_ value: String) {
        bytes.append(UInt8(ascii: "\""))
        if value.utf8.withContiguousStorageIfAvailable({ appendEscaped($0) }) == nil {
            var copy = value
            copy.withUTF8 { appendEscaped($0) }
        }
        bytes.append(UInt8(ascii: "\""))
    }

    /// Appends `value` as a JSON string literal, or `null`.
    public mutating func string(_ value: String?) {
        if let value { string(value) } else { raw("null") }
    }

    public mutating func int(_ value: Int) {
        raw(String(value))
    }

    /// Appends `data` base64-encoded (standard alphabet, padded) as a JSON string literal.
    public mutating func base64String(_ data: [UInt8]) {
        bytes.append(UInt8(ascii: "\""))
        let start = bytes.count
        let length = Base64.encodedLength(data.count)
        bytes.append(contentsOf: repeatElement(0, count: length))
        bytes.withUnsafeMutableBufferPointer { output in
            data.withUnsafeBufferPointer { input in
                _ = Base64.encode(input, into: UnsafeMutableBufferPointer(rebasing: output[start..<start + length]))
            }
        }
        bytes.append(UInt8(ascii: "\""))
    }

    /// Copies runs that need no escaping whole; escapes quotes, backslashes and control characters.
    private mutating func appendEscaped(_ input: UnsafeBufferPointer<UInt8>) {
        var run = 0
        for index in 0..<input.count {
            let byte = input[index]
            guard byte < 0x20 || byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") else { continue }
            bytes.append(contentsOf: UnsafeBufferPointer(rebasing: input[run..<index]))
            bytes.append(UInt8(ascii: "\\"))
            switch byte {
            case UInt8(ascii: "\""), UInt8(ascii: "\\"): bytes.append(byte)
            case UInt8(ascii: "\n"): bytes.append(UInt8(ascii: "n"))
            case UInt8(ascii: "\r"): bytes.append(UInt8(ascii: "r"))
            case UInt8(ascii: "\t"): bytes.append(UInt8(ascii: "t"))
            default:
                bytes.append(contentsOf: [UInt8(ascii: "u"), UInt8(ascii: "0"), UInt8(ascii: "0"), Hex.alphabet[Int(byte >> 4)], Hex.alphabet[Int(byte & 0xF)]])
            }
            run = index + 1
        }
        bytes.append(contentsOf: UnsafeBufferPointer(rebasing: input[run...]))
    }
}
