extension SyncResource {
    /// QuickBooks Online entities by query, `STARTPOSITION`/`MAXRESULTS` (up to 1,000); each object's
    /// `SyncToken` grows with every change. Incremental runs ask CDC (`/cdc`) what changed since the
    /// last complete run began; where CDC cannot answer (its answer is at its 1,000-object cap, or
    /// the last run began more than 30 days ago) they query by `Metadata.LastUpdatedTime` instead.
    static let quickBooks: [SyncResource] = [
        ("customers", "Customer"), ("invoices", "Invoice"), ("items", "Item"), ("payments", "Payment"), ("accounts", "Account"),
    ].map { name, entity in
        SyncResource(name: name, path: "/v3/company/{account}/query", paging: .quickBooksQuery(entity: entity, limit: 100),
                     idField: "Id", version: .integer(["SyncToken"]), headers: [("Accept", "application/json")],
                     changes: .quickBooksCDC(entity: entity), fallback: .quickBooksUpdated(entity: entity))
    }
}
