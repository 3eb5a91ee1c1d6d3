extension Provider {
    /// Shopify: per-shop OAuth (expiring offline tokens rotate); REST's leaky bucket of 40 calls
    /// leaking 2/s.
    public static let shopify = Provider(
        id: "shopify", displayName: "Shopify",
        api: ProviderAPI(baseURL: "https://shop.myshopify.com", connectionLimit: RateLimit(count: 2, period: .seconds(1), burst: 40)),
        auth: [.oauth2], webhooks: [ShopifyWebhookScheme()], oauth: .shopify)
}
