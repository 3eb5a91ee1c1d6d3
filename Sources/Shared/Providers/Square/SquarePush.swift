import JunctionCore

/// Square takes customers (#18) as JSON. A create carries `idempotency_key` in its body: Square
/// answers a retry with the customer the first call made. An update (`PUT /v2/customers/{id}`)
/// carries the `version` it was made against; Square refuses it with a `CONFLICT` error when the
/// customer changed since, and the push reads the customer again and decides by the connection's
/// conflict policy.
extension PushCatalog {
    static let square: [PushTarget] = [
        PushTarget(provider: "square", resource: "customers", create: .init("POST", "/v2/customers"), update: .init("PUT", "/v2/customers/{id}"),
                   read: "/v2/customers/{id}", encoding: .json, idempotency: .bodyField("idempotency_key"), answerKey: "customer",
                   concurrency: .init(field: "version", required: false, updatedAt: ["updated_at"], isConflict: { status, body in
                       (status == 400 || status == 409) && (body?["errors"]?.arrayValue ?? []).contains {
                           ["CONFLICT", "VERSION_MISMATCH"].contains($0["code"]?.stringValue ?? "")
                       }
                   }),
                   synced: SyncResource.square.first { $0.name == "customers" }),
    ]
}
