import Foundation
import JunctionCore

/// The `connections` table and its audit trail, `connection_events`: every change of status is
/// made here, with its reason and time in `health` and an audit row naming who made it, in one
/// transaction.
public struct ConnectionStore: Sendable {
    public init() {}

    static let columns: StaticString = """
        id, tenant, provider, status, auth, external_account_id, to_json(scopes)::text AS scopes, health::text AS health,
        metadata::text AS metadata, conflict_policy, created_at, updated_at
        """

    /// A new `pending` connection: the connect flow's first step, before the tenant has approved
    /// anything.
    public func create(tenant: String, provider: String, auth: ConnectionAuth = .oauth2, actor: String,
                       on database: PostgresConnection) throws -> Connection {
        try database.transaction { database in
            let row = try database.query("""
                INSERT INTO connections (tenant, provider, auth, health)
                VALUES (\(tenant), \(provider), \(auth.rawValue), jsonb_build_object('reason', 'created', 'changed_at', now()))
                RETURNING \(sql: Self.columns)
                """).first!
            let connection = try Self.decode(row)
            try record(connection, event: "created", from: nil, to: .pending, reason: nil, actor: actor, on: database)
            return connection
        }
    }

    /// The connection `id`; with `tenant`, only if it is that tenant's (another tenant's id reads
    /// as absent).
    public func find(_ id: UUID, tenant: String? = nil, on database: PostgresConnection) throws -> Connection? {
        try database.query("""
            SELECT \(sql: Self.columns) FROM connections WHERE id = \(id) AND (\(tenant)::text IS NULL OR tenant = \(tenant))
            """).first.map(Self.decode)
    }

    /// Connections in creation order; with `after`, those after that connection (of the same tenant).
    public func list(tenant: String? = nil, provider: String? = nil, status: ConnectionStatus? = nil, after: UUID? = nil, limit: Int = 500,
                     on database: PostgresConnection) throws -> [Connection] {
        try database.query("""
            SELECT \(sql: Self.columns) FROM connections
            WHERE (\(tenant)::text IS NULL OR tenant = \(tenant)) AND (\(provider)::text IS NULL OR provider = \(provider))
              AND (\(status?.rawValue)::text IS NULL OR status = \(status?.rawValue))
              AND (\(after)::uuid IS NULL OR (created_at, id) > (SELECT created_at, id FROM connections WHERE id = \(after)))
            ORDER BY created_at, id LIMIT \(limit)
            """).rows.map(Self.decode)
    }

    /// Moves the connection to `status`, recording `reason`, when its current status is one of
    /// `from` (any, when nil). Answers the connection as it is afterwards; the same status again
    /// updates the reason without a second audit row.
    @discardableResult
    public func transition(_ id: UUID, to status: ConnectionStatus, reason: String?, actor: String,
                           from allowed: Set<ConnectionStatus>? = nil, on database: PostgresConnection) throws -> Connection {
        try database.transaction { database in
            guard let current = try lock(id, on: database) else { throw ConnectionError.notFound(id) }
            if let allowed, !allowed.contains(current.status) {
                throw ConnectionError.wrongStatus(id, current.status, wanted: "expected \(allowed.map(\.rawValue).sorted().joined(separator: " or "))")
            }
            let row = try database.query("""
                UPDATE connections
                   SET status = \(status.rawValue), updated_at = now(),
                       health = health || jsonb_build_object('reason', \(reason)::text, 'changed_at', now())
                 WHERE id = \(id)
                RETURNING \(sql: Self.columns)
                """).first!
            let updated = try Self.decode(row)
            if current.status != status {
                try record(updated, event: "status", from: current.status, to: status, reason: reason, actor: actor, on: database)
            }
            return updated
        }
    }

    /// The connection's first (or renewed) credentials work: store them and make it `active`, with
    /// the provider's account id, scopes and metadata, in one transaction. A tenant that has
    /// connected the same account already, through another connection, is told which; a
    /// reconnect that authorised another account than the connection's is refused.
    @discardableResult
    public func activate(_ id: UUID, account: String?, scopes: [String], metadata: JSONValue, tokens: TokenPair,
                         vault: CredentialVault, actor: String, on database: PostgresConnection) throws -> Connection {
        try database.transaction { database in
            guard let current = try lock(id, on: database) else { throw ConnectionError.notFound(id) }
            guard current.status != .disconnected else {
                throw ConnectionError.wrongStatus(id, current.status, wanted: "a disconnected connection is not reconnected; start a new one")
            }
            if let account, let connected = current.externalAccountID, connected != account {
                throw ConnectionError.otherAccount(id, connected: connected, authorised: account)
            }
            if let account, let existing = try database.query("""
                SELECT id FROM connections
                WHERE tenant = \(current.tenant) AND provider = \(current.provider) AND external_account_id = \(account) AND id <> \(id)
                """).first {
                throw ConnectionError.accountConnected(existing: try existing.decode("id"), account: account)
            }
            try vault.put(id, tenant: current.tenant, tokens, on: database)
            let row = try database.query("""
                UPDATE connections
                   SET status = 'active', external_account_id = coalesce(\(account), external_account_id),
                       scopes = \(PostgresTextArray(scopes))::text[], metadata = metadata || \(PostgresJSON(text: metadata.serialized))::jsonb,
                       updated_at = now(), health = health || jsonb_build_object('reason', 'connected', 'changed_at', now())
                 WHERE id = \(id)
                RETURNING \(sql: Self.columns)
                """).first!
            let updated = try Self.decode(row)
            try record(updated, event: current.status == .active ? "credentials" : "status", from: current.status, to: .active,
                       reason: current.status == .active ? "credentials replaced" : "connected", actor: actor, on: database)
            return updated
        }
    }

