import JunctionCore

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
    /// What is synced from it (`<Provider>Sync.swift` in its folder); empty where nothing is yet.
    public let sync: [SyncResource]
    /// The record changes a verified webhook body carries (a Stripe event's object); none where
    /// webhooks do not drive syncs yet.
    public let syncChanges: @Sendable ([UInt8]) -> [SyncChange]

    public init(id: String, displayName: String, api: ProviderAPI, auth: Set<ProviderAuth>, webhooks: [any WebhookScheme] = [],
                oauth: OAuthDescription? = nil, sync: [SyncResource] = [], syncChanges: @escaping @Sendable ([UInt8]) -> [SyncChange] = { _ in [] }) {
        self.syncChanges = syncChanges
        self.id = id
        self.displayName = displayName
        self.api = api
        self.auth = auth
        self.webhooks = webhooks
        self.oauth = oauth
        self.sync = sync
    }

    /// The resource named `name`, if it is synced.
    public func syncResource(_ name: String) -> SyncResource? { sync.first { $0.name == name } }
}

/// A provider's REST API as its documentation publishes it.
public struct ProviderAPI: Sendable {
    /// The production base URL, without a trailing slash; `JUNCTION_PROVIDER_URL_<ID>` overrides it
    /// (the sandbox locally and in tests).
    public let baseURL: String
    /// The published per-connection (per account) limit, the default of `JUNCTION_RATE_LIMIT_<ID>`;
    /// ``RateLimit/off`` where none is published (only the 429 feedback applies then).
    public let connectionLimit: RateLimit
    /// The cheapest authenticated call, made to check an API key before its connection becomes
    /// active and to check a connection's health; nil where none is known.
    public let check: ProviderCheck?
    /// How an API key goes into `Authorization` (a token from OAuth always goes as `Bearer`).
    public let apiKeyPresentation: APIKeyPresentation

    /// Where the API lives per account, for a provider with a host per account (Mailchimp's data
    /// centres): from the connection's account id and its API key, or nil for ``baseURL``.
    public let accountBaseURL: @Sendable (_ account: String?, _ apiKey: String?) -> String?

    public init(baseURL: String, connectionLimit: RateLimit = .off, check: ProviderCheck? = nil,
                apiKeyPresentation: APIKeyPresentation = .bearer, accountBaseURL: @escaping @Sendable (String?, String?) -> String? = { _, _ in nil }) {
        self.baseURL = baseURL
        self.connectionLimit = connectionLimit
        self.check = check
        self.apiKeyPresentation = apiKeyPresentation
        self.accountBaseURL = accountBaseURL
    }

    /// The `Authorization` value for a connection's secret.
    public func authorization(_ secret: String, isAPIKey: Bool) -> String {
        guard isAPIKey else { return "Bearer \(secret)" }
        switch apiKeyPresentation {
        case .bearer: return "Bearer \(secret)"
        case .basicPassword: return "Basic " + Base64.encode(Array("junction:\(secret)".utf8))
        }
    }
}

/// How a provider takes an API key.
public enum APIKeyPresentation: String, Sendable {
    /// `Authorization: Bearer <key>` (Stripe).
    case bearer
    /// HTTP Basic with any user name and the key as password (Mailchimp).
    case basicPassword
}

/// A GET that proves a credential works and costs the provider least (Stripe's `/v1/account`,
/// Mailchimp's `/3.0/ping`).
public struct ProviderCheck: Sendable {
    /// The path under the API base URL; `{account}` stands for the connection's account id
    /// (QuickBooks's realm).
    public let path: String
    /// Headers the provider wants on every call (QuickBooks's `Accept: application/json`).
    public let headers: [(String, String)]

    public init(path: String, headers: [(String, String)] = []) {
        self.path = path
        self.headers = headers
    }

    /// The path for a connection, or nil when the path needs an account id the connection lacks.
    public func path(account: String?) -> String? {
        guard path.contains("{account}") else { return path }
        guard let account, !account.isEmpty else { return nil }
        return path.replacingOccurrences(of: "{account}", with: account)
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
