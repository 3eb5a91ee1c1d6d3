import Crypto
import Foundation
import Hummingbird
import JunctionCore
import JunctionProviders

/// Codes and tokens the generic OAuth mode issued, by provider id.
struct GenericOAuthState: Sendable {
    struct Code: Sendable {
        var provider: String
        var redirectURI: String
        var challenge: String?
        /// The authorize request asked for offline access as the provider wants it (Google's
        /// `access_type=offline`, Dropbox's `token_access_type=offline`, …): a refresh token follows.
        var offline: Bool
        var expires: Date
    }

    /// Every token belongs to the grant its code started: revoking any token revokes the grant
    /// (RFC 7009 §2.1; Dropbox and Google say the same of theirs).
    struct Token: Sendable {
        var provider: String
        var grant: String
        var expires: Date?
    }

    var codes: [String: Code] = [:]
    var access: [String: Token] = [:]
    var refresh: [String: Token] = [:]

    mutating func revokeGrant(of token: String, provider: String) {
        guard let grant = (access[token] ?? refresh[token]).flatMap({ $0.provider == provider ? $0.grant : nil }) else { return }
        access = access.filter { $0.value.grant != grant }
        refresh = refresh.filter { $0.value.grant != grant }
    }
}

/// OAuth 2.0 for every provider the sandbox has no API for (Google, HubSpot, GoHighLevel,
/// Dropbox, Box, Shopify, Keap), played from the same descriptions Junction connects with
/// (`Providers/<Provider>/<Provider>OAuth.swift`), on each provider's own paths under
/// `/<provider>` (`GET /google/o/oauth2/v2/auth`, `POST /google/token`; `GET /_sandbox/oauth`
/// lists them all):
///
/// - authorize checks the client id and redirect URI, takes a PKCE S256 challenge, auto-approves
///   and redirects with `code` and `state` (and the account the flow names: Shopify's `shop`);
///   without the provider's offline parameters (Google's `access_type=offline`, …) no refresh
///   token is issued, as the real ones do;
/// - token authenticates the client the provider's way (HTTP Basic or the form), requires the
///   provider's extra parameters (GoHighLevel's `user_type`), checks the PKCE verifier, and
///   refreshes by the provider's rule: `reusable` keeps the refresh token (and omits it from the
///   answer, as Google does), `rotating` issues a new one and the old keeps working,
///   `single_use` issues a new one and the old is dead at once; access tokens live as long as the
///   provider's do;
/// - revoke works the provider's way (an RFC 7009 form, a bearer token, HubSpot's DELETE) and
///   revokes the whole grant: every access and refresh token the same code led to.
enum GenericOAuthAPI {
    /// The providers played here: those with an OAuth description and no API of their own in the sandbox.
    static let providers: [Provider] = Providers.all.filter { $0.oauth != nil && SandboxProvider(rawValue: $0.id) == nil }

    /// `/<provider>` followed by the path of the provider's URL.
    static func path(_ provider: Provider, _ url: String) -> String {
        let concrete = url.replacingOccurrences(of: "{shop}", with: "shop.myshopify.com").replacingOccurrences(of: "{token}", with: ":token")
        return "/\(provider.id)" + (URLComponents(string: concrete)?.path ?? "")
    }

    /// Every provider's endpoints on this sandbox, specific and generic, for `GET /_sandbox/oauth`.
    static func endpoints(base: String) -> JSONValue {
        var all: [String: JSONValue] = [
            "stripe": ["authorize_url": .string(base + "/stripe/oauth/authorize"), "token_url": .string(base + "/stripe/oauth/token"),
                       "revoke_url": .string(base + "/stripe/oauth/deauthorize")],
            "square": ["authorize_url": .string(base + "/square/oauth2/authorize"), "token_url": .string(base + "/square/oauth2/token"),
                       "revoke_url": .string(base + "/square/oauth2/revoke")],
            "quickbooks": ["authorize_url": .string(base + "/quickbooks/connect/oauth2"), "token_url": .string(base + "/quickbooks/oauth2/v1/tokens/bearer"),
                           "revoke_url": .string(base + "/quickbooks/v2/oauth2/tokens/revoke")],
            "mailchimp": ["authorize_url": .string(base + "/mailchimp/oauth2/authorize"), "token_url": .string(base + "/mailchimp/oauth2/token"),
                          "metadata_url": .string(base + "/mailchimp/oauth2/metadata")],
        ]
        for provider in providers {
            guard let oauth = provider.oauth else { continue }
            // A per-shop host becomes a query parameter here, which Junction fills like the host.
            let shop = oauth.authorizeURL.contains("{shop}") ? "?shop={shop}" : ""
            var entry: [String: JSONValue] = [
                "authorize_url": .string(base + path(provider, oauth.authorizeURL) + shop),
                "token_url": .string(base + path(provider, oauth.tokenURL) + shop),
            ]
            if let revoke = oauth.revokeURL { entry["revoke_url"] = .string(base + "/\(provider.id)" + (URLComponents(string: revoke.replacingOccurrences(of: "{token}", with: "TOKEN"))?.path ?? "").replacingOccurrences(of: "TOKEN", with: "{token}")) }
            all[provider.id] = .object(entry)
        }
        return .object(all)
    }

