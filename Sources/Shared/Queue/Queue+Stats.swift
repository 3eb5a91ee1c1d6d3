import Foundation
import JunctionCore

/// Counts and ages that answer "how is the queue doing?".
public struct QueueStats: Sendable, Equatable {
    public var ready: [JobPriority: Int]
    public var inflight: Int
    public var delayed: Int
    public var dead: Int
    /// How long the oldest ready job of each priority has waited, when one is waiting.
    public var oldestReadyAge: [JobPriority: Duration]
    /// Lifetime counters: enqueued, processed, retried, rescheduled, dead.
    public var counters: [String: Int64]
}

extension Queue {
    /// Depths, ages and counters, in two round trips.
    public func stats(on connection: RedisConnection, now: Date = Date()) throws -> QueueStats {
        var commands: [[RedisArgument]] = JobPriority.allCases.map { ["LLEN", RedisArgument(keys.queue($0))] }
        commands += JobPriority.allCases.map { ["LINDEX", RedisArgument(keys.queue($0)), -1] }
        commands += [["ZCARD", RedisArgument(keys.inflight)], ["ZCARD", RedisArgument(keys.delayed)], ["ZCARD", RedisArgument(keys.dead)], ["HGETALL", RedisArgument(keys.stats)]]
        let replies = try connection.pipeline(commands).map { try $0.check() }
        var ready: [JobPriority: Int] = [:]
        var oldestIDs: [(JobPriority, String)] = []
        for (offset, priority) in JobPriority.allCases.enumerated() {
            ready[priority] = Int(try replies[offset].int())
            if let id = try replies[4 + offset].string() { oldestIDs.append((priority, id)) }
        }
        var ages: [JobPriority: Duration] = [:]
        if !oldestIDs.isEmpty {
            let bodies = try connection.pipeline(oldestIDs.map { ["HGET", RedisArgument(keys.jobs), RedisArgument($0.1)] })
            for ((priority, _), body) in zip(oldestIDs, bodies) {
                if let raw = try body.string(), let envelope = try? JobEnvelope.decode(raw) {
                    ages[priority] = .milliseconds(max(0, Milliseconds.of(now) - Milliseconds.of(envelope.enqueuedAt)))
                }
            }
        }
        var counters: [String: Int64] = [:]
        let pairs = try replies[11].array()
        var index = 0
        while index + 1 < pairs.count {
            if let name = try pairs[index].string(), name != "fetch_calls" { counters[name] = try pairs[index + 1].int() }
            index += 2
        }
        return QueueStats(
            ready: ready, inflight: Int(try replies[8].int()), delayed: Int(try replies[9].int()), dead: Int(try replies[10].int()),
            oldestReadyAge: ages, counters: counters)
    }
}
