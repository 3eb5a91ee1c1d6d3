/// One reply from Redis, typed as RESP2 types it.
public enum RedisReply: Sendable, Equatable {
    /// A bulk string: arbitrary bytes, NUL bytes included.
    case bulk([UInt8])
    /// A simple status such as `OK` or `PONG`.
    case status(String)
    /// An integer reply.
    case integer(Int64)
    /// An array reply (nested replies).
    case array([RedisReply])
    /// The nil bulk string or nil array.
    case null
    /// An error reply such as `WRONGTYPE Operation against a key…`.
    case error(String)

    /// The reply as text: bulk strings decoded as UTF-8 and status replies; nil for `null`.
    /// Throws for an error reply or any other type.
    public func string() throws(RedisError) -> String? {
        switch self {
        case .bulk(let bytes): return String(decoding: bytes, as: UTF8.self)
        case .status(let text): return text
        case .null: return nil
        case .error(let message): throw .server(message)
        default: throw .unexpectedReply(expected: "string", got: self)
        }
    }

    /// The reply as raw bytes; nil for `null`. Throws for an error reply or any other type.
    public func bytes() throws(RedisError) -> [UInt8]? {
        switch self {
        case .bulk(let bytes): return bytes
        case .status(let text): return Array(text.utf8)
        case .null: return nil
        case .error(let message): throw .server(message)
        default: throw .unexpectedReply(expected: "bytes", got: self)
        }
    }

    /// The reply as an integer (integer replies, and bulk strings that hold a decimal number).
    public func int() throws(RedisError) -> Int64 {
        switch self {
        case .integer(let value): return value
        case .bulk(let bytes):
            guard let value = Int64(String(decoding: bytes, as: UTF8.self)) else {
                throw .unexpectedReply(expected: "integer", got: self)
            }
            return value
        case .error(let message): throw .server(message)
        default: throw .unexpectedReply(expected: "integer", got: self)
        }
    }

    /// The elements of an array reply; an empty array for `null`.
    public func array() throws(RedisError) -> [RedisReply] {
        switch self {
        case .array(let elements): return elements
        case .null: return []
        case .error(let message): throw .server(message)
        default: throw .unexpectedReply(expected: "array", got: self)
        }
    }

    /// Throws when this is an error reply; returns the reply otherwise.
    @discardableResult
    public func check() throws(RedisError) -> RedisReply {
        if case .error(let message) = self { throw .server(message) }
        return self
    }
}

extension RedisReply: CustomStringConvertible {
    /// A short, human-readable rendering used in error messages (long values are cut).
    public var description: String {
        switch self {
        case .bulk(let bytes):
            let text = String(decoding: bytes.prefix(64), as: UTF8.self)
            return bytes.count > 64 ? "\"\(text)…\" (\(bytes.count) bytes)" : "\"\(text)\""
        case .status(let text): return text
        case .integer(let value): return "(integer) \(value)"
        case .array(let elements): return "(array of \(elements.count))"
        case .null: return "(nil)"
        case .error(let message): return "(error) \(message)"
        }
    }
}
