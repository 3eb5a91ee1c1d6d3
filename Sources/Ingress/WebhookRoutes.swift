import Hummingbird

/// The webhook paths' validation handshakes, which arrive as GET or HEAD and so reach the router:
/// Mailchimp checks a new callback URL (whose last segment is the connection's token) with a GET,
/// Mandrill with a HEAD. Deliveries themselves (`POST /webhooks/…`) never reach the router:
/// ``WebhookChannelHandler`` answers them in the channel pipeline.
/// (Registered on the parameterised paths: a constant "mailchimp" segment would shadow others.)
struct WebhookRoutes: Sendable {
    func register(on router: Router<some RequestContext>) {
        router.get("/webhooks/:provider/:endpoint") { _, context in
            validation(context.parameters.get("provider"), accepted: "mailchimp")
        }
        router.head("/webhooks/:provider") { _, context in validation(context.parameters.get("provider"), accepted: "mandrill") }
        router.head("/webhooks/:provider/:endpoint") { _, context in validation(context.parameters.get("provider"), accepted: "mandrill") }
    }

    private func validation(_ provider: String?, accepted: String) -> Response {
        guard provider == accepted else {
            return Problem(status: .methodNotAllowed, slug: "method-not-allowed", title: "Method not allowed",
                           detail: "webhooks are delivered with POST").response
        }
        return Response(status: .ok)
    }
}
