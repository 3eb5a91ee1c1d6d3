import Foundation
import JunctionCore

/// What to enqueue.
public struct JobRequest: Sendable {
    public var type: String
    public var payload: JSONValue
    public var priority: JobPriority
    public var tenant: String?
    public var provider: String?
    public var connection: String?
    /// While a job with this key was enqueued less than `dedupeTTL` ago, another is dropped.
    public var dedupeKey: String?
    public var dedupeTTL: Duration
    /// Wait this long before the job becomes ready.
    public var delay: Duration
    /// Overrides the retry policy's attempt count.
    public var maxAttempts: Int?
    /// Carries a caller's trace id into the job; a new one is made otherwise.
    public var traceID: String?
    /// The payload as compact JSON (UTF-8) the caller wrote itself (one object), stored as
    /// given instead of `payload`: for hot paths that can write their payload more cheaply than
    /// build a ``JSONValue`` (the ingress, for every webhook, with ``JSONBytes``).
    public var payloadJSON: [UInt8]?

    public init(
        type: String, payload: JSONValue = .object([:]), priority: JobPriority = .normal, tenant: String? = nil,
        provider: String? = nil, connection: String? = nil, dedupeKey: String? = nil, dedupeTTL: Duration = .seconds(72 * 3600),
        delay: Duration = .zero, maxAttempts: Int? = nil, traceID: String? = nil
    ) {
        self.type = type
        self.payload = payload
        self.priority = priority
        self.tenant = tenant
        self.provider = provider
        self.connection = connection
        self.dedupeKey = dedupeKey
        self.dedupeTTL = dedupeTTL
        self.delay = delay
        self.maxAttempts = maxAttempts
        self.traceID = traceID
    }
}

/// What became of one enqueued request.
public enum EnqueueOutcome: Sendable, Equatable {
    case enqueued(id: String)
    /// A job with the same dedupe key was enqueued within its TTL; nothing was added.
    case duplicate
}

/// A job a processor holds: its envelope and the lease token that proves it.
public struct LeasedJob: Sendable {
    public var envelope: JobEnvelope
    public let token: String
}

/// How an attempt that did not succeed ends.
public enum AttemptEnd: Sendable, Equatable {
    /// Run again at `due`, counting this attempt.
    case retry(due: Date)
    /// Run again at `due` without counting this attempt (open circuit, rate limit, lock busy).
    case reschedule(due: Date)
    /// Give up: to the dead letters.
    case dead
}

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

/// One entry of the dead letters.
public struct DeadLetter: Sendable, Equatable {
    public let envelope: JobEnvelope
    /// The member as stored, byte for byte (what `redis-cli` shows).
    public let raw: String
    public let diedAt: Date
}

/// Junction's queue operations over one blocking Redis connection: every transition is one of
/// the Lua scripts in `Queue/scripts`. Worker processors call these on their own connection;
/// async code goes through ``JobQueue``.
public struct Queue: Sendable {
    public let settings: QueueSettings
    public let scripts: QueueScripts
    private var keys: QueueKeys { settings.keys }
    /// The four priority lists as script keys, critical first.
    private let queueKeys: [RedisArgument]
    /// The enqueue script's fixed keys: the four lists, jobs, delayed, wake-up and stats.
    private let enqueueKeys: [RedisArgument]

    public init(settings: QueueSettings, scripts: QueueScripts) {
        self.settings = settings
        self.scripts = scripts
        let keys = settings.keys
        queueKeys = keys.queues.map { RedisArgument($0) }
        enqueueKeys = queueKeys + [RedisArgument(keys.jobs), RedisArgument(keys.delayed), RedisArgument(keys.wakeup), RedisArgument(keys.stats)]
    }

    // MARK: Enqueue

    /// The envelope a request becomes.
    public func envelope(for request: JobRequest, now: Date = Date()) -> JobEnvelope {
        JobEnvelope(
            id: Identifiers.uuid(), type: request.type, priority: request.priority, tenant: request.tenant,
            provider: request.provider, connection: request.connection, payload: request.payload,
            maxAttempts: request.maxAttempts ?? settings.retryPolicy(type: request.type, priority: request.priority).maxAttempts,
            enqueuedAt: now, traceID: request.traceID ?? Identifiers.traceID(), dedupeKey: request.dedupeKey)
    }