    static func register(on router: Router<BasicRequestContext>, sandbox: Sandbox) {
        for provider in providers {
            guard let oauth = provider.oauth else { continue }
            router.get(RouterPath(stringLiteral: path(provider, oauth.authorizeURL))) { request, _ in
                try await sandbox.serve(named: provider.id, request) { _ in authorize(provider, oauth, request, sandbox: sandbox) }
            }
            router.post(RouterPath(stringLiteral: path(provider, oauth.tokenURL))) { request, _ in
                try await sandbox.serve(named: provider.id, request) { body in token(provider, oauth, request, body, sandbox: sandbox) }
            }
            if let revoke = oauth.revokeURL {
                let route = RouterPath(stringLiteral: path(provider, revoke))
                let handler: @Sendable (Request, BasicRequestContext) async throws -> Response = { request, context in
                    try await sandbox.serve(named: provider.id, request) { body in
                        Self.revoke(provider, oauth, request, body, pathToken: context.parameters.get("token"), sandbox: sandbox)
                    }
                }
                if oauth.revocation == .deleteToken { router.delete(route, use: handler) } else { router.post(route, use: handler) }
            }
        }
    }

    static func error(_ code: String, _ description: String, status: HTTPResponse.Status = .badRequest) -> Response {
        json(["error": .string(code), "error_description": .string(description)], status: status)
    }

    static func authorize(_ provider: Provider, _ oauth: OAuthDescription, _ request: Request, sandbox: Sandbox) -> Response {
        let query = FormBody.query(request.uri.query)
        guard query["client_id"] == TestCredentials.clientID else {
            return error("invalid_client", "unknown client_id (the sandbox's is \(TestCredentials.clientID))")
        }
        guard query["response_type"] == "code", let redirect = query["redirect_uri"], redirect.hasPrefix("http") else {
            return error("invalid_request", "response_type=code and redirect_uri are required")
        }
        if let method = query["code_challenge_method"], method != "S256" {
            return error("invalid_request", "only code_challenge_method=S256 is supported")
        }
        let offline = oauth.extraAuthorizeParameters.allSatisfy { query[$0.name] == $0.value }
        let code = OAuthState.token("code_")
        sandbox.world.withLock { world in
            world.generic.codes[code] = .init(provider: provider.id, redirectURI: redirect, challenge: query["code_challenge"], offline: offline,
                                              expires: Date() + 600)
        }
        var items = [URLQueryItem(name: "code", value: code)]
        if let state = query["state"] { items.append(URLQueryItem(name: "state", value: state)) }
        if case .callback(let name)? = oauth.accountID {
            items.append(URLQueryItem(name: name, value: query[name] ?? (name == "shop" ? "sandbox.myshopify.com" : "account-1")))
        }
        var components = URLComponents(string: redirect)!
        components.queryItems = (components.queryItems ?? []) + items
        return Response(status: .found, headers: [.location: components.string!])
    }

    /// The client as the request authenticates it: HTTP Basic, or the form's fields.
    static func client(_ oauth: OAuthDescription, _ request: Request, _ fields: [String: String]) -> (id: String?, secret: String?) {
        if oauth.clientAuthentication == .basic {
            guard let header = request.headers[.authorization], header.hasPrefix("Basic "),
                  let decoded = Data(base64Encoded: String(header.dropFirst(6))).map({ String(decoding: $0, as: UTF8.self) }) else { return (nil, nil) }
            let parts = decoded.split(separator: ":", maxSplits: 1).map { $0.removingPercentEncoding ?? String($0) }
            return (parts.first, parts.count > 1 ? parts[1] : nil)
        }
        return (fields["client_id"], fields["client_secret"])
    }

