import Foundation
import JunctionCore

/// HubSpot v3: `X-HubSpot-Signature-v3`, base64 HMAC-SHA256 (client secret) of
/// `METHOD + full URI + body + X-HubSpot-Request-Timestamp` (milliseconds); requests older than the
/// tolerance (or that far in the future) are refused. A delivery is an array of events, each
/// identified by `eventId` and `subscriptionId`.
public struct HubSpotWebhookScheme: WebhookScheme {
    public let name = "hubspot"
    public var tolerance: Int64

    public init(tolerance: Int64 = 300) { self.tolerance = tolerance }

    public func verify(_ delivery: WebhookDelivery, secrets: [WebhookSecret], now: Date) throws(WebhookRejection) {
        guard !secrets.isEmpty else { throw .noSecretConfigured }
        let header = try Signatures.require(delivery, "X-HubSpot-Signature-v3")
        let timestampText = try Signatures.require(delivery, "X-HubSpot-Request-Timestamp")
        guard let milliseconds = Int64(timestampText) else {
            throw .malformedHeader("X-HubSpot-Request-Timestamp", reason: "not a number of milliseconds")
        }
        guard let signature = Signatures.base64(header) else { throw .malformedHeader("X-HubSpot-Signature-v3", reason: "not base64") }
        try Signatures.checkTimestamp(milliseconds / 1000, now: now, tolerance: tolerance)
        let signed = Array((delivery.method.uppercased() + delivery.url).utf8) + delivery.body + Array(timestampText.utf8)
        guard Signatures.anyMatches(secrets, signature, { $0.sha256(signed) }) else { throw .invalidSignature }
    }

    public func events(in delivery: WebhookDelivery) throws(WebhookEventError) -> [WebhookEvent] {
        guard case .array(let events) = try WebhookEvents.value(delivery) else { throw .missing("an array of events") }
        return try events.map { event throws(WebhookEventError) in
            guard let id = event["eventId"]?.intValue, let subscription = event["subscriptionId"]?.intValue else {
                throw .missing("eventId and subscriptionId")
            }
            return WebhookEvent(eventID: "\(id):\(subscription)", eventType: event["subscriptionType"]?.stringValue, body: Array(event.serialized.utf8))
        }
    }

    public func sample(url: String, secret: String, eventType: String?, now: Date) -> WebhookDelivery {
        let id = Identifiers.uuid().replacingOccurrences(of: "-", with: "")
        let seconds = Int64(now.timeIntervalSince1970)
        let milliseconds = String(seconds * 1000)
        let body = #"[{"eventId":\#(seconds * 1000 + 1),"subscriptionId":\#(Int64(id.prefix(6), radix: 16) ?? 1),"portalId":62515,"occurredAt":\#(milliseconds),"subscriptionType":"\#(eventType ?? "contact.propertyChange")","attemptNumber":0,"objectId":123,"propertyName":"email","propertyValue":"zoe@example.com"}]"#
        let signature = Data(Signatures.hmacSHA256(secret, Array(("POST" + url + body + milliseconds).utf8))).base64EncodedString()
        return .json(url, body, ["X-HubSpot-Signature-v3": signature, "X-HubSpot-Request-Timestamp": milliseconds])
    }

    public var vector: WebhookVector {
        WebhookVector(delivery: WebhookDelivery(method: "POST", url: "https://www.example.com/webhook_uri", headers: [
            "X-HubSpot-Signature-v3": "K36dawei4A+QBNolUOqo7s91KQDWQ5MXZ/QufNYuk/Y=", "X-HubSpot-Request-Timestamp": "1693657560000",
        ], body: Array("{'example_field':'example_value'}".utf8)),
        secret: "yyyyyyyy-yyyy-yyyy-yyyy-yyyyyyyyyyyy", validAt: Date(timeIntervalSince1970: 1_693_657_590), source: "HubSpot's SDK tests")
    }
}
