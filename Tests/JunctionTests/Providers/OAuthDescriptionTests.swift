import Foundation
import JunctionCore
import JunctionProviders
import Testing

/// Each provider's OAuth description keeps the rules `shared/reference/providers.md` gives, and
/// Junction's client registrations read as the connect flow will need them.
@Suite("OAuth descriptions")
struct OAuthDescriptionTests {
    /// The providers the connections issue (#15) connects through OAuth.
    static let oauthProviders = ["box", "dropbox", "gohighlevel", "google", "hubspot", "keap", "mailchimp", "quickbooks", "shopify", "square", "stripe"]

    @Test func everyProviderThatConnectsThroughOAuthDescribesItsFlow() {
        #expect(Providers.all.filter { $0.oauth != nil }.map(\.id).sorted() == Self.oauthProviders)
        for provider in Providers.all where provider.oauth != nil {
            #expect(provider.auth.contains(.oauth2), "\(provider.id) describes an OAuth flow but does not list oauth2")
        }
    }

    @Test(arguments: oauthProviders)
    func aFlowsURLsAreHTTPSAndItsLifetimeMatchesItsRefresh(id: String) throws {
        let flow = try #require(Providers.named(id)?.oauth)
        for url in [flow.authorizeURL, flow.tokenURL] + (flow.revokeURL.map { [$0] } ?? []) {
            #expect(url.hasPrefix("https://"), "\(id): \(url)")
        }
        // A token that never expires has nothing to refresh, and one that expires must be refreshable.
        #expect((flow.accessTokenLifetime == nil) == (flow.refresh == .none), "\(id): \(flow.refresh) with lifetime \(String(describing: flow.accessTokenLifetime))")
        #expect(!flow.scopeSeparator.isEmpty)
    }

    /// The rules that decide what a refresh race or a reconnect costs, from providers.md.
    @Test func theRefreshRulesAndQuirksAreTheProvidersOwn() throws {
        func flow(_ id: String) throws -> OAuthDescription { try #require(Providers.named(id)?.oauth) }
        #expect(try flow("quickbooks").refresh == .rotating && flow("quickbooks").clientAuthentication == .basic)
        #expect(try flow("quickbooks").callbackParameters == ["realmId"])
        for id in ["box", "keap", "gohighlevel", "square"] { #expect(try flow(id).refresh == .singleUse, "\(id)") }
        #expect(try flow("shopify").authorizeURL.contains("{shop}") && flow("shopify").callbackParameters == ["shop"])
        #expect(try flow("shopify").extraAuthorizeParameters == [OAuthParameter("expiring", "1")])
        #expect(try flow("google").extraAuthorizeParameters == [OAuthParameter("access_type", "offline"), OAuthParameter("prompt", "consent")])
        #expect(try flow("dropbox").extraAuthorizeParameters == [OAuthParameter("token_access_type", "offline")])
        #expect(try flow("mailchimp").afterExchange?.absoluteString == "https://login.mailchimp.com/oauth2/metadata")
        #expect(try flow("mailchimp").refresh == .none && flow("stripe").refresh == .none)
        #expect(try ["square", "google", "dropbox"].allSatisfy { try flow($0).pkce })
    }

    /// RFC 7636, appendix B.
    @Test func thePKCEChallengeIsTheRFCsS256() {
        #expect(PKCE.challenge(for: "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk") == "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM")
        let verifier = PKCE.newVerifier()
        #expect(verifier.count == 43 && verifier.allSatisfy { $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" })
        #expect(PKCE.newVerifier() != verifier)
    }

    @Test func aProviderWithoutClientCredentialsIsReportedNotConfigured() throws {
        let clients = try OAuthClients(environment: EnvironmentVariables([:]))
        #expect(clients.byProvider.isEmpty)
        #expect(clients.status(of: .square) == .notConfigured(missing: ["JUNCTION_OAUTH_SQUARE_CLIENT_ID", "JUNCTION_OAUTH_SQUARE_CLIENT_SECRET"]))
        #expect(clients.status(of: .twilio) == .noOAuth)
    }

    @Test func aConfiguredClientTakesTheDescriptionsDefaultsAndItsOverrides() throws {
        let clients = try OAuthClients(environment: EnvironmentVariables([
            "JUNCTION_OAUTH_QUICKBOOKS_CLIENT_ID": "qb-id", "JUNCTION_OAUTH_QUICKBOOKS_CLIENT_SECRET": "qb-secret",
            "JUNCTION_OAUTH_SQUARE_CLIENT_ID": "sq-id", "JUNCTION_OAUTH_SQUARE_CLIENT_SECRET": "sq-secret",
            "JUNCTION_OAUTH_SQUARE_SCOPES": "CUSTOMERS_READ, ORDERS_READ",
            "JUNCTION_OAUTH_SQUARE_TOKEN_URL": "http://127.0.0.1:12111/oauth2/token",
        ]))
        let quickBooks = try #require(clients.client(for: "quickbooks"))
        #expect(quickBooks.scopes == ["com.intuit.quickbooks.accounting"] && quickBooks.tokenURL == Provider.quickBooks.oauth?.tokenURL)
        let square = try #require(clients.client(for: "square"))
        #expect(square.scopes == ["CUSTOMERS_READ", "ORDERS_READ"])
        #expect(square.tokenURL == "http://127.0.0.1:12111/oauth2/token" && square.authorizeURL == Provider.square.oauth?.authorizeURL)
        #expect(clients.status(of: .square) == .configured && clients.status(of: .box) != .configured)
        #expect(!"\(square)".contains("sq-secret"), "a client never prints its secret")
    }

    @Test func halfAClientStopsTheProcessNamingWhatIsMissing() {
        #expect {
            _ = try OAuthClients(environment: EnvironmentVariables(["JUNCTION_OAUTH_BOX_CLIENT_ID": "box-id"]))
        } throws: { error in
            (error as? ConfigurationError)?.variable == "JUNCTION_OAUTH_BOX_CLIENT_SECRET"
        }
        #expect {
            _ = try OAuthClients(environment: EnvironmentVariables([
                "JUNCTION_OAUTH_KEAP_CLIENT_ID": "k", "JUNCTION_OAUTH_KEAP_CLIENT_SECRET": "s", "JUNCTION_OAUTH_KEAP_TOKEN_URL": "ftp://x",
            ]))
        } throws: { error in
            (error as? ConfigurationError)?.description.hasPrefix("JUNCTION_OAUTH_KEAP_TOKEN_URL=ftp://x is invalid") == true
        }
    }
}
