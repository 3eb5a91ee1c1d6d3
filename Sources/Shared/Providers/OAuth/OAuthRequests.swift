import Foundation
import JunctionCore

/// The OAuth 2.0 requests of one configured client, built from its provider's description: the
/// authorize URL the tenant's browser is sent to (the ingress), and the token, refresh and revoke
/// calls (the workers; the ingress never calls a provider). Pure: nothing here sends anything.
public struct OAuthRequests: Sendable {
    public let client: OAuthClients.Client

    public init(_ client: OAuthClients.Client) {
        self.client = client
    }

    var flow: OAuthDescription { client.flow }

    /// The URL to send the tenant to. `shop` fills `{shop}` (Shopify's per-shop host).
    public func authorizeURL(state: String, redirectURI: String, challenge: String?, shop: String?) -> String {
        var fields: [(String, String)] = [("response_type", "code"), ("client_id", client.clientID), ("redirect_uri", redirectURI), ("state", state)]
        if !client.scopes.isEmpty { fields.append(("scope", client.scopes.joined(separator: flow.scopeSeparator))) }
        if let challenge { fields += [("code_challenge", challenge), ("code_challenge_method", "S256")] }
        fields += flow.extraAuthorizeParameters.map { ($0.name, $0.value) }
        let base = Self.fill(client.authorizeURL, shop: shop)
        return base + (base.contains("?") ? "&" : "?") + Self.form(fields)
    }

    /// Exchanges an authorization code (with its PKCE verifier, when the flow has one).
    public func exchange(code: String, redirectURI: String, verifier: String?, shop: String?) -> OutboundRequest {
        var fields: [(String, String)] = [("grant_type", "authorization_code"), ("code", code), ("redirect_uri", redirectURI)]
        if let verifier { fields.append(("code_verifier", verifier)) }
        return tokenRequest(fields, withSecret: verifier == nil || flow.secretWithPKCE, shop: shop)
    }

    /// Presents a refresh token for a new access token (and, by the flow's rules, a new refresh token).
    public func refresh(_ refreshToken: String, shop: String?) -> OutboundRequest {
        tokenRequest([("grant_type", "refresh_token"), ("refresh_token", refreshToken)], withSecret: !(flow.pkce && !flow.secretWithPKCE), shop: shop)
    }

    /// The call after the exchange (Mailchimp's metadata), with the new access token; nil where
    /// the flow has none.
    public func afterExchange(accessToken: String) -> OutboundRequest? {
        client.afterExchangeURL.map { OutboundRequest(url: $0, headers: [("Authorization", "OAuth \(accessToken)"), ("Accept", "application/json")]) }
    }

    /// Revokes a connection's tokens; nil where the provider has no revoke endpoint (the app is
    /// uninstalled instead).
    public func revoke(_ tokens: TokenSecrets, account: String?) -> OutboundRequest? {
        guard let url = client.revokeURL.map({ Self.fill($0, shop: account) }) else { return nil }
        let token = tokens.refresh ?? tokens.access
        switch flow.revocation {
        case .form:
            var fields = [("token", token)]
            var headers = [("Content-Type", "application/x-www-form-urlencoded"), ("Accept", "application/json")]
            if flow.clientAuthentication == .basic { headers.append(basic) } else { fields += [("client_id", client.clientID), ("client_secret", client.clientSecret)] }
            return OutboundRequest(method: "POST", url: url, headers: headers, body: Array(Self.form(fields).utf8))
        case .jsonToken:
            return OutboundRequest(method: "POST", url: url, headers: [basic, ("Content-Type", "application/json"), ("Accept", "application/json")],
                                   body: Array(JSONValue.object(["token": .string(token)]).serialized.utf8))
        case .squareClient:
            return OutboundRequest(method: "POST", url: url, headers: [("Authorization", "Client \(client.clientSecret)"), ("Content-Type", "application/json")],
                                   body: Array(JSONValue.object(["client_id": .string(client.clientID), "access_token": .string(tokens.access)]).serialized.utf8))
        case .stripeDeauthorize:
            return OutboundRequest(method: "POST", url: url, headers: [("Authorization", "Bearer \(client.clientSecret)"), ("Content-Type", "application/x-www-form-urlencoded")],
                                   body: Array(Self.form([("client_id", client.clientID), ("stripe_user_id", account ?? "")]).utf8))
        case .bearer:
            return OutboundRequest(method: "POST", url: url, headers: [("Authorization", "Bearer \(tokens.access)")])
        case .deleteToken:
            let path = url.replacingOccurrences(of: "{token}", with: Self.escape(token))
            return OutboundRequest(method: "DELETE", url: path)
        }
    }

    private var basic: (String, String) {
        ("Authorization", "Basic " + Base64.encode(Array("\(Self.escape(client.clientID)):\(Self.escape(client.clientSecret))".utf8)))
    }

