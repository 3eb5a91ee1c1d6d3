/// Lowercase hexadecimal digits, written without Foundation's formatting.
public enum Hex {
    private static let alphabet = Array("0123456789abcdef".utf8)

    /// The low `count` hex digits of `value`, zero-padded.
    public static func digits(_ value: UInt64, count: Int) -> String {
        var bytes = [UInt8](repeating: UInt8(ascii: "0"), count: count)
        var remaining = value
        for position in stride(from: count - 1, through: 0, by: -1) {
            bytes[position] = alphabet[Int(remaining & 0xF)]
            remaining >>= 4
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}
