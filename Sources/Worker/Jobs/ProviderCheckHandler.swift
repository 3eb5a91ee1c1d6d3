import JunctionCore
import JunctionProviders

/// `provider.check`: one GET to a provider through ``ProviderClient`` (limits, breakers), so ops
/// can see whether a provider answers from the workers, and watch breakers and limits react.
///
/// Payload: `provider` (required), `connection` (optional: count against that connection's
/// limits and breaker), `path` (default `/`). Succeeds on any answer below 500; a 5xx or a
/// transport error is retried; an open circuit or a rate limit reschedules it.
public struct ProviderCheckHandler: JobHandler {
    public let type = "provider.check"

    public init() {}

    public func run(_ job: JobContext) throws {
        guard let provider = job.payload["provider"]?.stringValue, Providers.named(provider) != nil else {
            throw JobFailure.permanent("provider.check needs a known provider; one of \(Providers.ids.joined(separator: ", "))")
        }
        guard let client = job.providers else { throw JobFailure.permanent("this worker has no provider client") }
        let path = job.payload["path"]?.stringValue ?? "/"
        let response = try client.send(OutboundRequest(url: client.url(provider: provider, path: path)), provider: provider,
                                       connection: job.payload["connection"]?.stringValue)
        guard response.status < 500 else { throw JobFailure.retryable("\(provider) answered \(response.status)") }
        job.logger.info("provider answered", metadata: ["provider": .string(provider), "status": .stringConvertible(response.status)])
    }
}
