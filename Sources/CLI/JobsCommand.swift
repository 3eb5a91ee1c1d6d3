import ArgumentParser
import Foundation
import JunctionQueue

/// `junction jobs enqueue TYPE --payload JSON`.
struct JobsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "jobs", abstract: "Enqueue jobs by hand.", subcommands: [Enqueue.self])

    struct Enqueue: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Enqueue a job; prints its id (or that it was a duplicate).",
            discussion: "Example: junction jobs enqueue system.noop --payload '{\"sleep_ms\": 100}' --priority low --count 1000")

        @Argument(help: "The job type, such as system.noop.")
        var type: String

        @Option(help: "The payload, a JSON object.")
        var payload = "{}"

        @Option(help: "critical, high, normal or low.")
        var priority: JobPriority = .normal

        @Option(name: .customLong("dedupe-key"), help: "Drop this job if one with the same key was enqueued within the dedupe TTL.")
        var dedupeKey: String?

        @Option(help: "Run no sooner than after this long (5s, 10m).")
        var delay: DurationArgument?

        @Option(help: "Enqueue this many copies, in batches of 1,000.")
        var count = 1

        @Option(help: "Tenant the job belongs to.")
        var tenant: String?

        func validate() throws {
            guard count >= 1 else { throw ValidationError("--count must be at least 1") }
            guard dedupeKey == nil || count == 1 else { throw ValidationError("--dedupe-key goes with a single job") }
        }

        func run() throws {
            let parsed = try parsePayload(payload)
            let context = try QueueCommandContext.open()
            let request = JobRequest(type: type, payload: parsed, priority: priority, tenant: tenant, dedupeKey: dedupeKey, delay: delay?.duration ?? .zero)
            var remaining = count
            var enqueued: [String] = []
            while remaining > 0 {
                let batch = min(remaining, 1000)
                let outcomes = try context.run { try context.queue.enqueue(Array(repeating: request, count: batch), on: context.redis) }
                for case .enqueued(let id) in outcomes { enqueued.append(id) }
                remaining -= batch
            }
            if count == 1 {
                print(enqueued.first ?? "duplicate: a job with dedupe key \(dedupeKey ?? "") was enqueued within its TTL")
            } else {
                print("enqueued \(enqueued.count) \(type) jobs")
            }
        }
    }
}
