import ArgumentParser
import Foundation

/// `junction`: the ops command line.
@main
struct JunctionCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "junction",
        abstract: "Operate a Junction deployment.",
        discussion: "Settings come from the same JUNCTION_* environment variables the services read.",
        subcommands: [MigrateCommand.self, QueueCommand.self, DeadLetterCommand.self, JobsCommand.self, SchedulesCommand.self, SchedulerCommand.self, WebhookCommand.self, EndpointsCommand.self, ConnectionsCommand.self, SyncsCommand.self, KeysCommand.self, LocksCommand.self, BreakersCommand.self, LimitsCommand.self])
}

/// Exit codes scripts can rely on.
enum ExitStatus {
    /// A dependency (PostgreSQL, Redis) could not be reached: try again later.
    static let unavailable = ExitCode(69)
    /// The request cannot succeed as given (a migration was edited, a payload is not JSON).
    static let dataError = ExitCode(65)
    /// What was asked for does not exist (no dead letter with that id).
    static let notFound = ExitCode(66)
    /// Junction itself is broken (its scripts are missing, Redis answered nonsense).
    static let software = ExitCode(70)
}
