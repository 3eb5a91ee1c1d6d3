/// Every provider Junction knows, each described in its own folder. Adding a provider is its
/// folder and one line here; the registry's tests check that each one keeps what its description
/// promises (a webhook scheme verifies its published vector, its sample verifies and has events).
public enum Providers {
    public static let all: [Provider] = [
        .stripe, .square, .mailchimp, .quickBooks, .shopify, .hubSpot, .twilio,
        .gitHub, .slack, .google, .dropbox, .box, .keap, .goHighLevel,
    ]

    // A repeated id or scheme name keeps its first entry here; the registry's tests refuse it.
    private static let byID: [String: Provider] = Dictionary(all.map { ($0.id, $0) }) { first, _ in first }

    /// Every webhook scheme of every provider, by the name in `POST /webhooks/{name}`.
    public static let webhookSchemes: [String: any WebhookScheme] = Dictionary(
        all.flatMap(\.webhooks).map { ($0.name, $0) }) { first, _ in first }

    /// The provider called `id`, if Junction knows it.
    public static func named(_ id: String) -> Provider? { byID[id] }

    /// The webhook scheme behind `/webhooks/{name}`, if any provider sends with it.
    public static func webhookScheme(named name: String) -> (any WebhookScheme)? { webhookSchemes[name] }

    /// The known provider ids, sorted, for error messages.
    public static var ids: [String] { all.map(\.id).sorted() }
}
