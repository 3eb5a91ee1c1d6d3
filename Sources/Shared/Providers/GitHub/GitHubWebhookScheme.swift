import Foundation
import JunctionCore

/// GitHub: `X-Hub-Signature-256: sha256=<hex>`, HMAC-SHA256 of the raw body (the SHA-1
/// `X-Hub-Signature` header is ignored). The event id is `X-GitHub-Delivery`; a `ping` (sent when
/// a hook is created) is answered, not enqueued.
public struct GitHubWebhookScheme: WebhookScheme {
    public let name = "github"

    public init() {}

    public func verify(_ delivery: WebhookDelivery, secrets: [WebhookSecret], now: Date) throws(WebhookRejection) {
        try BodyHMACSHA256(header: "X-Hub-Signature-256", encoding: .prefixedHex("sha256=")).verify(delivery, secrets: secrets)
    }

    public func events(in delivery: WebhookDelivery) throws(WebhookEventError) -> [WebhookEvent] {
        [try WebhookEvents.headerEvent(delivery, id: "X-GitHub-Delivery", type: "X-GitHub-Event")]
    }

    public func handshakeReply(to delivery: WebhookDelivery) -> String? {
        delivery.header("X-GitHub-Event") == "ping" ? #"{"pong":true}"# : nil
    }

    public func sample(url: String, secret: String, eventType: String?, now: Date) -> WebhookDelivery {
        let body = #"{"action":"opened","issue":{"number":\#(Int64(now.timeIntervalSince1970) % 1000),"title":"Sync fails for venue 42"},"repository":{"full_name":"junction/demo"}}"#
        let signature = Signatures.hexString(Signatures.hmacSHA256(secret, Array(body.utf8)))
        return .json(url, body, ["X-Hub-Signature-256": "sha256=\(signature)", "X-GitHub-Delivery": Identifiers.uuid(), "X-GitHub-Event": eventType ?? "issues"])
    }

    public var vector: WebhookVector {
        WebhookVector(delivery: WebhookDelivery(url: "https://hooks.example.com/webhooks/github", headers: [
            "X-Hub-Signature-256": "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17",
        ], body: Array("Hello, World!".utf8)), secret: "It's a Secret to Everybody", validAt: Date(timeIntervalSince1970: 1_700_000_000),
        source: "GitHub's documentation")
    }
}
