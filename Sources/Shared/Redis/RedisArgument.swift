import Foundation

/// One argument of a Redis command: binary-safe bytes.
///
/// String literals, strings, integers, doubles, byte arrays and `Data` all convert, so commands
/// read naturally: `["SET", key, payloadBytes, "PX", 30_000]`.
public struct RedisArgument: Sendable, Hashable, ExpressibleByStringLiteral, ExpressibleByIntegerLiteral {
    /// The bytes sent to Redis.
    public let bytes: [UInt8]

    public init(bytes: [UInt8]) { self.bytes = bytes }
    public init(_ string: String) { self.bytes = Array(string.utf8) }
    public init(_ data: Data) { self.bytes = Array(data) }
    public init<I: BinaryInteger>(_ value: I) { self.bytes = Array(String(value).utf8) }
    /// A double in the shortest form that reads back exactly (Redis parses it with strtod).
    public init(_ value: Double) { self.bytes = Array("\(value)".utf8) }
    public init(stringLiteral value: String) { self.init(value) }
    public init(integerLiteral value: Int) { self.init(value) }
}
