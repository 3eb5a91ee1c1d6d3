import Foundation
import JunctionCoordination
import JunctionCore
import JunctionProviders
import JunctionQueue
import JunctionStores
import Logging

/// `junction-worker`: runs jobs. Ops scale it by adding replicas; every replica is the same.
public enum WorkerProcess {
    public static func main() async throws {
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
        await ProcessBootstrap.run(runtime, process: "junction-worker", logger: logger)
    }
}
