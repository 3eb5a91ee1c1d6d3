import ArgumentParser
import Foundation
import JunctionCoordination
import JunctionCore
import JunctionProviders

/// `junction locks`: the fleet-wide locks held now.
struct LocksCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "locks", abstract: "Fleet-wide locks held now: name, holder, fencing token, time left.")

    func run() throws {
        let context = try QueueCommandContext.open()
        let locks = try context.run { try DistributedLocks(context.coordination).list(on: context.redis) }
        if locks.isEmpty { print("no locks held") }
        for lock in locks {
            print("\(lock.name)  fence \(lock.fence)  holder \(lock.owner)  expires in \(humanDuration(lock.expiresIn))")
        }
    }
}

/// `junction breakers [reset SCOPE]`: circuit breaker states.
struct BreakersCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "breakers", abstract: "Circuit breakers: every scope that has seen calls, and its state.",
        discussion: "A scope is a provider (stripe) or a provider and connection (stripe:CONNECTION).",
        subcommands: [List.self, Reset.self], defaultSubcommand: List.self)

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Every breaker: state, when it reopens, what opened it.")

        func run() throws {
            let context = try QueueCommandContext.open()
            let breakers = try context.run {
                try CircuitBreakers(context.coordination, settings: try CoordinationCommand.settings()).list(on: context.redis)
            }
            if breakers.isEmpty { print("no breakers have seen calls") }
            for breaker in breakers {
                var line = "\(breaker.scope)  \(breaker.state)"
                if let reopen = breaker.reopenAt { line += "  half-open at \(Timestamp.format(reopen))" }
                if breaker.state != .closed, let opened = breaker.openedAt { line += "  opened \(Timestamp.format(opened))" }
                if breaker.state != .closed, let failures = breaker.failuresWhenOpened, let calls = breaker.callsWhenOpened {
                    line += "  (\(failures) of \(calls) calls failed)"
                }
                print(line)
            }
        }
    }

    struct Reset: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Close a breaker by hand (it forgets its window too).")

        @Argument(help: "The scope: a provider, or provider:connection.")
        var scope: String

        func run() throws {
            let context = try QueueCommandContext.open()
            let breakers = CircuitBreakers(context.coordination, settings: try CoordinationCommand.settings())
            let existed = try context.run { try breakers.reset(scope, on: context.redis) }
            print(existed ? "closed \(scope)" : "\(scope) had no state (closed already)")
        }
    }
}

/// `junction limits`: the configured rate limits and what is in flight or paused now.
struct LimitsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "limits", abstract: "Rate limits per provider, calls in flight and pauses after a 429.")

    func run() throws {
        let settings = try CoordinationCommand.settings()
        for provider in Providers.ids {
            let own = settings.connectionLimits[provider] ?? .off
            let fleet = settings.fleetLimits[provider] ?? .off
            print("\(provider)  per connection \(own)  fleet \(fleet)")
        }
        let context = try QueueCommandContext.open()
        let activity = try context.run { try RateLimiter(context.coordination, settings: settings).activity(on: context.redis) }
        let busy = activity.filter { $0.inFlight > 0 || $0.pausedUntil != nil }
        print(busy.isEmpty ? "nothing in flight or paused" : "now:")
        for scope in busy {
            print("  \(scope.scope)  in flight \(scope.inFlight)\(scope.pausedUntil.map { "  paused until \(Timestamp.format($0))" } ?? "")")
        }
    }
}

enum CoordinationCommand {
    static func settings() throws -> CoordinationSettings {
        ProcessBootstrap.settings(process: "junction") { () throws(ConfigurationError) in
            try CoordinationSettings(environment: EnvironmentVariables())
        }
    }
}
