import Foundation

/// Stripe: `Stripe-Signature: t=<unix>,v1=<hex>[,v1=…]`, HMAC-SHA256 of `"{t}.{body}"` in lowercase
/// hex. Any `v1` may match any active secret (Stripe signs with every secret during a rotation);
/// every other scheme (`v0`) is ignored, so a downgrade is impossible. The timestamp must be within
/// the tolerance in both directions.
public struct StripeWebhookVerifier: WebhookVerifier {
    public var tolerance: Int64

    public init(tolerance: Int64 = 300) { self.tolerance = tolerance }

    public func verify(_ delivery: WebhookDelivery, secrets: [String], now: Date) throws(WebhookRejection) {
        guard !secrets.isEmpty else { throw .noSecretConfigured }
        let header = try Signatures.require(delivery, "Stripe-Signature")
        var timestamp: Int64?
        var signatures: [[UInt8]] = []
        for item in header.split(separator: ",") {
            let pair = item.split(separator: "=", maxSplits: 1)
            guard pair.count == 2 else { continue }
            switch pair[0].trimmingCharacters(in: .whitespaces) {
            case "t": timestamp = Int64(pair[1])
            case "v1": if let bytes = Signatures.hex(pair[1]) { signatures.append(bytes) }
            default: continue
            }
        }
        guard let timestamp else { throw .malformedHeader("Stripe-Signature", reason: "no t= timestamp") }
        guard !signatures.isEmpty else { throw .malformedHeader("Stripe-Signature", reason: "no v1= signature") }
        try Signatures.checkTimestamp(timestamp, now: now, tolerance: tolerance)
        let signed = Array("\(timestamp).".utf8) + delivery.body
        var matched = false
        for signature in signatures where Signatures.anyMatches(secrets, signature, { Signatures.hmacSHA256($0, signed) }) { matched = true }
        guard matched else { throw .invalidSignature }
    }
}
