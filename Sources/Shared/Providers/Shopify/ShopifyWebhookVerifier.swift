import Foundation

/// Shopify: `X-Shopify-Hmac-Sha256`, base64 HMAC-SHA256 (app client secret) of the raw body.
/// Shopify may take an hour to switch to a rotated secret, so both stay active meanwhile.
public struct ShopifyWebhookVerifier: WebhookVerifier {
    public init() {}

    public func verify(_ delivery: WebhookDelivery, secrets: [String], now: Date) throws(WebhookRejection) {
        try BodyHMACSHA256(header: "X-Shopify-Hmac-Sha256", encoding: .base64).verify(delivery, secrets: secrets)
    }
}
