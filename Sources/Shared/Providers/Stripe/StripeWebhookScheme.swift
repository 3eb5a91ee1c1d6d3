import Foundation
import JunctionCore

/// Stripe: `Stripe-Signature: t=<unix>,v1=<hex>[,v1=…]`, HMAC-SHA256 of `"{t}.{body}"` in lowercase
/// hex. Any `v1` may match any active secret (Stripe signs with every secret during a rotation);
/// every other scheme (`v0`) is ignored, so a downgrade is impossible. The timestamp must be within
/// the tolerance in both directions. The event id is the body's `id`.
public struct StripeWebhookScheme: WebhookScheme {
    public let name = "stripe"
    public var tolerance: Int64

    public init(tolerance: Int64 = 300) { self.tolerance = tolerance }

    public func verify(_ delivery: WebhookDelivery, secrets: [WebhookSecret], now: Date) throws(WebhookRejection) {
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
        for signature in signatures where Signatures.anyMatches(secrets, signature, { $0.sha256(prefix: prefix, delivery.body) }) { matched = true }
        guard matched else { throw .invalidSignature }
    }

    public func events(in delivery: WebhookDelivery) throws(WebhookEventError) -> [WebhookEvent] {
        [try WebhookEvents.jsonEvent(delivery, id: "id", type: "type")]
    }

    public func sample(url: String, secret: String, eventType: String?, now: Date) -> WebhookDelivery {
        let id = Identifiers.uuid().replacingOccurrences(of: "-", with: "")
        let seconds = Int64(now.timeIntervalSince1970)
        let type = eventType ?? "customer.updated"
        let body = #"{"id":"evt_\#(id.prefix(24))","object":"event","api_version":"2024-06-20","created":\#(seconds),"type":"\#(type)","livemode":false,"pending_webhooks":1,"data":{"object":{"id":"cus_\#(id.suffix(14))","object":"customer","email":"zoe@example.com","name":"Zoë Martín","metadata":{"venue":"42"}}}}"#
        let signature = Signatures.hexString(Signatures.hmacSHA256(secret, Array("\(seconds).\(body)".utf8)))
        return .json(url, body, ["Stripe-Signature": "t=\(seconds),v1=\(signature)"])
    }

    public var vector: WebhookVector {
        WebhookVector(delivery: WebhookDelivery(url: "https://hooks.example.com/webhooks/stripe", headers: [
            "Stripe-Signature": "t=1700000000,v1=d95c6b7477fbd7e9f90b1b0ef5f9c7ac25abca5382460e0d988c2b2a5b71b990",
        ], body: Array(#"{"id":"evt_test_webhook","object":"event"}"#.utf8)),
        secret: "whsec_test_secret", validAt: Date(timeIntervalSince1970: 1_700_000_100), source: "computed")
    }
}
