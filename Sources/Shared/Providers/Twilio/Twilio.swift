extension Provider {
    /// Twilio: HTTP Basic with the account SID and auth token; no published account-wide limit.
    public static let twilio = Provider(
        id: "twilio", displayName: "Twilio",
        api: ProviderAPI(baseURL: "https://api.twilio.com"),
        auth: [.basic], webhooks: [TwilioWebhookScheme()])
}
