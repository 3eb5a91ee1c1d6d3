import Logging

/// The outcome of checking one dependency.
public struct DependencyStatus: Sendable, Equatable {
    public let name: String
    /// nil when the dependency answered; otherwise why not.
    public let error: String?

    public var isHealthy: Bool { error == nil }

    public init(name: String, error: String?) {
        self.name = name
        self.error = error
    }
}

/// Checks that Redis answers `PING` and PostgreSQL answers `SELECT 1`.
public struct DependencyChecks: Sendable {
    public let redis: RedisClient
    public let database: PostgresClient

    public init(redis: RedisClient, database: PostgresClient) {
        self.redis = redis
        self.database = database
    }

    /// Both checks, run concurrently; Redis first in the result.
    public func check() async -> [DependencyStatus] {
        async let redisStatus = Self.status("redis") { [redis] in
            guard try await redis.command("PING").string() == "PONG" else { throw RedisError.unexpectedReply(expected: "PONG", got: .null) }
        }
        async let databaseStatus = Self.status("postgres") { [database] in
            try await database.query("SELECT 1")
        }
        return await [redisStatus, databaseStatus]
    }

    /// Checks until both dependencies answer, logging each failure and waiting a little longer
    /// each time (up to 5 s). Returns false if the task was cancelled (shutdown) first.
    public func waitUntilHealthy(logger: Logger) async -> Bool {
        var delay = Duration.milliseconds(250)
        while !Task.isCancelled {
            let failing = await check().filter { !$0.isHealthy }
            if failing.isEmpty { return true }
            for status in failing {
                logger.warning("dependency unavailable, retrying", metadata: [
                    "dependency": .string(status.name), "error": .string(status.error ?? ""), "retry_in_ms": "\(delay.components.seconds * 1000 + delay.components.attoseconds / 1_000_000_000_000_000)",
                ])
            }
            try? await Task.sleep(for: delay)
            delay = min(delay * 2, .seconds(5))
        }
        return false
    }

    private static func status(_ name: String, _ probe: @Sendable () async throws -> Void) async -> DependencyStatus {
        do {
            try await probe()
            return DependencyStatus(name: name, error: nil)
        } catch {
            return DependencyStatus(name: name, error: "\(error)")
        }
    }
}
