import Foundation

/// How one provider sends webhooks: how a delivery is signed, how its events are identified,
/// which handshakes it expects, and what a realistic delivery looks like. Each scheme lives in its
/// provider's folder (`Providers/<Provider>/`) and is listed by that provider's ``Provider`` value;
/// the ingress, the CLI and the tests reach it through ``Providers``, so nothing outside the folder
/// needs to know which provider does what.
///
/// ```swift
/// let scheme = Providers.webhookScheme(named: "stripe")!
/// try scheme.verify(delivery, secrets: settings.secrets.secrets(for: scheme.name), now: Date())
/// let events = try scheme.events(in: delivery)
/// ```
public protocol WebhookScheme: Sendable {
    /// The name in `POST /webhooks/{name}`: also the `provider` of the jobs its deliveries become
    /// and the suffix of `JUNCTION_WEBHOOK_SECRETS_<NAME>`.
    var name: String { get }

    /// Checks the delivery's signature over the raw request against every active secret
    /// (rotation), in constant time. Throws ``WebhookRejection/noSecretConfigured`` when `secrets`
    /// is empty: a scheme fails closed.
    func verify(_ delivery: WebhookDelivery, secrets: [WebhookSecret], now: Date) throws(WebhookRejection)

    /// The events of a verified delivery, each with its id (the dedupe key) and type.
    func events(in delivery: WebhookDelivery) throws(WebhookEventError) -> [WebhookEvent]

    /// The JSON body to answer a verified delivery with instead of enqueueing it, for deliveries
    /// that are a handshake (Slack's `url_verification`, GitHub's `ping`); nil for an event.
    func handshakeReply(to delivery: WebhookDelivery) -> String?

    /// The unsigned requests the provider makes to check a URL, answered 200 without a secret.
    var validationProbes: Set<WebhookValidationProbe> { get }

    /// True when the endpoint id in `/webhooks/{name}/{endpoint}` is itself the credential
    /// (Mailchimp signs nothing): its secrets must include it, and logs, jobs and listings show
    /// only its first four characters.
    var endpointIsSecret: Bool { get }

    /// A realistic delivery of a sample event to `url`, signed with `secret` exactly as the
    /// provider signs, with a fresh event id: how `junction webhook send` and the tests exercise
    /// the scheme end to end. Where ``endpointIsSecret``, `secret` must be the URL's last segment.
    func sample(url: String, secret: String, eventType: String?, now: Date) -> WebhookDelivery

    /// A delivery signed as the provider's documentation or SDK tests publish it (or computed
    /// independently, as its ``WebhookVector/source`` says), which ``verify(_:secrets:now:)`` must
    /// accept.
    var vector: WebhookVector { get }
}

extension WebhookScheme {
    public func handshakeReply(to delivery: WebhookDelivery) -> String? { nil }
    public var validationProbes: Set<WebhookValidationProbe> { [] }
    public var endpointIsSecret: Bool { false }

    /// The endpoint id as logs, job payloads and listings show it: whole, unless it is the
    /// credential (``endpointIsSecret``), then only its first four characters.
    public func shown(endpoint: String) -> String {
        endpointIsSecret ? String(endpoint.prefix(4)) + "…" : endpoint
    }
}

/// An unsigned request a provider sends to check that a webhook URL answers.
public enum WebhookValidationProbe: Sendable, Hashable {
    /// A `POST` with an empty body (Mailchimp, by some reports).
    case emptyPost
    /// A `GET` of `/webhooks/{name}/{endpoint}` (Mailchimp, when a callback URL is added).
    case get
    /// A `HEAD` of `/webhooks/{name}` or `/webhooks/{name}/{endpoint}` (Mandrill).
    case head
}

/// A delivery that a scheme must verify: the published test vector of `shared/reference/providers.md`.
public struct WebhookVector: Sendable {
    public var delivery: WebhookDelivery
    public var secret: String
    /// A time at which the signature is valid (inside the tolerance for timestamped schemes).
    public var validAt: Date
    /// Where the signature comes from: the provider's documentation, its SDK's tests, or an
    /// independent computation.
    public var source: String

    public init(delivery: WebhookDelivery, secret: String, validAt: Date, source: String) {
        self.delivery = delivery
        self.secret = secret
        self.validAt = validAt
        self.source = source
    }
}