    /// The script call that enqueues `requests` atomically (for callers that pipeline it with
    /// other work), and the ids the envelopes got.
    public func enqueueCall(_ requests: [JobRequest], now: Date = Date()) throws -> (call: ScriptCall, ids: [String]) {
        var keyArguments = enqueueKeys
        var arguments: [RedisArgument] = [RedisArgument(Milliseconds.of(now)), RedisArgument(requests.count)]
        arguments.reserveCapacity(2 + requests.count * 6)
        var ids: [String] = []
        ids.reserveCapacity(requests.count)
        for request in requests {
            let envelope = envelope(for: request, now: now)
            ids.append(envelope.id)
            arguments.append(RedisArgument(envelope.id))
            arguments.append(RedisArgument(request.priority.index))
            arguments.append(RedisArgument(bytes: envelope.encodedBytes(payloadJSON: request.payloadJSON)))
            arguments.append(RedisArgument(Milliseconds.of(request.delay)))
            arguments.append(request.dedupeKey == nil ? "0" : "1")
            arguments.append(RedisArgument(max(1, Milliseconds.of(request.dedupeTTL))))
            if let dedupeKey = request.dedupeKey { keyArguments.append(RedisArgument(keys.dedupe(dedupeKey))) }
        }
        return ((scripts.enqueue, keyArguments, arguments), ids)
    }

    /// Several ``enqueueCall(_:now:)``s as one script call: the script runs once for all of them
    /// (one `EVALSHA`, one wake-up per batch rather than per call), each job still deduplicated on
    /// its own, and every call's jobs still stored together or not at all. The first call's clock
    /// is used (they were built moments apart; it only shifts delayed jobs by that much).
    /// The reply has each call's flags in order; split it by each call's job count.
    public static func mergeEnqueueCalls(_ calls: [ScriptCall]) -> ScriptCall {
        guard let first = calls.first, calls.count > 1 else { return calls[0] }
        var keys = Array(first.keys.prefix(8))
        keys.reserveCapacity(calls.reduce(8) { $0 + $1.keys.count - 8 })
        var arguments: [RedisArgument] = [first.arguments[0], "0"]
        arguments.reserveCapacity(calls.reduce(2) { $0 + $1.arguments.count - 2 })
        var count = 0
        for call in calls {
            keys += call.keys.dropFirst(8)
            arguments += call.arguments.dropFirst(2)
            count += (call.arguments.count - 2) / 6
        }
        arguments[1] = RedisArgument(count)
        return (first.script, keys, arguments)
    }

    /// Reads the reply of an ``enqueueCall(_:now:)``.
    public static func enqueueOutcomes(_ reply: RedisReply, ids: [String]) throws -> [EnqueueOutcome] {
        try enqueueOutcomes(ArraySlice(try reply.array()), ids: ids)
    }

    /// The same for one call's flags within a merged call's reply.
    static func enqueueOutcomes(_ flags: ArraySlice<RedisReply>, ids: [String]) throws -> [EnqueueOutcome] {
        guard flags.count == ids.count else { throw RedisError.unexpectedReply(expected: "\(ids.count) enqueue results", got: .array(Array(flags))) }
        var outcomes: [EnqueueOutcome] = []
        outcomes.reserveCapacity(ids.count)
        for (flag, id) in zip(flags, ids) { outcomes.append(try flag.int() == 1 ? .enqueued(id: id) : .duplicate) }
        return outcomes
    }

    /// Enqueues the requests in one atomic step (all or none).
    @discardableResult
    public func enqueue(_ requests: [JobRequest], on connection: RedisConnection, now: Date = Date()) throws -> [EnqueueOutcome] {
        guard !requests.isEmpty else { return [] }
        let (call, ids) = try enqueueCall(requests, now: now)
        return try Self.enqueueOutcomes(try connection.evaluate(call.script, keys: call.keys, arguments: call.arguments), ids: ids)
    }

