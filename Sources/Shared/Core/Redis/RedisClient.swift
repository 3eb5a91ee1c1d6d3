/// Redis for async code: a ``BlockingPool`` of ``RedisConnection``s, one per pool thread.
///
/// Every call hands its work to a pool thread, so hiredis never blocks the cooperative pool or
/// an event loop. Commands that must share one connection (a `WATCH` … `EXEC`, a script and its
/// follow-up) go through ``withConnection(_:)``.
///
/// ```swift
/// let redis = RedisClient(configuration, connections: 4)
/// try await redis.command("SET", "greeting", "hello")
/// let replies = try await redis.pipeline([["INCR", "a"], ["INCR", "b"]])
/// ```
public final class RedisClient: Sendable {
    public let configuration: RedisConfiguration
    private let pool: BlockingPool<RedisConnection>

    /// Creates the client; connections open lazily, on first use by each thread, so building a
    /// client never fails even while Redis is down.
    public init(_ configuration: RedisConfiguration, connections: Int = 4) {
        self.configuration = configuration
        self.pool = BlockingPool(name: "redis", size: connections) {
            try RedisConnection(configuration)
        } cleanup: { connection in
            connection.close()
        }
    }

    /// Runs one command; an error reply throws ``RedisError/server(_:)``.
    @discardableResult
    public func command(_ arguments: RedisArgument...) async throws -> RedisReply {
        try await command(arguments)
    }

    /// Runs one command; an error reply throws ``RedisError/server(_:)``.
    @discardableResult
    public func command(_ arguments: [RedisArgument]) async throws -> RedisReply {
        try await pool.run { connection in try connection.command(arguments) }
    }

    /// Runs the commands in one round trip; error replies come back in place.
    public func pipeline(_ commands: [[RedisArgument]]) async throws -> [RedisReply] {
        try await pool.run { connection in try connection.pipeline(commands) }
    }

    /// Runs a script by SHA1, loading it when needed.
    @discardableResult
    public func evaluate(_ script: RedisScript, keys: [RedisArgument], arguments: [RedisArgument]) async throws -> RedisReply {
        try await pool.run { connection in try connection.evaluate(script, keys: keys, arguments: arguments) }
    }

    /// Runs `body` on a pool thread with that thread's connection.
    public func withConnection<T: Sendable>(_ body: @escaping @Sendable (RedisConnection) throws -> T) async throws -> T {
        try await pool.run(body)
    }

    /// Queues `body` for a pool thread and returns at once (see ``BlockingPool/submit(_:)``);
    /// false, without running it, once the client is shut down.
    @discardableResult
    public func submit(_ body: @escaping @Sendable (Result<RedisConnection, any Error>) -> Void) -> Bool {
        pool.submit(body)
    }

    /// Closes every connection once the queued work is done.
    public func shutdown() async {
        await pool.shutdown()
    }
}
