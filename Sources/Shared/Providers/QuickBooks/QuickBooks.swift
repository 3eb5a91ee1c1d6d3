extension Provider {
    /// QuickBooks Online: OAuth with rotating refresh tokens; 500 requests/min and 10 concurrent
    /// per realm.
    public static let quickBooks = Provider(
        id: "quickbooks", displayName: "QuickBooks",
        api: ProviderAPI(baseURL: "https://quickbooks.api.intuit.com", connectionLimit: RateLimit(count: 500, period: .seconds(60), concurrent: 10),
                         check: ProviderCheck(path: "/v3/company/{account}/companyinfo/{account}", headers: [("Accept", "application/json")])),
        auth: [.oauth2], webhooks: [QuickBooksWebhookScheme()], oauth: .quickBooks, sync: SyncResource.quickBooks,
        syncChanges: SyncResource.quickBooksChanges)
}
