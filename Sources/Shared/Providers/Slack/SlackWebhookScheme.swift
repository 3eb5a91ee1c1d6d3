import Foundation
import JunctionCore

/// Slack: `X-Slack-Signature: v0=<hex>`, HMAC-SHA256 (signing secret) of
/// `"v0:{X-Slack-Request-Timestamp}:{body}"`; the timestamp must be within the tolerance. The
/// event id is the envelope's `event_id`; a signed `url_verification` is answered with its
/// challenge, not enqueued.
public struct SlackWebhookScheme: WebhookScheme {
    public let name = "slack"
    public var tolerance: Int64

    public init(tolerance: Int64 = 300) { self.tolerance = tolerance }

    public func verify(_ delivery: WebhookDelivery, secrets: [WebhookSecret], now: Date) throws(WebhookRejection) {
        guard !secrets.isEmpty else { throw .noSecretConfigured }
        let header = try Signatures.require(delivery, "X-Slack-Signature")
        let timestampText = try Signatures.require(delivery, "X-Slack-Request-Timestamp")
        guard let timestamp = Int64(timestampText) else { throw .malformedHeader("X-Slack-Request-Timestamp", reason: "not a number") }
        guard header.hasPrefix("v0="), let signature = Signatures.hex(header.dropFirst(3)) else {
            throw .malformedHeader("X-Slack-Signature", reason: "expected v0=<hex>")
        }
        try Signatures.checkTimestamp(timestamp, now: now, tolerance: tolerance)
        guard Signatures.anyMatches(secrets, signature, { $0.sha256(prefix: "v0:\(timestampText):", delivery.body) }) else { throw .invalidSignature }
    }

    public func events(in delivery: WebhookDelivery) throws(WebhookEventError) -> [WebhookEvent] {
        let json = try WebhookEvents.object(delivery)
        guard let id = json["event_id"]?.stringValue else { throw .missing("event_id") }
        return [WebhookEvent(eventID: id, eventType: json["event"]?["type"]?.stringValue ?? json["type"]?.stringValue, body: delivery.body)]
    }

    public func handshakeReply(to delivery: WebhookDelivery) -> String? {
        guard let json = try? JSONValue(parsing: delivery.body), json["type"]?.stringValue == "url_verification",
              let challenge = json["challenge"]?.stringValue else { return nil }
        return #"{"challenge":\#(JSONText.string(challenge))}"#
    }

    public func sample(url: String, secret: String, eventType: String?, now: Date) -> WebhookDelivery {
        let id = Identifiers.uuid().replacingOccurrences(of: "-", with: "")
        let seconds = Int64(now.timeIntervalSince1970)
        let body = #"{"token":"deprecated","team_id":"T1DC2JH3J","api_app_id":"A2H9RFS1A","event":{"type":"\#(eventType ?? "app_mention")","user":"U2147483697","text":"<@U0LAN0Z89> sync now","ts":"\#(seconds).000200","channel":"C2147483705"},"type":"event_callback","event_id":"Ev\#(id.prefix(10).uppercased())","event_time":\#(seconds)}"#
        let signature = Signatures.hexString(Signatures.hmacSHA256(secret, Array("v0:\(seconds):\(body)".utf8)))
        return .json(url, body, ["X-Slack-Signature": "v0=\(signature)", "X-Slack-Request-Timestamp": String(seconds)])
    }

    public var vector: WebhookVector {
        WebhookVector(delivery: WebhookDelivery(url: "https://hooks.example.com/webhooks/slack", headers: [
            "X-Slack-Signature": "v0=bca5eef5dd737ed259b428b18cd24f679baa18c3fc5f1cb2a6ac9f03e717969a", "X-Slack-Request-Timestamp": "1531420618",
        ], body: Array("token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J".utf8)),
        secret: "8f742231b10e8888abcd99yyyzzz85a5", validAt: Date(timeIntervalSince1970: 1_531_420_700), source: "computed with Python's hmac module")
    }
}
