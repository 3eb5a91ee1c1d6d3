import JunctionCore
import JunctionProviders

/// How the ingress takes webhooks: read from `JUNCTION_WEBHOOK_*` and `JUNCTION_PUBLIC_URL`.
public struct WebhookSettings: Sendable {
    /// The base URL providers call (scheme, host, port), without a trailing slash. URL-signed
    /// schemes (Square, Mandrill, Twilio, HubSpot) sign it, so behind a proxy it must be the
    /// public one.
    public var publicURL: String
    public var maxBytes: Int
    /// How long an event id is remembered (the longest provider retry window: Stripe's 3 days).
    public var dedupeTTL: Duration
    /// Priority of each provider's jobs by event type (default critical).
    public var priorities: WebhookPriorities
    /// How often the ingress re-reads per-endpoint secrets from PostgreSQL.
    public var endpointRefresh: Duration
    public var secrets: WebhookSecrets

    public init(environment: EnvironmentVariables, ingress: IngressSettings) throws(ConfigurationError) {
        let fallback = "http://\(ingress.host):\(ingress.port)"
        publicURL = try environment.parse("JUNCTION_PUBLIC_URL", default: fallback, example: "https://hooks.example.com") { (text: String) throws(InvalidValue) in
            guard text.hasPrefix("http://") || text.hasPrefix("https://") else { throw InvalidValue("must start with https:// (or http://)") }
            return text.hasSuffix("/") ? String(text.dropLast()) : text
        }
        maxBytes = try environment.integer("JUNCTION_WEBHOOK_MAX_BYTES", default: 1 << 20, in: 1024...(64 << 20))
        dedupeTTL = try environment.duration("JUNCTION_WEBHOOK_DEDUPE_TTL", default: "72h")
        var priorities = WebhookPriorities()
        for provider in Providers.webhookSchemes.keys {
            try environment.parse(
                "JUNCTION_WEBHOOK_PRIORITY_\(provider.uppercased())", default: "critical", example: "high or invoice.*=high,*=normal"
            ) { (text: String) throws(InvalidValue) in
                try priorities.set(provider: provider, rules: text)
            }
        }
        self.priorities = priorities
        endpointRefresh = try environment.duration("JUNCTION_WEBHOOK_ENDPOINT_REFRESH", default: "5s")
        secrets = WebhookSecrets(environment: environment)
    }
}
