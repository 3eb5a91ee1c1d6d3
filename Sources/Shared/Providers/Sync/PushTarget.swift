import Foundation
import JunctionCore

/// How a provider takes a write of one resource (`push.outbound`): where a create and an update
/// go, how the fields are written, how a retry is kept from writing twice, and how the provider
/// tells that the object changed since the platform read it. Each provider's are in its folder
/// (`<Provider>Push.swift`).
public struct PushTarget: Sendable {
    public let provider: String
    public let resource: String
    public let create: Call
    public let update: Call
    /// `GET` of one object (`{id}` and the placeholders of ``Call/path``): read again after a
    /// conflict, or to find a write that was applied when its answer was lost.
    public let read: String?
    public let encoding: Encoding
    public let idempotency: Idempotency
    /// Where the object is in an answer (Square's `customer`, QuickBooks's `Invoice`); nil: the
    /// answer is the object.
    public let answerKey: String?
    /// How an update says which version of the object it was made against; nil: it does not, and
    /// the provider applies it whatever changed meanwhile.
    public let concurrency: Concurrency?
    /// Fields a create must have (the API refuses a push without them).
    public let requiredOnCreate: [String]
    /// Fields that name where the object lives (a Mailchimp member's `list_id`): they fill the
    /// path's `{field}` on a create and are not sent in the body.
    public let pathFields: [String]
    /// Placeholders of the path computed from the fields (a Mailchimp member's
    /// `{subscriber_hash}`, the MD5 of its lowercased email).
    public let derived: [String: @Sendable ([String: JSONValue]) -> String?]
    /// Headers the provider wants on every call (QuickBooks's `Accept: application/json`).
    public let headers: [(String, String)]
    /// The field an update's body names its object by, where the path does not (QuickBooks's `Id`).
    public let bodyID: String?
    /// The synced resource the push writes: its ids, scopes and versions are the records'.
    public let synced: SyncResource?
    /// Many objects in one call (Mailchimp's batch subscribe); nil: one object a push.
    public let batch: Batch?

    public init(provider: String, resource: String, create: Call, update: Call, read: String? = nil, encoding: Encoding, idempotency: Idempotency,
                answerKey: String? = nil, concurrency: Concurrency? = nil, requiredOnCreate: [String] = [], pathFields: [String] = [],
                derived: [String: @Sendable ([String: JSONValue]) -> String?] = [:], headers: [(String, String)] = [], bodyID: String? = nil,
                synced: SyncResource?, batch: Batch? = nil) {
        self.provider = provider
        self.resource = resource
        self.create = create
        self.update = update
        self.read = read
        self.encoding = encoding
        self.idempotency = idempotency
        self.answerKey = answerKey
        self.concurrency = concurrency
        self.requiredOnCreate = requiredOnCreate
        self.pathFields = pathFields
        self.derived = derived
        self.headers = headers
        self.bodyID = bodyID
        self.synced = synced
        self.batch = batch
    }

    /// A method and a path under the API base URL. The path's placeholders: `{account}` (the
    /// connection's account, QuickBooks's realm), `{id}` (the object's id), each field of the
    /// synced resource's id scope (`{list_id}`: from the scoped id on an update, from the fields
    /// on a create), and ``PushTarget/derived``'s.
    public struct Call: Sendable {
        public let method: String
        public let path: String

        public init(_ method: String, _ path: String) {
            self.method = method
            self.path = path
        }
    }

    public enum Encoding: Sendable {
        /// `application/x-www-form-urlencoded`, nested objects as `address[city]=…` (Stripe).
        case form
        /// `application/json`.
        case json
    }

    /// What makes a retry of a write that was applied (its answer lost) harmless.
    public enum Idempotency: Sendable {
        /// A header the provider keeps the first answer under and replays (Stripe's `Idempotency-Key`).
        case header(String)
        /// A field of the body, likewise (Square's `idempotency_key`).
        case bodyField(String)
        /// A query parameter, likewise (QuickBooks's `requestid`).
        case query(String)
        /// The call itself: writing the same fields twice leaves one object (Mailchimp's `PUT` by
        /// subscriber hash).
        case byConstruction
    }

