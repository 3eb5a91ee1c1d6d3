import ArgumentParser
import Foundation
import JunctionCoordination
import JunctionCore
import JunctionQueue
import JunctionStores

/// `junction schedules list|add|remove|pause|resume|run-now`.
struct SchedulesCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "schedules", abstract: "Manage periodic jobs (the schedules table).",
        subcommands: [List.self, Add.self, Remove.self, Pause.self, Resume.self, RunNow.self])

    /// The database, from JUNCTION_DATABASE_URL.
    static func database() throws -> PostgresConnection {
        let configuration = ProcessBootstrap.settings(process: "junction") { () throws(ConfigurationError) in
            try CoreSettings.database(environment: EnvironmentVariables(), processName: "junction-cli")
        }
        do {
            return try PostgresConnection(configuration)
        } catch {
            printError("junction: \(error)")
            throw ExitStatus.unavailable
        }
    }

    static func describe(_ schedule: Schedule) -> String {
        let state = schedule.enabled ? "next \(Timestamp.format(schedule.nextRunAt))" : "paused"
        let last = schedule.lastRunAt.map { "  last \(Timestamp.format($0))" } ?? ""
        return "\(schedule.name)  \(schedule.ruleDescription)  \(schedule.jobType)  \(schedule.priority.rawValue)  \(state)\(last)"
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Every schedule: name, rule, job type, priority, next and last fire.")

        func run() throws {
            let schedules = try ScheduleStore().list(on: try SchedulesCommand.database())
            if schedules.isEmpty { print("no schedules") }
            for schedule in schedules { print(SchedulesCommand.describe(schedule)) }
        }
    }

    struct Add: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Add a schedule; prints its next five fire times.",
            discussion: """
                Examples:
                  junction schedules add stripe-sync sync.run --every 15m --payload '{"resource":"customers"}' --tenant venue-1
                  junction schedules add nightly-cleanup cleanup.run --cron '30 2 * * *' --time-zone Europe/Paris --priority low
                """)

        @Argument(help: "A unique name.")
        var name: String

        @Argument(help: "The job type, such as sync.run.")
        var type: String

        @Option(help: "Fire every this long (whole seconds: 90s, 15m, 6h).")
        var every: DurationArgument?

        @Option(help: "Fire on this five-field cron expression.")
        var cron: String?

        @Option(name: .customLong("time-zone"), help: "The cron expression's time zone (IANA name).")
        var timeZone = "UTC"

        @Option(help: "The job payload, a JSON object.")
        var payload = "{}"

        @Option(help: "critical, high, normal or low.")
        var priority: JobPriority = .normal

        @Option var tenant: String?
        @Option var provider: String?

        func validate() throws {
            guard (every == nil) != (cron == nil) else { throw ValidationError("give exactly one of --every and --cron") }
            guard TimeZone(identifier: timeZone) != nil else { throw ValidationError("unknown time zone \(timeZone) (use an IANA name such as Europe/Paris)") }
        }

        func run() throws {
            let rule: ScheduleRule
            if let every {
                rule = .every(every.duration)
            } else {
                do {
                    rule = .cron(try CronExpression(cron ?? ""), TimeZone(identifier: timeZone)!)
                } catch {
                    printError("junction: --cron: \(error.reason)")
                    throw ExitStatus.dataError
                }
            }
            let parsed = try parsePayload(payload)
            let database = try SchedulesCommand.database()
            let schedule: Schedule
            do {
                schedule = try ScheduleStore().add(
                    name: name, jobType: type, payload: parsed, priority: priority, tenant: tenant, provider: provider, rule: rule, on: database)
            } catch let error as ScheduleError {
                printError("junction: \(error)")
                throw ExitStatus.dataError
            }
            print("added \(SchedulesCommand.describe(schedule))")
            print("next fires:")
            var previous = schedule.nextRunAt
            print("  \(Timestamp.format(previous))")
            for _ in 1..<5 {
                guard let next = rule.next(after: previous, previous: previous) else { break }
                print("  \(Timestamp.format(next))")
                previous = next
            }
        }
    }

    /// The commands that name one schedule and change it.
    struct Named: ParsableArguments {
        @Argument(help: "The schedule's name.")
        var name: String

        func apply(_ change: (ScheduleStore, PostgresConnection, String) throws -> Bool, done: String) throws {
            guard try change(ScheduleStore(), try SchedulesCommand.database(), name) else {
                printError("junction: no schedule named \(name)")
                throw ExitStatus.notFound
            }
            print("\(done) \(name)")
        }
    }

    struct Remove: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Delete a schedule.")
        @OptionGroup var schedule: Named
        func run() throws { try schedule.apply({ try $0.remove(name: $2, on: $1) }, done: "removed") }
    }

    struct Pause: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Stop a schedule from firing.")
        @OptionGroup var schedule: Named
        func run() throws { try schedule.apply({ try $0.setEnabled(false, name: $2, on: $1) }, done: "paused") }
    }

    struct Resume: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Let a paused schedule fire again (once at once if its time has passed).")
        @OptionGroup var schedule: Named
        func run() throws { try schedule.apply({ try $0.setEnabled(true, name: $2, on: $1) }, done: "resumed") }
    }

    struct RunNow: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "run-now", abstract: "Fire a schedule at the next tick, then keep its rhythm.")
        @OptionGroup var schedule: Named
        func run() throws { try schedule.apply({ try $0.runNow(name: $2, on: $1) }, done: "due now:") }
    }
}

/// `junction scheduler status`.
struct SchedulerCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "scheduler", abstract: "Inspect the scheduler replicas.", subcommands: [Status.self])

    struct Status: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Which scheduler replica leads, and how long its lease has left.")

        func run() throws {
            let context = try QueueCommandContext.open()
            if let holder = try context.run({ try LeaderLease.holder(keys: context.coordination.keys, on: context.redis) }) {
                print("leader: \(holder.owner)  (lease renews within \(humanDuration(holder.remaining)))")
            } else {
                print("no leader: no scheduler is running, or the last one stopped less than a lease ago")
            }
        }
    }
}
