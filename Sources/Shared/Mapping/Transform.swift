import Foundation
import JunctionCore

/// One step a rule's value goes through, in order. Written in a mapping as a name (`"trim"`) or
/// as an object of one key with its options (`{"split": {"separator": " ", "index": 0}}`).
public enum Transform: Sendable, Equatable {
    case trim
    case lower
    case upper
    /// The value when the source is missing, null or empty text.
    case defaultValue(JSONValue)
    /// The rule's sources (or the elements of one array source) as text, joined; missing ones left out.
    case concat(separator: String)
    /// Text cut at `separator`: the piece at `index` (negative from the end), or all of them.
    case split(separator: String, index: Int?)
    /// A time or a date written in `format` (`date`, `datetime`, `time`, `unix` or a pattern such
    /// as `dd/MM/yyyy`) in the IANA `timeZone`. A date without a time stays that date.
    case date(format: String, timeZone: String)
    /// An amount between minor units and a decimal number, with the currency's exponent (2 for
    /// most, 0 for JPY, 3 for KWD, …): fixed, or read from a field of the same object.
    case money(to: MoneyUnit, currency: CurrencySource)
    /// A phone number in E.164 (`+14155550123`), numbers without a country code read as
    /// `region`'s; an extension is dropped. One that cannot be a number maps to null.
    case phone(region: String)
    /// The table's value for the value (as text: `0` for a whole number, `true`); `fallback`, or
    /// null, for one not in it.
    case lookup(table: [String: JSONValue], fallback: JSONValue?)
    /// Always this value (a rule with no source).
    case constant(JSONValue)

    public enum MoneyUnit: String, Sendable, Equatable {
        case minor, decimal
    }

    public enum CurrencySource: Sendable, Equatable {
        case fixed(String)
        case field(FieldPath)
        /// Two decimal places.
        case unspecified
    }

    public var name: String {
        switch self {
        case .trim: "trim"
        case .lower: "lower"
        case .upper: "upper"
        case .defaultValue: "default"
        case .concat: "concat"
        case .split: "split"
        case .date: "date"
        case .money: "money"
        case .phone: "phone"
        case .lookup: "lookup"
        case .constant: "constant"
        }
    }

    static let names = ["trim", "lower", "upper", "default", "concat", "split", "date", "money", "phone", "lookup", "constant"]

    // MARK: Reading and writing

    /// Reads one transform as a mapping writes it.
    public init(_ json: JSONValue, field: String) throws(MappingProblem) {
        func problem(_ message: String) -> MappingProblem { MappingProblem(message, field: field) }
        let name: String
        let options: JSONValue
        switch json {
        case .string(let text):
            name = text
            options = .null
        case .object(let members) where members.count == 1:
            name = members.keys.first!
            options = members.values.first!
        default:
            throw problem("a transform is a name (\"trim\") or an object of one key ({\"split\": {\"separator\": \" \"}})")
        }
        func text(_ key: String, default fallback: String? = nil) throws(MappingProblem) -> String {
            if let value = options[key] {
                guard let text = value.stringValue else { throw problem("\(name)'s \(key) must be a string") }
                return text
            }
            guard let fallback else { throw problem("\(name) needs \(key)") }
            return fallback
        }
        func known(_ keys: Set<String>) throws(MappingProblem) {
            if case .object(let members) = options, let unknown = members.keys.sorted().first(where: { !keys.contains($0) }) {
                throw problem("\(name) has no option \(unknown) (it takes \(keys.sorted().joined(separator: ", ")))")
            }
        }
        switch name {
        case "trim": self = .trim
        case "lower": self = .lower
        case "upper": self = .upper
        case "default":
            guard case .object = json else { throw problem("default needs its value: {\"default\": \"n/a\"}") }
            self = .defaultValue(options)
        case "constant":
            guard case .object = json else { throw problem("constant needs its value: {\"constant\": \"customer\"}") }
            self = .constant(options)
        case "concat":
            try known(["separator"])
            self = .concat(separator: try text("separator", default: " "))
        case "split":
            try known(["separator", "index"])
            let index: Int?
            switch options["index"] {
            case nil, .null?: index = nil
            case let value?:
                guard let number = value.intValue, abs(number) < 1000 else { throw problem("split's index must be a whole number") }
                index = Int(number)
            }
            let separator = try text("separator", default: " ")
            guard !separator.isEmpty else { throw problem("split's separator cannot be empty") }
            self = .split(separator: separator, index: index)
        case "date":
            try known(["format", "time_zone"])
            let format = try text("format", default: "datetime")
            let zone = try text("time_zone", default: "UTC")
            guard TimeZone(identifier: zone) != nil else { throw problem("date's time_zone \(zone) is not an IANA time zone (such as Europe/Paris)") }
            guard DateFormats.isValid(format) else {
                throw problem("date's format \(format) is not date, datetime, time, unix or a pattern of y M d H h m s S a E Z X and - / : . , space 'text'")
            }
            self = .date(format: format, timeZone: zone)
        case "money":
            try known(["to", "currency", "currency_source"])
            guard let unit = MoneyUnit(rawValue: try text("to", default: "decimal")) else { throw problem("money's to is minor or decimal") }
            let currency: CurrencySource
            switch (options["currency"], options["currency_source"]) {
            case (nil, nil): currency = .unspecified
            case (let code?, nil):
                guard let text = code.stringValue, Currencies.isCode(text) else { throw problem("money's currency must be a three-letter ISO 4217 code such as USD") }
                currency = .fixed(text.uppercased())
            case (nil, let path?):
                guard let text = path.stringValue else { throw problem("money's currency_source must be a path") }
                do {
                    currency = .field(try FieldPath(parsing: text))
                } catch {
                    throw problem("money's currency_source: \(error.message)")
                }
            default: throw problem("money takes currency or currency_source, not both")
            }
            self = .money(to: unit, currency: currency)
        case "phone":
            try known(["region"])
            let region = try text("region", default: "US").uppercased()
            guard PhoneNumbers.callingCode(region) != nil else {
                throw problem("phone's region \(region) is not one Junction knows (\(PhoneNumbers.regions.joined(separator: ", ")))")
            }
            self = .phone(region: region)
        case "lookup":
            try known(["table", "default"])
            guard case .object(let table)? = options["table"], !table.isEmpty, table.count <= 1000 else {
                throw problem("lookup needs a table: an object of 1 to 1,000 entries")
            }
            self = .lookup(table: table, fallback: options["default"])
        default:
            throw problem("\(name) is not a transform (there are \(Self.names.joined(separator: ", ")))")
        }
    }

