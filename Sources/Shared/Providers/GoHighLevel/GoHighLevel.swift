extension Provider {
    /// GoHighLevel (LeadConnector): OAuth with a new refresh token on each use; 100 requests per
    /// 10 s.
    public static let goHighLevel = Provider(
        id: "gohighlevel", displayName: "GoHighLevel",
        api: ProviderAPI(baseURL: "https://services.leadconnectorhq.com", connectionLimit: RateLimit(count: 100, period: .seconds(10), burst: 10)),
        auth: [.oauth2], oauth: .goHighLevel)
}
