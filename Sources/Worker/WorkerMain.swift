import Foundation
import JunctionShared
import Logging
import ServiceLifecycle

/// `junction-worker`: runs jobs. Ops scale it by adding replicas; every replica is the same.
@main
struct WorkerMain {
    static func main() async throws {
        let environment = EnvironmentVariables()
        let core = ProcessBootstrap.core(process: "junction-worker", environment: environment)
        let (settings, queueSettings) = ProcessBootstrap.settings(process: "junction-worker") { () throws(ConfigurationError) in
            (try WorkerSettings(environment: environment), try QueueSettings(environment: environment))
        }
        let logger = Logger(label: "junction.worker")
        let scripts: QueueScripts
        do {
            scripts = try QueueScripts.bundled(environment: environment)
        } catch {
            logger.critical("cannot load the queue scripts", metadata: ["error": .string("\(error)")])
            exit(1)
        }
        let runtime = WorkerRuntime(
            settings: settings, core: core, queue: Queue(settings: queueSettings, scripts: scripts),
            handlers: .standard, logger: logger)
        let services = ServiceGroup(configuration: .init(
            services: [runtime], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        do {
            try await services.run()
        } catch {
            logger.critical("worker stopped", metadata: ["error": .string("\(error)")])
            FileHandle.standardError.write(Data("junction-worker: \(error)\n".utf8))
            exit(1)
        }
        logger.info("stopped")
    }
}
