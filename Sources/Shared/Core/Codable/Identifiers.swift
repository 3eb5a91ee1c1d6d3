/// Random identifiers for jobs, events and traces, written without Foundation's formatting.
public enum Identifiers {
    /// A random (version 4) UUID in lowercase, from the system's random source in bulk
    /// (``RandomBytes``; Foundation's `UUID()` opened /dev/urandom on every call).
    public static func uuid() -> String {
        var (high, low) = RandomBytes.twoWords()
        high = (high & ~0xF000) | 0x4000  // version 4
        low = (low & ~(0xC << 60)) | (0x8 << 60)  // RFC 4122 variant
        // 8-4-4-4-12 hex digits, written straight into the string's storage.
        return String(unsafeUninitializedCapacity: 36) { output in
            Hex.write(high >> 32, count: 8, into: output, at: 0)
            Hex.write(high >> 16, count: 4, into: output, at: 9)
            Hex.write(high, count: 4, into: output, at: 14)
            Hex.write(low >> 48, count: 4, into: output, at: 19)
            Hex.write(low, count: 12, into: output, at: 24)
            output[8] = UInt8(ascii: "-")
            output[13] = UInt8(ascii: "-")
            output[18] = UInt8(ascii: "-")
            output[23] = UInt8(ascii: "-")
            return 36
        }
    }

    /// A W3C trace id: 32 lowercase hex digits.
    public static func traceID() -> String {
        let (high, low) = RandomBytes.twoWords()
        return String(unsafeUninitializedCapacity: 32) { bytes in
            Hex.write(high, count: 16, into: bytes, at: 0)
            Hex.write(low, count: 16, into: bytes, at: 16)
            return 32
        }
    }
}
