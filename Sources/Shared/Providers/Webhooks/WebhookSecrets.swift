import JunctionCore

/// The active webhook secrets per scheme, from `JUNCTION_WEBHOOK_SECRETS_<NAME>`
/// (comma-separated: during a rotation both the old and the new secret are listed). A scheme
/// with no secret has none here, and its deliveries are refused (fail closed); there is no default.
public struct WebhookSecrets: Sendable {
    public let byProvider: [String: [WebhookSecret]]

    public init(environment: EnvironmentVariables) {
        var secrets: [String: [WebhookSecret]] = [:]
        for name in Providers.webhookSchemes.keys {
            let values = environment.string("JUNCTION_WEBHOOK_SECRETS_\(name.uppercased())", default: "")
                .split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
            if !values.isEmpty { secrets[name] = values.map(WebhookSecret.init) }
        }
        byProvider = secrets
    }

    public func secrets(for provider: String) -> [WebhookSecret] { byProvider[provider] ?? [] }
}
