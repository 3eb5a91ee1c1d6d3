import JunctionCore

extension SyncResource {
    /// Square's v2 lists with `cursor`; customers carry `version`, payments `updated_at`, catalog
    /// objects `version`. Incremental runs search by update time: customers by
    /// `query.filter.updated_at`, the catalog by `begin_time` (deleted objects included, as
    /// `is_deleted`), payments by `updated_at_begin_time`. Square's results are eventually
    /// consistent; the minute of overlap every incremental run has absorbs the lag.
    static let square: [SyncResource] = [
        SyncResource(name: "customers", path: "/v2/customers", paging: .squareCursor(itemsKey: "customers", limit: 100), version: .integer(["version"]),
                     headers: squareHeaders, objectType: "customer", changes: .squareCustomers),
        // ListPayments answers the last year, newest first, unless told otherwise.
        SyncResource(name: "payments", path: "/v2/payments?sort_order=ASC&begin_time=\(squareEpoch)", paging: .squareCursor(itemsKey: "payments", limit: 100),
                     version: .timestamp(["updated_at"]), headers: squareHeaders, objectType: "payment", changes: .squarePayments),
        SyncResource(name: "catalog", path: "/v2/catalog/list", paging: .squareCursor(itemsKey: "objects", limit: 100), version: .integer(["version"]),
                     headers: squareHeaders, changes: .squareCatalog),
        SyncResource(name: "orders", path: "/v2/orders/search", paging: .squareOrders(limit: 500), version: .integer(["version"]),
                     headers: squareHeaders, objectType: "order", changes: .squareOrders),
        // One count per catalog object, location and state; `calculated_at` orders its states.
        SyncResource(name: "inventory", path: "/v2/inventory/counts/batch-retrieve", paging: .squareSearch(itemsKey: "counts", limit: 1000),
                     idField: "state", idScope: ["catalog_object_id", "location_id"], version: .timestamp(["calculated_at"]), headers: squareHeaders,
                     changes: .squareInventory),
    ]

    static let squareHeaders = [("Square-Version", "2024-06-04")]

    /// What a Square event says: `customer.*` and `payment.*` carry the object whole
    /// (`data.object.<type>`, ordered by its own version); `customer.deleted` deletes;
    /// `inventory.count.updated` carries the counts; `catalog.version.updated` and
    /// `order.created|updated` name no whole object, so the catalog or the orders are synced.
    static func squareChanges(_ body: [UInt8]) -> [SyncChange] {
        guard let event = try? JSONValue(parsing: body), let type = event["type"]?.stringValue else { return [] }
        let account = event["merchant_id"]?.stringValue
        if type == "catalog.version.updated" { return [.refresh("catalog", account: account)] }
        if type.hasPrefix("order.") { return [.refresh("orders", account: account)] }
        if type == "inventory.count.updated", let inventory = square.first(where: { $0.name == "inventory" }) {
            return (event["data"]?["object"]?["inventory_counts"]?.arrayValue ?? []).compactMap { count in
                inventory.id(of: count).map { SyncChange(resource: "inventory", externalID: $0, object: count, deleted: false, version: inventory.version(of: count), account: account) }
            }
        }
        guard let kind = event["data"]?["type"]?.stringValue, let resource = square.first(where: { $0.objectType == kind }),
              let object = event["data"]?["object"]?[kind], let id = resource.id(of: object) ?? event["data"]?["id"]?.stringValue else { return [] }
        let deleted = type.hasSuffix(".deleted")
        return [SyncChange(resource: resource.name, externalID: id, object: deleted ? JSONValue?.none : object, deleted: deleted,
                           version: resource.version(of: object), account: account)]
    }
}