    static func token(_ provider: Provider, _ oauth: OAuthDescription, _ request: Request, _ body: [UInt8], sandbox: Sandbox) -> Response {
        var fields: [String: String] = [:]
        for (key, value) in FormBody.parse(body) { fields[key] = value.stringValue }
        let (clientID, secret) = client(oauth, request, fields)
        guard clientID == TestCredentials.clientID, secret == TestCredentials.clientSecret else {
            return error("invalid_client", "client authentication failed (\(oauth.clientAuthentication.rawValue))", status: .unauthorized)
        }
        for parameter in oauth.extraTokenParameters where fields[parameter.name] != parameter.value {
            return error("invalid_request", "\(parameter.name)=\(parameter.value) is required")
        }
        let lifetime = oauth.accessTokenLifetime.map { Int($0 / .seconds(1)) }
        switch fields["grant_type"] {
        case "authorization_code":
            guard let code = fields["code"] else { return error("invalid_request", "code is required") }
            let issued = sandbox.world.withLock { $0.generic.codes.removeValue(forKey: code) }
            guard let issued, issued.provider == provider.id, issued.expires > Date() else {
                return error("invalid_grant", "the authorization code is invalid, expired or already used")
            }
            guard fields["redirect_uri"] == issued.redirectURI else { return error("invalid_grant", "redirect_uri does not match the authorization request") }
            if let challenge = issued.challenge {
                guard let verifier = fields["code_verifier"] else { return error("invalid_request", "code_verifier is required (PKCE)") }
                guard Base64URL.encode(Array(SHA256.hash(data: Array(verifier.utf8)))) == challenge else {
                    return error("invalid_grant", "code_verifier does not match the code_challenge")
                }
            }
            let refresh = issued.offline && oauth.refresh != .none ? OAuthState.token("rt_") : nil
            return issue(provider, grant: code, lifetime: lifetime, refresh: refresh, answerRefresh: refresh != nil, scopes: fields["scope"], sandbox: sandbox)
        case "refresh_token":
            guard let presented = fields["refresh_token"] else { return error("invalid_request", "refresh_token is required") }
            guard let known = sandbox.world.withLock({ $0.generic.refresh[presented] }), known.provider == provider.id else {
                return error("invalid_grant", "the refresh token is invalid, revoked or was already used")
            }
            switch oauth.refresh {
            case .none, .reusable:
                // The same refresh token goes on working, and is not repeated (Google's answer).
                return issue(provider, grant: known.grant, lifetime: lifetime, refresh: nil, answerRefresh: false, scopes: nil, sandbox: sandbox)
            case .rotating:
                return issue(provider, grant: known.grant, lifetime: lifetime, refresh: OAuthState.token("rt_"), answerRefresh: true, scopes: nil, sandbox: sandbox)
            case .singleUse:
                sandbox.world.withLock { _ = $0.generic.refresh.removeValue(forKey: presented) }
                return issue(provider, grant: known.grant, lifetime: lifetime, refresh: OAuthState.token("rt_"), answerRefresh: true, scopes: nil, sandbox: sandbox)
            }
        default:
            return error("unsupported_grant_type", "grant_type must be authorization_code or refresh_token")
        }
    }

    static func issue(_ provider: Provider, grant: String, lifetime: Int?, refresh: String?, answerRefresh: Bool, scopes: String?, sandbox: Sandbox) -> Response {
        let access = OAuthState.token("at_\(provider.id)_")
        sandbox.world.withLock { world in
            world.generic.access[access] = .init(provider: provider.id, grant: grant, expires: lifetime.map { Date() + Double($0) })
            if let refresh { world.generic.refresh[refresh] = .init(provider: provider.id, grant: grant) }
        }
        var body: [String: JSONValue] = ["access_token": .string(access), "token_type": "Bearer"]
        if let lifetime { body["expires_in"] = .integer(Int64(lifetime)) }
        if answerRefresh, let refresh { body["refresh_token"] = .string(refresh) }
        if let scopes { body["scope"] = .string(scopes) }
        return json(.object(body))
    }

    static func revoke(_ provider: Provider, _ oauth: OAuthDescription, _ request: Request, _ body: [UInt8], pathToken: String?, sandbox: Sandbox) -> Response {
        let token: String?
        switch oauth.revocation {
        case .bearer: token = request.headers[.authorization].map { String($0.dropFirst("Bearer ".count)) }
        case .deleteToken: token = pathToken
        default: token = FormBody.parse(body)["token"]?.stringValue ?? FormBody.query(request.uri.query)["token"]
        }
        guard let token else { return error("invalid_request", "no token to revoke") }
        sandbox.world.withLock { $0.generic.revokeGrant(of: token, provider: provider.id) }
        return oauth.revocation == .deleteToken ? Response(status: .noContent) : json([:])
    }
}
