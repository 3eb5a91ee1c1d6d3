extension Provider {
    /// HubSpot: OAuth; 100 requests per 10 s per account.
    public static let hubSpot = Provider(
        id: "hubspot", displayName: "HubSpot",
        api: ProviderAPI(baseURL: "https://api.hubapi.com", connectionLimit: RateLimit(count: 100, period: .seconds(10), burst: 10)),
        auth: [.oauth2], webhooks: [HubSpotWebhookScheme()], oauth: .hubSpot)
}
