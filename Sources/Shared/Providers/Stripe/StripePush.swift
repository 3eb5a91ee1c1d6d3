/// Stripe takes customers and prices (#18), form-encoded, each call with an `Idempotency-Key`:
/// Stripe keeps the first answer to a key for 24 hours and answers a retry with it, so a retry
/// never creates a second customer. Stripe has no optimistic concurrency: an update applies
/// whatever changed meanwhile.
extension PushCatalog {
    static let stripe: [PushTarget] = [("customers", "customer"), ("prices", "price")].map { resource, _ in
        PushTarget(provider: "stripe", resource: resource, create: .init("POST", "/v1/\(resource)"), update: .init("POST", "/v1/\(resource)/{id}"),
                   read: "/v1/\(resource)/{id}", encoding: .form, idempotency: .header("Idempotency-Key"),
                   synced: SyncResource.stripe.first { $0.name == resource })
    }
}