    // MARK: Running

    /// The script call that leases up to `count` ready jobs.
    public func fetchCall(count: Int, tokenPrefix: String, now: Date = Date()) -> ScriptCall {
        (scripts.fetch,
         queueKeys + [RedisArgument(keys.inflight), RedisArgument(keys.jobs), RedisArgument(keys.stats)],
         [RedisArgument(Milliseconds.of(now)), RedisArgument(Milliseconds.of(settings.lease)), RedisArgument(count),
          RedisArgument(tokenPrefix), RedisArgument(settings.lowPriorityEvery)])
    }

    /// Reads the reply of a ``fetchCall(count:tokenPrefix:now:)``. An envelope that cannot be
    /// read comes back as `.failure` with its id, so the caller can dead-letter it.
    public static func leasedJobs(_ reply: RedisReply) throws -> [Result<LeasedJob, UnreadableJob>] {
        let parts = try reply.array()
        var jobs: [Result<LeasedJob, UnreadableJob>] = []
        jobs.reserveCapacity(parts.count / 3)
        var index = 0
        while index + 2 < parts.count {
            let id = try parts[index].string() ?? ""
            let token = try parts[index + 1].string() ?? ""
            let raw = try parts[index + 2].string() ?? ""
            do {
                jobs.append(.success(LeasedJob(envelope: try JobEnvelope.decode(raw), token: token)))
            } catch {
                jobs.append(.failure(UnreadableJob(id: id, token: token, raw: raw, reason: "\(error)")))
            }
            index += 3
        }
        return jobs
    }

    /// Leases up to `count` ready jobs, highest priority first.
    public func fetch(count: Int, tokenPrefix: String, on connection: RedisConnection, now: Date = Date()) throws -> [Result<LeasedJob, UnreadableJob>] {
        let call = fetchCall(count: count, tokenPrefix: tokenPrefix, now: now)
        return try Self.leasedJobs(try connection.evaluate(call.script, keys: call.keys, arguments: call.arguments))
    }

    /// The script call that acknowledges finished jobs.
    public func ackCall(_ jobs: [(id: String, token: String)]) -> ScriptCall {
        (scripts.ack,
         [RedisArgument(keys.inflight), RedisArgument(keys.jobs), RedisArgument(keys.recoveries), RedisArgument(keys.stats)],
         jobs.flatMap { [RedisArgument($0.id), RedisArgument($0.token)] })
    }

    /// Acknowledges finished jobs; per job, false when its lease was lost meanwhile.
    @discardableResult
    public func ack(_ jobs: [(id: String, token: String)], on connection: RedisConnection) throws -> [Bool] {
        guard !jobs.isEmpty else { return [] }
        let call = ackCall(jobs)
        return try connection.evaluate(call.script, keys: call.keys, arguments: call.arguments).array().map { try $0.int() == 1 }
    }

    /// Extends the leases of running jobs; per job, false when its lease is lost.
    public func renew(_ jobs: [(id: String, token: String)], on connection: RedisConnection, now: Date = Date()) throws -> [Bool] {
        guard !jobs.isEmpty else { return [] }
        let arguments = [RedisArgument(Milliseconds.of(now)), RedisArgument(Milliseconds.of(settings.lease))]
            + jobs.flatMap { [RedisArgument($0.id), RedisArgument($0.token)] }
        return try connection.evaluate(scripts.renew, keys: [RedisArgument(keys.inflight)], arguments: arguments)
            .array().map { try $0.int() == 1 }
    }

