import Crypto
import Foundation

/// One event of a verified delivery: what the dedupe key and the `webhook.process` job carry.
public struct WebhookEvent: Sendable, Equatable {
    /// The provider's event id, or one synthesised from the event's content where it has none.
    public let eventID: String
    public let eventType: String?
    /// The event's bytes: the raw body for single-event deliveries, the event's own JSON for
    /// deliveries that hold several.
    public let body: [UInt8]
}

/// Splits a verified delivery into events and finds each one's id (`providers.md`, "dedupe key").
public enum WebhookEvents {
    /// The events of `delivery`; throws a reason when the delivery carries no event id.
    public static func extract(provider: String, from delivery: WebhookDelivery) throws(WebhookEventError) -> [WebhookEvent] {
        switch provider {
        case "stripe": return [try jsonEvent(delivery, id: "id", type: "type")]
        case "square": return [try jsonEvent(delivery, id: "event_id", type: "type")]
        case "slack":
            let json = try object(delivery)
            guard let id = json["event_id"]?.stringValue else { throw .missing("event_id") }
            return [WebhookEvent(eventID: id, eventType: json["event"]?["type"]?.stringValue ?? json["type"]?.stringValue, body: delivery.body)]
        case "shopify":
            return [try headerEvent(delivery, id: "X-Shopify-Webhook-Id", type: "X-Shopify-Topic")]
        case "github":
            return [try headerEvent(delivery, id: "X-GitHub-Delivery", type: "X-GitHub-Event")]
        case "twilio":
            let fields = Dictionary(Signatures.formFields(delivery.body)) { first, _ in first }
            if let token = delivery.header("I-Twilio-Idempotency-Token"), !token.isEmpty {
                return [WebhookEvent(eventID: token, eventType: fields["MessageStatus"] ?? fields["CallStatus"], body: delivery.body)]
            }
            guard let sid = fields["MessageSid"] ?? fields["CallSid"] else { throw .missing("I-Twilio-Idempotency-Token or MessageSid") }
            let status = fields["MessageStatus"] ?? fields["CallStatus"] ?? ""
            return [WebhookEvent(eventID: "\(sid):\(status)", eventType: status.isEmpty ? nil : status, body: delivery.body)]
        case "mailchimp":
            let fields = Dictionary(Signatures.formFields(delivery.body)) { first, _ in first }
            guard let type = fields["type"], let firedAt = fields["fired_at"] else { throw .missing("type and fired_at") }
            let subject = fields["data[id]"] ?? fields["data[email]"] ?? ""
            let identity = [type, firedAt, fields["data[list_id]"] ?? "", subject].joined(separator: "\u{1F}")
            return [WebhookEvent(eventID: Signatures.hexString(SHA256.hash(data: Array(identity.utf8))), eventType: type, body: delivery.body)]
        case "mandrill":
            let fields = Dictionary(Signatures.formFields(delivery.body)) { first, _ in first }
            guard let text = fields["mandrill_events"], case .array(let events)? = try? JSONValue(parsing: text) else {
                throw .missing("mandrill_events")
            }
            return try events.map { event throws(WebhookEventError) in
                guard let id = event["_id"]?.stringValue, let kind = event["event"]?.stringValue else { throw .missing("_id and event") }
                return WebhookEvent(eventID: "\(id):\(kind):\(event["ts"]?.intValue ?? 0)", eventType: kind, body: Array(event.serialized.utf8))
            }
        case "quickbooks":
            return try quickBooks(delivery)
        case "hubspot":
            guard case .array(let events) = try value(delivery) else { throw .missing("an array of events") }
            return try events.map { event throws(WebhookEventError) in
                guard let id = event["eventId"]?.intValue, let subscription = event["subscriptionId"]?.intValue else {
                    throw .missing("eventId and subscriptionId")
                }
                return WebhookEvent(eventID: "\(id):\(subscription)", eventType: event["subscriptionType"]?.stringValue, body: Array(event.serialized.utf8))
            }
        default:
            throw .missing("a known provider")
        }
    }

    /// QuickBooks: a CloudEvents array (each `id`), or the legacy `eventNotifications` format,
    /// whose entities get an id synthesised from realm, entity, id, operation and time.
    private static func quickBooks(_ delivery: WebhookDelivery) throws(WebhookEventError) -> [WebhookEvent] {
        switch try value(delivery) {
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

    private static func value(_ delivery: WebhookDelivery) throws(WebhookEventError) -> JSONValue {
        do {
            return try JSONValue(parsing: delivery.body)
        } catch {
            throw .notJSON(error.description)
        }
    }

    private static func object(_ delivery: WebhookDelivery) throws(WebhookEventError) -> JSONValue {
        let parsed = try value(delivery)
        guard case .object = parsed else { throw .missing("a JSON object") }
        return parsed
    }

    /// A single-event JSON delivery: only the id and type members are read (the body is still
    /// checked to be valid JSON), since this runs for every Stripe and Square delivery.
    private static func jsonEvent(_ delivery: WebhookDelivery, id: String, type: String) throws(WebhookEventError) -> WebhookEvent {
        let members: [String?]?
        do {
            members = try JSONValue.topLevelStrings([id, type], in: delivery.body)
        } catch {
            throw .notJSON(error.description)
        }
        guard let members else { throw .missing("a JSON object") }
        guard let eventID = members[0], !eventID.isEmpty else { throw .missing(id) }
        return WebhookEvent(eventID: eventID, eventType: members[1], body: delivery.body)
    }

    private static func headerEvent(_ delivery: WebhookDelivery, id: String, type: String) throws(WebhookEventError) -> WebhookEvent {
        guard let eventID = delivery.header(id), !eventID.isEmpty else { throw .missing("the \(id) header") }
        return WebhookEvent(eventID: eventID, eventType: delivery.header(type), body: delivery.body)
    }
}

/// A verified delivery whose events cannot be identified (400).
public enum WebhookEventError: Error, Sendable, Equatable, CustomStringConvertible {
    case missing(String)
    case notJSON(String)

    public var description: String {
        switch self {
        case .missing(let what): "the delivery has no \(what) to identify its event"
        case .notJSON(let reason): "the body is not JSON: \(reason)"
        }
    }
}
