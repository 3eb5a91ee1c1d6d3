import Foundation
import Logging
import ServiceLifecycle

/// Start-up steps every Junction executable shares.
public enum ProcessBootstrap {
    /// Exit status for a configuration error (`EX_CONFIG` from sysexits.h).
    public static let configurationExitCode: Int32 = 78

    /// Reads the settings, or prints what is wrong to standard error and exits with status 78.
    public static func settings<T>(process: String, _ read: () throws(ConfigurationError) -> T) -> T {
        do {
            return try read()
        } catch {
            FileHandle.standardError.write(Data("\(process): configuration error: \(error)\n".utf8))
            exit(configurationExitCode)
        }
    }

    /// Reads ``CoreSettings`` and starts JSON logging at the configured level.
    public static func core(process: String, environment: EnvironmentVariables = EnvironmentVariables()) -> CoreSettings {
        let core = settings(process: process) { () throws(ConfigurationError) in
            try CoreSettings(environment: environment, processName: process)
        }
        JunctionLogging.bootstrap(level: core.logLevel)
        return core
    }

    /// Loads what the process cannot run without (its Lua scripts, from the resource bundles), or
    /// logs why not and exits with status 1.
    public static func required<T>(_ what: String, logger: Logger, _ load: () throws -> T) -> T {
        do {
            return try load()
        } catch {
            logger.critical("cannot load \(what)", metadata: ["error": .string("\(error)")])
            FileHandle.standardError.write(Data("\(error)\n".utf8))
            exit(1)
        }
    }

    /// Runs `services` until SIGTERM or SIGINT; an error one throws is logged, written to standard
    /// error, and ends the process with status 1.
    public static func run(_ services: any Service..., process: String, logger: Logger) async {
        await run(services, process: process, logger: logger)
    }

    /// The same for a list of services.
    public static func run(_ services: [any Service], process: String, logger: Logger) async {
        let group = ServiceGroup(configuration: .init(services: services, gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        do {
            try await group.run()
        } catch {
            logger.critical("stopped with an error", metadata: ["error": .string("\(error)")])
            FileHandle.standardError.write(Data("\(process): \(error)\n".utf8))
            exit(1)
        }
        logger.info("stopped")
    }

    /// What a process that queues or runs jobs does before its work: wait for Redis and
    /// PostgreSQL (logging while they are away), then refuse an evicting Redis. Returns false when
    /// shutdown came first.
    public static func waitForDependencies(_ core: CoreSettings, logger: Logger) async throws -> Bool {
        let redis = RedisClient(core.redis, connections: 1)
        let database = PostgresClient(core.database, connections: 1)
        defer {
            Task {
                await redis.shutdown()
                await database.shutdown()
            }
        }
        let healthy = await cancelWhenGracefulShutdown {
            await DependencyChecks(redis: redis, database: database).waitUntilHealthy(logger: logger)
        }
        guard healthy else { return false }
        try await RedisEvictionPolicy.verify(redis, logger: logger)
        return true
    }
}
