import Crypto
import Foundation
import Hummingbird
import JunctionCore

/// Authorization codes and tokens the sandbox issued.
struct OAuthState: Sendable {
    struct Code: Sendable {
        var provider: SandboxProvider
        var redirectURI: String
        var challenge: String?
        var realm: String?
        var expires: Date
    }

    struct Refresh: Sendable {
        var provider: SandboxProvider
        /// Square's PKCE flow: single use, replaced on each refresh.
        var singleUse: Bool
        var realm: String?
    }

    var codes: [String: Code] = [:]
    var access: [String: (provider: SandboxProvider, expires: Date?)] = [:]
    var refresh: [String: Refresh] = [:]

    func isValidAccessToken(_ token: String, provider: SandboxProvider) -> Bool {
        guard let issued = access[token], issued.provider == provider else { return false }
        return issued.expires.map { $0 > Date() } ?? true
    }

    static func token(_ prefix: String) -> String {
        prefix + UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "") + UUID().uuidString.lowercased().prefix(8)
    }
}

/// OAuth 2.0 for each provider, on that provider's real paths under `/<provider>` (the real
/// services live on their own hosts): authorize auto-approves and redirects back with `code` and
/// `state` (QuickBooks adds `realmId`); token exchanges codes (checking PKCE S256 where the code
/// was issued with a challenge) and refreshes with each provider's real rotation; revoke.
///
/// | provider | authorize | token | revoke | refresh |
/// |---|---|---|---|---|
/// | stripe | /stripe/oauth/authorize | /stripe/oauth/token | /stripe/oauth/deauthorize | same refresh token |
/// | square | /square/oauth2/authorize | /square/oauth2/token (JSON) | /square/oauth2/revoke | code flow: same token, multi-use; PKCE: new one each time |
/// | quickbooks | /quickbooks/connect/oauth2 | /quickbooks/oauth2/v1/tokens/bearer (Basic) | /quickbooks/v2/oauth2/tokens/revoke | rotates: the old one stops working |
/// | mailchimp | /mailchimp/oauth2/authorize | /mailchimp/oauth2/token | — | tokens never expire; /mailchimp/oauth2/metadata |
enum OAuthAPI {
    static func register(on router: Router<BasicRequestContext>, sandbox: Sandbox, publicURL: @escaping @Sendable () -> String) {
        for (provider, path) in [(SandboxProvider.stripe, "/stripe/oauth/authorize"), (.square, "/square/oauth2/authorize"),
                                 (.quickbooks, "/quickbooks/connect/oauth2"), (.mailchimp, "/mailchimp/oauth2/authorize")] {
            router.get(RouterPath(stringLiteral: path)) { request, _ in authorize(provider, request, sandbox: sandbox) }
        }
        for (provider, path) in [(SandboxProvider.stripe, "/stripe/oauth/token"), (.square, "/square/oauth2/token"),
                                 (.quickbooks, "/quickbooks/oauth2/v1/tokens/bearer"), (.mailchimp, "/mailchimp/oauth2/token")] {
            router.post(RouterPath(stringLiteral: path)) { request, _ in
                try await sandbox.serve(provider, request) { body in token(provider, request, body, sandbox: sandbox) }
            }
        }
        for (provider, path) in [(SandboxProvider.stripe, "/stripe/oauth/deauthorize"), (.square, "/square/oauth2/revoke"),
                                 (.quickbooks, "/quickbooks/v2/oauth2/tokens/revoke")] {
            router.post(RouterPath(stringLiteral: path)) { request, _ in
                try await sandbox.serve(provider, request) { body in revoke(provider, body, sandbox: sandbox) }
            }
        }
        router.get("/mailchimp/oauth2/metadata") { request, _ in
            try await sandbox.serve(.mailchimp, request) { _ in
                let token = (request.headers[.authorization] ?? "").replacingOccurrences(of: "OAuth ", with: "")
                guard sandbox.world.withLock({ $0.oauth.isValidAccessToken(token, provider: .mailchimp) }) else {
                    return json(["error": "invalid_token", "error_description": "Invalid token"], status: .unauthorized)
                }
                return json(["dc": "us6", "role": "owner", "accountname": "Junction Sandbox", "user_id": 1_234_567,
                             "login": ["email": "owner@example.com", "login_id": 1_234_567, "login_name": "sandbox"],
                             "api_endpoint": .string(publicURL()), "login_url": "https://login.mailchimp.com"])
            }
        }
    }

