/// A parameterised SQL statement. Every value interpolated into it becomes a `$n` parameter,
/// never SQL text, so a query cannot be built from strings by accident:
///
/// ```swift
/// let rows = try connection.query("SELECT id FROM webhook_events WHERE provider = \(provider) AND event_id = \(eventID)")
/// ```
///
/// SQL that is not a literal (a migration file) must be wrapped with ``init(unsafeSQL:)``.
public struct PostgresQuery: Sendable, ExpressibleByStringInterpolation {
    /// The statement with `$1`, `$2`, … where the values go.
    public private(set) var sql: String
    /// The values, in placeholder order.
    public private(set) var parameters: [PostgresParameter]

    public init(stringLiteral value: String) {
        self.sql = value
        self.parameters = []
    }

    public init(stringInterpolation: StringInterpolation) {
        self.sql = stringInterpolation.sql
        self.parameters = stringInterpolation.parameters
    }

    /// SQL text from somewhere other than a literal, with no parameters. Only for trusted,
    /// static text such as the migration files shipped with Junction.
    public init(unsafeSQL sql: String) {
        self.sql = sql
        self.parameters = []
    }

    public struct StringInterpolation: StringInterpolationProtocol {
        var sql = ""
        var parameters: [PostgresParameter] = []

        public init(literalCapacity: Int, interpolationCount: Int) {
            sql.reserveCapacity(literalCapacity + interpolationCount * 3)
            parameters.reserveCapacity(interpolationCount)
        }

        public mutating func appendLiteral(_ literal: String) {
            sql += literal
        }

        /// Binds `value` as the next parameter.
        public mutating func appendInterpolation(_ value: some PostgresEncodable) {
            parameters.append(value.postgresParameter)
            sql += "$\(parameters.count)"
        }

        /// SQL text written into the statement as is: only a literal in Junction's code (a column
        /// list shared by several queries), never a value.
        public mutating func appendInterpolation(sql literal: StaticString) {
            sql += literal.description
        }

        /// Binds `value` as the next parameter, `NULL` when nil.
        public mutating func appendInterpolation(_ value: (some PostgresEncodable)?) {
            parameters.append(value?.postgresParameter ?? .null)
            sql += "$\(parameters.count)"
        }
    }
}
