extension SyncResource {
    /// Square's v2 lists with `cursor`; customers carry `version`, payments and catalog objects
    /// `updated_at` (and catalog objects `version` too).
    static let square: [SyncResource] = [
        SyncResource(name: "customers", path: "/v2/customers", paging: .squareCursor(itemsKey: "customers", limit: 100), version: .integer(["version"])),
        SyncResource(name: "payments", path: "/v2/payments", paging: .squareCursor(itemsKey: "payments", limit: 100), version: .timestamp(["updated_at"])),
        SyncResource(name: "catalog", path: "/v2/catalog/list", paging: .squareCursor(itemsKey: "objects", limit: 100), version: .integer(["version"])),
    ]
}
