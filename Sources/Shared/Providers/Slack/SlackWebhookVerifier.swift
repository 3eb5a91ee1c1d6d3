import Foundation

/// Slack: `X-Slack-Signature: v0=<hex>`, HMAC-SHA256 (signing secret) of
/// `"v0:{X-Slack-Request-Timestamp}:{body}"`; the timestamp must be within the tolerance.
public struct SlackWebhookVerifier: WebhookVerifier {
    public var tolerance: Int64

    public init(tolerance: Int64 = 300) { self.tolerance = tolerance }

    public func verify(_ delivery: WebhookDelivery, secrets: [String], now: Date) throws(WebhookRejection) {
        guard !secrets.isEmpty else { throw .noSecretConfigured }
        let header = try Signatures.require(delivery, "X-Slack-Signature")
        let timestampText = try Signatures.require(delivery, "X-Slack-Request-Timestamp")
        guard let timestamp = Int64(timestampText) else { throw .malformedHeader("X-Slack-Request-Timestamp", reason: "not a number") }
        guard header.hasPrefix("v0="), let signature = Signatures.hex(header.dropFirst(3)) else {
            throw .malformedHeader("X-Slack-Signature", reason: "expected v0=<hex>")
        }
        try Signatures.checkTimestamp(timestamp, now: now, tolerance: tolerance)
        guard Signatures.anyMatches(secrets, signature, { PreparedHMAC.sha256(key: $0, prefix: "v0:\(timestampText):", delivery.body) }) else { throw .invalidSignature }
    }
}