    /// Ends an attempt that did not succeed, storing `envelope` (with its new attempt count and
    /// error) as the job's state. `token` nil is for poison pills, which hold no lease. False when
    /// the lease was lost (nothing changed).
    @discardableResult
    public func end(_ envelope: JobEnvelope, token: String?, as end: AttemptEnd, on connection: RedisConnection, now: Date = Date()) throws -> Bool {
        let (action, due): (String, Date) = switch end {
        case .retry(let due): ("retry", due)
        case .reschedule(let due): ("reschedule", due)
        case .dead: ("dead", now)
        }
        let keys: [RedisArgument] = [
            RedisArgument(self.keys.inflight), RedisArgument(self.keys.jobs), RedisArgument(self.keys.delayed),
            RedisArgument(self.keys.dead), RedisArgument(self.keys.deadIndex), RedisArgument(self.keys.stats), RedisArgument(self.keys.recoveries),
            RedisArgument(self.keys.poisoned),
        ]
        let arguments: [RedisArgument] = [
            RedisArgument(Milliseconds.of(now)), RedisArgument(envelope.id), RedisArgument(token ?? ""), RedisArgument(action),
            RedisArgument(Milliseconds.of(due)), RedisArgument(envelope.encoded()), RedisArgument(settings.deadLetterMaxEntries),
            RedisArgument(Milliseconds.of(settings.deadLetterMaxAge)),
        ]
        return try connection.evaluate(scripts.fail, keys: keys, arguments: arguments).int() == 1
    }

    /// Returns leased jobs to the front of their lists without counting an attempt.
    @discardableResult
    public func handBack(_ jobs: [(id: String, token: String)], on connection: RedisConnection) throws -> Int {
        guard !jobs.isEmpty else { return 0 }
        let keys = [RedisArgument(self.keys.inflight), RedisArgument(self.keys.jobs)] + queueKeys
        return Int(try connection.evaluate(scripts.handBack, keys: keys, arguments: jobs.flatMap { [RedisArgument($0.id), RedisArgument($0.token)] }).int())
    }

    // MARK: Maintenance

    /// Moves due delayed jobs to their lists, in batches of `batch`; returns how many moved.
    public func promoteDue(on connection: RedisConnection, now: Date = Date(), batch: Int = 1000) throws -> Int {
        let keys = [RedisArgument(self.keys.delayed), RedisArgument(self.keys.jobs)] + queueKeys + [RedisArgument(self.keys.wakeup)]
        var total = 0
        while true {
            let moved = Int(try connection.evaluate(scripts.promote, keys: keys, arguments: [RedisArgument(Milliseconds.of(now)), RedisArgument(batch)]).int())
            total += moved
            if moved < batch { return total }
        }
    }

    /// Returns jobs whose lease expired to the front of their lists, and dead-letters those that
    /// expired more than ``QueueSettings/maxRecoveries`` times. Returns (requeued, dead).
    public func recoverExpired(on connection: RedisConnection, now: Date = Date(), batch: Int = 1000) throws -> (requeued: Int, dead: Int) {
        let keys = [RedisArgument(self.keys.inflight), RedisArgument(self.keys.jobs)]
            + queueKeys
            + [RedisArgument(self.keys.recoveries), RedisArgument(self.keys.poisoned), RedisArgument(self.keys.wakeup)]
        var requeued = 0
        while true {
            let reply = try connection.evaluate(
                scripts.reap, keys: keys,
                arguments: [RedisArgument(Milliseconds.of(now)), RedisArgument(batch), RedisArgument(settings.maxRecoveries)]).array()
            guard reply.count == 2 else { throw RedisError.unexpectedReply(expected: "reap counts", got: .array(reply)) }
            let (back, poisoned) = (Int(try reply[0].int()), Int(try reply[1].int()))
            requeued += back
            if back + poisoned < batch { break }
        }
        return (requeued, try buryPoisoned(on: connection, now: now))
    }

    /// Dead-letters every job in the poisoned set, adding the reason to its history. Also
    /// finishes the work of a recovery that stopped between its two steps.
    public func buryPoisoned(on connection: RedisConnection, now: Date = Date()) throws -> Int {
        var buried = 0
        for reply in try connection.command("ZRANGE", RedisArgument(keys.poisoned), 0, 999).array() {
            guard let id = try reply.string() else { continue }
            guard let raw = try connection.command("HGET", RedisArgument(keys.jobs), RedisArgument(id)).string() else {
                try connection.command("ZREM", RedisArgument(keys.poisoned), RedisArgument(id))
                continue
            }
            var envelope = try JobEnvelope.decode(raw)
            let recoveries = (try? connection.command("HGET", RedisArgument(keys.recoveries), RedisArgument(id)).int()) ?? Int64(settings.maxRecoveries + 1)
            envelope.errors.append(JobErrorRecord(
                at: now, attempt: envelope.attempt, errorClass: "lease_expired",
                message: "poison pill: its lease expired \(recoveries) times (the worker running it died or hung each time); more than the \(settings.maxRecoveries) allowed (JUNCTION_QUEUE_MAX_RECOVERIES)"))
            if try end(envelope, token: nil, as: .dead, on: connection, now: now) { buried += 1 }
        }
        return buried
    }

