import Crypto
import Foundation
import JunctionShared
import Testing

/// Every provider's scheme against the published (or independently computed) vectors in
/// shared/reference/providers.md, and the ways a delivery must be refused.
@Suite("Webhook signatures")
struct WebhookVerifierTests {
    static func form(_ fields: [(String, String)]) -> [UInt8] {
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-._~")
        return Array(fields.map { "\($0.0)=\($0.1.addingPercentEncoding(withAllowedCharacters: allowed)!)" }.joined(separator: "&").utf8)
    }

    /// A valid delivery for each provider, with its secret and the time it is valid at.
    static let vectors: [String: (WebhookDelivery, String, Date)] = [
        "github": (WebhookDelivery(url: "https://hooks.example.com/webhooks/github", headers: [
            "X-Hub-Signature-256": "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17",
        ], body: Array("Hello, World!".utf8)), "It's a Secret to Everybody", Date()),
        "square": (WebhookDelivery(url: "https://webhook.site/webhooks", headers: [
            "x-square-hmacsha256-signature": "Cxt7+aTi4rKgcA0bC4g9EHdVtLSDWdqccmL5MvihU4U=",
        ], body: Array(#"{"data":{"type":"webhooks","id":">id<"}}"#.utf8)), "signature-key", Date()),
        "twilio": (WebhookDelivery(url: "https://mycompany.com/myapp.php?foo=1&bar=2", headers: [
            "X-Twilio-Signature": "RSOYDt4T1cUTdK1PDd93/VVr8B8=", "Content-Type": "application/x-www-form-urlencoded",
        ], body: form([("CallSid", "CA1234567890ABCDE"), ("Caller", "+14158675309"), ("Digits", "1234"), ("From", "+14158675309"), ("To", "+18005551212")])),
        "12345", Date()),
        "hubspot": (WebhookDelivery(method: "POST", url: "https://www.example.com/webhook_uri", headers: [
            "X-HubSpot-Signature-v3": "K36dawei4A+QBNolUOqo7s91KQDWQ5MXZ/QufNYuk/Y=", "X-HubSpot-Request-Timestamp": "1693657560000",
        ], body: Array("{'example_field':'example_value'}".utf8)), "yyyyyyyy-yyyy-yyyy-yyyy-yyyyyyyyyyyy", Date(timeIntervalSince1970: 1_693_657_590)),
        "stripe": (WebhookDelivery(url: "https://hooks.example.com/webhooks/stripe", headers: [
            "Stripe-Signature": "t=1700000000,v1=d95c6b7477fbd7e9f90b1b0ef5f9c7ac25abca5382460e0d988c2b2a5b71b990",
        ], body: Array(#"{"id":"evt_test_webhook","object":"event"}"#.utf8)), "whsec_test_secret", Date(timeIntervalSince1970: 1_700_000_100)),
        "mandrill": (WebhookDelivery(url: "https://example.com/hooks/mandrill", headers: [
            "X-Mandrill-Signature": "nINtFXHcratSryQMNuhUvW8PYII=",
        ], body: form([("mandrill_events", #"[{"event":"send","_id":"abc123","ts":1700000000}]"#)])), "test-webhook-key", Date()),
        "quickbooks": (WebhookDelivery(url: "https://hooks.example.com/webhooks/quickbooks", headers: [
            "intuit-signature": "6595OPRCFldnquEneOYX/No34jG6DfQSlAiH/LQybGY=",
        ], body: Array(#"[{"specversion":"1.0","id":"88cd52aa-33b6-4351-9aa4-47572edbd068","type":"qbo.customer.created.v1"}]"#.utf8)), "verifier-token", Date()),
        "shopify": (WebhookDelivery(url: "https://hooks.example.com/webhooks/shopify", headers: [
            "X-Shopify-Hmac-Sha256": "1GxccvotnkOedTjSm8S0m/VA3yAUKshyqT52ccNYHj4=",
        ], body: Array(#"{"id":1}"#.utf8)), "shpss_test", Date()),
        // Computed with Python's hmac module (Slack publishes no full vector).
        "slack": (WebhookDelivery(url: "https://hooks.example.com/webhooks/slack", headers: [
            "X-Slack-Signature": "v0=bca5eef5dd737ed259b428b18cd24f679baa18c3fc5f1cb2a6ac9f03e717969a", "X-Slack-Request-Timestamp": "1531420618",
        ], body: Array("token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J".utf8)), "8f742231b10e8888abcd99yyyzzz85a5", Date(timeIntervalSince1970: 1_531_420_700)),
        "mailchimp": (WebhookDelivery(url: "https://hooks.example.com/webhooks/mailchimp/list-7/Yq3x9PpL2mZt8", headers: [:],
            body: Array("type=subscribe&fired_at=2026-11-21+17%3A01%3A43".utf8)), "Yq3x9PpL2mZt8", Date()),
    ]

    static var providers: [String] { vectors.keys.sorted() }

    static func verifier(_ provider: String) -> any WebhookVerifier { WebhookProviders.verifiers[provider]! }

    @Test func everyProviderOfTheIngressHasAVector() {
        #expect(Set(WebhookProviders.verifiers.keys) == Set(Self.vectors.keys))
    }

    @Test(arguments: providers)
    func publishedVectorVerifies(provider: String) throws {
        let (delivery, secret, now) = Self.vectors[provider]!
        #expect(throws: Never.self) { try Self.verifier(provider).verify(delivery, secrets: [secret], now: now) }
    }

    @Test(arguments: providers)
    func anySecretOfARotatedSetVerifies(provider: String) throws {
        let (delivery, secret, now) = Self.vectors[provider]!
        #expect(throws: Never.self) { try Self.verifier(provider).verify(delivery, secrets: ["retired-secret", secret], now: now) }
    }

    @Test(arguments: providers)
    func wrongSecretIsRefused(provider: String) {
        let (delivery, _, now) = Self.vectors[provider]!
        #expect(throws: WebhookRejection.invalidSignature) { try Self.verifier(provider).verify(delivery, secrets: ["not-the-secret"], now: now) }
    }

    @Test(arguments: providers.filter { $0 != "mailchimp" })
    func tamperedBodyIsRefused(provider: String) {
        var (delivery, secret, now) = Self.vectors[provider]!
        delivery.body += Array(" ".utf8)
        #expect(throws: WebhookRejection.invalidSignature) { try Self.verifier(provider).verify(delivery, secrets: [secret], now: now) }
    }

    @Test(arguments: providers)
    func noConfiguredSecretFailsClosed(provider: String) {
        let (delivery, _, now) = Self.vectors[provider]!
        #expect(throws: WebhookRejection.noSecretConfigured) { try Self.verifier(provider).verify(delivery, secrets: [], now: now) }
    }

    @Test(arguments: providers.filter { $0 != "mailchimp" })
    func missingSignatureHeaderIsRefused(provider: String) {
        var (delivery, secret, now) = Self.vectors[provider]!
        delivery.headers = delivery.headers.filter { !$0.key.contains("signature") && !$0.key.contains("hmac") }
        #expect {
            try Self.verifier(provider).verify(delivery, secrets: [secret], now: now)
        } throws: { error in
            if case WebhookRejection.missingHeader = error { return true }
            return false
        }
    }

    @Test(arguments: [("stripe", 301.0), ("stripe", -301.0), ("slack", 400.0), ("slack", -400.0), ("hubspot", 301.0), ("hubspot", -301.0)])
    func timestampOutsideTheToleranceIsRefusedBothWays(provider: String, shift: Double) {
        let (delivery, secret, _) = Self.vectors[provider]!
        let signedAt: Double = switch provider {
        case "stripe": 1_700_000_000
        case "slack": 1_531_420_618
        default: 1_693_657_560
        }
        #expect {
            try Self.verifier(provider).verify(delivery, secrets: [secret], now: Date(timeIntervalSince1970: signedAt + shift))
        } throws: { error in
            if case WebhookRejection.staleTimestamp = error { return true }
            return false
        }
    }

    @Test func stripeIgnoresEverySchemeButV1() {
        var (delivery, secret, now) = Self.vectors["stripe"]!
        delivery.headers["stripe-signature"] = "t=1700000000,v0=d95c6b7477fbd7e9f90b1b0ef5f9c7ac25abca5382460e0d988c2b2a5b71b990"
        #expect(throws: WebhookRejection.malformedHeader("Stripe-Signature", reason: "no v1= signature")) {
            try StripeWebhookVerifier().verify(delivery, secrets: [secret], now: now)
        }
    }

    @Test func stripeAcceptsAnyOfSeveralV1Signatures() {
        var (delivery, secret, now) = Self.vectors["stripe"]!
        delivery.headers["stripe-signature"] = "t=1700000000,v1=00ff,v1=d95c6b7477fbd7e9f90b1b0ef5f9c7ac25abca5382460e0d988c2b2a5b71b990"
        #expect(throws: Never.self) { try StripeWebhookVerifier().verify(delivery, secrets: [secret], now: now) }
    }

    @Test func twilioAcceptsTheURLWithAnExplicitDefaultPort() {
        var (delivery, secret, now) = Self.vectors["twilio"]!
        delivery.url = "https://mycompany.com:443/myapp.php?foo=1&bar=2"
        #expect(throws: Never.self) { try TwilioWebhookVerifier().verify(delivery, secrets: [secret], now: now) }
    }

    @Test func twilioJSONBodyIsCheckedAgainstBodySHA256() {
        // bodySHA256 and the signature (over the URL alone) computed with Python's hashlib and hmac.
        let body = Array(#"{"property": "value", "boolean": true}"#.utf8)
        let url = "https://mycompany.com/myapp.php?bodySHA256=0a1ff7634d9ab3b95db5c9a2dfe9416e41502b283a80c7cf19632632f96e6620"
        let signature = "y77kIzt2vzLz71DgmJGsen2scGs="
        let delivery = WebhookDelivery(url: url, headers: ["X-Twilio-Signature": signature, "Content-Type": "application/json"], body: body)
        #expect(throws: Never.self) { try TwilioWebhookVerifier().verify(delivery, secrets: ["12345"], now: Date()) }
        var altered = delivery
        altered.body = Array(#"{"property": "other", "boolean": true}"#.utf8)
        #expect(throws: WebhookRejection.invalidSignature) { try TwilioWebhookVerifier().verify(altered, secrets: ["12345"], now: Date()) }
    }

    @Test func secretsComeFromTheEnvironmentAsCommaSeparatedSets() {
        let secrets = WebhookSecrets(environment: EnvironmentVariables([
            "JUNCTION_WEBHOOK_SECRETS_STRIPE": "whsec_new, whsec_old", "JUNCTION_WEBHOOK_SECRETS_GITHUB": "",
        ]))
        #expect(secrets.secrets(for: "stripe") == ["whsec_new", "whsec_old"])
        #expect(secrets.secrets(for: "github").isEmpty, "an empty value configures nothing: deliveries fail closed")
    }

    /// The verifiers' HMAC keeps each secret's key schedule: it must give swift-crypto's HMAC for
    /// keys shorter than, equal to and longer than SHA-256's 64-byte block (those are hashed
    /// first), whatever was computed with the same key before.
    @Test func preparedHMACEqualsSwiftCryptosForEveryKeyLengthAndRepeatedUse() {
        for keyLength in [0, 1, 32, 63, 64, 65, 200] {
            let key = String((0..<keyLength).map { Character(UnicodeScalar(UInt8(33 + $0 % 90))) })
            for messageLength in [0, 1, 55, 64, 1_000] {
                let message = (0..<messageLength).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ keyLength) }
                let expected = Array(HMAC<SHA256>.authenticationCode(for: message, using: SymmetricKey(data: Array(key.utf8))))
                #expect(PreparedHMAC.sha256(key: key, message) == expected, "key \(keyLength) bytes, message \(messageLength) bytes")
                #expect(PreparedHMAC.sha256(key: key, message) == expected, "the same again: no state carried over")
                let prefixed = Array(HMAC<SHA256>.authenticationCode(for: Array("1700000000.".utf8) + message, using: SymmetricKey(data: Array(key.utf8))))
                #expect(PreparedHMAC.sha256(key: key, prefix: "1700000000.", message) == prefixed)
            }
        }
    }
}
