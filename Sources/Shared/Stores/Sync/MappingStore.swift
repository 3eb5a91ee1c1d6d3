import Foundation
import JunctionCore
import JunctionMapping
import JunctionProviders
import JunctionQueue

/// A mapping that applies to a tenant's records of one provider resource: a saved version, or
/// the resource's default (version 0).
public struct SavedMapping: Sendable, Equatable {
    public var version: Int
    public var mapping: FieldMapping
    public var createdAt: Date?
    public var createdBy: String?

    public var isDefault: Bool { version == 0 }
}

/// The `field_mappings` table (migration 0009): every version a tenant saved of its mapping of a
/// provider resource. The newest applies; with none, the resource's default from
/// ``MappingCatalog``.
public struct MappingStore: Sendable {
    public init() {}

    /// The mapping that applies now; nil for a resource with no documented shape (nothing to map).
    public func current(tenant: String, provider: String, resource: String, on database: PostgresConnection) throws -> SavedMapping? {
        guard let entry = MappingCatalog.entry(provider: provider, resource: resource) else { return nil }
        let rows = try database.query("""
            SELECT version, rules::text AS rules, created_at, created_by FROM field_mappings
            WHERE tenant = \(tenant) AND provider = \(provider) AND resource = \(resource) ORDER BY version DESC LIMIT 1
            """).rows
        guard let row = rows.first else { return SavedMapping(version: 0, mapping: entry.defaults) }
        return try saved(row)
    }

    /// Every saved version, newest first (the default is not one).
    public func versions(tenant: String, provider: String, resource: String, on database: PostgresConnection) throws -> [SavedMapping] {
        try database.query("""
            SELECT version, rules::text AS rules, created_at, created_by FROM field_mappings
            WHERE tenant = \(tenant) AND provider = \(provider) AND resource = \(resource) ORDER BY version DESC
            """).rows.map(saved)
    }

    /// Saves `mapping` as the next version (checked already: ``FieldMapping/validate(against:)``)
    /// and answers it; the same rules as the current version save nothing and answer that one
    /// (`created` false). Two saves at once each get their own version.
    public func save(_ mapping: FieldMapping, tenant: String, provider: String, resource: String, by actor: String?,
                     on database: PostgresConnection) throws -> (saved: SavedMapping, created: Bool) {
        var attempt = 0
        while true {
            attempt += 1
            do {
                return try database.transaction { connection in
                    if let current = try current(tenant: tenant, provider: provider, resource: resource, on: connection), current.mapping == mapping {
                        return (current, false)
                    }
                    let row = try connection.query("""
                        INSERT INTO field_mappings (tenant, provider, resource, version, rules, created_by)
                        SELECT \(tenant), \(provider), \(resource), coalesce(max(version), 0) + 1, \(PostgresJSON(text: mapping.json.serialized))::jsonb, \(actor)
                        FROM field_mappings WHERE tenant = \(tenant) AND provider = \(provider) AND resource = \(resource)
                        RETURNING version, rules::text AS rules, created_at, created_by
                        """).rows.first!
                    return (try saved(row), true)
                }
            } catch let error as PostgresError where error.isUniqueViolation && attempt < 3 {
                continue
            }
        }
    }

    private func saved(_ row: PostgresRow) throws -> SavedMapping {
        SavedMapping(version: try row.decode("version"), mapping: try FieldMapping.parse(try JSONValue(parsing: try row.decode("rules", as: String.self))),
                     createdAt: try row.decode("created_at"), createdBy: try row.decode("created_by"))
    }
}

extension MappingStore {
    public static let remapJobType = "mapping.remap"

    /// The job that re-maps the tenant's records of the resource with `version` (at `low`, one per
    /// version however often it is asked for).
    public static func remapJob(tenant: String, provider: String, resource: String, version: Int) -> JobRequest {
        JobRequest(type: remapJobType, payload: ["tenant": .string(tenant), "provider": .string(provider), "resource": .string(resource), "version": .integer(Int64(version))],
                   priority: .low, tenant: tenant, provider: provider,
                   dedupeKey: "mapping-remap:\(tenant):\(provider):\(resource):\(version)", dedupeTTL: .seconds(24 * 3600))
    }
}
