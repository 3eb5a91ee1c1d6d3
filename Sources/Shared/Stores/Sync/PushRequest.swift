import Foundation
import JunctionCore
import JunctionMapping
import JunctionProviders

/// A push as a caller asks for it (`{"operation", "id", "fields", "mapped"}`), checked: what the
/// API (`POST /v1/connections/{id}/push/{resource}`) and `push.request` jobs record in the outbox.
public struct PushRequest: Sendable {
    public let target: PushTarget
    /// `create`, `update` or `batch`.
    public let operation: String
    public let externalID: String?
    /// The provider's fields: `fields` as given, over what `mapped` writes back to.
    public let fields: [String: JSONValue]

    /// Every problem of a request, each named by its field (`fields.members[2].status`).
    public struct Problems: Error, Sendable {
        public var problems: [(field: String, detail: String)]
    }

    /// Reads `object`, a push to `provider`'s `resource`. `mapping` answers the tenant's current
    /// mapping of the resource, asked only when the request has `mapped`.
    public static func parse(_ object: [String: JSONValue], provider: String, resource: String,
                             mapping: () throws -> SavedMapping?) throws -> PushRequest {
        guard let target = PushCatalog.target(provider: provider, resource: resource) else {
            let takes = PushCatalog.all.filter { $0.provider == provider }.map(\.resource)
            throw Problems(problems: [("resource", takes.isEmpty ? "\(provider) takes no pushes yet" : "\(provider) takes pushes of \(takes.joined(separator: ", "))")])
        }
        var errors: [(field: String, detail: String)] = []
        for field in object.keys.sorted() where !["operation", "id", "fields", "mapped"].contains(field) {
            errors.append((field, "not a field of a push (operation, id, fields, mapped)"))
        }
        let operation = object["operation"]?.stringValue ?? "create"
        if !["create", "update", "batch"].contains(operation) { errors.append(("operation", "create, update or batch")) }
        let externalID = object["id"]?.stringValue
        if operation == "update" && (externalID ?? "").isEmpty { errors.append(("id", "required to update: the provider's id of the object")) }
        if operation != "update" && object["id"] != nil { errors.append(("id", "a \(operation) has no id: the provider gives it")) }
        // `mapped`: fields in the tenant's mapped shape, written back to the provider's names by
        // the tenant's current mapping of the resource; `fields` (the provider's names) win.
        var fields: [String: JSONValue] = [:]
        if let mapped = object["mapped"] {
            guard case .object(let members) = mapped, !members.isEmpty, operation != "batch" else {
                throw Problems(problems: errors + [("mapped", operation == "batch" ? "a batch names the provider's fields" : "an object of the mapped record's fields (docs/mappings.md)")])
            }
            guard let current = try mapping() else {
                throw Problems(problems: errors + [("mapped", "\(provider) \(target.resource) has no mapping: name the provider's fields in `fields`")])
            }
            switch current.mapping.reverse(members) {
            case .success(let written): fields = written
            case .failure(let problems): errors += problems.problems.map { ("mapped.\($0.field ?? "")", $0.message) }
            }
        }
        if object["fields"] != nil || object["mapped"] == nil {
            guard case .object(let named)? = object["fields"], !named.isEmpty, named.count <= 100 else {
                throw Problems(problems: errors + [("fields", "an object of 1 to 100 of the \(provider) object's fields, as \(provider) names them")])
            }
            fields.merge(named) { $1 }
        }
        if fields.count > 100 { errors.append(("mapped", "the fields it writes back and `fields` make more than 100")) }
        if operation == "batch" { errors += target.batchProblems(fields) }
        if operation == "create" {
            for field in target.requiredOnCreate where fields[field] == nil {
                errors.append(("fields.\(field)", "required to create \(provider) \(target.resource)"))
            }
        }
        if operation == "update", let externalID, let scope = target.synced?.idScope, !scope.isEmpty,
           externalID.split(separator: ":", omittingEmptySubsequences: false).count != scope.count + 1 || externalID.hasPrefix(":") || externalID.hasSuffix(":") {
            errors.append(("id", "the record's id, \((scope + ["id"]).map { "<\($0)>" }.joined(separator: ":"))"))
        }
        guard errors.isEmpty else { throw Problems(problems: errors) }
        return PushRequest(target: target, operation: operation, externalID: externalID, fields: fields)
    }
}
