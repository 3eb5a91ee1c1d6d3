import Synchronization
import Tracing

/// Spans, when the process exports them (`JUNCTION_OTEL_ENDPOINT`: `JunctionObservability`'s
/// `TraceExport` bootstraps the tracer and turns ``isEnabled`` on). Off, nothing here starts a span
/// or reads a context, so the hot paths pay one atomic load.
///
/// A trace crosses the queue as the W3C `traceparent` of the span that enqueued the job (the job
/// envelope's `traceparent`): the worker's job span is that span's child, and the job's provider
/// calls are children of the job span. The job's `trace_id` (its log lines' id,
/// ``Correlation/traceID``) is the span's trace id whenever the ingress chose it; a caller's own
/// `X-Request-Id` stays the log id and the span carries it as `junction.request_id`.
public enum Traces {
    private static let enabled = Atomic<Bool>(false)

    /// Whether spans are exported.
    public static var isEnabled: Bool { enabled.load(ordering: .relaxed) }

    /// Called once, by the export's bootstrap, after the tracer is installed.
    public static func markEnabled() { enabled.store(true, ordering: .relaxed) }

    /// The `traceparent` of the span `context` carries, or nil when it carries none (or spans are
    /// off).
    public static func traceparent(of context: ServiceContext?) -> String? {
        guard isEnabled, let context else { return nil }
        var carrier: [String: String] = [:]
        InstrumentationSystem.instrument.inject(context, into: &carrier, using: DictionaryInjector())
        return carrier["traceparent"]
    }

    /// The `traceparent` of the current task's span (``ServiceContext/current``): a job enqueued
    /// by a routed request carries it.
    public static var currentTraceparent: String? {
        guard isEnabled else { return nil }
        return traceparent(of: ServiceContext.current)
    }

    /// A context whose parent span is the one `traceparent` names (an envelope's, a caller's);
    /// the top level when it names none.
    public static func context(continuing traceparent: String?) -> ServiceContext {
        var context = ServiceContext.topLevel
        guard let traceparent, Correlation.traceID(ofTraceparent: traceparent) != nil else { return context }
        InstrumentationSystem.instrument.extract(["traceparent": traceparent], into: &context, using: DictionaryExtractor())
        return context
    }

    /// Starts a span (nil when spans are off): for code that starts and ends spans on threads of
    /// its own (the worker's processors, the ingress's event loops), where no task-local context
    /// is inherited.
    public static func start(_ name: String, kind: SpanKind, parent: ServiceContext, attributes: [(String, String)] = []) -> (any Span)? {
        guard isEnabled else { return nil }
        let span = startSpan(name, context: parent, ofKind: kind)
        for (key, value) in attributes { span.attributes[key] = value }
        return span
    }

    /// The trace id (32 hex digits) of a span.
    public static func traceID(of span: any Span) -> String? {
        traceparent(of: span.context).flatMap(Correlation.traceID(ofTraceparent:))
    }

    struct DictionaryInjector: Injector {
        func inject(_ value: String, forKey key: String, into carrier: inout [String: String]) { carrier[key] = value }
    }

    struct DictionaryExtractor: Extractor {
        func extract(key: String, from carrier: [String: String]) -> String? { carrier[key] }
    }
}
