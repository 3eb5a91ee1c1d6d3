import Foundation
import JunctionCore
import Logging

extension ProcessBootstrap {
    /// The queue's Lua scripts, or a logged error and exit status 1 when the bundle is missing.
    public static func queueScripts(environment: EnvironmentVariables, logger: Logger) -> QueueScripts {
        do {
            return try QueueScripts.bundled(environment: environment)
        } catch {
            logger.critical("cannot load the queue scripts", metadata: ["error": .string("\(error)")])
            FileHandle.standardError.write(Data("\(error)\n".utf8))
            exit(1)
        }
    }
}
