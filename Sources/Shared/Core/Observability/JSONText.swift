/// Minimal JSON text building for hot paths (log lines, health answers) where `JSONEncoder`
/// would allocate far more than the output.
public enum JSONText {
    /// Appends `value` as a JSON string literal, escaping quotes, backslashes and control characters.
    public static func appendString(_ value: String, to output: inout String) {
        // Most strings need no escaping: append them whole.
        guard needsEscaping(value) else {
            output += "\""
            output += value
            output += "\""
            return
        }
        // The rare one is escaped by the one implementation of the rules, ``JSONBytes``.
        var escaped = JSONBytes(capacity: value.utf8.count + 8)
        escaped.string(value)
        output += String(decoding: escaped.bytes, as: UTF8.self)
    }

    /// True when `value` holds a quote, a backslash or a control character. Scans the contiguous
    /// UTF-8 directly (log lines escape every value they write).
    static func needsEscaping(_ value: String) -> Bool {
        func scan(_ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
            for byte in bytes where byte < 0x20 || byte == 0x22 || byte == 0x5C { return true }
            return false
        }
        if let found = value.utf8.withContiguousStorageIfAvailable(scan) { return found }
        var copy = value
        return copy.withUTF8(scan)
    }

    /// `value` as a JSON string literal.
    public static func string(_ value: String) -> String {
        var output = ""
        appendString(value, to: &output)
        return output
    }
}
