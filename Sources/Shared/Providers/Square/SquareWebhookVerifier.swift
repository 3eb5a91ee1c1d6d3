import Foundation

/// Square: `x-square-hmacsha256-signature`, base64 HMAC-SHA256 (subscription signature key) of the
/// notification URL exactly as configured followed by the raw body.
public struct SquareWebhookVerifier: WebhookVerifier {
    public init() {}

    public func verify(_ delivery: WebhookDelivery, secrets: [String], now: Date) throws(WebhookRejection) {
        guard !secrets.isEmpty else { throw .noSecretConfigured }
        let header = try Signatures.require(delivery, "x-square-hmacsha256-signature")
        guard let signature = Signatures.base64(header) else { throw .malformedHeader("x-square-hmacsha256-signature", reason: "not base64") }
        guard Signatures.anyMatches(secrets, signature, { PreparedHMAC.sha256(key: $0, prefix: delivery.url, delivery.body) }) else { throw .invalidSignature }
    }
}
