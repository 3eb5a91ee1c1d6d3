import Foundation
import JunctionShared
import Logging
import ServiceLifecycle

/// `junction-scheduler`: fires periodic jobs from the `schedules` table, promotes delayed jobs,
/// recovers expired leases and applies retention. Run two or three replicas; one leads.
@main
struct SchedulerMain: Service {
    let settings: SchedulerSettings
    let core: CoreSettings
    let queue: Queue
    let logger: Logger

    static func main() async throws {
        let environment = EnvironmentVariables()
        let core = ProcessBootstrap.core(process: "junction-scheduler", environment: environment)
        let (settings, queueSettings) = ProcessBootstrap.settings(process: "junction-scheduler") { () throws(ConfigurationError) in
            (try SchedulerSettings(environment: environment), try QueueSettings(environment: environment))
        }
        let logger = Logger(label: "junction.scheduler")
        let scripts: QueueScripts
        do {
            scripts = try QueueScripts.bundled(environment: environment)
        } catch {
            logger.critical("cannot load the queue scripts", metadata: ["error": .string("\(error)")])
            exit(1)
        }
        let service = SchedulerMain(settings: settings, core: core, queue: Queue(settings: queueSettings, scripts: scripts), logger: logger)
        let services = ServiceGroup(configuration: .init(services: [service], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        do {
            try await services.run()
        } catch {
            logger.critical("scheduler stopped", metadata: ["error": .string("\(error)")])
            FileHandle.standardError.write(Data("junction-scheduler: \(error)\n".utf8))
            exit(1)
        }
        logger.info("stopped")
    }

    func run() async throws {
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
        guard healthy else { return }
        try await RedisEvictionPolicy.verify(redis, logger: logger)
        let owner = "\(ProcessInfo.processInfo.hostName)-\(getpid())-\(UUID().uuidString.prefix(6).lowercased())"
        let lease = LeaderLease(keys: queue.settings.keys, owner: owner, length: settings.lease, scripts: queue.scripts)
        let loop = SchedulerLoop(settings: settings, core: core, queue: queue, lease: lease, logger: logger)
        loop.start()
        logger.info("scheduler started", metadata: [
            "owner": .string(owner), "tick_ms": .stringConvertible(Queue.milliseconds(settings.tick)),
            "lease_ms": .stringConvertible(Queue.milliseconds(settings.lease)), "namespace": .string(queue.settings.keys.namespace),
        ])
        try? await gracefulShutdown()
        await loop.stop()
    }
}
