/// PostgreSQL for async code: a ``BlockingPool`` of ``PostgresConnection``s, one per pool thread.
///
/// ```swift
/// let database = PostgresClient(configuration, connections: 4)
/// let rows = try await database.query("SELECT status FROM connections WHERE tenant = \(tenant)")
/// try await database.transaction { connection in
///     try connection.query("UPDATE …")
///     try connection.query("INSERT …")
/// }
/// ```
public final class PostgresClient: Sendable {
    public let configuration: PostgresConfiguration
    private let pool: BlockingPool<PostgresConnection>

    /// Creates the client; connections open lazily, on first use by each thread.
    public init(_ configuration: PostgresConfiguration, connections: Int = 4) {
        self.configuration = configuration
        self.pool = BlockingPool(name: "postgres", size: connections) {
            try PostgresConnection(configuration)
        } cleanup: { connection in
            connection.close()
        }
    }

    /// Runs one parameterised statement.
    @discardableResult
    public func query(_ query: PostgresQuery) async throws -> PostgresResult {
        try await pool.run { connection in try connection.query(query) }
    }

    /// Runs `body` in a transaction on one connection, rolling back when it throws.
    public func transaction<T: Sendable>(_ body: @escaping @Sendable (PostgresConnection) throws -> T) async throws -> T {
        try await pool.run { connection in try connection.transaction(body) }
    }

    /// Runs `body` in a transaction that sees only `tenant`'s rows (``PostgresConnection/asTenant(_:_:)``).
    public func asTenant<T: Sendable>(_ tenant: String, _ body: @escaping @Sendable (PostgresConnection) throws -> T) async throws -> T {
        try await pool.run { connection in try connection.asTenant(tenant, body) }
    }

    /// Runs `body` on a pool thread with that thread's connection.
    public func withConnection<T: Sendable>(_ body: @escaping @Sendable (PostgresConnection) throws -> T) async throws -> T {
        try await pool.run(body)
    }

    /// Closes every connection once the queued work is done.
    public func shutdown() async {
        await pool.shutdown()
    }
}
