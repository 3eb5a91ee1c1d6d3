/// Minimal JSON text building for hot paths (log lines, health answers) where `JSONEncoder`
/// would allocate far more than the output.
public enum JSONText {
    /// Appends `value` as a JSON string literal, escaping quotes, backslashes and control characters.
    public static func appendString(_ value: String, to output: inout String) {
        output += "\""
        // Most strings need no escaping: append them whole.
        if !value.utf8.contains(where: { $0 < 0x20 || $0 == UInt8(ascii: "\"") || $0 == UInt8(ascii: "\\") }) {
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

    /// `value` as a JSON string literal.
    public static func string(_ value: String) -> String {
        var output = ""
        appendString(value, to: &output)
        return output
    }
}
