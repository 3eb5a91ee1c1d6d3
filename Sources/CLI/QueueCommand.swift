import ArgumentParser
import Foundation
import JunctionCore
import JunctionQueue

/// `junction queue stats`.
struct QueueCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "queue", abstract: "Inspect the job queue.", subcommands: [Stats.self])

    struct Stats: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Depth of each priority list, oldest waiting job, in flight, delayed, dead, and lifetime counters.")

        @Flag(help: "Print JSON instead of a table.")
        var json = false

        func run() throws {
            let context = try QueueCommandContext.open()
            let stats = try context.run { try context.queue.stats(on: context.redis) }
            if json {
                var object: [String: Any] = [
                    "inflight": stats.inflight, "delayed": stats.delayed, "dead": stats.dead,
                    "counters": stats.counters.mapValues { Int($0) },
                ]
                object["ready"] = Dictionary(uniqueKeysWithValues: JobPriority.allCases.map { ($0.rawValue, stats.ready[$0] ?? 0) })
                object["oldest_ready_age_ms"] = Dictionary(uniqueKeysWithValues: stats.oldestReadyAge.map { ($0.key.rawValue, Int(Milliseconds.of($0.value))) })
                let data = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])
                print(String(decoding: data, as: UTF8.self))
                return
            }
            print("priority    ready  oldest waiting")
            for priority in JobPriority.allCases {
                let age = stats.oldestReadyAge[priority].map(humanDuration) ?? "-"
                print("\(priority.rawValue.padding(toLength: 9, withPad: " ", startingAt: 0)) \(String(stats.ready[priority] ?? 0).leftPadded(7))  \(age)")
            }
            print("in flight: \(stats.inflight)   delayed: \(stats.delayed)   dead: \(stats.dead)")
            let counters = ["enqueued", "processed", "retried", "rescheduled", "dead"].map { "\($0) \(stats.counters[$0] ?? 0)" }
            print("since the start: \(counters.joined(separator: ", "))")
        }
    }
}

extension String {
    func leftPadded(_ width: Int) -> String {
        count >= width ? self : String(repeating: " ", count: width - count) + self
    }
}
