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
        // `t=…,v1=…,v0=…`: split on the bytes (this runs for every delivery).
        for item in header.utf8.split(separator: UInt8(ascii: ",")) {
            guard let equals = item.firstIndex(of: UInt8(ascii: "=")) else { continue }
            var name = item[item.startIndex..<equals]
            while name.first == UInt8(ascii: " ") { name = name.dropFirst() }
            while name.last == UInt8(ascii: " ") { name = name.dropLast() }
            let value = Substring(item[item.index(after: equals)...])
            if name.elementsEqual("t".utf8) {
                timestamp = Int64(value)
            } else if name.elementsEqual("v1".utf8) {
                if let bytes = Signatures.hex(value) { signatures.append(bytes) }
            }
        }
        guard let timestamp else { throw .malformedHeader("Stripe-Signature", reason: "no t= timestamp") }
        guard !signatures.isEmpty else { throw .malformedHeader("Stripe-Signature", reason: "no v1= signature") }
        try Signatures.checkTimestamp(timestamp, now: now, tolerance: tolerance)
        let prefix = "\(timestamp)."
        var matched = false
        for signature in signatures where Signatures.anyMatches(secrets, signature, { PreparedHMAC.sha256(key: $0, prefix: prefix, delivery.body) }) { matched = true }
        guard matched else { throw .invalidSignature }
    }
}
