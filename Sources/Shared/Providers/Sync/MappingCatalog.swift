import JunctionMapping

/// A synced resource's documented shape (what a tenant's mapping may read) and the mapping every
/// tenant gets until it saves its own. Each provider's are in its folder (`<Provider>Mapping.swift`).
public struct ResourceMappingDefaults: Sendable {
    public let shape: ResourceShape
    public let defaults: FieldMapping

    init(_ provider: String, _ resource: String, fields: [String: FieldType], defaults: [MappingRule]) {
        shape = ResourceShape(provider: provider, resource: resource, fields: fields)
        self.defaults = FieldMapping(rules: defaults)
    }
}

public enum MappingCatalog {
    /// Every synced resource's.
    public static let all: [ResourceMappingDefaults] = stripe + square + mailchimp + quickBooks

    public static func entry(provider: String, resource: String) -> ResourceMappingDefaults? {
        all.first { $0.shape.provider == provider && $0.shape.resource == resource }
    }

    /// The fields of an address object under `prefix`, named as the provider names them.
    static func address(_ prefix: String, _ keys: [String]) -> [String: FieldType] {
        var fields: [String: FieldType] = [prefix: .object]
        for key in keys { fields["\(prefix).\(key)"] = .string }
        return fields
    }

    /// Money objects (`{"amount": 1500, "currency": "USD"}`, Square's) under each prefix.
    static func money(_ prefixes: [String]) -> [String: FieldType] {
        var fields: [String: FieldType] = [:]
        for prefix in prefixes {
            fields[prefix] = .object
            fields["\(prefix).amount"] = .minorUnits
            fields["\(prefix).currency"] = .string
        }
        return fields
    }

    /// The mapped address every default writes: `address.line1` … `address.country`.
    static func addressRules(_ prefix: String, line1: String, line2: String, city: String, region: String, postalCode: String, country: String) -> [MappingRule] {
        [
            MappingRule("address.line1", "\(prefix).\(line1)", .trim), MappingRule("address.line2", "\(prefix).\(line2)", .trim),
            MappingRule("address.city", "\(prefix).\(city)", .trim), MappingRule("address.region", "\(prefix).\(region)", .trim),
            MappingRule("address.postal_code", "\(prefix).\(postalCode)", .trim), MappingRule("address.country", "\(prefix).\(country)", .trim, .upper),
        ]
    }

    static let utcTime = Transform.date(format: "datetime", timeZone: "UTC")
    static let day = Transform.date(format: "date", timeZone: "UTC")
}

extension Dictionary where Key == String, Value == FieldType {
    /// Merges several field lists (a resource's own fields and its address or money objects).
    static func + (lhs: Self, rhs: Self) -> Self { lhs.merging(rhs) { $1 } }
}
