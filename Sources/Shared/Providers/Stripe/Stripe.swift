extension Provider {
    /// Stripe: API keys (`sk_…`) or Connect OAuth; 100 requests/s per account in live mode.
    public static let stripe = Provider(
        id: "stripe", displayName: "Stripe",
        api: ProviderAPI(baseURL: "https://api.stripe.com", connectionLimit: RateLimit(count: 100, period: .seconds(1)),
                         check: ProviderCheck(path: "/v1/account")),
        auth: [.apiKey, .oauth2], webhooks: [StripeWebhookScheme()], oauth: .stripe, sync: SyncResource.stripe,
        syncChanges: SyncResource.stripeChanges)
}
