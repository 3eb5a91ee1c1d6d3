extension Provider {
    /// GitHub: OAuth apps (or GitHub Apps); 5,000 requests/hour per token.
    public static let gitHub = Provider(
        id: "github", displayName: "GitHub",
        api: ProviderAPI(baseURL: "https://api.github.com", connectionLimit: RateLimit(count: 5000, period: .seconds(3600), burst: 10)),
        auth: [.oauth2], webhooks: [GitHubWebhookScheme()])
}
