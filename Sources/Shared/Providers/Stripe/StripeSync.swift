import JunctionCore

extension SyncResource {
    /// Stripe's lists: newest first by `created`, 100 a page, `starting_after` the last id. Stripe
    /// objects carry no update time or version, so a page's objects are ordered by when they were
    /// fetched, and an event's by its `created`: the newer wins. Incremental runs follow
    /// `/v1/events` of the resource's events (kept 30 days).
    static let stripe: [SyncResource] = [
        ("customers", "customer", "customer"), ("products", "product", "product"), ("prices", "price", "price"),
        ("subscriptions", "subscription", "customer.subscription"), ("invoices", "invoice", "invoice"),
        ("payment_intents", "payment_intent", "payment_intent"), ("charges", "charge", "charge"), ("refunds", "refund", "refund"),
        ("disputes", "dispute", "charge.dispute"),
    ].map { name, object, events in
        SyncResource(name: name, path: "/v1/\(name)", paging: .stripe(limit: 100), objectType: object, changes: .stripeEvents(type: events + ".*"))
    }

    /// The change a Stripe event carries: every event about a synced object holds the whole object
    /// (`data.object`); `*.deleted` deletes it, except `customer.subscription.deleted`, which ends a
    /// subscription that stays (canceled). Other events (and unreadable bodies) carry none.
    static func stripeChanges(_ body: [UInt8]) -> [SyncChange] {
        (try? JSONValue(parsing: body)).map(stripeChange) ?? []
    }

    static func stripeChange(_ event: JSONValue) -> [SyncChange] {
        guard let type = event["type"]?.stringValue, let object = event["data"]?["object"],
              let kind = object["object"]?.stringValue, let resource = stripe.first(where: { $0.objectType == kind }),
              let id = resource.id(of: object) else { return [] }
        let created = event["created"]?.intValue.map { $0 * 1000 }
        // A subscription "deleted" has ended: it stays, `status: canceled`, as the object says.
        let deleted = (type.hasSuffix(".deleted") && type != "customer.subscription.deleted") || object["deleted"]?.boolValue == true
        return [SyncChange(resource: resource.name, externalID: id, object: deleted ? JSONValue?.none : object, deleted: deleted, version: created,
                           account: event["account"]?.stringValue)]
    }
}