    static func authorize(_ provider: SandboxProvider, _ request: Request, sandbox: Sandbox) -> Response {
        let query = FormBody.query(request.uri.query)
        guard let clientID = query["client_id"], clientID == TestCredentials.clientID else {
            return json(["error": "invalid_client", "error_description": .string("unknown client_id (the sandbox's is \(TestCredentials.clientID))")], status: .badRequest)
        }
        guard let redirect = query["redirect_uri"], redirect.hasPrefix("http") else {
            return json(["error": "invalid_request", "error_description": "redirect_uri is required"], status: .badRequest)
        }
        if let method = query["code_challenge_method"], method != "S256" {
            return json(["error": "invalid_request", "error_description": "only code_challenge_method=S256 is supported"], status: .badRequest)
        }
        let code = OAuthState.token("code_")
        let realm = provider == .quickbooks ? "9130355029834636" : nil
        sandbox.world.withLock { world in
            world.oauth.codes[code] = .init(provider: provider, redirectURI: redirect, challenge: query["code_challenge"], realm: realm, expires: Date() + 600)
        }
        var items = [URLQueryItem(name: "code", value: code)]
        if let state = query["state"] { items.append(URLQueryItem(name: "state", value: state)) }
        if let realm { items.append(URLQueryItem(name: "realmId", value: realm)) }
        var components = URLComponents(string: redirect)!
        components.queryItems = (components.queryItems ?? []) + items
        return Response(status: .found, headers: [.location: components.string!])
    }

    static func oauthError(_ code: String, _ description: String, status: HTTPResponse.Status = .badRequest) -> Response {
        json(["error": .string(code), "error_description": .string(description)], status: status)
    }

    static func token(_ provider: SandboxProvider, _ request: Request, _ body: [UInt8], sandbox: Sandbox) -> Response {
        // Square posts JSON; the others post forms.
        var fields: [String: String] = [:]
        if provider == .square, case .object(let object)? = try? JSONValue(parsing: body) {
            for (key, value) in object { fields[key] = value.stringValue }
        } else {
            for (key, value) in FormBody.parse(body) { fields[key] = value.stringValue }
        }
        // Client authentication: Basic (QuickBooks), Bearer secret key (Stripe), or the body.
        var clientID = fields["client_id"]
        var secret = fields["client_secret"]
        if let header = request.headers[.authorization] {
            if header.hasPrefix("Basic "), let decoded = Data(base64Encoded: String(header.dropFirst(6))).map({ String(decoding: $0, as: UTF8.self) }) {
                let parts = decoded.split(separator: ":", maxSplits: 1).map(String.init)
                clientID = parts.first
                secret = parts.count > 1 ? parts[1] : nil
            } else if header.hasPrefix("Bearer ") {
                secret = String(header.dropFirst(7))
            }
        }
        if provider == .stripe, clientID == nil { clientID = TestCredentials.clientID }
        guard clientID == TestCredentials.clientID else { return oauthError("invalid_client", "unknown client", status: .unauthorized) }
        let lifetime = sandbox.options.accessTokenLifetime
        switch fields["grant_type"] {
        case "authorization_code":
            guard let code = fields["code"] else { return oauthError("invalid_request", "code is required") }
            let issued: OAuthState.Code? = sandbox.world.withLock { world in
                // Codes are single use, whatever happens next.
                world.oauth.codes.removeValue(forKey: code)
            }
            guard let issued, issued.provider == provider, issued.expires > Date() else {
                return oauthError("invalid_grant", "the authorization code is invalid, expired or already used")
            }
            if let challenge = issued.challenge {
                guard let verifier = fields["code_verifier"] else { return oauthError("invalid_request", "code_verifier is required (PKCE)") }
                let computed = Data(SHA256.hash(data: Array(verifier.utf8))).base64EncodedString()
                    .replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
                guard computed == challenge else { return oauthError("invalid_grant", "code_verifier does not match the code_challenge") }
            } else {
                guard secret == TestCredentials.clientSecret || (provider == .stripe && secret?.hasPrefix("sk_test_") == true) else {
                    return oauthError("invalid_client", "client authentication failed", status: .unauthorized)
                }
            }
            if let redirect = fields["redirect_uri"], redirect != issued.redirectURI {
                return oauthError("invalid_grant", "redirect_uri does not match the authorization request")
            }
            return issue(provider, singleUse: issued.challenge != nil, realm: issued.realm, lifetime: lifetime, sandbox: sandbox)
        case "refresh_token":
            guard let presented = fields["refresh_token"] else { return oauthError("invalid_request", "refresh_token is required") }
            let known = sandbox.world.withLock { $0.oauth.refresh[presented] }
            guard let known, known.provider == provider else { return oauthError("invalid_grant", "the refresh token is invalid or was rotated") }
            switch provider {
            case .quickbooks:
                // Rotates: the presented token stops working.
                sandbox.world.withLock { _ = $0.oauth.refresh.removeValue(forKey: presented) }
                return issue(provider, singleUse: false, realm: known.realm, lifetime: lifetime, sandbox: sandbox)
            case .square where known.singleUse:
                sandbox.world.withLock { _ = $0.oauth.refresh.removeValue(forKey: presented) }
                return issue(provider, singleUse: true, realm: nil, lifetime: lifetime, sandbox: sandbox)
            default:
                // Stripe, Square's code flow: a new access token, the same refresh token.
                return issue(provider, singleUse: false, realm: known.realm, lifetime: lifetime, sandbox: sandbox, keeping: presented)
            }
        default:
            return oauthError("unsupported_grant_type", "grant_type must be authorization_code or refresh_token")
        }
    }

