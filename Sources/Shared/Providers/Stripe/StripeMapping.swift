import JunctionMapping

/// Stripe's objects as its API reference documents them (the fields a mapping may read), and the
/// default mapped record of each synced resource. Amounts are in minor units with a lower-case
/// `currency`; times are Unix seconds.
extension MappingCatalog {
    static let stripe: [ResourceMappingDefaults] = {
        let common: [String: FieldType] = ["id": .string, "object": .string, "created": .unixTime, "livemode": .boolean, "metadata": .object]
        let stripeAddress = ["line1", "line2", "city", "state", "postal_code", "country"]
        func amount(_ target: String, _ source: String) -> MappingRule {
            MappingRule(target, source, .money(to: .decimal, currency: .field(try! FieldPath(parsing: "currency"))))
        }
        let currency = MappingRule("currency", "currency", .upper)
        let created = MappingRule("created_at", "created", utcTime)
        return [
            ResourceMappingDefaults("stripe", "customers", fields: common + [
                "name": .string, "email": .string, "phone": .string, "description": .string, "balance": .minorUnits, "currency": .string,
                "delinquent": .boolean, "default_source": .string, "invoice_prefix": .string, "tax_exempt": .string,
                "preferred_locales": .array(.string), "shipping": .object, "shipping.name": .string, "shipping.phone": .string,
            ] + address("address", stripeAddress) + address("shipping.address", stripeAddress), defaults: [
                MappingRule("name", "name", .trim), MappingRule("email", "email", .trim, .lower), MappingRule("phone", "phone", .phone(region: "US")),
                MappingRule("description", "description", .trim),
            ] + addressRules("address", line1: "line1", line2: "line2", city: "city", region: "state", postalCode: "postal_code", country: "country")
              + [MappingRule("balance", "balance", .money(to: .decimal, currency: .field(try! FieldPath(parsing: "currency")))), currency, created]),
            ResourceMappingDefaults("stripe", "products", fields: common + [
                "name": .string, "description": .string, "active": .boolean, "updated": .unixTime, "images": .array(.string),
                "default_price": .string, "type": .string, "unit_label": .string, "url": .string,
            ], defaults: [
                MappingRule("name", "name", .trim), MappingRule("description", "description", .trim), MappingRule("active", "active"),
                MappingRule("default_price_id", "default_price"), created, MappingRule("updated_at", "updated", utcTime),
            ]),
            ResourceMappingDefaults("stripe", "prices", fields: common + [
                "product": .string, "active": .boolean, "currency": .string, "unit_amount": .minorUnits, "unit_amount_decimal": .string,
                "type": .string, "billing_scheme": .string, "nickname": .string, "lookup_key": .string,
                "recurring": .object, "recurring.interval": .string, "recurring.interval_count": .integer,
            ], defaults: [
                MappingRule("product_id", "product"), amount("amount", "unit_amount"), currency, MappingRule("active", "active"),
                MappingRule("type", "type"), MappingRule("interval", "recurring.interval"), MappingRule("interval_count", "recurring.interval_count"),
                MappingRule("name", "nickname", .trim), created,
            ]),
            ResourceMappingDefaults("stripe", "subscriptions", fields: common + [
                "customer": .string, "status": .string, "currency": .string, "collection_method": .string,
                "current_period_start": .unixTime, "current_period_end": .unixTime, "start_date": .unixTime, "ended_at": .unixTime,
                "canceled_at": .unixTime, "cancel_at_period_end": .boolean, "trial_end": .unixTime,
                "items": .object, "items.data": .array(.object), "items.data[*].id": .string, "items.data[*].quantity": .integer,
                "items.data[*].price": .object, "items.data[*].price.id": .string, "items.data[*].price.unit_amount": .minorUnits,
            ], defaults: [
                MappingRule("customer_id", "customer"), MappingRule("status", "status"), currency,
                MappingRule("price_ids", "items.data[*].price.id"), MappingRule("current_period_end", "current_period_end", utcTime),
                MappingRule("cancel_at_period_end", "cancel_at_period_end"), MappingRule("started_at", "start_date", utcTime),
                MappingRule("ended_at", "ended_at", utcTime), created,
            ]),
            ResourceMappingDefaults("stripe", "invoices", fields: common + [
                "number": .string, "customer": .string, "customer_email": .string, "customer_name": .string, "status": .string,
                "currency": .string, "total": .minorUnits, "subtotal": .minorUnits, "amount_due": .minorUnits, "amount_paid": .minorUnits,
                "amount_remaining": .minorUnits, "due_date": .unixTime, "period_start": .unixTime, "period_end": .unixTime,
                "hosted_invoice_url": .string, "invoice_pdf": .string, "subscription": .string, "paid": .boolean,
                "lines": .object, "lines.data": .array(.object), "lines.data[*].description": .string, "lines.data[*].amount": .minorUnits,
            ], defaults: [
                MappingRule("number", "number"), MappingRule("customer_id", "customer"), MappingRule("status", "status"),
                amount("total", "total"), amount("amount_due", "amount_due"), amount("amount_paid", "amount_paid"), currency,
                MappingRule("due_date", "due_date", day), MappingRule("url", "hosted_invoice_url"), created,
            ]),
            ResourceMappingDefaults("stripe", "payment_intents", fields: common + [
                "amount": .minorUnits, "amount_received": .minorUnits, "currency": .string, "customer": .string, "status": .string,
                "description": .string, "payment_method": .string, "receipt_email": .string, "latest_charge": .string,
            ], defaults: [
                amount("amount", "amount"), amount("amount_received", "amount_received"), currency, MappingRule("status", "status"),
                MappingRule("customer_id", "customer"), MappingRule("description", "description", .trim), created,
            ]),
            ResourceMappingDefaults("stripe", "charges", fields: common + [
                "amount": .minorUnits, "amount_refunded": .minorUnits, "currency": .string, "customer": .string, "payment_intent": .string,
                "status": .string, "paid": .boolean, "refunded": .boolean, "description": .string, "receipt_email": .string,
                "receipt_url": .string, "failure_message": .string, "billing_details": .object, "billing_details.name": .string,
                "billing_details.email": .string, "billing_details.phone": .string,
            ], defaults: [
                amount("amount", "amount"), amount("amount_refunded", "amount_refunded"), currency, MappingRule("status", "status"),
                MappingRule("paid", "paid"), MappingRule("refunded", "refunded"), MappingRule("customer_id", "customer"),
                MappingRule("payment_intent_id", "payment_intent"), created,
            ]),
            ResourceMappingDefaults("stripe", "refunds", fields: common + [
                "amount": .minorUnits, "currency": .string, "charge": .string, "payment_intent": .string, "status": .string, "reason": .string,
            ], defaults: [
                amount("amount", "amount"), currency, MappingRule("status", "status"), MappingRule("reason", "reason"),
                MappingRule("charge_id", "charge"), MappingRule("payment_intent_id", "payment_intent"), created,
            ]),
            ResourceMappingDefaults("stripe", "disputes", fields: common + [
                "amount": .minorUnits, "currency": .string, "charge": .string, "payment_intent": .string, "status": .string, "reason": .string,
                "is_charge_refundable": .boolean, "evidence_details": .object, "evidence_details.due_by": .unixTime,
            ], defaults: [
                amount("amount", "amount"), currency, MappingRule("status", "status"), MappingRule("reason", "reason"),
                MappingRule("charge_id", "charge"), MappingRule("evidence_due_at", "evidence_details.due_by", utcTime), created,
            ]),
        ]
    }()
}
