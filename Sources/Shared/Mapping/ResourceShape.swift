/// What a field of a provider's object holds, as its API documents it: what a mapping's
/// transforms are checked against when it is saved.
public indirect enum FieldType: Sendable, Hashable, CustomStringConvertible {
    case string
    case integer
    case number
    case boolean
    /// Seconds since 1970 (Stripe's `created`).
    case unixTime
    /// An ISO 8601 date and time, with its offset (Square's `created_at`, QuickBooks's
    /// `MetaData.LastUpdatedTime`).
    case isoTime
    /// A calendar date, `2026-12-01` (QuickBooks's `DueDate`).
    case date
    /// An amount in the currency's minor units (Stripe's `amount`, Square's `amount_money.amount`).
    case minorUnits
    /// An amount as a decimal number (QuickBooks's `TotalAmt`).
    case decimal
    case object
    case array(FieldType)
    /// Whatever JSON the provider sends (metadata, a transform's lookup result).
    case any

    public var description: String {
        switch self {
        case .string: "a string"
        case .integer: "an integer"
        case .number: "a number"
        case .boolean: "a boolean"
        case .unixTime: "a Unix time"
        case .isoTime: "an ISO 8601 time"
        case .date: "a date"
        case .minorUnits: "an amount in minor units"
        case .decimal: "a decimal amount"
        case .object: "an object"
        case .array(let element): "an array of \(element.plural)"
        case .any: "any JSON value"
        }
    }

    /// The type's name in the API (`GET /v1/mappings/{provider}/{resource}`'s `fields`).
    public var name: String {
        switch self {
        case .string: "string"
        case .integer: "integer"
        case .number: "number"
        case .boolean: "boolean"
        case .unixTime: "unix_time"
        case .isoTime: "iso_time"
        case .date: "date"
        case .minorUnits: "minor_units"
        case .decimal: "decimal"
        case .object: "object"
        case .array(let element): "array<\(element.name)>"
        case .any: "any"
        }
    }

    var plural: String {
        switch self {
        case .array(let element): "arrays of \(element.plural)"
        case .any: "JSON values"
        default: String(description.drop { $0 != " " }.dropFirst()) + "s"
        }
    }

    /// Holds text (a time or a date written as text counts).
    var isText: Bool { [.string, .isoTime, .date, .any].contains(self) }
    /// Holds a number of any kind.
    var isNumeric: Bool { [.integer, .number, .unixTime, .minorUnits, .decimal, .any].contains(self) }
    /// Names a point in time or a day.
    var isTime: Bool { [.unixTime, .isoTime, .date, .any].contains(self) }
}

/// A synced resource's documented fields, by path (`address.city`, `Line[*].Amount`: every array
/// step written `[*]`), with their types. A mapping may read only these; a path into an
/// `.object` or `.any` field may go deeper (metadata, merge fields).
public struct ResourceShape: Sendable {
    public let provider: String
    public let resource: String
    public let fields: [String: FieldType]

    public init(provider: String, resource: String, fields: [String: FieldType]) {
        self.provider = provider
        self.resource = resource
        self.fields = fields
    }

    /// The type at `path`, or nil when the resource documents no such field.
    public func type(of path: FieldPath) -> FieldType? {
        let key = path.shapeKey
        if let type = fields[key] { return type }
        // An element of a documented array (`preferred_locales[0]`).
        if key.hasSuffix("[*]"), case .array(let element)? = fields[String(key.dropLast(3))] { return element }
        // Below a free-form object (metadata, merge fields): any value.
        var prefix = ""
        for step in path.steps.dropLast() {
            switch step {
            case .key(let name): prefix += prefix.isEmpty ? name : "." + name
            case .index, .each: prefix += "[*]"
            }
            if let type = fields[prefix], type == .object || type == .any { return .any }
        }
        return nil
    }
}
