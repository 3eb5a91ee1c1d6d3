import HTTPTypes
import Hummingbird
import JunctionCore

/// Gives every routed request a trace id and answers it in `X-Request-Id`: the caller's own
/// `X-Request-Id` when it is acceptable (``Correlation/isAcceptable(_:)``), else the trace id of its
/// W3C `traceparent`, else (when traces are exported) the trace id of the request's span, else
/// Hummingbird's request id. The handler runs with
/// ``Correlation/traceID`` set, so its log lines carry `trace_id` and the jobs it enqueues take
/// the same id (their workers' log lines carry it too). Webhook deliveries get theirs in
/// ``WebhookChannelHandler``.
struct RequestIDMiddleware<Context: RequestContext>: RouterMiddleware {
    static var header: HTTPField.Name { HTTPField.Name("X-Request-Id")! }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let id = Self.id(for: request, context: context)
        do {
            var response = try await Correlation.$traceID.withValue(id) { try await next(request, context) }
            response.headers[Self.header] = id
            return response
        } catch let error as any HTTPResponseError {
            // Answered by Hummingbird (a 404 no route matched): the id still goes out.
            var response = try error.response(from: request, context: context)
            response.headers[Self.header] = id
            return response
        }
    }

    static func id(for request: Request, context: Context) -> String {
        if let given = request.headers[header], Correlation.isAcceptable(given) { return given }
        if let parent = request.headers[HTTPField.Name("traceparent")!], let trace = Correlation.traceID(ofTraceparent: parent) { return trace }
        // TracingMiddleware, ahead of this one, started the request's span.
        if let trace = Traces.currentTraceparent.flatMap(Correlation.traceID(ofTraceparent:)) { return trace }
        return context.id
    }
}
