import Foundation
import JunctionCoordination
import JunctionCore
import JunctionProviders
import JunctionQueue
import JunctionStores
import JunctionObservability
import Logging
import ServiceLifecycle

/// `junction-worker`: runs jobs. Ops scale it by adding replicas; every replica is the same.
public enum WorkerProcess {
    public static func main() async throws {
        let metrics = MetricsExport.bootstrap()
        let environment = EnvironmentVariables()
        let core = ProcessBootstrap.core(process: "junction-worker", environment: environment)
        let (settings, queueSettings, oauth, keys, connections, sync) = ProcessBootstrap.settings(process: "junction-worker") { () throws(ConfigurationError) in
            (try WorkerSettings(environment: environment), try QueueSettings(environment: environment), try OAuthClients(environment: environment),
             try KeyRing(environment: environment), try ConnectionSettings(environment: environment),
             try SyncSettings(environment: environment, providers: Providers.ids))
        }
        let logger = Logger(label: "junction.worker")
        oauth.logConfigured(logger)
        let coordination = Coordination(namespace: queueSettings.keys.namespace, scripts: ProcessBootstrap.required("the coordination scripts", logger: logger) { try CoordinationScripts.bundled(environment: environment) })
        let services = ConnectionServices(keys: keys, oauth: oauth, settings: connections, sync: sync, coordination: coordination,
                                          worker: "\(ProcessInfo.processInfo.hostName):\(getpid())")
        let runtime = WorkerRuntime(
            settings: settings, core: core,
            queue: Queue(settings: queueSettings, scripts: ProcessBootstrap.required("the queue scripts", logger: logger) { try QueueScripts.bundled(environment: environment) }),
            coordination: coordination, handlers: .standard(connections: services), logger: logger)
        // The trace exporter first: the group stops it last, so it flushes the others' spans.
        var processes: [any Service] = TraceExport.services(process: "junction-worker", environment: environment, logger: logger) + [runtime]
        if let status = settings.status {
            processes.append(StatusServer.service(host: status.host, port: status.port, core: core, registry: metrics, logger: logger))
        } else {
            logger.info("no health or metrics server: set JUNCTION_WORKER_HTTP_PORT to serve /health, /health/ready and /metrics")
        }
        await ProcessBootstrap.run(processes, process: "junction-worker", logger: logger)
    }
}
