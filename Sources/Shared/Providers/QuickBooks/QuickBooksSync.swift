import JunctionCore

extension SyncResource {
    /// QuickBooks Online entities by query, `STARTPOSITION`/`MAXRESULTS 1000`; each object's
    /// `SyncToken` grows with every change. Incremental runs ask CDC (`/cdc`) what changed since the
    /// last complete run began; where CDC cannot answer (its answer is at its 1,000-object cap, or
    /// the last run began more than 30 days ago) they query by `Metadata.LastUpdatedTime` instead.
    static let quickBooks: [SyncResource] = [
        ("customers", "Customer"), ("invoices", "Invoice"), ("items", "Item"), ("payments", "Payment"), ("accounts", "Account"),
    ].map { name, entity in
        // 1,000 a page, QuickBooks's maximum: its 500 calls a minute per company are what bound a walk.
        SyncResource(name: name, path: "/v3/company/{account}/query", paging: .quickBooksQuery(entity: entity, limit: 1000),
                     idField: "Id", version: .integer(["SyncToken"]), headers: [("Accept", "application/json")],
                     changes: .quickBooksCDC(entity: entity), fallback: .quickBooksUpdated(entity: entity))
    }

    /// A QuickBooks event names an entity and its id, never the object: the entity's resource is
    /// synced (CDC brings the change, a delete included). CloudEvents (`qbo.invoice.updated.v1`,
    /// `intuitaccountid`) and the legacy `eventNotifications` both.
    static func quickBooksChanges(_ body: [UInt8]) -> [SyncChange] {
        guard let event = try? JSONValue(parsing: body) else { return [] }
        func resource(_ entity: String) -> String? { quickBooks.first { $0.changes == .quickBooksCDC(entity: entity) }?.name }
        if let type = event["type"]?.stringValue {
            let parts = type.split(separator: ".")
            guard parts.count >= 3, let name = resource(parts[1].prefix(1).uppercased() + parts[1].dropFirst()) else { return [] }
            return [.refresh(name, account: event["intuitaccountid"]?.stringValue)]
        }
        var changes: [SyncChange] = []
        for notification in event["eventNotifications"]?.arrayValue ?? [] {
            let realm = notification["realmId"]?.stringValue
            for entity in notification["dataChangeEvent"]?["entities"]?.arrayValue ?? [] {
                if let name = entity["name"]?.stringValue.flatMap(resource) { changes.append(.refresh(name, account: realm)) }
            }
        }
        return changes
    }
}
