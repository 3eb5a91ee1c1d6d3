import Foundation
import Hummingbird
import JunctionCore
import JunctionMapping
import JunctionProviders
import JunctionQueue
import JunctionStores

/// `/v1/mappings`: a tenant's field mappings, one per provider resource ([mappings.md](../../docs/mappings.md)).
/// Reading takes any role; saving takes `admin`. A saved version re-maps the tenant's stored
/// records in the background (`mapping.remap`, `low`), each then a change in the records feed.
extension APIRoutes {
    func registerMappings(on router: Router<some RequestContext>) {
        router.get("/v1/mappings") { request, _ in await answer(request) { try await listMappings(tenant: $0) } }
        router.get("/v1/mappings/:provider/:resource") { request, context in
            let (provider, resource) = (context.parameters.get("provider") ?? "", context.parameters.get("resource") ?? "")
            return await answer(request) { try await showMapping(provider, resource, tenant: $0) }
        }
        router.put("/v1/mappings/:provider/:resource") { request, context in
            let (provider, resource) = (context.parameters.get("provider") ?? "", context.parameters.get("resource") ?? "")
            let body = try? await request.body.collect(upTo: 256 * 1024)
            return await answer(request, admin: true, requestBody: body) { try await saveMapping(provider, resource, body: body, tenant: $0) }
        }
    }

    static func catalogEntry(_ provider: String, _ resource: String) throws -> ResourceMappingDefaults {
        guard let entry = MappingCatalog.entry(provider: provider, resource: resource) else {
            throw Problem.notFound("mapped resource", "\(provider)/\(resource) (each synced resource has one: GET /v1/mappings lists them)")
        }
        return entry
    }

    func listMappings(tenant: TenantAuthenticator.Tenant) async throws -> WebhookAnswer {
        let tenantID = tenant.id
        let versions = try await scoped(tenantID) { database in
            try database.query("""
                SELECT provider, resource, max(version) AS version FROM field_mappings WHERE tenant = \(tenantID) GROUP BY provider, resource
                """).rows.map { row in ("\(try row.decode("provider", as: String.self))/\(try row.decode("resource", as: String.self))", try row.decode("version", as: Int.self)) }
        }
        let saved = Dictionary(versions, uniquingKeysWith: max)
        let data: [JSONValue] = MappingCatalog.all.map { entry in
            let version = saved["\(entry.shape.provider)/\(entry.shape.resource)"] ?? 0
            return ["provider": .string(entry.shape.provider), "resource": .string(entry.shape.resource),
                    "version": .integer(Int64(version)), "default": .bool(version == 0)]
        }
        return Self.json(["data": .array(data)])
    }

    func showMapping(_ provider: String, _ resource: String, tenant: TenantAuthenticator.Tenant) async throws -> WebhookAnswer {
        let entry = try Self.catalogEntry(provider, resource)
        let tenantID = tenant.id
        let current = try await scoped(tenantID) { try MappingStore().current(tenant: tenantID, provider: provider, resource: resource, on: $0) }
        return Self.json(Self.mappingDocument(try current.unwrapped(), entry: entry))
    }

    func saveMapping(_ provider: String, _ resource: String, body: ByteBuffer?, tenant: TenantAuthenticator.Tenant) async throws -> WebhookAnswer {
        let entry = try Self.catalogEntry(provider, resource)
        guard let body, body.readableBytes > 0, case .object(let object)? = try? JSONValue(parsing: Array(body.readableBytesView)) else {
            throw Problem.invalid([("body", #"a JSON object: {"rules": [{"target": "email", "source": "email", "transforms": ["trim", "lower"]}]}"#)])
        }
        if let unknown = object.keys.sorted().first(where: { $0 != "rules" }) { throw Problem.invalid([(unknown, "not a field of a mapping (rules)")]) }
        let mapping: FieldMapping
        do {
            mapping = try FieldMapping.parse(.object(object))
        } catch {
            throw Problem.invalid(error.problems.map { ($0.field ?? "rules", $0.message) })
        }
        let problems = mapping.validate(against: entry.shape)
        guard problems.isEmpty else { throw Problem.invalid(problems.map { ($0.field ?? "rules", $0.message) }) }
        let (tenantID, actor) = (tenant.id, Self.actor(tenant))
        let (saved, created) = try await scoped(tenantID) { database in
            try MappingStore().save(mapping, tenant: tenantID, provider: provider, resource: resource, by: actor, on: database)
        }
        // Enqueued on every save, a repeat of the same rules too: a save whose enqueue failed (the
        // 503 below) is retried by the caller, and the dedupe key keeps it to one job.
        let queue = self.queue
        let remap = MappingStore.remapJob(tenant: tenantID, provider: provider, resource: resource, version: saved.version)
        _ = try await redis.withConnection { try queue.enqueue([remap], on: $0) }
        return Self.json(Self.mappingDocument(saved, entry: entry), status: created ? .created : .ok)
    }

    static func mappingDocument(_ saved: SavedMapping, entry: ResourceMappingDefaults) -> JSONValue {
        var document: [String: JSONValue] = [
            "provider": .string(entry.shape.provider), "resource": .string(entry.shape.resource), "version": .integer(Int64(saved.version)),
            "default": .bool(saved.isDefault), "rules": saved.mapping.json["rules"] ?? .array([]),
            "fields": .object(entry.shape.fields.mapValues { .string($0.name) }),
        ]
        document["created_at"] = saved.createdAt.map { .string(Timestamp.format($0)) } ?? nil
        document["created_by"] = saved.createdBy.map(JSONValue.string) ?? nil
        return .object(document)
    }
}

extension Optional where Wrapped == SavedMapping {
    /// A catalog entry always has a mapping (its default at least).
    func unwrapped() throws -> SavedMapping {
        guard let self else { throw Problem(status: .internalServerError, slug: "mapping-missing", title: "No mapping", detail: "the resource has no default mapping") }
        return self
    }
}
