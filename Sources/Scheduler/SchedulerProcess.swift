import Foundation
import JunctionCoordination
import JunctionCore
import JunctionQueue
import JunctionStores
import JunctionObservability
import Logging
import ServiceLifecycle
import Synchronization

/// `junction-scheduler`: fires periodic jobs from the `schedules` table, promotes delayed jobs,
/// recovers expired leases, keeps connections' tokens fresh and applies retention. Run two or three replicas; one leads.
public struct SchedulerProcess: Service {
    let settings: SchedulerSettings
    let core: CoreSettings
    let queue: Queue
    let coordination: Coordination
    let keys: KeyRing
    let connections: ConnectionSettings
    /// Whether this replica leads, for `/health/ready`.
    let leadership: Leadership
    let logger: Logger

    public static func main() async throws {
        let metrics = MetricsExport.bootstrap()
        let environment = EnvironmentVariables()
        let core = ProcessBootstrap.core(process: "junction-scheduler", environment: environment)
        let (settings, queueSettings, keys, connections) = ProcessBootstrap.settings(process: "junction-scheduler") { () throws(ConfigurationError) in
            (try SchedulerSettings(environment: environment), try QueueSettings(environment: environment), try KeyRing(environment: environment),
             try ConnectionSettings(environment: environment))
        }
        let logger = Logger(label: "junction.scheduler")
        let queue = Queue(settings: queueSettings, scripts: ProcessBootstrap.required("the queue scripts", logger: logger) { try QueueScripts.bundled(environment: environment) })
        let coordination = Coordination(namespace: queueSettings.keys.namespace, scripts: ProcessBootstrap.required("the coordination scripts", logger: logger) { try CoordinationScripts.bundled(environment: environment) })
        let leadership = Leadership()
        let process = SchedulerProcess(settings: settings, core: core, queue: queue, coordination: coordination, keys: keys,
                                       connections: connections, leadership: leadership, logger: logger)
        // The trace exporter first: the group stops it last, so it flushes the others' spans.
        var services: [any Service] = TraceExport.services(process: "junction-scheduler", environment: environment, logger: logger) + [process]
        if let status = settings.status {
            services.append(StatusServer.service(host: status.host, port: status.port, core: core, registry: metrics, logger: logger,
                                                 facts: { [("leader", leadership.isLeading ? "true" : "false")] }))
        } else {
            logger.info("no health or metrics server: set JUNCTION_SCHEDULER_HTTP_PORT to serve /health, /health/ready and /metrics")
        }
        await ProcessBootstrap.run(services, process: "junction-scheduler", logger: logger)
    }

    public func run() async throws {
        guard try await ProcessBootstrap.waitForDependencies(core, logger: logger) else { return }
        let owner = "\(ProcessInfo.processInfo.hostName)-\(getpid())-\(UUID().uuidString.prefix(6).lowercased())"
        let lease = LeaderLease(coordination, owner: owner, length: settings.lease)
        let scheduler = SchedulerLoop(settings: settings, core: core, queue: queue, lease: lease, coordination: coordination, keys: keys, connections: connections,
                                      leadership: leadership, logger: logger)
        let loop = BackgroundThread(name: "scheduler") { stopped in scheduler.loop(until: stopped) }
        loop.start()
        logger.info("scheduler started", metadata: [
            "owner": .string(owner), "tick_ms": .stringConvertible(Milliseconds.of(settings.tick)),
            "lease_ms": .stringConvertible(Milliseconds.of(settings.lease)), "namespace": .string(queue.settings.keys.namespace),
        ])
        try? await gracefulShutdown()
        await loop.stop()
    }
}

/// Whether this scheduler holds the leader lease, as its loop last saw it.
final class Leadership: Sendable {
    private let flag = Atomic<Bool>(false)
    var isLeading: Bool { flag.load(ordering: .acquiring) }
    func set(_ leading: Bool) { flag.store(leading, ordering: .releasing) }
}
