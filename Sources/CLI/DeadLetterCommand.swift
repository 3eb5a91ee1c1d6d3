import ArgumentParser
import Foundation
import JunctionCore

/// `junction dlq list|show|replay|purge`: the dead letters, for whoever is on call.
struct DeadLetterCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dlq", abstract: "Read, replay and purge the dead letters.",
        subcommands: [List.self, Show.self, Replay.self, Purge.self])

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List dead letters, newest first: time of death, id, type, attempts, last error.")

        @Option(help: "Only jobs of this type.")
        var type: String?

        @Option(help: "Show at most this many.")
        var limit = 50

        @Flag(help: "Print one JSON envelope per line instead.")
        var json = false

        func run() throws {
            let context = try QueueCommandContext.open()
            let letters = try context.run { try context.queue.deadLetters(on: context.redis, limit: limit, type: type) }
            for letter in letters {
                if json {
                    print(letter.raw)
                    continue
                }
                let envelope = letter.envelope
                let last = envelope.errors.last.map { "\($0.errorClass): \($0.message)" } ?? "-"
                print("\(Timestamp.format(letter.diedAt))  \(envelope.id)  \(envelope.type)  attempt \(envelope.attempt)/\(envelope.maxAttempts)  \(last)")
            }
            if letters.isEmpty && !json { print("no dead letters\(type.map { " of type \($0)" } ?? "")") }
        }
    }

    struct Show: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Print one dead letter's full envelope, error history included.")

        @Argument(help: "The job id.")
        var id: String

        func run() throws {
            let context = try QueueCommandContext.open()
            guard let letter = try context.run({ try context.queue.deadLetter(id: id, on: context.redis) }) else {
                printError("junction: no dead letter with id \(id)")
                throw ExitStatus.notFound
            }
            print("died at \(Timestamp.format(letter.diedAt))")
            print(prettyJSON(letter.raw))
        }
    }

    struct Replay: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Put dead letters back on their priority list with their attempts reset.")

        @Argument(help: "The job id (or --all).")
        var id: String?

        @Flag(help: "Replay every dead letter (of --type, if given).")
        var all = false

        @Option(help: "With --all: only jobs of this type.")
        var type: String?

        func validate() throws {
            guard (id != nil) != all else { throw ValidationError("name a job id, or pass --all") }
            if type != nil && !all { throw ValidationError("--type goes with --all") }
        }

        func run() throws {
            let context = try QueueCommandContext.open()
            if let id {
                guard let letter = try context.run({ try context.queue.deadLetter(id: id, on: context.redis) }),
                      try context.run({ try context.queue.replay(letter, on: context.redis) })
                else {
                    printError("junction: no dead letter with id \(id)")
                    throw ExitStatus.notFound
                }
                print("replayed \(id)")
                return
            }
            var replayed = 0
            while true {
                let batch = try context.run { try context.queue.deadLetters(on: context.redis, limit: 500, type: type) }
                if batch.isEmpty { break }
                var progress = 0
                for letter in batch where try context.run({ try context.queue.replay(letter, on: context.redis) }) {
                    progress += 1
                }
                replayed += progress
                if progress == 0 { break }
            }
            print("replayed \(replayed)")
        }
    }

    struct Purge: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Delete dead letters for good.")

        @Option(name: .customLong("older-than"), help: "Only those that died longer ago than this (7d, 12h, 90m).")
        var olderThan: DurationArgument?

        @Flag(help: "Required to purge every dead letter (without --older-than).")
        var all = false

        func validate() throws {
            if olderThan == nil && !all { throw ValidationError("pass --older-than DURATION, or --all to delete every dead letter") }
        }

        func run() throws {
            let context = try QueueCommandContext.open()
            let cutoff = olderThan.map { Date() - $0.duration / .seconds(1) }
            let purged = try context.run { try context.queue.purgeDead(diedAtOrBefore: cutoff, on: context.redis) }
            print("purged \(purged)")
        }
    }
}
