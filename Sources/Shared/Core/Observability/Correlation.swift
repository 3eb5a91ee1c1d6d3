import Logging

/// The trace id of the request or job being handled, for the task handling it: the ingress sets
/// it for each routed request (its `X-Request-Id`, or the trace id of its W3C `traceparent`, or a
/// new one), every log line written in that task carries it as `trace_id`, and a job enqueued
/// there takes it as its own trace id, so the job's log lines (the worker adds `trace_id` to
/// each) and its provider calls can be found by the id the caller saw in its answer.
public enum Correlation {
    @TaskLocal public static var traceID: String?

    /// Adds `trace_id` to every log line written where ``traceID`` is set.
    public static let metadataProvider = Logger.MetadataProvider {
        guard let traceID = Correlation.traceID else { return [:] }
        return ["trace_id": .string(traceID)]
    }

    /// An id a caller may choose for its request (`X-Request-Id`): 1 to 128 characters of letters,
    /// digits and `-._:`; anything else is replaced, so a log line cannot be forged through it.
    public static func isAcceptable(_ id: String) -> Bool {
        (1...128).contains(id.utf8.count) && id.utf8.allSatisfy { byte in
            (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A)
                || byte == 0x2D || byte == 0x2E || byte == 0x5F || byte == 0x3A
        }
    }

    /// The trace id of a W3C `traceparent` (`00-<32 hex>-<16 hex>-<2 hex>`), when it is one and
    /// not all zeros.
    public static func traceID(ofTraceparent header: String) -> String? {
        let parts = header.split(separator: "-", omittingEmptySubsequences: false)
        guard parts.count == 4, parts[0].count == 2, parts[0] != "ff", parts[1].count == 32, parts[2].count == 16, parts[3].count == 2 else { return nil }
        let hex = { (part: Substring) in part.utf8.allSatisfy { ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x61 && $0 <= 0x66) } }
        guard parts.allSatisfy(hex), parts[1].contains(where: { $0 != "0" }), parts[2].contains(where: { $0 != "0" }) else { return nil }
        return String(parts[1])
    }
}
