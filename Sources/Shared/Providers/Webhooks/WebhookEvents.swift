import JunctionCore

/// One event of a verified delivery: what the dedupe key and the `webhook.process` job carry.
public struct WebhookEvent: Sendable, Equatable {
    /// The provider's event id, or one synthesised from the event's content where it has none.
    public let eventID: String
    public let eventType: String?
    /// The event's bytes: the raw body for single-event deliveries, the event's own JSON for
    /// deliveries that hold several.
    public let body: [UInt8]
}

/// What the schemes share to find a delivery's events (`providers.md`, "dedupe key").
enum WebhookEvents {
    static func value(_ delivery: WebhookDelivery) throws(WebhookEventError) -> JSONValue {
        do {
            return try JSONValue(parsing: delivery.body)
        } catch {
            throw .notJSON(error.description)
        }
    }

    static func object(_ delivery: WebhookDelivery) throws(WebhookEventError) -> JSONValue {
        let parsed = try value(delivery)
        guard case .object = parsed else { throw .missing("a JSON object") }
        return parsed
    }

    /// A single-event JSON delivery: only the id and type members are read (the body is still
    /// checked to be valid JSON), since this runs for every Stripe and Square delivery.
    static func jsonEvent(_ delivery: WebhookDelivery, id: String, type: String) throws(WebhookEventError) -> WebhookEvent {
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

    static func headerEvent(_ delivery: WebhookDelivery, id: String, type: String) throws(WebhookEventError) -> WebhookEvent {
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

extension WebhookDelivery {
    /// A JSON delivery of `body` with `headers` and `Content-Type` (the samples' common shape).
    static func json(_ url: String, _ body: String, _ headers: [String: String], contentType: String = "application/json") -> WebhookDelivery {
        WebhookDelivery(url: url, headers: headers.merging(["Content-Type": contentType]) { own, _ in own }, body: Array(body.utf8))
    }

    /// The form fields of the body, the first value of each name.
    var firstFormFields: [String: String] {
        Dictionary(Signatures.formFields(body)) { first, _ in first }
    }
}
