import Foundation
import JunctionCore

/// Mailchimp Transactional (Mandrill): `X-Mandrill-Signature`, base64 HMAC-SHA1 (webhook key) of
/// the URL as configured followed by each POST field sorted by name as `name + value`. One
/// delivery holds several events in `mandrill_events`, each identified by `_id`, `event` and `ts`.
/// Mandrill checks a new webhook URL with a HEAD.
public struct MandrillWebhookScheme: WebhookScheme {
    public let name = "mandrill"
    public let validationProbes: Set<WebhookValidationProbe> = [.head]

    public init() {}

    public func verify(_ delivery: WebhookDelivery, secrets: [WebhookSecret], now: Date) throws(WebhookRejection) {
        guard !secrets.isEmpty else { throw .noSecretConfigured }
        let header = try Signatures.require(delivery, "X-Mandrill-Signature")
        guard let signature = Signatures.base64(header) else { throw .malformedHeader("X-Mandrill-Signature", reason: "not base64") }
        var signed = delivery.url
        for (name, value) in Signatures.formFields(delivery.body).sorted(by: { $0.0 < $1.0 }) {
            signed += name + value
        }
        let message = Array(signed.utf8)
        guard Signatures.anyMatches(secrets, signature, { $0.sha1(message) }) else { throw .invalidSignature }
    }

    public func events(in delivery: WebhookDelivery) throws(WebhookEventError) -> [WebhookEvent] {
        guard let text = delivery.firstFormFields["mandrill_events"], case .array(let events)? = try? JSONValue(parsing: text) else {
            throw .missing("mandrill_events")
        }
        return try events.map { event throws(WebhookEventError) in
            guard let id = event["_id"]?.stringValue, let kind = event["event"]?.stringValue else { throw .missing("_id and event") }
            return WebhookEvent(eventID: "\(id):\(kind):\(event["ts"]?.intValue ?? 0)", eventType: kind, body: Array(event.serialized.utf8))
        }
    }

    public func sample(url: String, secret: String, eventType: String?, now: Date) -> WebhookDelivery {
        let id = Identifiers.uuid().replacingOccurrences(of: "-", with: "")
        let events = #"[{"event":"\#(eventType ?? "send")","_id":"\#(id)","ts":\#(Int64(now.timeIntervalSince1970)),"msg":{"email":"zoe@example.com","subject":"Your receipt"}}]"#
        let body = "mandrill_events=" + (events.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? "")
        let signature = Data(Signatures.hmacSHA1(secret, Array((url + "mandrill_events" + events).utf8))).base64EncodedString()
        return WebhookDelivery(url: url, headers: ["Content-Type": "application/x-www-form-urlencoded", "X-Mandrill-Signature": signature], body: Array(body.utf8))
    }

    public var vector: WebhookVector {
        WebhookVector(delivery: WebhookDelivery(url: "https://example.com/hooks/mandrill", headers: [
            "X-Mandrill-Signature": "nINtFXHcratSryQMNuhUvW8PYII=", "Content-Type": "application/x-www-form-urlencoded",
        ], body: Array("mandrill_events=%5B%7B%22event%22%3A%22send%22%2C%22_id%22%3A%22abc123%22%2C%22ts%22%3A1700000000%7D%5D".utf8)),
        secret: "test-webhook-key", validAt: Date(timeIntervalSince1970: 1_700_000_000), source: "computed")
    }
}
