import Crypto
import Foundation

/// Twilio: `X-Twilio-Signature`, base64 HMAC-SHA1 (account auth token).
/// - Form posts: the full URL, then each parameter name sorted, with each of its values sorted,
///   as `name + value`.
/// - JSON bodies: the URL carries `bodySHA256=<hex sha256(body)>`; that hash must match the body,
///   and the signature covers the URL alone.
/// Like the official SDK, the URL is tried with and without an explicit default port.
public struct TwilioWebhookVerifier: WebhookVerifier {
    public init() {}

    public func verify(_ delivery: WebhookDelivery, secrets: [String], now: Date) throws(WebhookRejection) {
        guard !secrets.isEmpty else { throw .noSecretConfigured }
        let header = try Signatures.require(delivery, "X-Twilio-Signature")
        guard let signature = Signatures.base64(header) else { throw .malformedHeader("X-Twilio-Signature", reason: "not base64") }
        let components = URLComponents(string: delivery.url)
        let bodyHash = components?.queryItems?.first { $0.name == "bodySHA256" }?.value
        var suffix = ""
        if let bodyHash {
            let actual = Signatures.hexString(SHA256.hash(data: delivery.body))
            guard Signatures.equal(Array(actual.utf8), Array(bodyHash.lowercased().utf8)) else { throw .invalidSignature }
        } else {
            var grouped: [String: [String]] = [:]
            for (name, value) in Signatures.formFields(delivery.body) { grouped[name, default: []].append(value) }
            for name in grouped.keys.sorted() {
                for value in grouped[name]!.sorted() { suffix += name + value }
            }
        }
        var matched = false
        for url in Self.variants(of: delivery.url) {
            let message = Array((url + suffix).utf8)
            if Signatures.anyMatches(secrets, signature, { Signatures.hmacSHA1($0, message) }) { matched = true }
        }
        guard matched else { throw .invalidSignature }
    }

    /// The URL as given, plus the same URL with its default port added or removed.
    static func variants(of url: String) -> [String] {
        guard var components = URLComponents(string: url), let scheme = components.scheme else { return [url] }
        let defaultPort = scheme == "https" ? 443 : 80
        if components.port == nil {
            components.port = defaultPort
        } else if components.port == defaultPort {
            components.port = nil
        } else {
            return [url]
        }
        return [url, components.string ?? url]
    }
}
