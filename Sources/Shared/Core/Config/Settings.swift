import Logging

/// What every Junction process needs: where Redis and PostgreSQL are, and how much to log.
public struct CoreSettings: Sendable {
    public var redis: RedisConfiguration
    public var database: PostgresConfiguration
    public var logLevel: Logger.Level
    /// Connections (and so threads) each process keeps to Redis.
    public var redisConnections: Int
    /// Connections (and so threads) each process keeps to PostgreSQL.
    public var databaseConnections: Int

    /// Reads `JUNCTION_REDIS_URL`, `JUNCTION_DATABASE_URL`, `JUNCTION_LOG_LEVEL`,
    /// `JUNCTION_REDIS_POOL_SIZE` and `JUNCTION_DATABASE_POOL_SIZE`. `processName` names the
    /// connections in `CLIENT LIST` and `pg_stat_activity`.
    public init(environment: EnvironmentVariables, processName: String) throws(ConfigurationError) {
        redis = try environment.parse(
            "JUNCTION_REDIS_URL", default: Defaults.redisURL, example: "redis://:password@127.0.0.1:6379/0", sensitive: true
        ) { (text: String) throws(InvalidValue) in try RedisConfiguration(url: text) }
        redis.clientName = processName
        database = try Self.database(environment: environment, processName: processName)
        logLevel = try environment.parse(
            "JUNCTION_LOG_LEVEL", default: "info", example: "debug"
        ) { (text: String) throws(InvalidValue) in
            guard let level = Logger.Level(rawValue: text.lowercased()) else {
                throw InvalidValue("must be one of trace, debug, info, notice, warning, error, critical")
            }
            return level
        }
        redisConnections = try environment.integer("JUNCTION_REDIS_POOL_SIZE", default: 4, in: 1...256)
        databaseConnections = try environment.integer("JUNCTION_DATABASE_POOL_SIZE", default: 4, in: 1...256)
    }

    /// Reads `JUNCTION_DATABASE_URL` alone, for commands that need only PostgreSQL.
    public static func database(environment: EnvironmentVariables, processName: String) throws(ConfigurationError) -> PostgresConfiguration {
        try environment.parse(
            "JUNCTION_DATABASE_URL", default: Defaults.databaseURL,
            example: "postgres://junction:password@127.0.0.1:5432/junction", sensitive: true
        ) { (text: String) throws(InvalidValue) in try PostgresConfiguration(url: text, applicationName: processName) }
    }

    /// Defaults that work on a laptop running the local stack's well-known ports.
    public enum Defaults {
        public static let redisURL = "redis://127.0.0.1:6379/0"
        public static let databaseURL = "postgres://junction@127.0.0.1:5432/junction"
    }
}
