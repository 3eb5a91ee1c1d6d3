import Foundation

/// One argument of a Redis command: binary-safe bytes.
///
/// String literals, strings, integers, doubles, byte arrays and `Data` all convert, so commands
/// read naturally: `["SET", key, payloadBytes, "PX", 30_000]`. A string stays a `String` until it
/// is written to the socket (no copy into an array per argument: a job envelope is written once,
/// straight into the command's bytes), and an integer is a short string that needs no allocation.
public struct RedisArgument: Sendable, Hashable, ExpressibleByStringLiteral, ExpressibleByIntegerLiteral {
    private enum Storage: Sendable {
        case bytes([UInt8])
        case text(String)
    }

    private let storage: Storage

    public init(bytes: [UInt8]) { storage = .bytes(bytes) }
    public init(_ string: String) { storage = .text(string) }
    public init(_ data: Data) { storage = .bytes(Array(data)) }
    public init<I: BinaryInteger>(_ value: I) { storage = .text(String(value)) }
    /// A double in the shortest form that reads back exactly (Redis parses it with strtod).
    public init(_ value: Double) { storage = .text("\(value)") }
    public init(stringLiteral value: String) { self.init(value) }
    public init(integerLiteral value: Int) { self.init(value) }

    /// The bytes sent to Redis.
    public var bytes: [UInt8] {
        switch storage {
        case .bytes(let bytes): bytes
        case .text(let text): Array(text.utf8)
        }
    }

    /// How many bytes are sent.
    public var count: Int {
        switch storage {
        case .bytes(let bytes): bytes.count
        case .text(let text): text.utf8.count
        }
    }

    /// Calls `body` with the argument's bytes, copying only a string that is not stored
    /// contiguously (a bridged one; Swift's native strings are).
    public func withBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        switch storage {
        case .bytes(let bytes):
            return try bytes.withUnsafeBytes(body)
        case .text(let text):
            if let result = try text.utf8.withContiguousStorageIfAvailable({ try body(UnsafeRawBufferPointer($0)) }) {
                return result
            }
            return try Array(text.utf8).withUnsafeBytes(body)
        }
    }

    public static func == (lhs: RedisArgument, rhs: RedisArgument) -> Bool {
        lhs.withBytes { left in rhs.withBytes { right in left.elementsEqual(right) } }
    }

    public func hash(into hasher: inout Hasher) {
        withBytes { hasher.combine(bytes: $0) }
    }
}

extension [RedisArgument] {
    /// The command in Redis's wire format (RESP: an array of bulk strings), in one buffer of
    /// exactly its size.
    public func respEncoded() -> [UInt8] {
        var size = 1 + Self.decimalCount(count) + 2
        for argument in self {
            let length = argument.count
            size += 1 + Self.decimalCount(length) + 2 + length + 2
        }
        var out: [UInt8] = []
        out.reserveCapacity(size)
        out.append(UInt8(ascii: "*"))
        Self.appendDecimal(count, to: &out)
        out.append(13)
        out.append(10)
        for argument in self {
            out.append(UInt8(ascii: "$"))
            Self.appendDecimal(argument.count, to: &out)
            out.append(13)
            out.append(10)
            argument.withBytes { out.append(contentsOf: $0) }
            out.append(13)
            out.append(10)
        }
        return out
    }

    private static func decimalCount(_ value: Int) -> Int {
        var digits = 1
        var rest = value / 10
        while rest > 0 {
            digits += 1
            rest /= 10
        }
        return digits
    }

    private static func appendDecimal(_ value: Int, to out: inout [UInt8]) {
        let digits = decimalCount(value)
        var divisor = 1
        for _ in 1..<digits { divisor *= 10 }
        var rest = value
        while divisor > 0 {
            out.append(UInt8(ascii: "0") + UInt8(rest / divisor))
            rest %= divisor
            divisor /= 10
        }
    }
}
