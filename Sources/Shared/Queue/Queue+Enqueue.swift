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
    /// Carries a caller's trace id into the job (by default the one of the request being handled,
    /// ``Correlation/traceID``); a new one is made otherwise.
    public var traceID: String?
    /// The W3C `traceparent` of the span enqueuing the job (by default the current task's, when
    /// spans are exported: ``Traces/currentTraceparent``), so the job's span continues its trace.
    public var traceparent: String?
    /// The payload as compact JSON (UTF-8) the caller wrote itself (one object), stored as
    /// given instead of `payload`: for hot paths that can write their payload more cheaply than
    /// build a ``JSONValue`` (the ingress, for every webhook, with ``JSONBytes``).
    public var payloadJSON: [UInt8]?

    public init(
        type: String, payload: JSONValue = .object([:]), priority: JobPriority = .normal, tenant: String? = nil,
        provider: String? = nil, connection: String? = nil, dedupeKey: String? = nil, dedupeTTL: Duration = .seconds(72 * 3600),
        delay: Duration = .zero, maxAttempts: Int? = nil, traceID: String? = Correlation.traceID,
        traceparent: String? = Traces.currentTraceparent
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
        self.traceparent = traceparent
    }
}

/// What became of one enqueued request.
public enum EnqueueOutcome: Sendable, Equatable {
    case enqueued(id: String)
    /// A job with the same dedupe key was enqueued within its TTL; nothing was added.
    case duplicate
}

extension Queue {
    /// The envelope a request becomes.
    public func envelope(for request: JobRequest, now: Date = Date()) -> JobEnvelope {
        JobEnvelope(
            id: Identifiers.uuid(), type: request.type, priority: request.priority, tenant: request.tenant,
            provider: request.provider, connection: request.connection, payload: request.payload,
            maxAttempts: request.maxAttempts ?? settings.retryPolicy(type: request.type, priority: request.priority).maxAttempts,
            enqueuedAt: now, traceID: request.traceID ?? Identifiers.traceID(), traceparent: request.traceparent, dedupeKey: request.dedupeKey)
    }

    /// The script call that enqueues `requests` atomically (for callers that pipeline it with
    /// other work), and the ids the envelopes got.
    public func enqueueCall(_ requests: [JobRequest], now: Date = Date()) -> (call: ScriptCall, ids: [String]) {
        var jobs: [EnqueueScript.Job] = []
        jobs.reserveCapacity(requests.count)
        for request in requests {
            let envelope = envelope(for: request, now: now)
            jobs.append(EnqueueScript.Job(
                id: envelope.id, priority: request.priority, envelope: envelope.encodedBytes(payloadJSON: request.payloadJSON),
                delay: request.delay, dedupeKey: request.dedupeKey, dedupeTTL: request.dedupeTTL))
        }
        return (enqueueScript.call(jobs, now: now), jobs.map(\.id))
    }

    /// Several ``enqueueCall(_:now:)``s as one script call: one `EVALSHA` and one wake-up per
    /// batch rather than per call, each job still deduplicated on its own, and every call's jobs
    /// still stored together or not at all. The reply has each call's flags in order; split it by
    /// each call's job count (``enqueueOutcomes(_:ids:)``).
    public static func mergeEnqueueCalls(_ calls: [ScriptCall]) -> ScriptCall { EnqueueScript.merge(calls) }

    /// Reads the reply of an ``enqueueCall(_:now:)``.
    public static func enqueueOutcomes(_ reply: RedisReply, ids: [String]) throws -> [EnqueueOutcome] {
        try EnqueueScript.outcomes(ArraySlice(try reply.array()), ids: ids)
    }

    /// Splits the reply of a merged call (``mergeEnqueueCalls(_:)``) into each call's outcomes, in
    /// the calls' order; `ids` holds each call's job ids. A failed reply fails every call.
    public static func enqueueOutcomes(merged reply: Result<RedisReply, any Error>, ids: [[String]]) -> [Result<[EnqueueOutcome], any Error>] {
        let flags = reply.flatMap { reply in Result { try reply.array() } }
        var offset = 0
        return ids.map { ids in
            let range = offset..<(offset + ids.count)
            offset = range.upperBound
            return flags.flatMap { flags in
                Result {
                    guard flags.count >= range.upperBound else {
                        throw RedisError.unexpectedReply(expected: "\(range.upperBound) enqueue results", got: .array(flags))
                    }
                    return try EnqueueScript.outcomes(flags[range], ids: ids)
                }
            }
        }
    }

    /// Enqueues the requests in one atomic step (all or none).
    @discardableResult
    public func enqueue(_ requests: [JobRequest], on connection: RedisConnection, now: Date = Date()) throws -> [EnqueueOutcome] {
        guard !requests.isEmpty else { return [] }
        let (call, ids) = enqueueCall(requests, now: now)
        return try Self.enqueueOutcomes(try connection.evaluate(call), ids: ids)
    }
}
