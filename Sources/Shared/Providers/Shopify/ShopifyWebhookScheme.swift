import Foundation
import JunctionCore

/// Shopify: `X-Shopify-Hmac-Sha256`, base64 HMAC-SHA256 (app client secret) of the raw body; the
/// event id is `X-Shopify-Webhook-Id`. Shopify may take an hour to switch to a rotated secret, so
/// both stay active meanwhile.
public struct ShopifyWebhookScheme: WebhookScheme {
    public let name = "shopify"

    public init() {}

    public func verify(_ delivery: WebhookDelivery, secrets: [WebhookSecret], now: Date) throws(WebhookRejection) {
        try BodyHMACSHA256(header: "X-Shopify-Hmac-Sha256", encoding: .base64).verify(delivery, secrets: secrets)
    }

    public func events(in delivery: WebhookDelivery) throws(WebhookEventError) -> [WebhookEvent] {
        [try WebhookEvents.headerEvent(delivery, id: "X-Shopify-Webhook-Id", type: "X-Shopify-Topic")]
    }

    public func sample(url: String, secret: String, eventType: String?, now: Date) -> WebhookDelivery {
        let id = Identifiers.uuid().replacingOccurrences(of: "-", with: "")
        let body = #"{"id":\#(Int64(now.timeIntervalSince1970) * 1000 + Int64(id.prefix(3).utf8.reduce(0) { $0 + Int($1) })),"email":"zoe@example.com","first_name":"Zoë","last_name":"Martín","updated_at":"\#(Timestamp.format(now))"}"#
        let signature = Data(Signatures.hmacSHA256(secret, Array(body.utf8))).base64EncodedString()
        return .json(url, body, ["X-Shopify-Hmac-Sha256": signature, "X-Shopify-Webhook-Id": Identifiers.uuid(), "X-Shopify-Topic": eventType ?? "customers/update", "X-Shopify-Shop-Domain": "junction-demo.myshopify.com"])
    }

    public var vector: WebhookVector {
        WebhookVector(delivery: WebhookDelivery(url: "https://hooks.example.com/webhooks/shopify", headers: [
            "X-Shopify-Hmac-Sha256": "1GxccvotnkOedTjSm8S0m/VA3yAUKshyqT52ccNYHj4=",
        ], body: Array(#"{"id":1}"#.utf8)), secret: "shpss_test", validAt: Date(timeIntervalSince1970: 1_700_000_000), source: "computed")
    }
}
