import Foundation
import HTTPTypes
import Hummingbird
import JunctionCore
import JunctionProviders
import JunctionQueue
import JunctionStores

/// Pushes to providers (#18): `POST /v1/connections/{id}/push/{resource}` records the write in the
/// outbox with the caller's `Idempotency-Key` (required: one push per key and connection), then
/// enqueues its `push.outbound` job; `GET /v1/pushes/{id}` says how it ended.
extension APIRoutes {
    func registerPushes(on router: Router<some RequestContext>) {
        router.post("/v1/connections/:id/push/:resource") { request, context in
            let (id, resource) = (context.parameters.get("id"), context.parameters.get("resource") ?? "")
            let body = try? await request.body.collect(upTo: 256 * 1024)
            let key = request.headers[HTTPField.Name("Idempotency-Key")!]
            return await answer(request, admin: true, requestBody: body) { try await push(try Self.id(id), resource, key: key, body: body, tenant: $0) }
        }
        router.get("/v1/pushes/:id") { request, context in
            await answer(request) { try await showPush(try Self.id(context.parameters.get("id")), tenant: $0) }
        }
    }

    func push(_ id: UUID, _ resource: String, key: String?, body: ByteBuffer?, tenant: TenantAuthenticator.Tenant) async throws -> WebhookAnswer {
        let found = try await connection(id, tenant: tenant.id)
        guard let target = PushCatalog.target(provider: found.provider, resource: resource) else {
            let takes = PushCatalog.all.filter { $0.provider == found.provider }.map(\.resource)
            throw Problem.invalid([("resource", takes.isEmpty ? "\(found.provider) takes no pushes yet" : "\(found.provider) takes pushes of \(takes.joined(separator: ", "))")])
        }
        var errors: [(String, String)] = []
        if key == nil { errors.append(("Idempotency-Key", "required on a push: any unique string, repeated on a retry so the provider is written once")) }
        guard let body, body.readableBytes > 0, case .object(let object)? = try? JSONValue(parsing: Array(body.readableBytesView)) else {
            throw Problem.invalid(errors + [("body", #"a JSON object: {"operation": "create", "fields": {"email": "ana@example.com"}}"#)])
        }
        for field in object.keys.sorted() where !["operation", "id", "fields"].contains(field) { errors.append((field, "not a field of a push (operation, id, fields)")) }
        let operation = object["operation"]?.stringValue ?? "create"
        if !["create", "update", "batch"].contains(operation) { errors.append(("operation", "create, update or batch")) }
        let externalID = object["id"]?.stringValue
        if operation == "update" && (externalID ?? "").isEmpty { errors.append(("id", "required to update: the provider's id of the object")) }
        if operation != "update" && object["id"] != nil { errors.append(("id", "a \(operation) has no id: the provider gives it")) }
        guard case .object(let fields)? = object["fields"], !fields.isEmpty, fields.count <= 100 else {
            throw Problem.invalid(errors + [("fields", "an object of 1 to 100 of the \(found.provider) object's fields, as \(found.provider) names them")])
        }
        if operation == "batch" {
            errors += target.batchProblems(fields).map { ($0.field, $0.detail) }
        }
        if operation == "create" {
            for field in target.requiredOnCreate where fields[field] == nil {
                errors.append(("fields.\(field)", "required to create \(found.provider) \(target.resource)"))
            }
        }
        if operation == "update", let externalID, let scope = target.synced?.idScope, !scope.isEmpty,
           externalID.split(separator: ":", omittingEmptySubsequences: false).count != scope.count + 1 || externalID.hasPrefix(":") || externalID.hasSuffix(":") {
            errors.append(("id", "the record's id, \((scope + ["id"]).map { "<\($0)>" }.joined(separator: ":"))"))
        }
        guard errors.isEmpty, let key else { throw Problem.invalid(errors) }
        guard found.status == .active else {
            throw Problem(status: .conflict, slug: "connection-not-active", title: "The connection is not active",
                          detail: "connection \(id.uuidString.lowercased()) is \(found.status.rawValue); only an active connection takes pushes")
        }
        let (tenantID, provider) = (tenant.id, found.provider)
        let recorded: (push: Push, created: Bool)
        do {
            recorded = try await database.withConnection { database in
                try PushStore().record(tenant: tenantID, connection: id, provider: provider, resource: target.resource, operation: operation,
                                       externalID: externalID, fields: .object(fields), idempotencyKey: key, on: database)
            }
        } catch is PushStore.KeyReused {
            throw Problem(status: .unprocessableContent, slug: "idempotency-key-reused", title: "Idempotency-Key already used",
                          detail: "this connection has a push with this key that asked for something else",
                          errors: [(field: "Idempotency-Key", detail: "used before for another push")])
        }
        // Enqueued again on a repeat while it is pending: a first call whose enqueue failed (its
        // 503) is retried by the caller; the dedupe key keeps it to one job.
        if recorded.push.status == .pending {
            let queue = self.queue
            let job = PushStore.job(for: recorded.push)
            _ = try await redis.withConnection { try queue.enqueue([job], on: $0) }
        }
        var answer = Self.json(Self.pushDocument(recorded.push), status: recorded.created ? .accepted : .ok)
        answer.headers.append(("Location", "/v1/pushes/\(recorded.push.id.uuidString.lowercased())"))
        return answer
    }

    func showPush(_ id: UUID, tenant: TenantAuthenticator.Tenant) async throws -> WebhookAnswer {
        let tenantID = tenant.id
        guard let push = try await database.withConnection({ try PushStore().find(id, tenant: tenantID, on: $0) }) else {
            throw Problem.notFound("push", id.uuidString.lowercased())
        }
        return Self.json(Self.pushDocument(push))
    }

    static func pushDocument(_ push: Push) -> JSONValue {
        var document: [String: JSONValue] = [
            "id": .string(push.id.uuidString.lowercased()), "connection": .string(push.connection.uuidString.lowercased()),
            "provider": .string(push.provider), "resource": .string(push.resource), "operation": .string(push.operation),
            "status": .string(push.status.rawValue), "attempts": .integer(Int64(push.attempts)), "errors": push.errors,
            "fields": push.fields, "created_at": .string(Timestamp.format(push.createdAt)),
        ]
        document["external_id"] = push.externalID.map(JSONValue.string) ?? .null
        document["delivered_at"] = push.deliveredAt.map { .string(Timestamp.format($0)) } ?? .null
        document["result"] = push.result ?? .null
        document["conflict"] = push.conflict ?? .null
        return .object(document)
    }
}
