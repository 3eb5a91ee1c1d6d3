extension Provider {
    /// Mailchimp: OAuth (tokens that do not expire) or an API key; about 10 simultaneous
    /// connections per user. Marketing webhooks carry a URL token; Transactional (Mandrill)
    /// webhooks are signed.
    public static let mailchimp = Provider(
        id: "mailchimp", displayName: "Mailchimp",
        api: ProviderAPI(baseURL: "https://us1.api.mailchimp.com", connectionLimit: RateLimit(count: 0, period: .seconds(1), concurrent: 10),
                         check: ProviderCheck(path: "/3.0/ping"), apiKeyPresentation: .basicPassword),
        auth: [.oauth2, .apiKey], webhooks: [MailchimpWebhookScheme(), MandrillWebhookScheme()], oauth: .mailchimp,
        sync: SyncResource.mailchimp, syncChanges: SyncResource.mailchimpChanges)
}
