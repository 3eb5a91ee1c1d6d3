import ArgumentParser
import Foundation
import JunctionCore

/// `junction migrate`: applies pending schema migrations; `--status` lists them instead.
struct MigrateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "migrate",
        abstract: "Apply pending PostgreSQL migrations (safe to run twice, and from several processes at once).")

    @Flag(name: .long, help: "List every migration and whether it is applied; change nothing.")
    var status = false

    func run() throws {
        let database = ProcessBootstrap.settings(process: "junction") { () throws(ConfigurationError) in
            try CoreSettings.database(environment: EnvironmentVariables(), processName: "junction-migrate")
        }
        do {
            let migrator = try Migrator.bundled()
            let connection = try PostgresConnection(database)
            if status {
                for entry in try migrator.status(connection) {
                    let state = entry.appliedAt.map { "applied \(ISO8601DateFormatter().string(from: $0))" } ?? "pending"
                    print("\(String(format: "%04d", entry.version))  \(entry.name)  \(state)")
                }
                return
            }
            let applied = try migrator.migrate(connection)
            if applied.isEmpty {
                print("schema is up to date (\(migrator.migrations.count) migrations)")
            } else {
                for migration in applied { print("applied \(migration.name)") }
            }
        } catch let error as PostgresError {
            printError("junction migrate: \(error)")
            throw error.isRetryable ? ExitStatus.unavailable : ExitStatus.dataError
        } catch let error as MigrationError {
            printError("junction migrate: \(error)")
            throw ExitStatus.dataError
        } catch let error as ResourcesNotFound {
            printError("junction migrate: \(error)")
            throw ExitStatus.software
        }
    }
}

func printError(_ message: String) {
    FileHandle.standardError.write(Data((message + "\n").utf8))
}
