extension SyncResource {
    /// Stripe's lists: newest first by `created`, 100 a page, `starting_after` the last id. Stripe
    /// objects carry no update time or version; later changes arrive through `/v1/events` (#16).
    static let stripe: [SyncResource] = ["customers", "products", "prices", "subscriptions", "invoices", "payment_intents", "charges"].map {
        SyncResource(name: $0, path: "/v1/\($0)", paging: .stripe(limit: 100))
    }
}
