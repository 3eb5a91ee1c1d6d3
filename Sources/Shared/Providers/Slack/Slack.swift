extension Provider {
    /// Slack: OAuth; limits are per method (429 with `Retry-After`).
    public static let slack = Provider(
        id: "slack", displayName: "Slack",
        api: ProviderAPI(baseURL: "https://slack.com/api"),
        auth: [.oauth2], webhooks: [SlackWebhookScheme()])
}
