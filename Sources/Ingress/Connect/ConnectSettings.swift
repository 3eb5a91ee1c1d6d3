import Foundation
import JunctionCore
import JunctionProviders

/// The connect flow's settings, read at start by the ingress.
///
/// - `JUNCTION_PUBLIC_URL`: where providers and browsers reach this ingress (`https://junction.example.com`);
///   each provider's redirect URI is `<public URL>/oauth/<provider>/callback`, and must be
///   registered with the provider. Required once any OAuth client is configured.
/// - `JUNCTION_OAUTH_RETURN_URLS`: comma-separated URLs the tenant may be sent back to after
///   connecting (same scheme, host and port, and a path under the entry's). A return URL that
///   matches none is refused: no open redirect.
/// - `JUNCTION_OAUTH_EXCHANGE_WAIT`: how long the callback waits for the worker's exchange before it
///   redirects with `status=pending` (10 s).
public struct ConnectSettings: Sendable {
    public var publicURL: String?
    public var returnURLs: [URLComponents]
    public var exchangeWait: Duration

    public init(publicURL: String?, returnURLs: [String], exchangeWait: Duration = .seconds(10)) {
        self.publicURL = publicURL
        self.returnURLs = returnURLs.compactMap(URLComponents.init(string:))
        self.exchangeWait = exchangeWait
    }

    public init(environment: EnvironmentVariables, oauth: OAuthClients) throws(ConfigurationError) {
        let publicURL = environment.string("JUNCTION_PUBLIC_URL", default: "").trimmingCharacters(in: CharacterSet(charactersIn: "/ "))
        if !publicURL.isEmpty {
            guard let parsed = URLComponents(string: publicURL), ["https", "http"].contains(parsed.scheme ?? ""), parsed.host?.isEmpty == false,
                  parsed.query == nil, parsed.fragment == nil else {
                throw ConfigurationError(variable: "JUNCTION_PUBLIC_URL", problem: "JUNCTION_PUBLIC_URL=\(publicURL) is not an https:// URL without query",
                                         example: "https://junction.example.com")
            }
        } else if !oauth.byProvider.isEmpty {
            throw ConfigurationError(variable: "JUNCTION_PUBLIC_URL",
                                     problem: "JUNCTION_PUBLIC_URL is missing: OAuth clients are configured (\(oauth.byProvider.keys.sorted().joined(separator: ", "))) and their redirect URI is <JUNCTION_PUBLIC_URL>/oauth/<provider>/callback",
                                     example: "https://junction.example.com")
        }
        var entries: [URLComponents] = []
        for text in environment.string("JUNCTION_OAUTH_RETURN_URLS", default: "").split(separator: ",").map({ $0.trimmingCharacters(in: .whitespaces) }) where !text.isEmpty {
            guard let entry = URLComponents(string: text), ["https", "http"].contains(entry.scheme ?? ""), entry.host?.isEmpty == false,
                  entry.user == nil, entry.query == nil, entry.fragment == nil else {
                throw ConfigurationError(variable: "JUNCTION_OAUTH_RETURN_URLS", problem: "JUNCTION_OAUTH_RETURN_URLS: \(text) is not an http(s) URL without user, query or fragment",
                                         example: "https://app.example.com/integrations")
            }
            entries.append(entry)
        }
        self.publicURL = publicURL.isEmpty ? nil : publicURL
        returnURLs = entries
        exchangeWait = try environment.duration("JUNCTION_OAUTH_EXCHANGE_WAIT", default: "10s")
    }

    /// The redirect URI registered with `provider`.
    public func redirectURI(_ provider: String) -> String? {
        publicURL.map { "\($0)/oauth/\(provider)/callback" }
    }

    /// Whether the tenant may be sent to `text` after connecting.
    public func allowsReturn(to text: String) -> Bool {
        guard let url = URLComponents(string: text), url.user == nil, url.password == nil, url.fragment == nil,
              let scheme = url.scheme?.lowercased(), let host = url.host?.lowercased() else { return false }
        return returnURLs.contains { entry in
            guard entry.scheme?.lowercased() == scheme, entry.host?.lowercased() == host, entry.port == url.port else { return false }
            let base = entry.path.hasSuffix("/") ? String(entry.path.dropLast()) : entry.path
            // No `..` games: the path is compared as given, and one with dot segments is refused.
            guard !url.path.split(separator: "/").contains(where: { $0 == ".." || $0 == "." }) else { return false }
            return base.isEmpty || url.path == base || url.path.hasPrefix(base + "/")
        }
    }
}
