import Foundation
import HTTPTypes
import JunctionCore
import JunctionProviders
import JunctionQueue
import Logging

/// An answer to a webhook request, independent of the server code that writes it.
struct WebhookAnswer: Sendable {
    var status: HTTPResponse.Status
    /// `Content-Type`, when there is a body.
    var contentType: String?
    /// Any other header fields (`Retry-After`, `X-Junction-Duplicate`): usually none, and then
    /// nothing is allocated for them.
    var headers: [(name: String, value: String)] = []
    var body: String
    /// The problem's slug when this answer refuses the delivery: the `reason` of the
    /// `junction_webhooks_total` metric.
    var reason: String? = nil

    static func json(_ body: String, headers: [(name: String, value: String)] = []) -> WebhookAnswer {
        WebhookAnswer(status: .ok, contentType: "application/json", headers: headers, body: body)
    }

    static let empty = WebhookAnswer(status: .ok, contentType: nil, body: "")

    /// The fields as HTTP types (for a routed answer).
    var fields: HTTPFields {
        var fields = HTTPFields()
        if let contentType { fields[.contentType] = contentType }
        for (name, value) in headers { fields.append(HTTPField(name: HTTPField.Name(name)!, value: value)) }
        return fields
    }
}

/// A webhook request as read off the wire: the route's parameters, the raw path and query the
/// provider signed, header fields with lowercased names, and the raw body.
struct WebhookRequest: Sendable {
    var scheme: any WebhookScheme
    var endpoint: String?
    /// The request target's path and query, exactly as sent (`/webhooks/stripe?x=1`).
    var target: String
    var headers: [String: String]
    var body: [UInt8]
    /// The delivery's trace id: answered in `X-Request-Id`, carried by its jobs and log lines.
    var traceID: String = Identifiers.traceID()
    /// The `traceparent` of the delivery's span, when traces are exported: its jobs' spans
    /// continue it.
    var traceparent: String? = nil

    /// The scheme's name, as jobs, dedupe keys and logs carry it.
    var provider: String { scheme.name }
}

/// What to do with a webhook request once its body is read: answer now, or store the jobs and
/// answer once Redis has them (``WebhookIntake/stored(_:request:events:)``).
enum WebhookStep: Sendable {
    case answer(WebhookAnswer)
    case store([JobRequest], events: Int)
}

/// The webhook path's decisions, shared by whatever server code carries the bytes
/// (``WebhookChannelHandler``): verify the provider's signature over the raw body, split the
/// delivery into events, and build one `webhook.process` job per event with the dedupe key
/// `webhook:<provider>:<event id>`. Everything here is CPU work on memory: per-endpoint secrets
/// come from ``WebhookEndpointCache``, refreshed in the background, so nothing on this path waits
/// on PostgreSQL. An endpoint id with no stored secrets verifies against the provider's
/// `JUNCTION_WEBHOOK_SECRETS_<PROVIDER>` set.
struct WebhookIntake: Sendable {
    let settings: WebhookSettings
    let endpoints: WebhookEndpointCache
    let logger: Logger

    /// The scheme behind `/webhooks/{name}`, or the 404 to answer before reading the body.
    func scheme(named name: String) -> Result<any WebhookScheme, Problem> {
        guard let scheme = Providers.webhookScheme(named: name) else {
            return .failure(Problem(status: .notFound, slug: "unknown-provider", title: "Unknown provider",
                                    detail: "no webhook provider is named \(name)"))
        }
        return .success(scheme)
    }

    /// The 413 for a body over `JUNCTION_WEBHOOK_MAX_BYTES`.
    var tooLarge: Problem {
        Problem(status: .contentTooLarge, slug: "body-too-large", title: "Body too large",
                detail: "webhook bodies are limited to \(settings.maxBytes) bytes")
    }

