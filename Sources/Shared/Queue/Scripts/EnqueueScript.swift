import Foundation
import JunctionCore

/// `lua/enqueue-8.lua`: enqueues a batch of jobs atomically, each optionally deduplicated, now or
/// after a delay.
struct EnqueueScript: Sendable {
    static let file = "enqueue-8"
    /// KEYS[1…8]: the four priority lists, jobs, delayed, wake-up, stats; then one dedupe key per
    /// job that has one, in job order.
    static let fixedKeys = 8
    /// ARGV[1] now, ARGV[2] the job count; then per job: id, priority index, envelope, delay,
    /// has-dedupe flag, dedupe TTL.
    static let fixedValues = 2
    static let valuesPerJob = 6

    let script: RedisScript
    private let keys: QueueKeys
    private let fixed: [RedisArgument]

    init(_ script: RedisScript, keys: QueueKeys) {
        self.script = script
        self.keys = keys
        fixed = keys.queues.map { RedisArgument($0) } + [RedisArgument(keys.jobs), RedisArgument(keys.delayed), RedisArgument(keys.wakeup), RedisArgument(keys.stats)]
        precondition(fixed.count == Self.fixedKeys)
    }

    /// One job as the script takes it.
    struct Job {
        var id: String
        var priority: JobPriority
        var envelope: [UInt8]
        var delay: Duration
        var dedupeKey: String?
        var dedupeTTL: Duration
    }

    func call(_ jobs: [Job], now: Date) -> ScriptCall {
        var keyArguments = fixed
        var arguments: [RedisArgument] = [RedisArgument(Milliseconds.of(now)), RedisArgument(jobs.count)]
        arguments.reserveCapacity(Self.fixedValues + jobs.count * Self.valuesPerJob)
        for job in jobs {
            arguments.append(RedisArgument(job.id))
            arguments.append(RedisArgument(job.priority.index))
            arguments.append(RedisArgument(bytes: job.envelope))
            arguments.append(RedisArgument(Milliseconds.of(job.delay)))
            arguments.append(job.dedupeKey == nil ? "0" : "1")
            arguments.append(RedisArgument(max(1, Milliseconds.of(job.dedupeTTL))))
            if let dedupeKey = job.dedupeKey { keyArguments.append(RedisArgument(keys.dedupe(dedupeKey))) }
        }
        return (script, keyArguments, arguments)
    }

    /// Several calls as one: the script runs once for all of them, each job still deduplicated
    /// on its own and every call's jobs still stored together or not at all. The first call's
    /// clock is used (they were built moments apart; it only shifts delayed jobs by that much).
    static func merge(_ calls: [ScriptCall]) -> ScriptCall {
        guard let first = calls.first, calls.count > 1 else { return calls[0] }
        var keys = Array(first.keys.prefix(fixedKeys))
        keys.reserveCapacity(calls.reduce(fixedKeys) { $0 + $1.keys.count - fixedKeys })
        var arguments: [RedisArgument] = [first.arguments[0], "0"]
        arguments.reserveCapacity(calls.reduce(fixedValues) { $0 + $1.arguments.count - fixedValues })
        var count = 0
        for call in calls {
            keys += call.keys.dropFirst(fixedKeys)
            arguments += call.arguments.dropFirst(fixedValues)
            count += (call.arguments.count - fixedValues) / valuesPerJob
        }
        arguments[1] = RedisArgument(count)
        return (first.script, keys, arguments)
    }

    /// The reply's flags, per job: 1 enqueued, 0 a duplicate.
    static func outcomes(_ flags: ArraySlice<RedisReply>, ids: [String]) throws -> [EnqueueOutcome] {
        guard flags.count == ids.count else { throw RedisError.unexpectedReply(expected: "\(ids.count) enqueue results", got: .array(Array(flags))) }
        var outcomes: [EnqueueOutcome] = []
        outcomes.reserveCapacity(ids.count)
        for (flag, id) in zip(flags, ids) { outcomes.append(try flag.int() == 1 ? .enqueued(id: id) : .duplicate) }
        return outcomes
    }
}
