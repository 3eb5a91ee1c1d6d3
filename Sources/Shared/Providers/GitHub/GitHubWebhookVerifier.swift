import Foundation

/// GitHub: `X-Hub-Signature-256: sha256=<hex>`, HMAC-SHA256 of the raw body. (The SHA-1
/// `X-Hub-Signature` header is ignored.)
public struct GitHubWebhookVerifier: WebhookVerifier {
    public init() {}

    public func verify(_ delivery: WebhookDelivery, secrets: [String], now: Date) throws(WebhookRejection) {
        try BodyHMACSHA256(header: "X-Hub-Signature-256", encoding: .prefixedHex("sha256=")).verify(delivery, secrets: secrets)
    }
}