    /// Decides on a fully read request.
    func accept(_ request: WebhookRequest, now: Date = Date()) -> WebhookStep {
        let provider = request.provider
        let scheme = request.scheme
        let contentType = request.headers["content-type"]?.lowercased() ?? ""
        // A provider that validates a new callback URL with an empty POST (Mailchimp).
        if request.body.isEmpty && scheme.validationProbes.contains(.emptyPost) { return .answer(.empty) }
        guard contentType.hasPrefix("application/json") || contentType.hasPrefix("application/x-www-form-urlencoded")
            || contentType.hasPrefix("application/cloudevents") else {
            return .answer(Problem(status: .unsupportedMediaType, slug: "unsupported-media-type", title: "Unsupported media type",
                                   detail: "webhooks are accepted as application/json or application/x-www-form-urlencoded, not \(contentType.isEmpty ? "no Content-Type" : contentType)").answer)
        }
        let delivery = WebhookDelivery(method: "POST", url: settings.publicURL + request.target, lowercasedHeaders: request.headers, body: request.body)
        let secrets: [WebhookSecret]
        var owner: WebhookEndpointCache.RegisteredEndpoint?
        switch request.endpoint.map({ endpoints.lookup(provider: provider, endpoint: $0) }) ?? .unregistered {
        case .registered(let registered):
            secrets = registered.secrets
            owner = registered
        case .unregistered: secrets = settings.secrets.secrets(for: provider)
        case .disabled:
            return .answer(Problem(status: .notFound, slug: "endpoint-disabled", title: "Endpoint disabled",
                                   detail: "this webhook endpoint is disabled").answer)
        case .notLoaded, .unreadable:
            // Not the provider's fault: answer so that it retries.
            logger.error("webhook endpoint secrets unavailable; answering 503", metadata: [
                "provider": .string(provider), "endpoint": .string(scheme.shown(endpoint: request.endpoint ?? "")),
            ])
            return .answer(Problem(status: .serviceUnavailable, slug: "endpoint-unavailable", title: "Try again later",
                                   detail: "this endpoint's configuration cannot be read right now; retry the delivery", headers: [.retryAfter: "5"]).answer)
        }
        do {
            try scheme.verify(delivery, secrets: secrets, now: now)
        } catch {
            logger.warning("webhook refused", metadata: ["provider": .string(provider), "reason": .string(error.description), "trace_id": .string(request.traceID)])
            return .answer(rejection(error).answer)
        }
        // A signed handshake (Slack's url_verification, GitHub's ping) is answered, not enqueued.
        if let reply = scheme.handshakeReply(to: delivery) { return .answer(.json(reply)) }
        let events: [WebhookEvent]
        do {
            events = try scheme.events(in: delivery)
        } catch {
            return .answer(Problem(status: .badRequest, slug: "no-event-id", title: "Event not identifiable", detail: error.description).answer)
        }
        let receivedAt = Timestamp.format(now)
        let headers = keptHeaders(request.headers)
        let jobs = events.map { event in
            var job = JobRequest(
                type: "webhook.process", priority: settings.priorities.priority(provider: provider, eventType: event.eventType),
                tenant: owner?.tenant, provider: provider, connection: owner?.connection.map { $0.uuidString.lowercased() },
                dedupeKey: "webhook:\(provider):\(event.eventID)", dedupeTTL: settings.dedupeTTL, traceID: request.traceID,
                traceparent: request.traceparent)
            job.payloadJSON = payload(request, event: event, owner: owner, contentType: contentType, headers: headers, receivedAt: receivedAt)
            return job
        }
        return .store(jobs, events: events.count)
    }

    /// The answer once Redis has answered the enqueue: 200 (with `X-Junction-Duplicate: true`
    /// when every event was already known), or 503 with `Retry-After` so the provider retries.
    func stored(_ result: Result<[EnqueueOutcome], any Error>, request: WebhookRequest, events: Int) -> WebhookAnswer {
        switch result {
        case .success(let outcomes):
            let fresh = outcomes.count { $0 != .duplicate }
            return .json(Self.receipt(events: events, enqueued: fresh), headers: fresh == 0 ? [(Self.duplicateHeader, "true")] : [])
        case .failure(let error):
            logger.error("cannot enqueue a verified webhook; answering 503 so the provider retries", metadata: [
                "provider": .string(request.provider), "error": .string("\(error)"), "trace_id": .string(request.traceID),
            ])
            return Problem(status: .serviceUnavailable, slug: "queue-unavailable", title: "Try again later",
                           detail: "the event could not be stored; retry the delivery", headers: [.retryAfter: "5"]).answer
        }
    }

