import JunctionCoordination
import JunctionCore
import JunctionQueue
import Logging
import Synchronization
import Tracing

/// Runs one job type. Handlers run on a worker processor's own thread and may block (they use
/// the processor's Redis connection and its PostgreSQL connection directly); they must be
/// idempotent, because a job can be delivered again after a crash.
///
/// ```swift
/// struct ConnectionHealthHandler: JobHandler {
///     let type = "connection.check"
///     func run(_ job: JobContext) throws {
///         try job.checkCancellation()
///         …
///     }
/// }
/// ```
public protocol JobHandler: Sendable {
    /// The job type it runs, such as `webhook.process`.
    var type: String { get }
    /// Runs one attempt. Returning means success; throwing a ``JobFailure`` says what to do next,
    /// and any other error counts as retryable unless it says otherwise (``RetryClassifiable``).
    func run(_ job: JobContext) throws

    /// The fleet-wide lock this job needs (for a sync: tenant, provider and resource), or nil.
    /// The worker takes it before ``run(_:)`` (when it is held elsewhere the job is rescheduled
    /// shortly, spending no attempt), renews it with the job's lease, stops the job if it is lost,
    /// and releases it afterwards; ``JobContext/lock`` carries its fencing token.
    func lockName(for job: JobEnvelope) -> String?
}

extension JobHandler {
    public func lockName(for job: JobEnvelope) -> String? { nil }
}

/// How a handler asks for an attempt to end, when it did not succeed.
public enum JobFailure: Error, Sendable, Equatable {
    /// Worth trying again after the policy's back-off.
    case retryable(String)
    /// Will never succeed (bad payload, 4xx): straight to the dead letters.
    case permanent(String)
    /// The provider refused the connection's credentials (401 or 403): no retry can help until
    /// the tenant authorises the connection again. Straight to the dead letters, classed
    /// ``JobErrorClass/unauthorized`` (the connection's state follows it there: #15).
    case unauthorized(String)
    /// Worth trying again no sooner than after `delay` (a provider's `Retry-After`).
    case retryAfter(Duration, String)
    /// Not this job's fault (open circuit, rate limit, lock busy): run it again after `delay`
    /// without spending an attempt.
    case reschedule(after: Duration, reason: String)
}

/// Everything a handler gets for one attempt.
public final class JobContext {
    public let envelope: JobEnvelope
    public let logger: Logger
    /// The processor's own Redis connection (this thread's; do not hand it to another).
    public let redis: RedisConnection
    /// The lock the handler asked for (``JobHandler/lockName(for:)``), held for this attempt:
    /// pass its `fence` to guarded writes (``SyncStateStore``).
    public let lock: HeldLock?
    /// The only way to call a provider (limits, breakers, classification); nil where the caller
    /// gave none (tests of handlers that call no provider).
    public let providers: ProviderClient?
    /// The queue, for a handler that enqueues follow-up jobs (``enqueue(_:)``); nil where the
    /// caller gave none.
    public let queue: Queue?
    /// The job's span's context, when traces are exported: follow-up jobs continue it.
    public let trace: ServiceContext?
    private let openDatabase: () throws -> PostgresConnection
    private let cancellation: CancellationFlag

    public init(
        envelope: JobEnvelope, logger: Logger, redis: RedisConnection, cancellation: CancellationFlag,
        database: @escaping () throws -> PostgresConnection, lock: HeldLock? = nil, providers: ProviderClient? = nil, queue: Queue? = nil,
        trace: ServiceContext? = nil
    ) {
        self.queue = queue
        self.trace = trace
        self.envelope = envelope
        self.logger = logger
        self.redis = redis
        self.cancellation = cancellation
        self.openDatabase = database
        self.lock = lock
        self.providers = providers
        providers?.isCancelled = { cancellation.isSet }
    }

    /// The processor's PostgreSQL connection, opened on first use.
    public func database() throws -> PostgresConnection { try openDatabase() }

    /// The job's payload.
    public var payload: JSONValue { envelope.payload }

    /// True once the job must stop: its lease was lost (another worker may run it now) or the
    /// worker is shutting down past its grace period. Long handlers check it between steps.
    public var isCancelled: Bool { cancellation.isSet }

    /// Enqueues follow-up jobs on this processor's Redis connection; answers each one's outcome
    /// (`.duplicate` where its dedupe key was taken). A request that names no trace id takes this
    /// job's (a backfill handed on, a sync a webhook started, all log under the id the caller
    /// saw), and its span continues this job's.
    @discardableResult
    public func enqueue(_ requests: [JobRequest]) throws -> [EnqueueOutcome] {
        guard let queue else { throw JobFailure.permanent("this worker gave \(envelope.type) no queue to enqueue on") }
        let traceparent = Traces.traceparent(of: trace)
        let continued = requests.map { request in
            var request = request
            if request.traceID == nil { request.traceID = envelope.traceID }
            if request.traceparent == nil { request.traceparent = traceparent }
            return request
        }
        return try queue.enqueue(continued, on: redis)
    }

    /// Throws ``JobCancelled`` when ``isCancelled``.
    public func checkCancellation() throws {
        if cancellation.isSet { throw JobCancelled() }
    }
}

/// Thrown by ``JobContext/checkCancellation()``; the worker neither acknowledges nor fails the job.
public struct JobCancelled: Error, Sendable {}

/// The handlers a worker knows, by job type.
public struct HandlerRegistry: Sendable {
    private var handlers: [String: any JobHandler] = [:]

    public init(_ handlers: [any JobHandler] = []) {
        for handler in handlers { register(handler) }
    }

    public mutating func register(_ handler: any JobHandler) {
        precondition(handlers[handler.type] == nil, "two handlers for job type \(handler.type)")
        handlers[handler.type] = handler
    }

    public func handler(for type: String) -> (any JobHandler)? { handlers[type] }

    public var types: [String] { handlers.keys.sorted() }

    /// The handlers every worker ships with.
    public static func standard(connections: ConnectionServices) -> HandlerRegistry {
        HandlerRegistry([
            NoopHandler(), WebhookProcessHandler(), ProviderCheckHandler(),
            OAuthExchangeHandler(connections), TokenRefreshHandler(connections), ConnectionCheckHandler(connections),
            ConnectionRevokeHandler(connections), SyncRunHandler(connections), MappingRemapHandler(), PushOutboundHandler(connections), PushRequestHandler(),
        ])
    }
}
