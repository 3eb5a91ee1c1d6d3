import Foundation

/// How a provider's OAuth 2.0 authorization-code flow works, as its documentation
/// (`shared/reference/providers.md`) describes it: what the connect flow, the token exchange and
/// the refresh (#15) follow. Each provider's lives in its folder, as its ``Provider/oauth``. The
/// URLs are the production ones; `JUNCTION_OAUTH_<ID>_AUTHORIZE_URL`, `_TOKEN_URL` and
/// `_REVOKE_URL` override them (``OAuthClients``), so the sandbox and the tests can stand in.
public struct OAuthDescription: Sendable {
    /// Where the tenant's browser is sent. `{shop}` stands for the shop's host name where the
    /// provider has one per account (Shopify).
    public let authorizeURL: String
    /// Where a code, or a refresh token, is exchanged for tokens.
    public let tokenURL: String
    /// Where tokens are revoked when a connection is deleted; nil where the provider has none
    /// (the app is uninstalled instead).
    public let revokeURL: String?
    /// Asked for unless `JUNCTION_OAUTH_<ID>_SCOPES` says otherwise.
    public let defaultScopes: [String]
    /// How the provider joins scopes in the authorize URL (a space, or Shopify's comma).
    public let scopeSeparator: String
    /// Whether the flow sends a PKCE S256 challenge (RFC 7636).
    public let pkce: Bool
    /// How the client proves itself at the token endpoint.
    public let clientAuthentication: ClientAuthentication
    /// Sent with the authorize request besides the standard ones (Google's `access_type=offline`
    /// and `prompt=consent`, Dropbox's `token_access_type=offline`, Shopify's `expiring=1`).
    public let extraAuthorizeParameters: [OAuthParameter]
    /// Sent with every token request besides the standard ones (GoHighLevel's `user_type`).
    public let extraTokenParameters: [OAuthParameter]
    /// What arrives on the callback besides `code` and `state`, and is kept as the connection's
    /// account id (QuickBooks's `realmId`, Shopify's `shop`).
    public let callbackParameters: [String]
    /// A call the exchange must make before the connection is usable (Mailchimp's metadata: the
    /// data centre and API endpoint); nil for none.
    public let afterExchange: URL?
    public let refresh: RefreshBehaviour
    /// How long an access token lives; nil when it does not expire.
    public let accessTokenLifetime: Duration?
    /// How token requests are encoded: a form (RFC 6749), or Square's JSON.
    public let tokenRequestEncoding: TokenRequestEncoding
    /// Whether the client secret goes with a PKCE exchange (false for Square, whose PKCE flow
    /// sends the verifier instead of the secret).
    public let secretWithPKCE: Bool
    /// Where the connection's account id comes from; nil where the provider gives none.
    public let accountID: AccountIDSource?
    /// How tokens are revoked at ``revokeURL``.
    public let revocation: Revocation

    public init(
        authorizeURL: String, tokenURL: String, revokeURL: String?, defaultScopes: [String], scopeSeparator: String = " ",
        pkce: Bool, clientAuthentication: ClientAuthentication, extraAuthorizeParameters: [OAuthParameter] = [],
        extraTokenParameters: [OAuthParameter] = [], callbackParameters: [String] = [], afterExchange: URL? = nil,
        refresh: RefreshBehaviour, accessTokenLifetime: Duration?, tokenRequestEncoding: TokenRequestEncoding = .form,
        secretWithPKCE: Bool = true, accountID: AccountIDSource? = nil, revocation: Revocation = .form
    ) {
        self.authorizeURL = authorizeURL
        self.tokenURL = tokenURL
        self.revokeURL = revokeURL
        self.defaultScopes = defaultScopes
        self.scopeSeparator = scopeSeparator
        self.pkce = pkce
        self.clientAuthentication = clientAuthentication
        self.extraAuthorizeParameters = extraAuthorizeParameters
        self.extraTokenParameters = extraTokenParameters
        self.callbackParameters = callbackParameters
        self.afterExchange = afterExchange
        self.refresh = refresh
        self.accessTokenLifetime = accessTokenLifetime
        self.tokenRequestEncoding = tokenRequestEncoding
        self.secretWithPKCE = secretWithPKCE
        self.accountID = accountID
        self.revocation = revocation
    }

    public enum TokenRequestEncoding: String, Sendable, Equatable {
        /// `application/x-www-form-urlencoded`.
        case form
        /// `application/json` (Square).
        case json
    }

    /// Which answer names the account a connection reaches.
    public enum AccountIDSource: Sendable, Equatable {
        /// A field of the token endpoint's answer (Stripe's `stripe_user_id`, Square's `merchant_id`).
        case tokenResponse(String)
        /// A parameter of the callback (QuickBooks's `realmId`, Shopify's `shop`).
        case callback(String)
        /// A field of the ``afterExchange`` call's answer (Mailchimp's `dc`).
        case afterExchange(String)
    }

    /// How a revoke request is made.
    public enum Revocation: String, Sendable, Equatable {
        /// RFC 7009: `token=<refresh or access token>` in a form, the client authenticated as at the
        /// token endpoint (Google, Box).
        case form
        /// `{"token": <refresh token>}` as JSON with HTTP Basic client authentication (QuickBooks).
        case jsonToken = "json_token"
        /// Square: `{"client_id", "access_token"}` as JSON with `Authorization: Client <secret>`.
        case squareClient = "square_client"
        /// Stripe Connect: `client_id` and `stripe_user_id` in a form, the platform's secret key as
        /// bearer.
        case stripeDeauthorize = "stripe_deauthorize"
        /// The access token as bearer and no body (Dropbox).
        case bearer
        /// `DELETE` of the revoke URL with `{token}` replaced by the refresh token (HubSpot).
        case deleteToken = "delete_token"
    }

    /// How a client authenticates at the token endpoint.
    public enum ClientAuthentication: String, Sendable, Equatable {
        /// `Authorization: Basic base64(client_id:client_secret)`.
        case basic
        /// `client_id` and `client_secret` in the form body.
        case form
    }

    /// What a refresh does to the refresh token: what decides whether two workers refreshing at
    /// once can break a connection (#15 refreshes under the connection's lock either way).
    public enum RefreshBehaviour: String, Sendable, Equatable {
        /// The access token does not expire; there is nothing to refresh.
        case none
        /// The same refresh token keeps working (it may come back unchanged).
        case reusable
        /// A refresh may return a new refresh token, and the old one stops working some time
        /// after: always store the newest (QuickBooks, Shopify's expiring tokens).
        case rotating
        /// Every refresh returns a new refresh token and the old one is dead at once: it must
        /// never be sent twice (Box, Keap, GoHighLevel, Square's PKCE flow).
        case singleUse = "single_use"
    }
}

/// One extra query or form parameter.
public struct OAuthParameter: Sendable, Equatable {
    public let name: String
    public let value: String

    public init(_ name: String, _ value: String) {
        self.name = name
        self.value = value
    }
}
