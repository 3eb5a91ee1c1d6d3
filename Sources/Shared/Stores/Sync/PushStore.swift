import Foundation
import JunctionCore
import JunctionQueue

/// One push to a provider, as the outbox (`pushes`, migration 0010) holds it.
public struct Push: Sendable, Equatable {
    public enum Status: String, Sendable {
        case pending, delivered, failed
        /// Ended without writing: the provider's object changed since the push's version, and
        /// the connection's conflict policy kept the provider's (see ``Push/conflict``).
        case superseded
    }

    public var id: UUID
    public var tenant: String
    public var connection: UUID
    public var provider: String
    public var resource: String
    /// `create` or `update`.
    public var operation: String
    /// The provider's id: the object updated, or the one a create made once it is delivered.
    public var externalID: String?
    public var fields: JSONValue
    public var idempotencyKey: String
    public var status: Status
    public var attempts: Int
    public var errors: JSONValue
    public var result: JSONValue?
    /// The conflict met on the way, with both versions: `policy`, `winner` (`platform` or
    /// `provider`), `platform` (the pushed fields), `provider` (the provider's object as read
    /// again), `expected_version`, `provider_version`, `detected_at`.
    public var conflict: JSONValue?
    public var createdAt: Date
    public var deliveredAt: Date?
}

/// The outbox: a push is recorded with its caller's idempotency key (one push per key and
/// connection), then delivered by a `push.outbound` job and ended `delivered` or `failed`.
public struct PushStore: Sendable {
    public init() {}

    public static let jobType = "push.outbound"
    /// The job an internal caller enqueues to have a push recorded (and then delivered).
    public static let requestJobType = "push.request"

    /// The job that delivers `push` (one queued at a time per push).
    public static func job(for push: Push) -> JobRequest {
        let id = push.id.uuidString.lowercased()
        return JobRequest(type: jobType, payload: ["push": .string(id)], priority: .high, tenant: push.tenant, provider: push.provider,
                          connection: push.connection.uuidString.lowercased(), dedupeKey: "push:\(id)", dedupeTTL: .seconds(600))
    }

    /// Records a push; with a key already used on this connection, answers that push instead
    /// (`created` false), or throws ``KeyReused`` when it asked for something else.
    public func record(tenant: String, connection: UUID, provider: String, resource: String, operation: String, externalID: String?,
                       fields: JSONValue, idempotencyKey: String, on database: PostgresConnection) throws -> (push: Push, created: Bool) {
        let inserted = try database.query("""
            INSERT INTO pushes (id, tenant, connection_id, provider, resource, operation, external_id, fields, idempotency_key)
            VALUES (\(UUID()), \(tenant), \(connection), \(provider), \(resource), \(operation), \(externalID), \(PostgresJSON(text: fields.serialized))::jsonb, \(idempotencyKey))
            ON CONFLICT (tenant, connection_id, idempotency_key) DO NOTHING
            RETURNING \(sql: Self.columns)
            """).rows
        if let row = inserted.first { return (try Self.push(row), true) }
        let existing = try database.query("""
            SELECT \(sql: Self.columns) FROM pushes WHERE tenant = \(tenant) AND connection_id = \(connection) AND idempotency_key = \(idempotencyKey)
            """).rows
        guard let row = existing.first else { throw KeyReused(key: idempotencyKey) }
        let push = try Self.push(row)
        guard push.resource == resource, push.operation == operation, push.externalID == externalID || operation == "create", push.fields == fields else {
            throw KeyReused(key: idempotencyKey)
        }
        return (push, false)
    }

    /// The same key with another request.
    public struct KeyReused: Error, Sendable {
        public var key: String
    }

    public func find(_ id: UUID, tenant: String? = nil, on database: PostgresConnection) throws -> Push? {
        try database.query("""
            SELECT \(sql: Self.columns) FROM pushes WHERE id = \(id) AND (\(tenant)::text IS NULL OR tenant = \(tenant))
            """).rows.first.map(Self.push)
    }

    /// Ends the push delivered, with the provider's id and object (and the conflict it won, if
    /// any); false when it had ended already.
    @discardableResult
    public func delivered(_ id: UUID, externalID: String?, result: JSONValue, conflict: JSONValue? = nil, on database: PostgresConnection) throws -> Bool {
        try end(id, status: .delivered, externalID: externalID, result: result, conflict: conflict, on: database)
    }

