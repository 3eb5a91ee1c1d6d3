import Foundation

/// HubSpot v3: `X-HubSpot-Signature-v3`, base64 HMAC-SHA256 (client secret) of
/// `METHOD + full URI + body + X-HubSpot-Request-Timestamp` (milliseconds); requests older than the
/// tolerance (or that far in the future) are refused.
public struct HubSpotWebhookVerifier: WebhookVerifier {
    public var tolerance: Int64

    public init(tolerance: Int64 = 300) { self.tolerance = tolerance }

    public func verify(_ delivery: WebhookDelivery, secrets: [String], now: Date) throws(WebhookRejection) {
        guard !secrets.isEmpty else { throw .noSecretConfigured }
        let header = try Signatures.require(delivery, "X-HubSpot-Signature-v3")
        let timestampText = try Signatures.require(delivery, "X-HubSpot-Request-Timestamp")
        guard let milliseconds = Int64(timestampText) else {
            throw .malformedHeader("X-HubSpot-Request-Timestamp", reason: "not a number of milliseconds")
        }
        guard let signature = Signatures.base64(header) else { throw .malformedHeader("X-HubSpot-Signature-v3", reason: "not base64") }
        try Signatures.checkTimestamp(milliseconds / 1000, now: now, tolerance: tolerance)
        let signed = Array((delivery.method.uppercased() + delivery.url).utf8) + delivery.body + Array(timestampText.utf8)
        guard Signatures.anyMatches(secrets, signature, { PreparedHMAC.sha256(key: $0, signed) }) else { throw .invalidSignature }
    }
}
