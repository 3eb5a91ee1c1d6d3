import Hummingbird
import JunctionProviders

/// The webhook paths' validation handshakes, which arrive as GET or HEAD and so reach the router:
/// each scheme lists the unsigned probes its provider sends (``WebhookScheme/validationProbes``:
/// Mailchimp checks a new callback URL, whose last segment is the connection's token, with a GET;
/// Mandrill with a HEAD). Deliveries themselves (`POST /webhooks/…`) never reach the router:
/// ``WebhookChannelHandler`` answers them in the channel pipeline.
struct WebhookRoutes: Sendable {
    func register(on router: Router<some RequestContext>) {
        router.get("/webhooks/:provider/:endpoint") { _, context in validation(context.parameters.get("provider"), probe: .get) }
        router.head("/webhooks/:provider") { _, context in validation(context.parameters.get("provider"), probe: .head) }
        router.head("/webhooks/:provider/:endpoint") { _, context in validation(context.parameters.get("provider"), probe: .head) }
    }

    private func validation(_ provider: String?, probe: WebhookValidationProbe) -> Response {
        guard let scheme = provider.flatMap(Providers.webhookScheme(named:)), scheme.validationProbes.contains(probe) else {
            return Problem(status: .methodNotAllowed, slug: "method-not-allowed", title: "Method not allowed",
                           detail: "webhooks are delivered with POST").response
        }
        return Response(status: .ok)
    }
}
