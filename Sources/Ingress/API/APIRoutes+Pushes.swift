import Foundation
import HTTPTypes
import Hummingbird
import JunctionCore
import JunctionMapping
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

    /// Records a push (`{"operation", "id", "fields", "mapped"}`, checked first, every problem
    /// named) and enqueues its delivery.
    func push(_ id: UUID, _ resource: String, key: String?, body: ByteBuffer?, tenant: TenantAuthenticator.Tenant) async throws -> WebhookAnswer {
        let found = try await connection(id, tenant: tenant.id)
        let keyProblem: [(String, String)] = key == nil ? [("Idempotency-Key", "required on a push: any unique string, repeated on a retry so the provider is written once")] : []
        guard let body, body.readableBytes > 0, case .object(let object)? = try? JSONValue(parsing: Array(body.readableBytesView)) else {
            throw Problem.invalid(keyProblem + [("body", #"a JSON object: {"operation": "create", "fields": {"email": "ana@example.com"}}"#)])
        }
        let (tenantID, provider) = (tenant.id, found.provider)
        let request: PushRequest
        do {
            // The tenant's mapping is read only for a push in the mapped shape.
            let mapping = object["mapped"] == nil ? nil
                : try await scoped(tenantID) { try MappingStore().current(tenant: tenantID, provider: provider, resource: resource, on: $0) }
            request = try PushRequest.parse(object, provider: provider, resource: resource) { mapping }
        } catch let refused as PushRequest.Problems {
            throw Problem.invalid(keyProblem + refused.problems.map { ($0.field, $0.detail) })
        }
        guard keyProblem.isEmpty, let key else { throw Problem.invalid(keyProblem) }
        let (target, operation, externalID, fields) = (request.target, request.operation, request.externalID, request.fields)
        guard found.status == .active else {
            throw Problem(status: .conflict, slug: "connection-not-active", title: "The connection is not active",
                          detail: "connection \(id.uuidString.lowercased()) is \(found.status.rawValue); only an active connection takes pushes")
        }
        let written = JSONValue.object(fields)
        let recorded: (push: Push, created: Bool)
        do {
            recorded = try await scoped(tenantID) { database in
                try PushStore().record(tenant: tenantID, connection: id, provider: provider, resource: target.resource, operation: operation,
                                       externalID: externalID, fields: written, idempotencyKey: key, on: database)
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
        guard let push = try await scoped(tenantID, { try PushStore().find(id, tenant: tenantID, on: $0) }) else {
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
