import Foundation
import JunctionCoordination
import JunctionCore
import JunctionProviders
import JunctionStores
import Testing

/// The registry keeps what each provider's description promises: every shared mechanism (the
/// fleet's URLs and limits, the ingress's webhook paths, the secrets' variables) reaches every
/// provider through it, so a provider added with its folder and one registry line is complete.
@Suite("Provider registry")
struct ProviderRegistryTests {
    @Test func everyProviderAndWebhookSchemeHasOneUniqueName() {
        let ids = Providers.all.map(\.id)
        #expect(Set(ids).count == ids.count, "provider ids repeat: \(ids)")
        #expect(ids.allSatisfy { !$0.isEmpty && $0.allSatisfy { $0.isLowercase && $0.isLetter } }, "ids name variables: lowercase letters only")
        let names = Providers.all.flatMap(\.webhooks).map(\.name)
        #expect(Set(names).count == names.count, "webhook scheme names repeat: \(names)")
        #expect(Providers.webhookSchemes.count == names.count)
        #expect(names.allSatisfy { !$0.isEmpty && $0.allSatisfy { $0.isLowercase && $0.isLetter } })
    }

    @Test(arguments: Providers.all.map(\.id))
    func everyProviderPublishesAnHTTPSBaseURLAndALimitThatReadsBack(id: String) throws {
        let provider = try #require(Providers.named(id))
        #expect(provider.api.baseURL.hasPrefix("https://") && !provider.api.baseURL.hasSuffix("/"))
        #expect(try RateLimit(parsing: provider.api.connectionLimit.description) == provider.api.connectionLimit,
                "the default of JUNCTION_RATE_LIMIT_\(id.uppercased()) is written as it parses")
        #expect(!provider.auth.isEmpty && !provider.displayName.isEmpty)
    }

    @Test func theFleetsSettingsCoverEveryProviderWithItsPublishedDefaults() throws {
        let settings = try CoordinationSettings(environment: EnvironmentVariables([:]))
        #expect(Set(settings.baseURLs.keys) == Set(Providers.ids))
        for provider in Providers.all {
            #expect(settings.baseURLs[provider.id] == provider.api.baseURL)
            #expect(settings.connectionLimits[provider.id] == provider.api.connectionLimit)
            #expect(settings.fleetLimits[provider.id] == .off)
        }
        let overridden = try CoordinationSettings(environment: EnvironmentVariables([
            "JUNCTION_PROVIDER_URL_KEAP": "http://127.0.0.1:12111/", "JUNCTION_RATE_LIMIT_KEAP": "5/1s",
        ]))
        #expect(overridden.baseURLs["keap"] == "http://127.0.0.1:12111")
        #expect(overridden.connectionLimits["keap"] == RateLimit(count: 5, period: .seconds(1)))
    }

    /// A scheme's own sample, signed as the provider signs, verifies under the scheme and
    /// carries events with ids; two samples are two events (fresh ids), so `junction webhook send`
    /// can be run twice.
    @Test(arguments: Providers.webhookSchemes.keys.sorted())
    func everySchemesSampleVerifiesAndCarriesFreshEvents(name: String) throws {
        let scheme = try #require(Providers.webhookScheme(named: name))
        let secret = "secret-for-\(name)"
        let url = "https://hooks.example.com/webhooks/\(name)" + (scheme.endpointIsSecret ? "/\(secret)" : "")
        let now = Date()
        let first = scheme.sample(url: url, secret: secret, eventType: nil, now: now)
        let second = scheme.sample(url: url, secret: secret, eventType: nil, now: now)
        #expect(throws: Never.self) { try scheme.verify(first, secrets: [WebhookSecret(secret)], now: now) }
        #expect(throws: WebhookRejection.invalidSignature) { try scheme.verify(first, secrets: [WebhookSecret("other-\(secret)")], now: now) }
        #expect(throws: WebhookRejection.noSecretConfigured) { try scheme.verify(first, secrets: [], now: now) }
        let firstEvents = try scheme.events(in: first)
        let secondEvents = try scheme.events(in: second)
        #expect(!firstEvents.isEmpty && firstEvents.allSatisfy { !$0.eventID.isEmpty })
        #expect(Set(firstEvents.map(\.eventID)).isDisjoint(with: secondEvents.map(\.eventID)))
        #expect(scheme.handshakeReply(to: first) == nil, "a sample event is enqueued, not answered as a handshake")
    }

    @Test func everySchemesSecretsComeFromItsOwnVariable() {
        var variables: [String: String] = [:]
        for name in Providers.webhookSchemes.keys { variables["JUNCTION_WEBHOOK_SECRETS_\(name.uppercased())"] = "s-\(name),t-\(name)" }
        let secrets = WebhookSecrets(environment: EnvironmentVariables(variables))
        for name in Providers.webhookSchemes.keys {
            #expect(secrets.secrets(for: name).map(\.text) == ["s-\(name)", "t-\(name)"])
        }
    }

    @Test(arguments: Providers.webhookSchemes.keys.sorted())
    func anEndpointIdIsShownWholeUnlessItIsTheSecret(name: String) throws {
        let scheme = try #require(Providers.webhookScheme(named: name))
        let token = "Yq3x9PpL2mZt8Hw"
        if scheme.endpointIsSecret {
            #expect(scheme.shown(endpoint: token) == "Yq3x…")
            #expect(WebhookEndpoint.shown(provider: name, endpoint: token) == "Yq3x…")
            #expect(throws: WebhookEndpointError.self, "its secrets must include the token") {
                try WebhookEndpointStore.validate(provider: name, endpoint: token, secrets: ["something-else"])
            }
        } else {
            #expect(scheme.shown(endpoint: token) == token)
            #expect(throws: Never.self) { try WebhookEndpointStore.validate(provider: name, endpoint: token, secrets: ["something-else"]) }
        }
    }

    /// Mailchimp's API is on the account's data centre: from the OAuth metadata's `dc` (the
    /// connection's account id) or the API key's suffix; other providers have one host.
    @Test func mailchimpCallsGoToTheAccountsDataCentre() {
        let host = Provider.mailchimp.api.accountBaseURL
        #expect(host("us6", nil) == "https://us6.api.mailchimp.com")
        #expect(host(nil, "0123456789abcdef0123456789abcdef-us19") == "https://us19.api.mailchimp.com")
        #expect(host(nil, "no-data-centre") == nil && host("acct_1", nil) == nil && host(nil, nil) == nil)
        #expect(Provider.stripe.api.accountBaseURL("acct_1", "sk_test_x-us6") == nil)
    }
}