    /// Optimistic concurrency: the version an update was made against, and the provider's word
    /// that the object has moved past it.
    public struct Concurrency: Sendable {
        /// The field of the object, and of an update's body, that holds its version (Square's
        /// `version`, QuickBooks's `SyncToken`).
        public let field: String
        /// Whether an update must carry it (QuickBooks's does); when the platform names none and
        /// none is stored, the object is read first.
        public let required: Bool
        /// Fields every update's body carries besides (QuickBooks's `sparse: true`).
        public let updateFields: [String: JSONValue]
        /// Where the object's last change time is (RFC 3339), for `last_write_wins`.
        public let updatedAt: [String]
        /// Whether an answer (status, body) says the version was stale.
        public let isConflict: @Sendable (Int, JSONValue?) -> Bool

        public init(field: String, required: Bool, updateFields: [String: JSONValue] = [:], updatedAt: [String],
                    isConflict: @escaping @Sendable (Int, JSONValue?) -> Bool) {
            self.field = field
            self.required = required
            self.updateFields = updateFields
            self.updatedAt = updatedAt
            self.isConflict = isConflict
        }
    }

    /// A push of many objects in one call (`"operation": "batch"`): the objects are an array in
    /// one field of the push's fields; the provider answers for each.
    public struct Batch: Sendable {
        public let call: Call
        /// The field of the push's fields holding the objects (`members`), and the most one call takes.
        public let itemsField: String
        public let limit: Int
        /// Fields each object must have.
        public let requiredPerItem: [String]
        /// Fields the call's body carries besides (Mailchimp's `update_existing: true`).
        public let extra: [String: JSONValue]
        /// What the answer says: the objects as written, the objects refused with the provider's
        /// reasons, and its own counts.
        public let results: @Sendable (JSONValue) -> (written: [JSONValue], refused: [JSONValue], counts: [String: JSONValue])

        public init(call: Call, itemsField: String, limit: Int, requiredPerItem: [String], extra: [String: JSONValue] = [:],
                    results: @escaping @Sendable (JSONValue) -> (written: [JSONValue], refused: [JSONValue], counts: [String: JSONValue])) {
            self.call = call
            self.itemsField = itemsField
            self.limit = limit
            self.requiredPerItem = requiredPerItem
            self.extra = extra
            self.results = results
        }
    }

    /// What is wrong with a batch's fields, each named by its field (`fields.members[2].status`).
    public func batchProblems(_ fields: [String: JSONValue]) -> [(field: String, detail: String)] {
        guard let batch else { return [("operation", "\(provider) takes \(resource) one at a time (create or update)")] }
        var problems: [(String, String)] = []
        for field in pathFields where fields[field]?.stringValue == nil { problems.append(("fields.\(field)", "required: where the \(resource) go")) }
        for field in fields.keys.sorted() where field != batch.itemsField && !pathFields.contains(field) {
            problems.append(("fields.\(field)", "not a field of a batch (\((pathFields + [batch.itemsField]).joined(separator: ", ")))"))
        }
        guard let items = fields[batch.itemsField]?.arrayValue, (1...batch.limit).contains(items.count) else {
            return problems + [("fields.\(batch.itemsField)", "an array of 1 to \(batch.limit) objects")]
        }
        for (index, item) in items.enumerated() {
            guard case .object(let members) = item else {
                problems.append(("fields.\(batch.itemsField)[\(index)]", "an object"))
                continue
            }
            for field in batch.requiredPerItem where members[field] == nil { problems.append(("fields.\(batch.itemsField)[\(index)].\(field)", "required")) }
        }
        return problems
    }