    // MARK: Inspection

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

    /// Dead letters, newest first, optionally of one type only.
    public func deadLetters(on connection: RedisConnection, limit: Int, type: String? = nil) throws -> [DeadLetter] {
        var letters: [DeadLetter] = []
        var offset = 0
        let page = 500
        while letters.count < limit {
            let reply = try connection.command("ZREVRANGE", RedisArgument(keys.dead), RedisArgument(offset), RedisArgument(offset + page - 1), "WITHSCORES").array()
            if reply.isEmpty { break }
            var index = 0
            while index + 1 < reply.count && letters.count < limit {
                let raw = try reply[index].string() ?? ""
                let score = try reply[index + 1].string().flatMap(Double.init) ?? 0
                if let envelope = try? JobEnvelope.decode(raw), type == nil || envelope.type == type {
                    letters.append(DeadLetter(envelope: envelope, raw: raw, diedAt: Date(timeIntervalSince1970: score / 1000)))
                }
                index += 2
            }
            offset += page
        }
        return letters
    }

    /// One dead letter by job id.
    public func deadLetter(id: String, on connection: RedisConnection) throws -> DeadLetter? {
        guard let raw = try connection.command("HGET", RedisArgument(keys.deadIndex), RedisArgument(id)).string() else { return nil }
        let score = try connection.command("ZSCORE", RedisArgument(keys.dead), RedisArgument(raw)).string().flatMap(Double.init) ?? 0
        return DeadLetter(envelope: try JobEnvelope.decode(raw), raw: raw, diedAt: Date(timeIntervalSince1970: score / 1000))
    }

    /// Puts a dead letter back on its list with attempt 1 (its error history kept). False when
    /// it is no longer in the dead letters.
    public func replay(_ letter: DeadLetter, on connection: RedisConnection) throws -> Bool {
        var envelope = letter.envelope
        envelope.attempt = 1
        let keys = [RedisArgument(self.keys.dead), RedisArgument(self.keys.deadIndex), RedisArgument(self.keys.jobs)]
            + queueKeys + [RedisArgument(self.keys.wakeup)]
        return try connection.evaluate(
            scripts.replay, keys: keys,
            arguments: [RedisArgument(envelope.id), RedisArgument(letter.raw), RedisArgument(envelope.encoded()), RedisArgument(envelope.priority.index)]
        ).int() == 1
    }

    /// Deletes dead letters that died at or before `cutoff` (all of them when nil), then the
    /// oldest beyond `keepAtMost` (when given).
    public func purgeDead(diedAtOrBefore cutoff: Date?, keepAtMost: Int? = nil, on connection: RedisConnection, batch: Int = 1000) throws -> Int {
        let limit = cutoff.map { RedisArgument(Milliseconds.of($0)) } ?? "+inf"
        var total = 0
        while true {
            let removed = Int(try connection.evaluate(
                scripts.purge, keys: [RedisArgument(keys.dead), RedisArgument(keys.deadIndex)],
                arguments: [limit, RedisArgument(batch), RedisArgument(keepAtMost ?? 0)]).int())
            total += removed
            if removed < batch { return total }
        }
    }
}

/// A script to run with its keys and arguments.
public typealias ScriptCall = (script: RedisScript, keys: [RedisArgument], arguments: [RedisArgument])

/// A leased job whose envelope could not be read (corrupted by hand, say): it is dead-lettered
/// as it is rather than retried forever.
public struct UnreadableJob: Error, Sendable {
    public let id: String
    public let token: String
    public let raw: String
    public let reason: String
}
