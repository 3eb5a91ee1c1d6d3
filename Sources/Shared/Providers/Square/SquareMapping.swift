import JunctionMapping

/// Square's objects as its API reference documents them, and the default mapped record of each
/// synced resource. Money is `{"amount": <minor units>, "currency": "USD"}`; times are RFC 3339.
extension MappingCatalog {
    static let square: [ResourceMappingDefaults] = {
        let squareAddress = ["address_line_1", "address_line_2", "address_line_3", "locality", "sublocality", "administrative_district_level_1", "postal_code", "country", "first_name", "last_name"]
        func amount(_ target: String, _ money: String) -> [MappingRule] {
            [MappingRule(target, "\(money).amount", .money(to: .decimal, currency: .field(try! FieldPath(parsing: "\(money).currency"))))]
        }
        let times: [String: FieldType] = ["id": .string, "created_at": .isoTime, "updated_at": .isoTime]
        let timeRules = [MappingRule("created_at", "created_at", utcTime), MappingRule("updated_at", "updated_at", utcTime)]
        return [
            ResourceMappingDefaults("square", "customers", fields: times + [
                "given_name": .string, "family_name": .string, "company_name": .string, "nickname": .string, "email_address": .string,
                "phone_number": .string, "birthday": .string, "note": .string, "reference_id": .string, "version": .integer,
                "creation_source": .string, "group_ids": .array(.string), "segment_ids": .array(.string), "preferences": .object,
                "preferences.email_unsubscribed": .boolean,
            ] + address("address", squareAddress), defaults: [
                MappingRule(target: "name", sources: [try! FieldPath(parsing: "given_name"), try! FieldPath(parsing: "family_name")], transforms: [.concat(separator: " ")]),
                MappingRule("email", "email_address", .trim, .lower), MappingRule("phone", "phone_number", .phone(region: "US")),
                MappingRule("company", "company_name", .trim), MappingRule("note", "note", .trim),
            ] + addressRules("address", line1: "address_line_1", line2: "address_line_2", city: "locality", region: "administrative_district_level_1",
                             postalCode: "postal_code", country: "country") + timeRules),
            ResourceMappingDefaults("square", "payments", fields: times + [
                "status": .string, "source_type": .string, "location_id": .string, "order_id": .string, "customer_id": .string,
                "receipt_number": .string, "receipt_url": .string, "note": .string, "buyer_email_address": .string, "reference_id": .string,
                "card_details": .object, "card_details.status": .string, "card_details.card": .object, "card_details.card.card_brand": .string,
                "card_details.card.last_4": .string,
            ] + money(["amount_money", "total_money", "tip_money", "refunded_money", "app_fee_money"]), defaults: amount("amount", "amount_money")
              + amount("total", "total_money") + amount("refunded", "refunded_money") + [
                MappingRule("currency", "total_money.currency", .upper), MappingRule("status", "status", .lower),
                MappingRule("customer_id", "customer_id"), MappingRule("order_id", "order_id"), MappingRule("location_id", "location_id"),
                MappingRule("receipt_url", "receipt_url"),
            ] + timeRules),
            ResourceMappingDefaults("square", "catalog", fields: [
                "id": .string, "type": .string, "updated_at": .isoTime, "version": .integer, "is_deleted": .boolean,
                "present_at_all_locations": .boolean, "item_data": .object, "item_data.name": .string, "item_data.description": .string,
                "item_data.category_id": .string, "item_data.variations": .array(.object), "item_data.variations[*].id": .string,
                "item_variation_data": .object, "item_variation_data.name": .string, "item_variation_data.item_id": .string,
                "item_variation_data.sku": .string, "item_variation_data.pricing_type": .string,
                "category_data": .object, "category_data.name": .string,
            ] + money(["item_variation_data.price_money"]), defaults: [
                MappingRule("type", "type", .lower),
                // Each catalog object names itself in its own type's data.
                MappingRule("name", "item_data.name", .trim),
                MappingRule("variation_name", "item_variation_data.name", .trim), MappingRule("category_name", "category_data.name", .trim),
                MappingRule("description", "item_data.description", .trim), MappingRule("item_id", "item_variation_data.item_id"),
                MappingRule("sku", "item_variation_data.sku"),
            ] + amount("price", "item_variation_data.price_money") + [
                MappingRule("currency", "item_variation_data.price_money.currency", .upper), MappingRule("updated_at", "updated_at", utcTime),
            ]),
            ResourceMappingDefaults("square", "orders", fields: times + [
                "location_id": .string, "reference_id": .string, "customer_id": .string, "state": .string, "version": .integer,
                "closed_at": .isoTime, "line_items": .array(.object), "line_items[*].uid": .string, "line_items[*].name": .string,
                "line_items[*].quantity": .string, "line_items[*].catalog_object_id": .string,
                "tenders": .array(.object), "tenders[*].id": .string, "tenders[*].type": .string, "tenders[*].payment_id": .string,
                "source": .object, "source.name": .string,
            ] + money(["total_money", "total_tax_money", "total_discount_money", "total_tip_money", "line_items[*].base_price_money",
                       "line_items[*].total_money", "tenders[*].amount_money"]), defaults: amount("total", "total_money")
              + amount("tax", "total_tax_money") + amount("discount", "total_discount_money") + [
                MappingRule("currency", "total_money.currency", .upper), MappingRule("status", "state", .lower),
                MappingRule("customer_id", "customer_id"), MappingRule("location_id", "location_id"),
                MappingRule("item_names", "line_items[*].name"), MappingRule("payment_ids", "tenders[*].payment_id"),
                MappingRule("closed_at", "closed_at", utcTime),
            ] + timeRules),
            ResourceMappingDefaults("square", "inventory", fields: [
                "catalog_object_id": .string, "catalog_object_type": .string, "state": .string, "location_id": .string,
                "quantity": .string, "calculated_at": .isoTime,
            ], defaults: [
                MappingRule("catalog_object_id", "catalog_object_id"), MappingRule("location_id", "location_id"),
                MappingRule("state", "state", .lower), MappingRule("quantity", "quantity"), MappingRule("counted_at", "calculated_at", utcTime),
            ]),
        ]
    }()
}
