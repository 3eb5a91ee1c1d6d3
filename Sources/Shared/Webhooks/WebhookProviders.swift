/// The providers whose webhooks the ingress verifies, by the name in `POST /webhooks/{provider}`.
/// Adding a provider adds its verifier in `Providers/<Provider>/` and one line here.
public enum WebhookProviders {
    public static let verifiers: [String: any WebhookVerifier] = [
        "stripe": StripeWebhookVerifier(),
        "square": SquareWebhookVerifier(),
        "mailchimp": MailchimpWebhookVerifier(),
        "mandrill": MandrillWebhookVerifier(),
        "quickbooks": QuickBooksWebhookVerifier(),
        "shopify": ShopifyWebhookVerifier(),
        "hubspot": HubSpotWebhookVerifier(),
        "twilio": TwilioWebhookVerifier(),
        "github": GitHubWebhookVerifier(),
        "slack": SlackWebhookVerifier(),
    ]
}

/// The active webhook secrets per provider, from `JUNCTION_WEBHOOK_SECRETS_<PROVIDER>`
/// (comma-separated: during a rotation both the old and the new secret are listed). A provider
/// with no secret has none here, and its deliveries are refused (fail closed); there is no default.
public struct WebhookSecrets: Sendable {
    public let byProvider: [String: [String]]

    public init(byProvider: [String: [String]]) {
        self.byProvider = byProvider
    }

    public init(environment: EnvironmentVariables) {
        var secrets: [String: [String]] = [:]
        for provider in WebhookProviders.verifiers.keys {
            let values = environment.string("JUNCTION_WEBHOOK_SECRETS_\(provider.uppercased())", default: "")
                .split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
            if !values.isEmpty { secrets[provider] = values }
        }
        byProvider = secrets
    }

    public func secrets(for provider: String) -> [String] { byProvider[provider] ?? [] }
}
