import Foundation
import JunctionCore
import Logging

/// Junction's OAuth client registration with each provider, read once at start-up from
/// `JUNCTION_OAUTH_<ID>_CLIENT_ID` and `_CLIENT_SECRET`, with optional `_SCOPES` (separated by
/// spaces or commas) and `_AUTHORIZE_URL`, `_TOKEN_URL`, `_REVOKE_URL`, `_METADATA_URL` (the sandbox, locally and
/// in tests). A provider with neither id nor secret is not configured, and says so
/// (``status(of:)``); one with only one of the two stops the process, naming the other: a
/// half-configured provider would fail only when a tenant tries to connect.
public struct OAuthClients: Sendable {
    /// One provider's client, with its description's URLs and scopes as configured.
    public struct Client: Sendable, CustomStringConvertible {
        public let providerID: String
        public let clientID: String
        public let clientSecret: String
        public let scopes: [String]
        public let authorizeURL: String
        public let tokenURL: String
        public let revokeURL: String?
        /// The call after the exchange (Mailchimp's metadata), as configured (`_METADATA_URL`).
        public let afterExchangeURL: String?
        /// The provider's flow: PKCE, client authentication, refresh behaviour, …
        public let flow: OAuthDescription

        /// Never the secret, so that interpolating a client into a log line leaks nothing.
        public var description: String { "OAuth client \(clientID) for \(providerID) (secret [redacted])" }
    }

    /// Whether a tenant can connect a provider through OAuth.
    public enum Status: Sendable, Equatable {
        case configured
        /// Neither variable is set: nothing to connect with.
        case notConfigured(missing: [String])
        /// The provider offers no OAuth flow (``Provider/oauth`` is nil).
        case noOAuth
    }

    public let byProvider: [String: Client]

    public init(environment: EnvironmentVariables) throws(ConfigurationError) {
        var clients: [String: Client] = [:]
        for provider in Providers.all {
            guard let description = provider.oauth else { continue }
            let (idVariable, secretVariable) = Self.variables(provider.id)
            let id = environment.string(idVariable, default: "")
            let secret = environment.string(secretVariable, default: "")
            if id.isEmpty && secret.isEmpty { continue }
            guard !id.isEmpty else {
                throw ConfigurationError(variable: idVariable, problem: "\(idVariable) is missing: \(secretVariable) is set, and a client needs both",
                                         example: "the client id of Junction's \(provider.displayName) app")
            }
            guard !secret.isEmpty else {
                throw ConfigurationError(variable: secretVariable, problem: "\(secretVariable) is missing: \(idVariable) is set, and a client needs both",
                                         example: "the client secret of Junction's \(provider.displayName) app")
            }
            let prefix = "JUNCTION_OAUTH_\(provider.id.uppercased())"
            func url(_ suffix: String, _ fallback: String) throws(ConfigurationError) -> String {
                try environment.parse("\(prefix)_\(suffix)", default: fallback, example: fallback) { (text: String) throws(InvalidValue) in
                    guard text.hasPrefix("https://") || text.hasPrefix("http://") else { throw InvalidValue("must start with https:// (or http://)") }
                    return text
                }
            }
            let scopes = environment.string("\(prefix)_SCOPES", default: description.defaultScopes.joined(separator: " "))
                .split(whereSeparator: { $0 == " " || $0 == "," }).map(String.init)
            clients[provider.id] = Client(
                providerID: provider.id, clientID: id, clientSecret: secret, scopes: scopes,
                authorizeURL: try url("AUTHORIZE_URL", description.authorizeURL), tokenURL: try url("TOKEN_URL", description.tokenURL),
                revokeURL: try description.revokeURL.map { (revoke: String) throws(ConfigurationError) in try url("REVOKE_URL", revoke) },
                afterExchangeURL: try description.afterExchange.map { (after: URL) throws(ConfigurationError) in try url("METADATA_URL", after.absoluteString) },
                flow: description)
        }
        byProvider = clients
    }

    /// The client for `provider`, when configured.
    public func client(for provider: String) -> Client? { byProvider[provider] }

    /// Whether `provider` can be connected through OAuth here, and if not, what to set.
    public func status(of provider: Provider) -> Status {
        guard provider.oauth != nil else { return .noOAuth }
        if byProvider[provider.id] != nil { return .configured }
        let (id, secret) = Self.variables(provider.id)
        return .notConfigured(missing: [id, secret])
    }

    /// One start-up line: which providers tenants can connect through OAuth here, and which
    /// offer it but have no client configured (`JUNCTION_OAUTH_<ID>_CLIENT_ID` and `_SECRET`).
    public func logConfigured(_ logger: Logger) {
        let offered = Providers.all.filter { $0.oauth != nil }.map(\.id)
        logger.info("oauth clients", metadata: [
            "configured": .array(offered.filter { byProvider[$0] != nil }.map { .string($0) }),
            "not_configured": .array(offered.filter { byProvider[$0] == nil }.map { .string($0) }),
        ])
    }

    static func variables(_ providerID: String) -> (id: String, secret: String) {
        let prefix = "JUNCTION_OAUTH_\(providerID.uppercased())"
        return ("\(prefix)_CLIENT_ID", "\(prefix)_CLIENT_SECRET")
    }
}