    /// The transform as a mapping writes it.
    public var json: JSONValue {
        switch self {
        case .trim, .lower, .upper: .string(name)
        case .defaultValue(let value): ["default": value]
        case .constant(let value): ["constant": value]
        case .concat(let separator): ["concat": ["separator": .string(separator)]]
        case .split(let separator, let index): ["split": .object(["separator": .string(separator)].merging(index.map { ["index": .integer(Int64($0))] } ?? [:]) { $1 })]
        case .date(let format, let zone): ["date": ["format": .string(format), "time_zone": .string(zone)]]
        case .money(let unit, let currency):
            switch currency {
            case .fixed(let code): ["money": ["to": .string(unit.rawValue), "currency": .string(code)]]
            case .field(let path): ["money": ["to": .string(unit.rawValue), "currency_source": .string(path.description)]]
            case .unspecified: ["money": ["to": .string(unit.rawValue)]]
            }
        case .phone(let region): ["phone": ["region": .string(region)]]
        case .lookup(let table, let fallback): ["lookup": .object(["table": .object(table)].merging(fallback.map { ["default": $0] } ?? [:]) { $1 })]
        }
    }

    // MARK: Types

    /// What this transform makes of a value of type `input`, or why it cannot take one.
    func output(for input: FieldType, shape: ResourceShape) -> Result<FieldType, MappingProblem> {
        func refuse(_ wants: String) -> Result<FieldType, MappingProblem> {
            .failure(MappingProblem("\(name) takes \(wants), and its input is \(input)"))
        }
        switch self {
        case .trim, .lower, .upper:
            return input.isText ? .success(.string) : refuse("text")
        case .defaultValue(let value):
            return Self.fits(value, input) ? .success(input) : .failure(MappingProblem("default's value \(value.serialized) does not fit \(input)"))
        case .concat:
            if case .array(let element) = input, element.isText || element.isNumeric { return .success(.string) }
            return refuse("several sources or an array of text or numbers")
        case .split(_, let index):
            guard input.isText else { return refuse("text") }
            return .success(index == nil ? .array(.string) : .string)
        case .date(let format, _):
            guard input.isTime else { return refuse("a time or a date") }
            return .success(format == "unix" ? .unixTime : .string)
        case .money(let unit, let currency):
            if case .field(let path) = currency, let type = shape.type(of: path), !type.isText {
                return .failure(MappingProblem("money's currency_source \(path) is \(type), not a currency code"))
            } else if case .field(let path) = currency, shape.type(of: path) == nil {
                return .failure(MappingProblem("money's currency_source \(path) is not a field of \(shape.provider) \(shape.resource)"))
            }
            switch (unit, input) {
            case (.decimal, .minorUnits), (.decimal, .integer), (.decimal, .any): return .success(.decimal)
            case (.minor, .decimal), (.minor, .number), (.minor, .any): return .success(.minorUnits)
            case (.decimal, _): return refuse("an amount in minor units")
            case (.minor, _): return refuse("a decimal amount")
            }
        case .phone:
            return input.isText ? .success(.string) : refuse("text")
        case .lookup(let table, let fallback):
            guard input.isText || input.isNumeric || input == .boolean else { return refuse("text, a number or a boolean") }
            let values = Array(table.values) + (fallback.map { [$0] } ?? [])
            let types = Set(values.map(Self.type(of:)))
            return .success(types.count == 1 ? types.first! : .any)
        case .constant:
            return .failure(MappingProblem("constant takes no input: give the rule no source, and constant first"))
        }
    }

    /// Whether `value` can stand where `type` is expected.
    static func fits(_ value: JSONValue, _ type: FieldType) -> Bool {
        switch (value, type) {
        case (_, .any), (.null, _): true
        case (.string, let type): type.isText
        case (.integer, let type): type.isNumeric
        case (.number, .number), (.number, .decimal): true
        case (.bool, .boolean): true
        case (.array, .array), (.object, .object): true
        default: false
        }
    }

    static func type(of value: JSONValue) -> FieldType {
        switch value {
        case .string: .string
        case .integer: .integer
        case .number: .number
        case .bool: .boolean
        case .array: .array(.any)
        case .object: .object
        case .null: .any
        }
    }
}