    private func tokenRequest(_ fields: [(String, String)], withSecret: Bool, shop: String?) -> OutboundRequest {
        var fields = fields + flow.extraTokenParameters.map { ($0.name, $0.value) }
        var headers = [("Accept", "application/json")]
        switch flow.clientAuthentication {
        case .basic: headers.append(basic)
        case .form:
            fields.append(("client_id", client.clientID))
            if withSecret { fields.append(("client_secret", client.clientSecret)) }
        }
        let body: String
        switch flow.tokenRequestEncoding {
        case .form:
            headers.append(("Content-Type", "application/x-www-form-urlencoded"))
            body = Self.form(fields)
        case .json:
            headers.append(("Content-Type", "application/json"))
            body = JSONValue.object(Dictionary(fields.map { ($0.0, JSONValue.string($0.1)) }) { $1 }).serialized
        }
        return OutboundRequest(method: "POST", url: Self.fill(client.tokenURL, shop: shop), headers: headers, body: Array(body.utf8))
    }

    /// Replaces `{shop}`; the shop was checked by ``isValidShop(_:)`` where it came in.
    static func fill(_ url: String, shop: String?) -> String {
        guard url.contains("{shop}") else { return url }
        return url.replacingOccurrences(of: "{shop}", with: shop ?? "")
    }

    /// A Shopify shop's host, `name.myshopify.com`: the only hosts the flow may be sent to.
    public static func isValidShop(_ shop: String) -> Bool {
        guard shop.hasSuffix(".myshopify.com") else { return false }
        let name = shop.dropLast(".myshopify.com".count)
        return !name.isEmpty && name.count <= 60 && name.first != "-"
            && name.utf8.allSatisfy { ($0 >= 0x61 && $0 <= 0x7A) || ($0 >= 0x30 && $0 <= 0x39) || $0 == 0x2D }
    }

    /// `application/x-www-form-urlencoded`.
    public static func form(_ fields: [(String, String)]) -> String {
        fields.map { "\(escape($0.0))=\(escape($0.1))" }.joined(separator: "&")
    }

    static func escape(_ text: String) -> String {
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-._~")
        return text.addingPercentEncoding(withAllowedCharacters: allowed) ?? text
    }
}

/// The secrets a revoke needs, without depending on where they are stored.
public struct TokenSecrets: Sendable {
    public var access: String
    public var refresh: String?

    public init(access: String, refresh: String?) {
        self.access = access
        self.refresh = refresh
    }
}

/// What a token endpoint answered.
public struct TokenAnswer: Sendable {
    public var accessToken: String
    /// Nil when the answer carried none (the stored one stays valid).
    public var refreshToken: String?
    public var expiresAt: Date?
    public var scopes: [String]?
    /// The whole answer, for the account id; holds the tokens, so it is never logged or stored.
    public var fields: [String: JSONValue]

    /// Reads an RFC 6749 answer (`expires_in`), or Square's (`expires_at`). A 4xx with an OAuth
    /// error (`invalid_grant`, …) is ``TokenEndpointError/refused(error:description:status:)``;
    /// a 5xx is ``TokenEndpointError/unavailable(status:)``.
    public static func parse(_ response: OutboundResponse, now: Date = Date()) throws(TokenEndpointError) -> TokenAnswer {
        let object: [String: JSONValue]? = (try? JSONValue(parsing: response.body)).flatMap {
            if case .object(let members) = $0 { return members }
            return nil
        }
        guard (200..<300).contains(response.status) else {
            if response.status >= 500 { throw .unavailable(status: response.status) }
            // Square answers {"errors": [{"code", "detail"}]}, the others {"error", "error_description"}.
            let square = object?["errors"]?.arrayValue?.first
            let error = object?["error"]?.stringValue ?? square?["code"]?.stringValue ?? "http_\(response.status)"
            let description = object?["error_description"]?.stringValue ?? square?["detail"]?.stringValue ?? object?["message"]?.stringValue
            throw .refused(error: error, description: description.map { String($0.prefix(300)) }, status: response.status)
        }
        guard let object, let access = object["access_token"]?.stringValue, !access.isEmpty else {
            throw .malformed("the answer has no access_token")
        }
        var expires: Date?
        if let seconds = object["expires_in"]?.intValue ?? object["expires_in"]?.stringValue.flatMap({ Int64($0) }), seconds > 0 {
            expires = now + Double(seconds)
        } else if let at = object["expires_at"]?.stringValue {
            expires = Timestamp.parse(at)
        }
        let scopes = object["scope"]?.stringValue.map { $0.split(whereSeparator: { $0 == " " || $0 == "," }).map(String.init) }
        let refresh = object["refresh_token"]?.stringValue.flatMap { $0.isEmpty ? nil : $0 }
        return TokenAnswer(accessToken: access, refreshToken: refresh, expiresAt: expires, scopes: scopes, fields: object)
    }
}

/// A token endpoint did not give tokens.
public enum TokenEndpointError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The provider refused (4xx): `invalid_grant` means the code or refresh token is dead.
    case refused(error: String, description: String?, status: Int)
    /// The provider failed (5xx): worth retrying.
    case unavailable(status: Int)
    /// A 2xx that is not a token answer.
    case malformed(String)

    public var description: String {
        switch self {
        case .refused(let error, let description, let status): "the token endpoint refused (\(status) \(error)\(description.map { ": \($0)" } ?? ""))"
        case .unavailable(let status): "the token endpoint answered \(status)"
        case .malformed(let reason): "the token endpoint's answer is unusable: \(reason)"
        }
    }
}