    static let duplicateHeader = "X-Junction-Duplicate"

    /// The 200's body. The common one-event answers are made once.
    static func receipt(events: Int, enqueued: Int) -> String {
        switch (events, enqueued) {
        case (1, 1): oneEnqueued
        case (1, 0): oneDuplicate
        default: #"{"received":\#(events),"enqueued":\#(enqueued)}"#
        }
    }

    private static let oneEnqueued = #"{"received":1,"enqueued":1}"#
    private static let oneDuplicate = #"{"received":1,"enqueued":0}"#

    private func rejection(_ error: WebhookRejection) -> Problem {
        switch error {
        case .missingHeader, .malformedHeader:
            Problem(status: .badRequest, slug: "bad-signature-header", title: "Signature header missing or malformed", detail: error.description)
        case .invalidSignature:
            Problem(status: .unauthorized, slug: "invalid-signature", title: "Invalid signature", detail: error.description)
        case .staleTimestamp:
            Problem(status: .unauthorized, slug: "stale-timestamp", title: "Timestamp outside the tolerance", detail: error.description)
        case .noSecretConfigured:
            Problem(status: .unauthorized, slug: "not-configured", title: "Webhook not configured", detail: error.description)
        }
    }

    /// The headers a job keeps, as JSON members sorted by name: every one but those that carry
    /// signatures or credentials.
    private func keptHeaders(_ headers: [String: String]) -> [UInt8] {
        var members = JSONBytes(capacity: headers.reduce(0) { $0 + $1.key.utf8.count + $1.value.utf8.count + 8 })
        var first = true
        for (name, value) in headers.sorted(by: { $0.key < $1.key }) where !Self.carriesCredential(name) {
            if !first { members.raw(",") }
            first = false
            members.string(name)
            members.raw(":")
            members.string(value)
        }
        return members.bytes
    }

    /// True for header names that must not be stored: credentials by the log redaction's rules,
    /// and HMAC signatures (`X-Shopify-Hmac-Sha256`).
    static func carriesCredential(_ name: String) -> Bool {
        var name = name
        return name.withUTF8 { bytes in
            JSONLogHandler.isSensitive(bytes) || JSONLogHandler.containsIgnoringASCIICase(bytes, hmacWord)
        }
    }

    private static let hmacWord = Array("hmac".utf8)

    /// The job payload `webhook.process` reads, written straight into JSON bytes with its keys in
    /// order (as ``JSONValue/serialized`` would write it): `body_base64`, `connection` (a
    /// registered endpoint's), `content_type`, `endpoint` (as ``WebhookScheme/shown(endpoint:)``
    /// shows it: never a Mailchimp URL token), `event_id`, `event_type`, `headers`, `provider`,
    /// `received_at`, `tenant` (a registered endpoint's).
    private func payload(_ request: WebhookRequest, event: WebhookEvent, owner: WebhookEndpointCache.RegisteredEndpoint?,
                         contentType: String, headers: [UInt8], receivedAt: String) -> [UInt8] {
        var out = JSONBytes(capacity: Base64.encodedLength(event.body.count) + headers.count + 320)
        out.raw(#"{"body_base64":"#)
        out.base64String(event.body)
        out.raw(",")
        if let connection = owner?.connection {
            out.raw(#""connection":"#)
            out.string(connection.uuidString.lowercased())
            out.raw(",")
        }
        out.raw(#""content_type":"#)
        out.string(contentType)
        out.raw(#","endpoint":"#)
        out.string(request.endpoint.map { request.scheme.shown(endpoint: $0) })
        out.raw(#","event_id":"#)
        out.string(event.eventID)
        out.raw(#","event_type":"#)
        out.string(event.eventType)
        out.raw(#","headers":{"#)
        out.raw(headers)
        out.raw(#"},"provider":"#)
        out.string(request.provider)
        out.raw(#","received_at":"#)
        out.string(receivedAt)
        if let tenant = owner?.tenant {
            out.raw(#","tenant":"#)
            out.string(tenant)
        }
        out.raw("}")
        return out.bytes
    }
}
