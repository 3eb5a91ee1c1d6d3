import Foundation
import JunctionCore

/// A guarded write was refused: it carried an older fence than the one stored.
public struct StaleFence: Error, Sendable, Equatable, CustomStringConvertible {
    public let attempted: Int64
    public let current: Int64

    public init(attempted: Int64, current: Int64) {
        self.attempted = attempted
        self.current = current
    }

    public var description: String {
        "refused a write under fence \(attempted): fence \(current) has written since (this worker's lock expired and another took it)"
    }
}

extension StaleFence: RetryClassifiable {
    /// Not worth retrying: the newer holder has the work.
    public var isRetryable: Bool { false }
}

/// One row of `sync_state`.
public struct SyncState: Sendable, Equatable {
    public var tenant: String
    public var provider: String
    public var resource: String
    /// The connection the state belongs to; nil for state kept per tenant and provider.
    public var connection: UUID?
    public var cursor: String?
    public var fence: Int64
    public var details: JSONValue
    public var updatedAt: Date
}

/// The `sync_state` table, written only under a fence: a write succeeds when its fence is at
/// least the stored one (the same holder may write many times), and fails with ``StaleFence``
/// otherwise, in one statement, so no race can slip between the check and the write.
public struct SyncStateStore: Sendable {
    public init() {}

    @discardableResult
    public func save(tenant: String, provider: String, resource: String, connection: UUID? = nil, cursor: String?, details: JSONValue = [:],
                     fence: Int64, on database: PostgresConnection) throws -> SyncState {
        let written = try database.query("""
            INSERT INTO sync_state AS s (tenant, provider, resource, connection_id, cursor, details, fence, updated_at)
            VALUES (\(tenant), \(provider), \(resource), \(connection), \(cursor), \(PostgresJSON(text: details.serialized))::jsonb, \(fence), now())
            ON CONFLICT (tenant, provider, resource, connection_key) DO UPDATE
               SET cursor = EXCLUDED.cursor, details = EXCLUDED.details, fence = EXCLUDED.fence, updated_at = now()
             WHERE s.fence <= EXCLUDED.fence
            RETURNING tenant, provider, resource, connection_id, cursor, details, fence, updated_at
            """).first
        if let written { return try Self.decode(written) }
        let current = try load(tenant: tenant, provider: provider, resource: resource, connection: connection, on: database)?.fence ?? 0
        throw StaleFence(attempted: fence, current: current)
    }

    public func load(tenant: String, provider: String, resource: String, connection: UUID? = nil, on database: PostgresConnection) throws -> SyncState? {
        try database.query("""
            SELECT tenant, provider, resource, connection_id, cursor, details, fence, updated_at FROM sync_state
            WHERE tenant = \(tenant) AND provider = \(provider) AND resource = \(resource)
              AND connection_key = coalesce(\(connection)::uuid::text, '')
            """).first.map(Self.decode)
    }

    private static func decode(_ row: PostgresRow) throws -> SyncState {
        let details: PostgresJSON = try row.decode("details")
        return SyncState(
            tenant: try row.decode("tenant"), provider: try row.decode("provider"), resource: try row.decode("resource"),
            connection: try row.decode("connection_id"), cursor: try row.decode("cursor"), fence: try row.decode("fence"), details: (try? JSONValue(parsing: Array(details.text.utf8))) ?? [:],
            updatedAt: try row.decode("updated_at"))
    }
}
