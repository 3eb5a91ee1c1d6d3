import Foundation

/// Standard base64 (RFC 4648, with padding) written straight into a string's storage: the
/// ingress encodes every webhook body it stores.
public enum Base64 {
    private static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)

    public static func encode(_ bytes: [UInt8]) -> String {
        let length = encodedLength(bytes.count)
        guard length > 0 else { return "" }
        return bytes.withUnsafeBufferPointer { input in
            String(unsafeUninitializedCapacity: length) { output in encode(input, into: output) }
        }
    }

    /// How many characters `count` bytes take, padding included.
    public static func encodedLength(_ count: Int) -> Int {
        (count + 2) / 3 * 4
    }

    /// Writes `input` base64-encoded into `output`, which holds at least
    /// ``encodedLength(_:)`` bytes; returns how many it wrote.
    @discardableResult
    public static func encode(_ input: UnsafeBufferPointer<UInt8>, into output: UnsafeMutableBufferPointer<UInt8>) -> Int {
        alphabet.withUnsafeBufferPointer { table in
            var read = 0
            var written = 0
            while read + 3 <= input.count {
                let chunk = UInt32(input[read]) << 16 | UInt32(input[read + 1]) << 8 | UInt32(input[read + 2])
                output[written] = table[Int(chunk >> 18)]
                output[written + 1] = table[Int(chunk >> 12 & 0x3F)]
                output[written + 2] = table[Int(chunk >> 6 & 0x3F)]
                output[written + 3] = table[Int(chunk & 0x3F)]
                read += 3
                written += 4
            }
            let rest = input.count - read
            if rest > 0 {
                let chunk = UInt32(input[read]) << 16 | (rest == 2 ? UInt32(input[read + 1]) << 8 : 0)
                output[written] = table[Int(chunk >> 18)]
                output[written + 1] = table[Int(chunk >> 12 & 0x3F)]
                output[written + 2] = rest == 2 ? table[Int(chunk >> 6 & 0x3F)] : UInt8(ascii: "=")
                output[written + 3] = UInt8(ascii: "=")
                written += 4
            }
            return written
        }
    }
}

/// Base64url without padding (RFC 4648 §5), as JWTs, PKCE and OAuth states use it.
public enum Base64URL {
    public static func encode(_ bytes: [UInt8]) -> String {
        Base64.encode(bytes).replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }

    /// Nil when `text` is not base64url (padding is optional).
    public static func decode(_ text: String) -> [UInt8]? {
        var base = text.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        while base.utf8.count % 4 != 0 { base += "=" }
        return Data(base64Encoded: base).map(Array.init)
    }
}
