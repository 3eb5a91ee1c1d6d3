/// One third-party provider: everything Junction knows about it, in one value declared in the
/// provider's folder (`Providers/<Provider>/<Provider>.swift`) and listed once in ``Providers``.
///
/// Shared code asks the value, never the name: the fleet's base URLs and rate limits come from
/// ``api``, the ingress's webhook paths from ``webhooks``, the connect flow from ``oauth``. The sync
/// resources (#16) and the push operations (#18) join it the same way, as members filled in by
/// each provider's folder.
///
/// ```swift
/// extension Provider {
///     public static let hubSpot = Provider(
///         id: "hubspot", displayName: "HubSpot",
///         api: ProviderAPI(baseURL: "https://api.hubapi.com", connectionLimit: RateLimit(count: 100, period: .seconds(10), burst: 10)),
///         auth: [.oauth2], webhooks: [HubSpotWebhookScheme()])
/// }
/// ```
public struct Provider: Sendable {
    /// The name in settings (`JUNCTION_PROVIDER_URL_<ID>`), jobs and the API: lowercase letters.
    public let id: String
    public let displayName: String
    public let api: ProviderAPI
    /// How a connection to this provider authenticates its API calls.
    public let auth: Set<ProviderAuth>
    /// The webhook schemes the provider sends with: usually one, named like the provider;
    /// Mailchimp has two (Marketing, and Transactional as `mandrill`); none where Junction takes
    /// no webhooks from it.
    public let webhooks: [any WebhookScheme]
    /// How a tenant connects through OAuth 2.0, where the provider offers it (`<Provider>OAuth.swift`
    /// in its folder); nil otherwise.
    public let oauth: OAuthDescription?

    public init(id: String, displayName: String, api: ProviderAPI, auth: Set<ProviderAuth>, webhooks: [any WebhookScheme] = [],
                oauth: OAuthDescription? = nil) {
        self.id = id
        self.displayName = displayName
        self.api = api
        self.auth = auth
        self.webhooks = webhooks
        self.oauth = oauth
    }
}

/// A provider's REST API as its documentation publishes it.
public struct ProviderAPI: Sendable {
    /// The production base URL, without a trailing slash; `JUNCTION_PROVIDER_URL_<ID>` overrides it
    /// (the sandbox locally and in tests).
    public let baseURL: String
    /// The published per-connection (per account) limit, the default of `JUNCTION_RATE_LIMIT_<ID>`;
    /// ``RateLimit/off`` where none is published (only the 429 feedback applies then).
    public let connectionLimit: RateLimit

    public init(baseURL: String, connectionLimit: RateLimit = .off) {
        self.baseURL = baseURL
        self.connectionLimit = connectionLimit
    }
}

/// How API calls to a provider are authenticated.
public enum ProviderAuth: String, Sendable, Hashable, CaseIterable {
    /// An OAuth 2.0 access token from the connect flow.
    case oauth2
    /// A key the tenant pastes (Stripe's secret key, Mailchimp's API key).
    case apiKey = "api_key"
    /// HTTP Basic with an account id and a token (Twilio).
    case basic
}
