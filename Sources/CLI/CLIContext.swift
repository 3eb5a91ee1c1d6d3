import ArgumentParser
import Foundation
import JunctionCoordination
import JunctionCore
import JunctionQueue

/// What the queue commands share: settings from the environment and a blocking Redis
/// connection (a command-line tool owns its main thread, so blocking calls are fine here).
struct QueueCommandContext {
    let queue: Queue
    let coordination: Coordination
    let redis: RedisConnection

    static func open() throws -> QueueCommandContext {
        let environment = EnvironmentVariables()
        let (core, settings) = ProcessBootstrap.settings(process: "junction") { () throws(ConfigurationError) in
            (try CoreSettings(environment: environment, processName: "junction-cli"), try QueueSettings(environment: environment))
        }
        let scripts: QueueScripts
        let coordinationScripts: CoordinationScripts
        do {
            scripts = try QueueScripts.bundled(environment: environment)
            coordinationScripts = try CoordinationScripts.bundled(environment: environment)
        } catch {
            printError("junction: \(error)")
            throw ExitStatus.software
        }
        do {
            return QueueCommandContext(
                queue: Queue(settings: settings, scripts: scripts), coordination: Coordination(namespace: settings.keys.namespace, scripts: coordinationScripts),
                redis: try RedisConnection(core.redis))
        } catch {
            printError("junction: \(error)")
            throw ExitStatus.unavailable
        }
    }

    /// Runs `body`, turning Redis failures into a message and exit status 69.
    func run<T>(_ body: () throws -> T) throws -> T {
        do {
            return try body()
        } catch let error as RedisError {
            printError("junction: \(error)")
            throw error.isRetryable ? ExitStatus.unavailable : ExitStatus.software
        }
    }
}

/// Pretty, stable JSON for people and scripts.
func prettyJSON(_ text: String) -> String {
    guard let object = try? JSONSerialization.jsonObject(with: Data(text.utf8)),
          let data = try? JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes])
    else { return text }
    return String(decoding: data, as: UTF8.self)
}

/// `250ms`, `3.2s`, `4m12s`, `2h5m`, `3d4h`.
func humanDuration(_ duration: Duration) -> String {
    let milliseconds = Milliseconds.of(duration)
    if milliseconds < 1000 { return "\(milliseconds)ms" }
    let seconds = milliseconds / 1000
    if seconds < 60 { return String(format: "%.1fs", Double(milliseconds) / 1000) }
    if seconds < 3600 { return "\(seconds / 60)m\(seconds % 60)s" }
    if seconds < 86_400 { return "\(seconds / 3600)h\((seconds % 3600) / 60)m" }
    return "\(seconds / 86_400)d\((seconds % 86_400) / 3600)h"
}

/// A duration option such as `7d` or `90s`.
struct DurationArgument: ExpressibleByArgument {
    let duration: Duration

    init?(argument: String) {
        guard let duration = EnvironmentVariables.parseDuration(argument) else { return nil }
        self.duration = duration
    }
}

extension JobPriority: ExpressibleByArgument {}

/// Parses a `--payload` option: a JSON object, or exit status 65 with the reason.
func parsePayload(_ text: String) throws -> JSONValue {
    let parsed: JSONValue
    do {
        parsed = try JSONValue(parsing: text)
    } catch {
        printError("junction: --payload is not valid JSON: \(error)")
        throw ExitStatus.dataError
    }
    guard case .object = parsed else {
        printError("junction: --payload must be a JSON object, such as '{\"sleep_ms\": 5}'")
        throw ExitStatus.dataError
    }
    return parsed
}
