import ArgumentParser
import Foundation
import JunctionCore
import JunctionProviders
import JunctionQueue
import JunctionStores

/// `junction syncs list|show|trigger|reset|interval`: where each connection's resources stand.
struct SyncsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "syncs", abstract: "Sync state and history per connection and resource; trigger or reset a sync.",
        discussion: """
            A sync resumes from its last committed page after a crash. `reset` forgets the checkpoint, so the
            next run walks the resource from the start (records already stored are kept and compared).
            `interval` sets how often one connection is synced, over JUNCTION_SYNC_INTERVAL[_<PROVIDER>].
            """,
        subcommands: [List.self, Show.self, Trigger.self, Reset.self, Interval.self])

    static func resources(_ connection: Connection) -> [String] {
        Providers.named(connection.provider)?.sync.map(\.name) ?? []
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Each resource of a connection: its state, checkpoint and last run.")
        @Argument(help: "The connection id.") var connection: String

        func run() throws {
            let database = try SchedulesCommand.database()
            let found = try ConnectionsCommand.find(connection, on: database)
            let runs = try SyncRunStore().list(connection: found.id, limit: 500, on: database)
            for resource in SyncsCommand.resources(found) {
                let state = try SyncStateStore().load(tenant: found.tenant, provider: found.provider, resource: resource, connection: found.id, on: database)
                let last = runs.first { $0.resource == resource }
                let status = state?.details["status"]?.stringValue ?? "never run"
                let run = last.map {
                    "last run \($0.id) \($0.status) (\($0.mode)) at \(Timestamp.format($0.startedAt)): +\($0.counts.added) ~\($0.counts.updated) =\($0.counts.unchanged) -\($0.deleted), \($0.pages) pages"
                } ?? ""
                print("\(resource)  \(status)\(state?.cursor.map { " at \($0)" } ?? "")  \(run)")
            }
        }
    }

    struct Show: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "The runs of one resource, newest first.")
        @Argument(help: "The connection id.") var connection: String
        @Argument(help: "The resource, such as customers.") var resource: String
        @Option(help: "How many runs.") var limit = 20

        func run() throws {
            let database = try SchedulesCommand.database()
            let found = try ConnectionsCommand.find(connection, on: database)
            for run in try SyncRunStore().list(connection: found.id, resource: resource, limit: limit, on: database) {
                let took = run.finishedAt.map { String(format: "%.1fs", $0.timeIntervalSince(run.startedAt)) } ?? "running"
                print("\(run.id)  \(run.status)  \(run.trigger)  \(run.mode)  \(Timestamp.format(run.startedAt))  \(took)  pages \(run.pages)  +\(run.counts.added) ~\(run.counts.updated) =\(run.counts.unchanged) -\(run.deleted)  from \(run.checkpointFrom ?? "start")\(run.error.map { "  \($0)" } ?? "")")
            }
        }
    }

    struct Trigger: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Run a sync now (on high): one resource, or every resource of the connection.")
        @Argument(help: "The connection id.") var connection: String
        @Argument(help: "The resource; all of them when omitted.") var resource: String?
        @Option(help: "auto (incremental where it can be), full, incremental or reconcile.") var mode = "auto"

        func run() throws {
            let database = try SchedulesCommand.database()
            let found = try ConnectionsCommand.find(connection, on: database)
            let known = SyncsCommand.resources(found)
            let wanted = resource.map { [$0] } ?? known
            for name in wanted where !known.contains(name) {
                printError("junction: \(found.provider) has no resource \(name); it syncs \(known.joined(separator: ", "))")
                throw ExitStatus.dataError
            }
            guard ["auto", "full", "incremental", "reconcile"].contains(mode) else {
                printError("junction: --mode is auto, full, incremental or reconcile, not \(mode)")
                throw ExitStatus.dataError
            }
            let queue = try QueueCommandContext.open()
            let requests = wanted.map { name in
                JobRequest(type: "sync.run", payload: ["connection": .string(found.id.uuidString.lowercased()), "resource": .string(name), "trigger": "manual",
                                                       "mode": .string(mode)],
                           priority: .high, tenant: found.tenant, provider: found.provider, connection: found.id.uuidString.lowercased())
            }
            for (name, outcome) in zip(wanted, try queue.run { try queue.queue.enqueue(requests, on: queue.redis) }) {
                if case .enqueued(let id) = outcome { print("enqueued sync.run \(name): job \(id)") }
            }
        }
    }

    struct Reset: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Forget a resource's checkpoint: its next run walks it from the start.")
        @Argument(help: "The connection id.") var connection: String
        @Argument(help: "The resource.") var resource: String

        func run() throws {
            let database = try SchedulesCommand.database()
            let found = try ConnectionsCommand.find(connection, on: database)
            let removed = try database.query("DELETE FROM sync_state WHERE connection_id = \(found.id) AND resource = \(resource)").affectedRows
            print(removed == 0 ? "\(resource) had no checkpoint" : "\(resource): checkpoint forgotten; the next run starts from the beginning")
        }
    }

    struct Interval: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "How often one connection's resources are synced: a duration (at least 1m), or `default` for the provider's.")
        @Argument(help: "The connection id.") var connection: String
        @Argument(help: "Such as 5m or 1h; `default` goes back to JUNCTION_SYNC_INTERVAL[_<PROVIDER>].") var every: String

        func run() throws {
            let database = try SchedulesCommand.database()
            let found = try ConnectionsCommand.find(connection, on: database)
            var seconds: Int?
            if every != "default" {
                guard let duration = EnvironmentVariables.parseDuration(every), duration >= .seconds(60) else {
                    printError("junction: the interval is a duration of at least 1m (such as 5m or 1h), or default; not \(every)")
                    throw ExitStatus.dataError
                }
                seconds = Int(duration / .seconds(1))
            }
            let settings = try SyncSettings(environment: EnvironmentVariables(), providers: Providers.ids)
            let applied = seconds ?? Int(settings.interval(for: found.provider) / .seconds(1))
            let changed = try database.transaction { database in
                if let seconds {
                    try database.query("UPDATE connections SET metadata = metadata || jsonb_build_object('sync_interval', \(seconds)::bigint) WHERE id = \(found.id)")
                } else {
                    try database.query("UPDATE connections SET metadata = metadata - 'sync_interval' WHERE id = \(found.id)")
                }
                return try database.query("""
                    UPDATE schedules SET interval_seconds = \(applied), updated_at = now()
                    WHERE connection_id = \(found.id) AND name LIKE 'sync:%'
                    """).affectedRows
            }
            print("\(found.id.uuidString.lowercased()): synced every \(applied)s\(seconds == nil ? " (the provider's interval)" : ""); \(changed) schedules changed")
        }
    }
}
