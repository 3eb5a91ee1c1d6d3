extension Provider {
    /// Mailchimp: OAuth (tokens that do not expire) or an API key; about 10 simultaneous
    /// connections per user. Marketing webhooks carry a URL token; Transactional (Mandrill)
    /// webhooks are signed.
    public static let mailchimp = Provider(
        id: "mailchimp", displayName: "Mailchimp",
        api: ProviderAPI(baseURL: "https://us1.api.mailchimp.com", connectionLimit: RateLimit(count: 0, period: .seconds(1), concurrent: 10),
                         check: ProviderCheck(path: "/3.0/ping"), apiKeyPresentation: .basicPassword, accountBaseURL: mailchimpHost),
        auth: [.oauth2, .apiKey], webhooks: [MailchimpWebhookScheme(), MandrillWebhookScheme()], oauth: .mailchimp,
        sync: SyncResource.mailchimp, syncChanges: SyncResource.mailchimpChanges)
}

extension Provider {
    /// Mailchimp's API is at `https://<dc>.api.mailchimp.com`: the data centre is the connection's
    /// account id (the OAuth metadata call's `dc`) or its API key's suffix (`…-us6`).
    @Sendable static func mailchimpHost(account: String?, apiKey: String?) -> String? {
        func dataCentre(_ text: String?) -> String? {
            guard let text, text.hasPrefix("us"), text.count > 2, text.dropFirst(2).allSatisfy(\.isNumber) else { return nil }
            return text
        }
        let suffix = apiKey.flatMap { key in key.lastIndex(of: "-").map { String(key[key.index(after: $0)...]) } }
        return (dataCentre(account) ?? dataCentre(suffix)).map { "https://\($0).api.mailchimp.com" }
    }
}