    /// Ends the push superseded: the provider's object (`result`) won the conflict.
    @discardableResult
    public func superseded(_ id: UUID, externalID: String?, result: JSONValue, conflict: JSONValue, on database: PostgresConnection) throws -> Bool {
        try end(id, status: .superseded, externalID: externalID, result: result, conflict: conflict, on: database)
    }

    private func end(_ id: UUID, status: Push.Status, externalID: String?, result: JSONValue, conflict: JSONValue?, on database: PostgresConnection) throws -> Bool {
        try database.query("""
            UPDATE pushes SET status = \(status.rawValue), external_id = coalesce(\(externalID), external_id), result = \(PostgresJSON(text: result.serialized))::jsonb,
                   conflict = coalesce(\(conflict.map { PostgresJSON(text: $0.serialized) })::jsonb, conflict),
                   attempts = attempts + 1, delivered_at = CASE WHEN \(status == .delivered) THEN now() END, updated_at = now()
            WHERE id = \(id) AND status = 'pending'
            """).affectedRows == 1
    }

    /// Records a failed attempt; `final` ends the push failed.
    public func failed(_ id: UUID, attempt: Int, error: String, final: Bool, on database: PostgresConnection) throws {
        let entry: JSONValue = ["at": .string(Timestamp.format(Date())), "attempt": .integer(Int64(attempt)), "error": .string(error)]
        try database.query("""
            UPDATE pushes SET errors = errors || \(PostgresJSON(text: JSONValue.array([entry]).serialized))::jsonb, attempts = attempts + 1,
                   status = CASE WHEN \(final) THEN 'failed' ELSE status END, updated_at = now()
            WHERE id = \(id) AND status = 'pending'
            """)
    }

    /// Pushes still pending that nothing touched for `idle` (a job lost, an enqueue that failed
    /// after the commit): the scheduler's leader enqueues them again.
    public func stale(idle: Duration, limit: Int = 500, on database: PostgresConnection) throws -> [Push] {
        try database.query("""
            SELECT \(sql: Self.columns) FROM pushes WHERE status = 'pending' AND updated_at < now() - make_interval(secs => \(Double(idle / .milliseconds(1)) / 1000))
            ORDER BY updated_at LIMIT \(limit)
            """).rows.map(Self.push)
    }

    /// Marks pushes as just enqueued again, so the next sweep leaves them for `idle`.
    public func touch(_ ids: [UUID], on database: PostgresConnection) throws {
        guard !ids.isEmpty else { return }
        try database.query("UPDATE pushes SET updated_at = now() WHERE id = ANY(\(PostgresTextArray(ids.map { $0.uuidString.lowercased() }))::uuid[]) AND status = 'pending'")
    }

    static let columns: StaticString = """
        id::text AS id, tenant, connection_id::text AS connection_id, provider, resource, operation, external_id, fields::text AS fields, idempotency_key,
        status, attempts, errors::text AS errors, result::text AS result, conflict::text AS conflict, created_at, delivered_at
        """

    static func push(_ row: PostgresRow) throws -> Push {
        Push(id: UUID(uuidString: try row.decode("id", as: String.self))!, tenant: try row.decode("tenant"),
             connection: UUID(uuidString: try row.decode("connection_id", as: String.self))!, provider: try row.decode("provider"),
             resource: try row.decode("resource"), operation: try row.decode("operation"), externalID: try row.decode("external_id"),
             fields: try JSONValue(parsing: try row.decode("fields", as: String.self)), idempotencyKey: try row.decode("idempotency_key"),
             status: Push.Status(rawValue: try row.decode("status", as: String.self)) ?? .pending, attempts: try row.decode("attempts"),
             errors: try JSONValue(parsing: try row.decode("errors", as: String.self)),
             result: try row.decode("result", as: String?.self).map { try JSONValue(parsing: $0) },
             conflict: try row.decode("conflict", as: String?.self).map { try JSONValue(parsing: $0) },
             createdAt: try row.decode("created_at"), deliveredAt: try row.decode("delivered_at"))
    }
}

/// Who wins when a push meets a provider object that changed since the version it was made
/// against (a connection's `conflict_policy`).
public enum ConflictPolicy: String, Sendable, CaseIterable {
    /// The later change: the provider's, when its object changed after the push was made; else the push's.
    case lastWriteWins = "last_write_wins"
    case providerWins = "provider_wins"
    case platformWins = "platform_wins"
}