    static func issue(_ provider: SandboxProvider, singleUse: Bool, realm: String?, lifetime: Int, sandbox: Sandbox, keeping refresh: String? = nil) -> Response {
        let access = OAuthState.token(provider == .stripe ? "sk_test_oauth_" : "at_")
        let newRefresh = refresh ?? OAuthState.token("rt_")
        let expires: Date? = provider == .mailchimp || provider == .stripe ? nil : Date() + Double(lifetime)
        sandbox.world.withLock { world in
            world.oauth.access[access] = (provider, expires)
            if provider != .mailchimp { world.oauth.refresh[newRefresh] = .init(provider: provider, singleUse: singleUse, realm: realm) }
        }
        switch provider {
        case .stripe:
            return json(["access_token": .string(access), "refresh_token": .string(newRefresh), "token_type": "bearer", "scope": "read_write",
                         "livemode": false, "stripe_user_id": .string(AccountsAPI.stripeAccount), "stripe_publishable_key": "pk_test_sandbox"])
        case .square:
            var body: [String: JSONValue] = ["access_token": .string(access), "token_type": "bearer", "expires_at": .string(Timestamp.format(expires!)),
                                             "merchant_id": .string(AccountsAPI.squareMerchant), "refresh_token": .string(newRefresh), "short_lived": false]
            if singleUse { body["refresh_token_expires_at"] = .string(Timestamp.format(Date() + 90 * 86400)) }
            return json(.object(body))
        case .quickbooks:
            return json(["access_token": .string(access), "refresh_token": .string(newRefresh), "token_type": "bearer",
                         "expires_in": .integer(Int64(lifetime)), "x_refresh_token_expires_in": 8_640_000])
        case .mailchimp:
            return json(["access_token": .string(access), "expires_in": 0, "scope": .null])
        }
    }

    static func revoke(_ provider: SandboxProvider, _ body: [UInt8], sandbox: Sandbox) -> Response {
        var token: String?
        if case .object(let object)? = try? JSONValue(parsing: body) {
            token = object["access_token"]?.stringValue ?? object["token"]?.stringValue
        } else {
            let form = FormBody.parse(body)
            token = form["token"]?.stringValue ?? form["access_token"]?.stringValue ?? form["stripe_user_id"].flatMap { _ in nil }
        }
        let removed = sandbox.world.withLock { world -> Bool in
            if provider == .stripe {
                // Deauthorize disconnects the account: every token it was given.
                let before = world.oauth.access.count + world.oauth.refresh.count
                world.oauth.access = world.oauth.access.filter { $0.value.provider != .stripe }
                world.oauth.refresh = world.oauth.refresh.filter { $0.value.provider != .stripe }
                return before != world.oauth.access.count + world.oauth.refresh.count
            }
            guard let token else { return false }
            return world.oauth.access.removeValue(forKey: token) != nil || world.oauth.refresh.removeValue(forKey: token) != nil
        }
        switch provider {
        case .stripe: return json(["stripe_user_id": .string(AccountsAPI.stripeAccount)])
        case .square: return json(["success": .bool(removed)])
        default: return Response(status: .ok)
        }
    }
}
