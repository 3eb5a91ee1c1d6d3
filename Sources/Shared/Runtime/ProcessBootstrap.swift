import Foundation
import Logging

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
}
