/// Stripe takes customers and prices (#18), form-encoded, each call with an `Idempotency-Key`:
/// Stripe keeps the first answer to a key for 24 hours and answers a retry with it, so a retry
/// never creates a second customer.
extension PushCatalog {
    static let stripe: [PushTarget] = [
        PushTarget(provider: "stripe", resource: "customers", createPath: "/v1/customers", updatePath: "/v1/customers/{id}", encoding: .form, idempotencyHeader: "Idempotency-Key"),
        PushTarget(provider: "stripe", resource: "prices", createPath: "/v1/prices", updatePath: "/v1/prices/{id}", encoding: .form, idempotencyHeader: "Idempotency-Key"),
    ]
}
