import Crypto
import Foundation
import JunctionCore

/// Mailchimp Marketing webhooks are unsigned: the callback URL carries an unguessable
/// per-connection token (its last path segment), compared in constant time with the endpoint's
/// active tokens. Mailchimp checks a new callback URL with a GET (or, by some reports, an empty
/// POST). Events have no id: one is the hash of type, time, list and subscriber.
public struct MailchimpWebhookScheme: WebhookScheme {
    public let name = "mailchimp"
    public let endpointIsSecret = true
    public let validationProbes: Set<WebhookValidationProbe> = [.get, .emptyPost]

    public init() {}

    public func verify(_ delivery: WebhookDelivery, secrets: [WebhookSecret], now: Date) throws(WebhookRejection) {
        guard !secrets.isEmpty else { throw .noSecretConfigured }
        guard let path = URLComponents(string: delivery.url)?.path, let token = path.split(separator: "/").last, !token.isEmpty else {
            throw .missingHeader("URL token")
        }
        guard Signatures.anyEquals(secrets, token) else { throw .invalidSignature }
    }

    public func events(in delivery: WebhookDelivery) throws(WebhookEventError) -> [WebhookEvent] {
        let fields = delivery.firstFormFields
        guard let type = fields["type"], let firedAt = fields["fired_at"] else { throw .missing("type and fired_at") }
        let subject = fields["data[id]"] ?? fields["data[email]"] ?? ""
        let identity = [type, firedAt, fields["data[list_id]"] ?? "", subject].joined(separator: "\u{1F}")
        return [WebhookEvent(eventID: Signatures.hexString(SHA256.hash(data: Array(identity.utf8))), eventType: type, body: delivery.body)]
    }

    public func sample(url: String, secret: String, eventType: String?, now: Date) -> WebhookDelivery {
        let id = Identifiers.uuid().replacingOccurrences(of: "-", with: "")
        let body = "type=\(eventType ?? "subscribe")&fired_at=\(Timestamp.format(now).prefix(19).replacingOccurrences(of: "T", with: "+"))&data%5Bid%5D=\(id.prefix(10))&data%5Blist_id%5D=a6b5da1054&data%5Bemail%5D=zoe%40example.com"
        return WebhookDelivery(url: url, headers: ["Content-Type": "application/x-www-form-urlencoded"], body: Array(body.utf8))
    }

    public var vector: WebhookVector {
        WebhookVector(delivery: WebhookDelivery(url: "https://hooks.example.com/webhooks/mailchimp/list-7/Yq3x9PpL2mZt8", headers: [:],
            body: Array("type=subscribe&fired_at=2026-11-21+17%3A01%3A43".utf8)),
        secret: "Yq3x9PpL2mZt8", validAt: Date(timeIntervalSince1970: 1_700_000_000), source: "a URL token (Mailchimp signs nothing)")
    }
}
