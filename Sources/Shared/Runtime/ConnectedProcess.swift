import Logging
import ServiceLifecycle

/// A service for a process whose own work is still to come (the scheduler's leader election and
/// ticks land with their issue): it connects, reports, and holds the process up until SIGTERM or
/// SIGINT.
public struct ConnectedProcess: Service {
    public let name: String
    public let checks: DependencyChecks
    public let logger: Logger

    public init(name: String, checks: DependencyChecks, logger: Logger) {
        self.name = name
        self.checks = checks
        self.logger = logger
    }

    public func run() async throws {
        let healthy = await cancelWhenGracefulShutdown {
            await checks.waitUntilHealthy(logger: logger)
        }
        if healthy {
            logger.info("connected to Redis and PostgreSQL", metadata: ["process": .string(name)])
        }
        try? await gracefulShutdown()
        logger.info("shutting down", metadata: ["process": .string(name)])
    }
}

extension ConnectedProcess {
    /// The whole life of such a process: settings, logging, clients, run until a signal, close.
    public static func main(process: String, label: String) async throws {
        let core = ProcessBootstrap.core(process: process)
        let logger = Logger(label: label)
        let redis = RedisClient(core.redis, connections: core.redisConnections)
        let database = PostgresClient(core.database, connections: core.databaseConnections)
        logger.info("starting", metadata: ["redis": .string(core.redis.redactedURL), "database": .string(core.database.redactedURL)])
        let service = ConnectedProcess(name: process, checks: DependencyChecks(redis: redis, database: database), logger: logger)
        let services = ServiceGroup(configuration: .init(
            services: [service], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        try await services.run()
        await redis.shutdown()
        await database.shutdown()
        logger.info("stopped")
    }
}