    /// Merges `values` into `health` (the last refresh, the last check), without an audit row.
    public func noteHealth(_ id: UUID, _ values: [String: JSONValue], on database: PostgresConnection) throws {
        try database.query("""
            UPDATE connections SET health = health || \(PostgresJSON(text: JSONValue.object(values).serialized))::jsonb WHERE id = \(id)
            """)
    }

    /// Removes the row (its credentials, schedules and webhook endpoints go with it); its audit
    /// rows stay, with a last one saying who deleted it.
    public func delete(_ id: UUID, reason: String?, actor: String, on database: PostgresConnection) throws {
        try database.transaction { database in
            guard let current = try lock(id, on: database) else { throw ConnectionError.notFound(id) }
            try record(current, event: "deleted", from: current.status, to: nil, reason: reason, actor: actor, on: database)
            try database.query("DELETE FROM connections WHERE id = \(id)")
        }
    }

    /// The connection's audit trail, oldest first.
    public func events(_ id: UUID, on database: PostgresConnection) throws -> [ConnectionEvent] {
        try database.query("""
            SELECT id, connection_id, event, from_status, to_status, reason, actor, at FROM connection_events
            WHERE connection_id = \(id) ORDER BY id
            """).rows.map { row in
            ConnectionEvent(id: try row.decode("id"), connection: try row.decode("connection_id"), event: try row.decode("event"),
                            fromStatus: try row.decode("from_status"), toStatus: try row.decode("to_status"), reason: try row.decode("reason"),
                            actor: try row.decode("actor"), at: try row.decode("at"))
        }
    }

    private func lock(_ id: UUID, on database: PostgresConnection) throws -> Connection? {
        try database.query("SELECT \(sql: Self.columns) FROM connections WHERE id = \(id) FOR UPDATE").first.map(Self.decode)
    }

    private func record(_ connection: Connection, event: String, from: ConnectionStatus?, to: ConnectionStatus?, reason: String?,
                        actor: String, on database: PostgresConnection) throws {
        try database.query("""
            INSERT INTO connection_events (connection_id, tenant, provider, event, from_status, to_status, reason, actor)
            VALUES (\(connection.id), \(connection.tenant), \(connection.provider), \(event), \(from?.rawValue), \(to?.rawValue), \(reason), \(actor))
            """)
    }

    /// Sets the connection's conflict policy (of `tenant`'s connection only, when given); answers
    /// the connection as it is afterwards, or nil when there is none. A change is audited.
    public func setConflictPolicy(_ id: UUID, to policy: ConflictPolicy, tenant: String?, actor: String, on database: PostgresConnection) throws -> Connection? {
        try database.transaction { database in
            guard let current = try lock(id, on: database), tenant == nil || current.tenant == tenant else { return nil }
            guard current.conflictPolicy != policy else { return current }
            let row = try database.query("""
                UPDATE connections SET conflict_policy = \(policy.rawValue), updated_at = now() WHERE id = \(id)
                RETURNING \(sql: Self.columns)
                """).first!
            let changed = try Self.decode(row)
            try record(changed, event: "conflict_policy", from: current.status, to: current.status,
                       reason: "\(current.conflictPolicy.rawValue) to \(policy.rawValue)", actor: actor, on: database)
            return changed
        }
    }

    static func decode(_ row: PostgresRow) throws -> Connection {
        let health = try JSONValue(parsing: try row.decode("health", as: String.self))
        let scopes = try JSONValue(parsing: try row.decode("scopes", as: String.self))
        let statusText: String = try row.decode("status")
        let authText: String = try row.decode("auth")
        return Connection(
            id: try row.decode("id"), tenant: try row.decode("tenant"), provider: try row.decode("provider"),
            status: ConnectionStatus(rawValue: statusText) ?? .error, auth: ConnectionAuth(rawValue: authText) ?? .oauth2,
            externalAccountID: try row.decode("external_account_id"),
            scopes: scopes.arrayValue?.compactMap(\.stringValue) ?? [],
            reason: health["reason"]?.stringValue, statusChangedAt: health["changed_at"]?.stringValue.flatMap(Timestamp.parse),
            health: health, metadata: try JSONValue(parsing: try row.decode("metadata", as: String.self)),
            conflictPolicy: ConflictPolicy(rawValue: try row.decode("conflict_policy", as: String.self)) ?? .lastWriteWins,
            createdAt: try row.decode("created_at"), updatedAt: try row.decode("updated_at"))
    }
}
