import Foundation
import JunctionCore

/// QuickBooks (Intuit): `intuit-signature`, base64 HMAC-SHA256 (the app's verifier token) of the
/// raw body. The same scheme covers CloudEvents arrays (each event's `id`) and the legacy
/// `eventNotifications` format, whose entities get an id synthesised from realm, entity, id,
/// operation and time; one delivery may span several realms, so each entity is its own event.
public struct QuickBooksWebhookScheme: WebhookScheme {
    public let name = "quickbooks"

    public init() {}

    public func verify(_ delivery: WebhookDelivery, secrets: [WebhookSecret], now: Date) throws(WebhookRejection) {
        try BodyHMACSHA256(header: "intuit-signature", encoding: .base64).verify(delivery, secrets: secrets)
    }

    public func events(in delivery: WebhookDelivery) throws(WebhookEventError) -> [WebhookEvent] {
        switch try WebhookEvents.value(delivery) {
        case .array(let events):
            return try events.map { event throws(WebhookEventError) in
                guard let id = event["id"]?.stringValue else { throw .missing("id") }
                return WebhookEvent(eventID: id, eventType: event["type"]?.stringValue, body: Array(event.serialized.utf8))
            }
        case .object(let root):
            guard case .array(let notifications)? = root["eventNotifications"] else { throw .missing("eventNotifications") }
            var events: [WebhookEvent] = []
            for notification in notifications {
                let realm = notification["realmId"]?.stringValue ?? ""
                guard case .array(let entities)? = notification["dataChangeEvent"]?["entities"] else { continue }
                for entity in entities {
                    let parts = [realm, entity["name"]?.stringValue ?? "", entity["id"]?.stringValue ?? "",
                                 entity["operation"]?.stringValue ?? "", entity["lastUpdated"]?.stringValue ?? ""]
                    let single: JSONValue = ["eventNotifications": [["realmId": .string(realm), "dataChangeEvent": ["entities": [entity]]]]]
                    events.append(WebhookEvent(
                        eventID: parts.joined(separator: ":"), eventType: "\(parts[1]).\(parts[3])".lowercased(), body: Array(single.serialized.utf8)))
                }
            }
            guard !events.isEmpty else { throw .missing("entities") }
            return events
        default:
            throw .missing("a CloudEvents array or eventNotifications")
        }
    }

    public func sample(url: String, secret: String, eventType: String?, now: Date) -> WebhookDelivery {
        let body = #"[{"specversion":"1.0","id":"\#(Identifiers.uuid())","source":"intuit.dsnBgbseACLLRZNxo2dfc4evmEJdxde58xeeYcZliOU=","type":"\#(eventType ?? "qbo.customer.updated.v1")","datacontenttype":"application/json","time":"\#(Timestamp.format(now))","intuitentityid":"\#(Int64(now.timeIntervalSince1970) % 10_000)","intuitaccountid":"9130355029834636","data":{}}]"#
        let signature = Data(Signatures.hmacSHA256(secret, Array(body.utf8))).base64EncodedString()
        return .json(url, body, ["intuit-signature": signature], contentType: "application/cloudevents-batch+json")
    }

    public var vector: WebhookVector {
        WebhookVector(delivery: WebhookDelivery(url: "https://hooks.example.com/webhooks/quickbooks", headers: [
            "intuit-signature": "6595OPRCFldnquEneOYX/No34jG6DfQSlAiH/LQybGY=",
        ], body: Array(#"[{"specversion":"1.0","id":"88cd52aa-33b6-4351-9aa4-47572edbd068","type":"qbo.customer.created.v1"}]"#.utf8)),
        secret: "verifier-token", validAt: Date(timeIntervalSince1970: 1_700_000_000), source: "computed")
    }
}
