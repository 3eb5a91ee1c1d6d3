import Foundation
import Hummingbird
import JunctionShared
import Logging

/// `POST /webhooks/{provider}` and `POST /webhooks/{provider}/{endpoint}`: verify the provider's
/// signature over the raw body, split the delivery into events, and enqueue one `webhook.process`
/// job per event with the dedupe key `webhook:<provider>:<event id>` in one atomic Redis call.
/// The answer is 2xx only once Redis has the jobs; when Redis cannot take them, 503 with
/// `Retry-After`, so the provider retries. Nothing else (PostgreSQL, providers) is on this path:
/// per-endpoint secrets come from ``WebhookEndpointCache``, refreshed in the background. An
/// endpoint id with no stored secrets verifies against the provider's
/// `JUNCTION_WEBHOOK_SECRETS_<PROVIDER>` set.
struct WebhookRoutes: Sendable {
    let settings: WebhookSettings
    let endpoints: WebhookEndpointCache
    let jobs: JobQueue
    let logger: Logger

    func register(on router: Router<some RequestContext>) {
        router.post("/webhooks/:provider") { request, context in
            await handle(request, provider: context.parameters.get("provider") ?? "", endpoint: nil)
        }
        router.post("/webhooks/:provider/:endpoint") { request, context in
            await handle(request, provider: context.parameters.get("provider") ?? "", endpoint: context.parameters.get("endpoint"))
        }
        // Validation handshakes: Mailchimp checks a new callback URL (whose last segment is the
        // connection's token) with a GET, Mandrill with a HEAD. (Registered on the parameterised
        // paths: a constant "mailchimp" segment would shadow the POST route.)
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

    func handle(_ request: Request, provider: String, endpoint: String?) async -> Response {
        guard let verifier = WebhookProviders.verifiers[provider] else {
            return Problem(status: .notFound, slug: "unknown-provider", title: "Unknown provider",
                           detail: "no webhook provider is named \(provider)").response
        }
        var body = ByteBuffer()
        do {
            // Counted here rather than by collect(upTo:), so that only the size limit is a 413 and
            // a client that breaks off mid-body gets a 400.
            for try await chunk in request.body {
                guard body.readableBytes + chunk.readableBytes <= settings.maxBytes else {
                    return Problem(status: .contentTooLarge, slug: "body-too-large", title: "Body too large",
                                   detail: "webhook bodies are limited to \(settings.maxBytes) bytes").response
                }
                body.writeImmutableBuffer(chunk)
            }
        } catch {
            return Problem(status: .badRequest, slug: "unreadable-body", title: "Body could not be read", detail: "\(error)").response
        }
        let contentType = request.headers[.contentType]?.lowercased() ?? ""
        // Mailchimp validates a new callback URL with an empty POST.
        if provider == "mailchimp" && body.readableBytes == 0 { return Response(status: .ok) }
        guard contentType.hasPrefix("application/json") || contentType.hasPrefix("application/x-www-form-urlencoded")
            || contentType.hasPrefix("application/cloudevents") else {
            return Problem(status: .unsupportedMediaType, slug: "unsupported-media-type", title: "Unsupported media type",
                           detail: "webhooks are accepted as application/json or application/x-www-form-urlencoded, not \(contentType.isEmpty ? "no Content-Type" : contentType)").response
        }
        var headers: [String: String] = [:]
        for field in request.headers { headers[field.name.canonicalName] = field.value }
        let query = request.uri.query.map { "?\($0)" } ?? ""
        let delivery = WebhookDelivery(method: "POST", url: settings.publicURL + request.uri.path + query, headers: headers, body: Array(buffer: body))
        let secrets: [String]
        switch endpoint.map({ endpoints.lookup(provider: provider, endpoint: $0) }) ?? .unregistered {
        case .secrets(let own): secrets = own
        case .unregistered: secrets = settings.secrets.secrets(for: provider)
        case .disabled:
            return Problem(status: .notFound, slug: "endpoint-disabled", title: "Endpoint disabled",
                           detail: "this webhook endpoint is disabled").response
        case .notLoaded, .unreadable:
            // Not the provider's fault: answer so that it retries.
            logger.error("webhook endpoint secrets unavailable; answering 503", metadata: ["provider": .string(provider), "endpoint": .string(endpoint ?? "")])
            return Problem(status: .serviceUnavailable, slug: "endpoint-unavailable", title: "Try again later",
                           detail: "this endpoint's configuration cannot be read right now; retry the delivery", headers: [.retryAfter: "5"]).response
        }
        do {
            try verifier.verify(delivery, secrets: secrets, now: Date())
        } catch {
            logger.warning("webhook refused", metadata: ["provider": .string(provider), "reason": .string(error.description)])
            return rejection(error)
        }
        let events: [WebhookEvent]
        do {
            events = try WebhookEvents.extract(provider: provider, from: delivery)
        } catch {
            // Slack's url_verification carries no event id: it is answered here, not enqueued.
            if let challenge = slackChallenge(provider: provider, delivery: delivery) { return challenge }
            return Problem(status: .badRequest, slug: "no-event-id", title: "Event not identifiable", detail: error.description).response
        }
        if provider == "github" && delivery.header("X-GitHub-Event") == "ping" {
            return Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(string: #"{"pong":true}"#)))
        }
        let requests = events.map { event in
            JobRequest(
                type: "webhook.process", payload: payload(provider: provider, endpoint: endpoint, event: event, contentType: contentType, headers: delivery.headers),
                priority: settings.priorities.priority(provider: provider, eventType: event.eventType), dedupeKey: "webhook:\(provider):\(event.eventID)", dedupeTTL: settings.dedupeTTL)
        }
        let outcomes: [EnqueueOutcome]
        do {
            outcomes = try await jobs.enqueue(requests)
        } catch {
            logger.error("cannot enqueue a verified webhook; answering 503 so the provider retries", metadata: [
                "provider": .string(provider), "error": .string("\(error)"),
            ])
            return Problem(status: .serviceUnavailable, slug: "queue-unavailable", title: "Try again later",
                           detail: "the event could not be stored; retry the delivery", headers: [.retryAfter: "5"]).response
        }
        let fresh = outcomes.filter { $0 != .duplicate }.count
        var fields: HTTPFields = [.contentType: "application/json"]
        if fresh == 0 { fields[.init("X-Junction-Duplicate")!] = "true" }
        return Response(status: .ok, headers: fields, body: .init(byteBuffer: ByteBuffer(string: #"{"received":\#(events.count),"enqueued":\#(fresh)}"#)))
    }

    /// Slack's `url_verification` (after the signature was verified): echo the challenge.
    private func slackChallenge(provider: String, delivery: WebhookDelivery) -> Response? {
        guard provider == "slack", let json = try? JSONValue(parsing: delivery.body), json["type"]?.stringValue == "url_verification",
              let challenge = json["challenge"]?.stringValue else { return nil }
        return Response(status: .ok, headers: [.contentType: "application/json"],
                        body: .init(byteBuffer: ByteBuffer(string: #"{"challenge":\#(JSONText.string(challenge))}"#)))
    }

    private func rejection(_ error: WebhookRejection) -> Response {
        switch error {
        case .missingHeader, .malformedHeader:
            Problem(status: .badRequest, slug: "bad-signature-header", title: "Signature header missing or malformed", detail: error.description).response
        case .invalidSignature:
            Problem(status: .unauthorized, slug: "invalid-signature", title: "Invalid signature", detail: error.description).response
        case .staleTimestamp:
            Problem(status: .unauthorized, slug: "stale-timestamp", title: "Timestamp outside the tolerance", detail: error.description).response
        case .noSecretConfigured:
            Problem(status: .unauthorized, slug: "not-configured", title: "Webhook not configured", detail: error.description).response
        }
    }

    /// The job payload `webhook.process` reads; headers that carry signatures or credentials are
    /// left out.
    private func payload(provider: String, endpoint: String?, event: WebhookEvent, contentType: String, headers: [String: String]) -> JSONValue {
        var kept: [String: JSONValue] = [:]
        for (name, value) in headers where !JSONLogHandler.isSensitive(name) && !name.contains("hmac") {
            kept[name] = .string(value)
        }
        return [
            "provider": .string(provider), "event_id": .string(event.eventID), "event_type": event.eventType.map(JSONValue.string) ?? .null,
            "endpoint": endpoint.map(JSONValue.string) ?? .null, "content_type": .string(contentType),
            "body_base64": .string(Data(event.body).base64EncodedString()), "headers": .object(kept),
            "received_at": .string(Timestamp.format(Date())),
        ]
    }
}
