import Crypto
import Foundation
import JunctionCore
import JunctionProviders
import Testing

/// Every provider's scheme against the published (or independently computed) vectors in
/// shared/reference/providers.md, and the ways a delivery must be refused.
@Suite("Webhook signatures")
struct WebhookVerifierTests {
    /// Every scheme of the registry, by name: each carries its published vector.
    static var providers: [String] { Providers.webhookSchemes.keys.sorted() }

    static func scheme(_ name: String) -> any WebhookScheme { Providers.webhookScheme(named: name)! }

    /// The scheme's vector: the delivery, its secret and a time it is valid at.
    static func vector(_ name: String) -> (WebhookDelivery, WebhookSecret, Date) {
        let vector = scheme(name).vector
        return (vector.delivery, WebhookSecret(vector.secret), vector.validAt)
    }

    /// Schemes whose deliveries carry a signature (all but those whose URL token is the secret).
    static var signed: [String] { providers.filter { !scheme($0).endpointIsSecret } }

    @Test(arguments: providers)
    func publishedVectorVerifies(provider: String) throws {
        let (delivery, secret, now) = Self.vector(provider)
        #expect(throws: Never.self) { try Self.scheme(provider).verify(delivery, secrets: [secret], now: now) }
    }

    @Test(arguments: providers)
    func anySecretOfARotatedSetVerifies(provider: String) throws {
        let (delivery, secret, now) = Self.vector(provider)
        #expect(throws: Never.self) { try Self.scheme(provider).verify(delivery, secrets: [WebhookSecret("retired-secret"), secret], now: now) }
    }

    @Test(arguments: providers)
    func wrongSecretIsRefused(provider: String) {
        let (delivery, _, now) = Self.vector(provider)
        #expect(throws: WebhookRejection.invalidSignature) { try Self.scheme(provider).verify(delivery, secrets: [WebhookSecret("not-the-secret")], now: now) }
    }

    @Test(arguments: signed)
    func tamperedBodyIsRefused(provider: String) {
        var (delivery, secret, now) = Self.vector(provider)
        delivery.body += Array(" ".utf8)
        #expect(throws: WebhookRejection.invalidSignature) { try Self.scheme(provider).verify(delivery, secrets: [secret], now: now) }
    }

    @Test(arguments: providers)
    func noConfiguredSecretFailsClosed(provider: String) {
        let (delivery, _, now) = Self.vector(provider)
        #expect(throws: WebhookRejection.noSecretConfigured) { try Self.scheme(provider).verify(delivery, secrets: [], now: now) }
    }

