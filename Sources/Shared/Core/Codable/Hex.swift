/// Lowercase hexadecimal digits, written without Foundation's formatting.
public enum Hex {
    static let alphabet = Array("0123456789abcdef".utf8)

    /// `bytes` as lowercase hex.
    public static func encode(_ bytes: [UInt8]) -> String {
        var digits: [UInt8] = []
        digits.reserveCapacity(bytes.count * 2)
        for byte in bytes {
            digits.append(alphabet[Int(byte >> 4)])
            digits.append(alphabet[Int(byte & 0xF)])
        }
        return String(decoding: digits, as: UTF8.self)
    }

    /// Writes the low `count` hex digits of `value`, zero-padded, at `offset`.
    public static func write(_ value: UInt64, count: Int, into bytes: UnsafeMutableBufferPointer<UInt8>, at offset: Int) {
        var remaining = value
        for position in stride(from: offset + count - 1, through: offset, by: -1) {
            bytes[position] = alphabet[Int(remaining & 0xF)]
            remaining >>= 4
        }
    }
}
