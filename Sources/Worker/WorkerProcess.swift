import JunctionCoordination
import JunctionCore
import JunctionProviders
import JunctionQueue
import Logging

/// `junction-worker`: runs jobs. Ops scale it by adding replicas; every replica is the same.
public enum WorkerProcess {
    public static func main() async throws {
        let environment = EnvironmentVariables()
        let core = ProcessBootstrap.core(process: "junction-worker", environment: environment)
        let (settings, queueSettings, oauth) = ProcessBootstrap.settings(process: "junction-worker") { () throws(ConfigurationError) in
            (try WorkerSettings(environment: environment), try QueueSettings(environment: environment), try OAuthClients(environment: environment))
        }
        let logger = Logger(label: "junction.worker")
        oauth.logConfigured(logger)
        let runtime = WorkerRuntime(
            settings: settings, core: core,
            queue: Queue(settings: queueSettings, scripts: ProcessBootstrap.required("the queue scripts", logger: logger) { try QueueScripts.bundled(environment: environment) }),
            coordination: Coordination(namespace: queueSettings.keys.namespace, scripts: ProcessBootstrap.required("the coordination scripts", logger: logger) { try CoordinationScripts.bundled(environment: environment) }),
            handlers: .standard, logger: logger)
        await ProcessBootstrap.run(runtime, process: "junction-worker", logger: logger)
    }
}
