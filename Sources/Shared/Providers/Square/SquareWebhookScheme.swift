import Foundation
import JunctionCore

/// Square: `x-square-hmacsha256-signature`, base64 HMAC-SHA256 (subscription signature key) of the
/// notification URL exactly as configured followed by the raw body. The event id is `event_id`.
public struct SquareWebhookScheme: WebhookScheme {
    public let name = "square"

    public init() {}

    public func verify(_ delivery: WebhookDelivery, secrets: [WebhookSecret], now: Date) throws(WebhookRejection) {
        guard !secrets.isEmpty else { throw .noSecretConfigured }
        let header = try Signatures.require(delivery, "x-square-hmacsha256-signature")
        guard let signature = Signatures.base64(header) else { throw .malformedHeader("x-square-hmacsha256-signature", reason: "not base64") }
        guard Signatures.anyMatches(secrets, signature, { $0.sha256(prefix: delivery.url, delivery.body) }) else { throw .invalidSignature }
    }

    public func events(in delivery: WebhookDelivery) throws(WebhookEventError) -> [WebhookEvent] {
        [try WebhookEvents.jsonEvent(delivery, id: "event_id", type: "type")]
    }

    public func sample(url: String, secret: String, eventType: String?, now: Date) -> WebhookDelivery {
        let body = #"{"merchant_id":"ML8M1AQ1GQG2K","type":"\#(eventType ?? "customer.updated")","event_id":"\#(Identifiers.uuid())","created_at":"\#(Timestamp.format(now))","data":{"type":"customer","id":"JDKYHBWT1D4F8MFH63DBMEN8Y4"}}"#
        let signature = Data(Signatures.hmacSHA256(secret, Array((url + body).utf8))).base64EncodedString()
        return .json(url, body, ["x-square-hmacsha256-signature": signature])
    }

    public var vector: WebhookVector {
        WebhookVector(delivery: WebhookDelivery(url: "https://webhook.site/webhooks", headers: [
            "x-square-hmacsha256-signature": "Cxt7+aTi4rKgcA0bC4g9EHdVtLSDWdqccmL5MvihU4U=",
        ], body: Array(#"{"data":{"type":"webhooks","id":">id<"}}"#.utf8)),
        secret: "signature-key", validAt: Date(timeIntervalSince1970: 1_700_000_000), source: "Square's SDK tests")
    }
}