    @Test(arguments: signed)
    func missingSignatureHeaderIsRefused(provider: String) {
        var (delivery, secret, now) = Self.vector(provider)
        delivery.headers = delivery.headers.filter { !$0.key.contains("signature") && !$0.key.contains("hmac") }
        #expect {
            try Self.scheme(provider).verify(delivery, secrets: [secret], now: now)
        } throws: { error in
            if case WebhookRejection.missingHeader = error { return true }
            return false
        }
    }

    @Test(arguments: [("stripe", 301.0), ("stripe", -301.0), ("slack", 400.0), ("slack", -400.0), ("hubspot", 301.0), ("hubspot", -301.0)])
    func timestampOutsideTheToleranceIsRefusedBothWays(provider: String, shift: Double) {
        let (delivery, secret, _) = Self.vector(provider)
        let signedAt: Double = switch provider {
        case "stripe": 1_700_000_000
        case "slack": 1_531_420_618
        default: 1_693_657_560
        }
        #expect {
            try Self.scheme(provider).verify(delivery, secrets: [secret], now: Date(timeIntervalSince1970: signedAt + shift))
        } throws: { error in
            if case WebhookRejection.staleTimestamp = error { return true }
            return false
        }
    }

    @Test func stripeIgnoresEverySchemeButV1() {
        var (delivery, secret, now) = Self.vector("stripe")
        delivery.headers["stripe-signature"] = "t=1700000000,v0=d95c6b7477fbd7e9f90b1b0ef5f9c7ac25abca5382460e0d988c2b2a5b71b990"
        #expect(throws: WebhookRejection.malformedHeader("Stripe-Signature", reason: "no v1= signature")) {
            try StripeWebhookScheme().verify(delivery, secrets: [secret], now: now)
        }
    }

    @Test func stripeAcceptsAnyOfSeveralV1Signatures() {
        var (delivery, secret, now) = Self.vector("stripe")
        delivery.headers["stripe-signature"] = "t=1700000000,v1=00ff,v1=d95c6b7477fbd7e9f90b1b0ef5f9c7ac25abca5382460e0d988c2b2a5b71b990"
        #expect(throws: Never.self) { try StripeWebhookScheme().verify(delivery, secrets: [secret], now: now) }
    }

    @Test func twilioAcceptsTheURLWithAnExplicitDefaultPort() {
        var (delivery, secret, now) = Self.vector("twilio")
        delivery.url = "https://mycompany.com:443/myapp.php?foo=1&bar=2"
        #expect(throws: Never.self) { try TwilioWebhookScheme().verify(delivery, secrets: [secret], now: now) }
    }

    @Test func twilioJSONBodyIsCheckedAgainstBodySHA256() {
        // bodySHA256 and the signature (over the URL alone) computed with Python's hashlib and hmac.
        let body = Array(#"{"property": "value", "boolean": true}"#.utf8)
        let url = "https://mycompany.com/myapp.php?bodySHA256=0a1ff7634d9ab3b95db5c9a2dfe9416e41502b283a80c7cf19632632f96e6620"
        let signature = "y77kIzt2vzLz71DgmJGsen2scGs="
        let delivery = WebhookDelivery(url: url, headers: ["X-Twilio-Signature": signature, "Content-Type": "application/json"], body: body)
        #expect(throws: Never.self) { try TwilioWebhookScheme().verify(delivery, secrets: [WebhookSecret("12345")], now: Date()) }
        var altered = delivery
        altered.body = Array(#"{"property": "other", "boolean": true}"#.utf8)
        #expect(throws: WebhookRejection.invalidSignature) { try TwilioWebhookScheme().verify(altered, secrets: [WebhookSecret("12345")], now: Date()) }
    }

    @Test func secretsComeFromTheEnvironmentAsCommaSeparatedSets() {
        let secrets = WebhookSecrets(environment: EnvironmentVariables([
            "JUNCTION_WEBHOOK_SECRETS_STRIPE": "whsec_new, whsec_old", "JUNCTION_WEBHOOK_SECRETS_GITHUB": "",
        ]))
        #expect(secrets.secrets(for: "stripe").map(\.text) == ["whsec_new", "whsec_old"])
        #expect(secrets.secrets(for: "github").isEmpty, "an empty value configures nothing: deliveries fail closed")
    }

    /// A secret's key schedule is prepared once and copied for each delivery: a delivery signed
    /// with a fresh HMAC-SHA256 verifies for keys shorter than, equal to and longer than
    /// SHA-256's 64-byte block, however often the same prepared secret was used before, and a
    /// delivery signed with another key still fails after a good one.
    @Test func aPreparedSecretVerifiesEveryTimeForEveryKeyLength() {
        for keyLength in [1, 32, 63, 64, 65, 200] {
            let key = String((0..<keyLength).map { Character(UnicodeScalar(UInt8(33 + $0 % 90))) })
            let secret = WebhookSecret(key)
            for bodyLength in [0, 1, 55, 64, 1_000] {
                let body = (0..<bodyLength).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ keyLength) }
                let code = HMAC<SHA256>.authenticationCode(for: body, using: SymmetricKey(data: Array(key.utf8)))
                let github = WebhookDelivery(url: "https://hooks.example.com/webhooks/github",
                                             headers: ["X-Hub-Signature-256": "sha256=" + code.map { String(format: "%02x", $0) }.joined()], body: body)
                let stamped = HMAC<SHA256>.authenticationCode(for: Array("1700000000.".utf8) + body, using: SymmetricKey(data: Array(key.utf8)))
                let stripe = WebhookDelivery(url: "https://hooks.example.com/webhooks/stripe",
                                             headers: ["Stripe-Signature": "t=1700000000,v1=" + stamped.map { String(format: "%02x", $0) }.joined()], body: body)
                for _ in 0..<2 {
                    #expect(throws: Never.self, "key \(keyLength) bytes, body \(bodyLength) bytes") { try GitHubWebhookScheme().verify(github, secrets: [secret], now: Date()) }
                    #expect(throws: Never.self) { try StripeWebhookScheme().verify(stripe, secrets: [secret], now: Date(timeIntervalSince1970: 1_700_000_000)) }
                    #expect(throws: WebhookRejection.invalidSignature) { try GitHubWebhookScheme().verify(github, secrets: [WebhookSecret(key + "x")], now: Date()) }
                }
            }
        }
    }

    @Test func aSecretNeverPrintsItself() {
        #expect(!"\(WebhookSecret("whsec_do_not_log"))".contains("whsec_do_not_log"))
    }
}
