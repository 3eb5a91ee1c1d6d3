/// Minimal JSON text building for hot paths (log lines, health answers) where `JSONEncoder`
/// would allocate far more than the output.
public enum JSONText {
    /// Appends `value` as a JSON string literal, escaping quotes, backslashes and control characters.
    public static func appendString(_ value: String, to output: inout String) {
        output += "\""
        // Most strings need no escaping: append them whole.
        if !needsEscaping(value) {
            output += value
            output += "\""
            return
        }
        for scalar in value.unicodeScalars {
            switch scalar {
            case "\"": output += "\\\""
            case "\\": output += "\\\\"
            case "\n": output += "\\n"
            case "\r": output += "\\r"
            case "\t": output += "\\t"
            case _ where scalar.value < 0x20:
                let hex = String(scalar.value, radix: 16)
                output += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: output.unicodeScalars.append(scalar)
            }
        }
        output += "\""
    }

    /// True when `value` holds a quote, a backslash or a control character. Scans the contiguous
    /// UTF-8 directly: webhook bodies (base64, over a kilobyte) pass through here.
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
