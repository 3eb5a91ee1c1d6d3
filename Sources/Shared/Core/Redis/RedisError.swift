/// What can go wrong talking to Redis, by what the caller can do about it.
public enum RedisError: Error, Sendable, Equatable {
    /// No connection could be made (refused, unknown host, connect timeout). Retry later.
    case connectionFailed(String)
    /// The server did not answer within the command timeout. The connection was dropped and is
    /// rebuilt before its next use; whether the command took effect is unknown.
    case timeout
    /// The connection broke mid-command (server restart, network). It is rebuilt before its next
    /// use; whether the command took effect is unknown.
    case connectionLost(String)
    /// Redis refused the credentials (`AUTH`) or the database (`SELECT`). Fix the URL.
    case authenticationFailed(String)
    /// Redis answered with an error reply (`WRONGTYPE …`, `NOSCRIPT …`, `ERR …`).
    case server(String)
    /// The reply had another type than the caller expected.
    case unexpectedReply(expected: String, got: RedisReply)

    /// True when trying again later can succeed without a change of code or configuration.
    public var isRetryable: Bool {
        switch self {
        case .connectionFailed, .timeout, .connectionLost: true
        case .server(let message): message.hasPrefix("LOADING") || message.hasPrefix("BUSY") || message.hasPrefix("TRYAGAIN")
        case .authenticationFailed, .unexpectedReply: false
        }
    }
}

extension RedisError: CustomStringConvertible {
    public var description: String {
        switch self {
        case .connectionFailed(let reason): "cannot connect to Redis: \(reason)"
        case .timeout: "Redis did not answer within the command timeout"
        case .connectionLost(let reason): "lost the connection to Redis: \(reason)"
        case .authenticationFailed(let reason): "Redis refused the connection's credentials or database: \(reason)"
        case .server(let message): "Redis error: \(message)"
        case .unexpectedReply(let expected, let got): "expected a Redis \(expected) reply, got \(got)"
        }
    }
}
