/// What can go wrong talking to PostgreSQL, by what the caller can do about it.
public enum PostgresError: Error, Sendable, Equatable {
    /// No connection could be made (refused, bad credentials, unknown database). The message is
    /// libpq's, with the password never included.
    case connectionFailed(String)
    /// The connection broke during the call (server restart, network). The next call reconnects;
    /// whether a write outside a transaction took effect is unknown.
    case connectionLost(String)
    /// The server refused the statement.
    case server(PostgresServerError)
    /// The query asked for a column the result does not have.
    case missingColumn(String)
    /// A column held `NULL` where the caller asked for a non-optional type.
    case unexpectedNull(column: String)
    /// A column's text could not be read as the requested type.
    case decoding(column: String, type: String, text: String)

    /// True when trying again later can succeed without a change of code or data.
    public var isRetryable: Bool {
        switch self {
        case .connectionFailed, .connectionLost: true
        case .server(let error): error.isTransient
        case .missingColumn, .unexpectedNull, .decoding: false
        }
    }

    /// True for a unique-constraint violation (SQLSTATE 23505).
    public var isUniqueViolation: Bool {
        if case .server(let error) = self { return error.sqlState == "23505" }
        return false
    }
}

/// An error the server reported, with the fields libpq exposes.
public struct PostgresServerError: Sendable, Equatable, CustomStringConvertible {
    /// The five-character SQLSTATE, such as `23505`.
    public let sqlState: String
    public let message: String
    public let detail: String?
    public let constraint: String?

    /// Serialization failures, deadlocks, lock timeouts, admin shutdown and the like.
    public var isTransient: Bool {
        ["40001", "40P01", "55P03", "57P01", "57P02", "57P03", "53300"].contains(sqlState) || sqlState.hasPrefix("08")
    }

    public var description: String {
        var text = "\(message) (SQLSTATE \(sqlState))"
        if let detail { text += ": \(detail)" }
        return text
    }
}

extension PostgresError: CustomStringConvertible {
    public var description: String {
        switch self {
        case .connectionFailed(let reason): "cannot connect to PostgreSQL: \(reason)"
        case .connectionLost(let reason): "lost the connection to PostgreSQL: \(reason)"
        case .server(let error): "PostgreSQL error: \(error)"
        case .missingColumn(let name): "the result has no column \"\(name)\""
        case .unexpectedNull(let column): "column \"\(column)\" is NULL"
        case .decoding(let column, let type, let text): "column \"\(column)\" holds \"\(text.prefix(64))\", which is not a valid \(type)"
        }
    }
}
