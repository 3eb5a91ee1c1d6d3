extension Provider {
    /// Square: OAuth (code flow, or PKCE with single-use refresh tokens); no published rate limit.
    public static let square = Provider(
        id: "square", displayName: "Square",
        api: ProviderAPI(baseURL: "https://connect.squareup.com", check: ProviderCheck(path: "/v2/merchants/me")),
        auth: [.oauth2], webhooks: [SquareWebhookScheme()], oauth: .square, sync: SyncResource.square,
        syncChanges: SyncResource.squareChanges)
}
