import JunctionCore

/// QuickBooks takes customers and invoices (#18) as JSON, both by `POST …/<entity>`: a create has
/// no `Id`; an update is sparse (`"sparse": true`) and must carry the `Id` and the `SyncToken` it
/// was made against, which QuickBooks refuses with fault 5010 (Stale Object Error) when the
/// object changed since. Every call carries `requestid` (the push's id): QuickBooks answers a
/// repeated request id with the first call's answer, so a retry never writes twice.
extension PushCatalog {
    static let quickBooks: [PushTarget] = [("customers", "customer", "Customer", ["DisplayName"]), ("invoices", "invoice", "Invoice", ["CustomerRef", "Line"])]
        .map { resource, path, entity, required in
            PushTarget(provider: "quickbooks", resource: resource, create: .init("POST", "/v3/company/{account}/\(path)"),
                       update: .init("POST", "/v3/company/{account}/\(path)"), read: "/v3/company/{account}/\(path)/{id}", encoding: .json,
                       idempotency: .query("requestid"), answerKey: entity,
                       concurrency: .init(field: "SyncToken", required: true, updateFields: ["sparse": true], updatedAt: ["MetaData", "LastUpdatedTime"],
                                          isConflict: { status, body in
                                              status == 400 && (body?["Fault"]?["Error"]?.arrayValue ?? []).contains { $0["code"]?.stringValue == "5010" }
                                          }),
                       requiredOnCreate: required, headers: [("Accept", "application/json")], bodyID: "Id",
                       synced: SyncResource.quickBooks.first { $0.name == resource })
        }
}