    /// The path of `call` for a push of `fields` to the object `id` (nil on a create) of `account`.
    public func path(_ call: Call, id: String?, fields: [String: JSONValue], account: String?) -> String {
        var values: [String: String] = ["account": account ?? ""]
        let scope = synced?.idScope ?? []
        if let id {
            // A scoped id (`<list>:<member>`): the scope's parts, then the provider's own id.
            let parts = id.split(separator: ":", maxSplits: scope.count, omittingEmptySubsequences: false).map(String.init)
            if parts.count == scope.count + 1 {
                for (field, part) in zip(scope, parts) { values[field] = part }
                values["id"] = parts.last
            } else {
                values["id"] = id
            }
        }
        for field in scope + pathFields where values[field] == nil { values[field] = fields[field]?.stringValue }
        for (name, compute) in derived { values[name] = compute(fields) }
        var path = call.path
        for (name, value) in values { path = path.replacingOccurrences(of: "{\(name)}", with: FormEncoding.component(value)) }
        return path
    }

    /// The body of a push: its fields less those that name the path, with what the provider
    /// wants beside them (an idempotency key in the body, an update's version).
    public func body(_ fields: [String: JSONValue], extra: [String: JSONValue] = [:]) -> (contentType: String, bytes: [UInt8]) {
        var sent = fields
        for field in pathFields { sent[field] = nil }
        for (name, value) in extra { sent[name] = value }
        switch encoding {
        case .form: return ("application/x-www-form-urlencoded", Array(FormEncoding.encode(.object(sent)).utf8))
        case .json: return ("application/json", Array(JSONValue.object(sent).serialized.utf8))
        }
    }

    /// The object in a provider's answer to a write or a read.
    public func object(in answer: JSONValue) -> JSONValue? {
        guard let answerKey else { return answer }
        return answer[answerKey]
    }

    /// The object's id as the records keep it (scoped where the resource's ids are).
    public func externalID(of object: JSONValue) -> String? {
        synced?.id(of: object) ?? object["id"]?.stringValue
    }

    /// Whether `object` already holds every pushed field (nested objects by the fields they name,
    /// numbers by value): a write found applied needs no second one.
    public static func holds(_ object: JSONValue?, _ pushed: JSONValue) -> Bool {
        switch (object, pushed) {
        case (.object(let have)?, .object(let want)):
            return want.allSatisfy { name, value in holds(have[name], value) }
        case (.array(let have)?, .array(let want)):
            return have.count == want.count && zip(have, want).allSatisfy { holds($0, $1) }
        case (let have?, .integer(let number)):
            return numeric(have) == Double(number)
        case (let have?, .number(let number)):
            return numeric(have) == number
        case (nil, .null):
            return true
        case (let have?, let want):
            return have == want
        default:
            return false
        }
    }

    /// A number, or a number written as text (QuickBooks answers some amounts so).
    private static func numeric(_ value: JSONValue) -> Double? {
        switch value {
        case .integer(let number): Double(number)
        case .number(let number): number
        case .string(let text): Double(text)
        default: nil
        }
    }
}

public enum PushCatalog {
    public static let all: [PushTarget] = stripe + square + quickBooks + mailchimp

    public static func target(provider: String, resource: String) -> PushTarget? {
        all.first { $0.provider == provider && $0.resource == resource }
    }
}

/// Stripe's form encoding: `a=1&address[city]=Lyon&items[0][price]=p_1`.
public enum FormEncoding {
    public static func encode(_ value: JSONValue) -> String {
        var pairs: [String] = []
        func walk(_ value: JSONValue, _ key: String) {
            switch value {
            case .object(let members):
                for name in members.keys.sorted() { walk(members[name]!, key.isEmpty ? name : "\(key)[\(name)]") }
            case .array(let elements):
                for (index, element) in elements.enumerated() { walk(element, "\(key)[\(index)]") }
            case .null: pairs.append("\(component(key))=")
            case .string(let text): pairs.append("\(component(key))=\(component(text))")
            case .integer(let number): pairs.append("\(component(key))=\(number)")
            case .number(let number): pairs.append("\(component(key))=\(number)")
            case .bool(let flag): pairs.append("\(component(key))=\(flag)")
            }
        }
        walk(value, "")
        return pairs.joined(separator: "&")
    }

    public static func component(_ text: String) -> String {
        text.addingPercentEncoding(withAllowedCharacters: allowed) ?? ""
    }

    private static let allowed = CharacterSet(charactersIn: "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~[]")
}
