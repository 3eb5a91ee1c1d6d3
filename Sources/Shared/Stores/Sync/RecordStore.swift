import Foundation
import JunctionCore

/// What one page did to the stored records.
public struct PageCounts: Sendable, Equatable {
    public var added = 0
    public var updated = 0
    /// Brought unchanged (same hash), or older than the stored state (lower version).
    public var unchanged = 0

    public init(added: Int = 0, updated: Int = 0, unchanged: Int = 0) {
        self.added = added
        self.updated = updated
        self.unchanged = unchanged
    }

    public static func + (lhs: PageCounts, rhs: PageCounts) -> PageCounts {
        PageCounts(added: lhs.added + rhs.added, updated: lhs.updated + rhs.updated, unchanged: lhs.unchanged + rhs.unchanged)
    }
}

/// One object of a page, as the provider sent it.
public struct RecordWrite: Sendable {
    public var externalID: String
    public var data: JSONValue
    /// The provider's ordering of the object's states (``SyncResource/version(of:)``).
    public var version: Int64?

    public init(externalID: String, data: JSONValue, version: Int64?) {
        self.externalID = externalID
        self.data = data
        self.version = version
    }
}

/// One row of `records`.
public struct StoredRecord: Sendable, Equatable {
    public var externalID: String
    public var data: JSONValue
    public var version: Int64?
    public var changeSequence: Int64
    public var deletedAt: Date?
}

/// A position in the records feed: the writing transaction and the change sequence. Its text
/// form (``description``, ``init(_:)``) is what the API hands out as `cursor`: opaque to clients.
public struct FeedCursor: Sendable, Equatable, Comparable, CustomStringConvertible {
    public var transaction: UInt64
    public var sequence: Int64

    public init(transaction: UInt64, sequence: Int64) {
        self.transaction = transaction
        self.sequence = sequence
    }

    /// Reads `<transaction>.<sequence>`; nil for anything else.
    public init?(_ text: String) {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 2, parts.allSatisfy({ !$0.isEmpty && $0.allSatisfy(\.isASCII) && $0.allSatisfy(\.isNumber) }),
              let transaction = UInt64(parts[0]), let sequence = Int64(parts[1]) else { return nil }
        self.init(transaction: transaction, sequence: sequence)
    }

    public var description: String { "\(transaction).\(sequence)" }

    public static func < (lhs: FeedCursor, rhs: FeedCursor) -> Bool {
        (lhs.transaction, lhs.sequence) < (rhs.transaction, rhs.sequence)
    }
}

/// One record as the feed answers it.
public struct FeedRecord: Sendable, Equatable {
    public var externalID: String
    public var data: JSONValue
    /// The mapped form, and the mapping version that made it (0: the default); nil for a resource
    /// with no mapping.
    public var mapped: JSONValue?
    public var mappingVersion: Int?
    public var version: Int64?
    public var cursor: FeedCursor
    public var firstSeenAt: Date
    public var lastSeenAt: Date
    public var changedAt: Date
    public var deletedAt: Date?
    /// The last conflict a push met on this object, with both versions (`push`, `policy`,
    /// `winner`, `platform`, `provider`, …); nil when none did.
    public var lastConflict: JSONValue?
}

/// One page of the feed: the records, the cursor to ask after next (where this page ended, or
/// the cursor asked with when nothing new was visible), and whether more is visible already.
public struct FeedPage: Sendable, Equatable {
    public var records: [FeedRecord]
    public var next: FeedCursor
    public var hasMore: Bool
}

/// The `records` table: every synced object, keyed by connection, resource and the provider's id.
/// A page is written in one statement; an object is rewritten only when it changed (its MD5 over
/// the canonical jsonb text differs) and is not older than the stored state (its version is not
/// lower), and every real change takes the next value of the `record_changes` sequence.
public struct RecordStore: Sendable {
    public init() {}

    public func write(_ page: [RecordWrite], connection: UUID, tenant: String, provider: String, resource: String,
                      on database: PostgresConnection) throws -> PageCounts {
        // One row per id (a provider may repeat an object across a page boundary); the last wins.
        var seen: [String: Int] = [:]
        var rows: [RecordWrite] = []
        for write in page {
            if let index = seen[write.externalID] { rows[index] = write } else {
                seen[write.externalID] = rows.count
                rows.append(write)
            }
        }
        guard !rows.isEmpty else { return PageCounts() }
        // Each object's mapped form, by the tenant's mapping as it is now (a version saved later
        // re-maps these: `mapping.remap`).
        let mapping = try MappingStore().current(tenant: tenant, provider: provider, resource: resource, on: database)
        // Written straight into bytes, keys unsorted (jsonb orders them): this text was a third of
        // a sync worker's time when built as a JSONValue and serialized with sorted keys.
        var text = JSONBytes(capacity: 1024 * rows.count)
        text.raw("[")
        for (index, row) in rows.enumerated() {
            if index > 0 { text.raw(",") }
            text.raw(#"{"external_id":"#)
            text.string(row.externalID)
            text.raw(#","version":"#)
            if let version = row.version { text.raw(String(version)) } else { text.raw("null") }
            text.raw(#","data":"#)
            row.data.write(to: &text, sortedKeys: false)
            if let mapping {
                text.raw(#","mapping_version":"#)
                text.raw(String(mapping.version))
                text.raw(#","mapped":"#)
                mapping.mapping.apply(to: row.data).record.write(to: &text, sortedKeys: false)
            }
            text.raw("}")
        }
        text.raw("]")
        let result = try database.query("""
            WITH page AS (
                SELECT * FROM jsonb_to_recordset(\(PostgresJSON(text: String(decoding: text.bytes, as: UTF8.self)))::jsonb)
                    AS p(external_id text, data jsonb, version bigint, mapped jsonb, mapping_version integer)
            ), written AS (
                INSERT INTO records AS r (connection_id, resource, external_id, tenant, provider, data, hash, version, mapped, mapping_version)
                SELECT \(connection), \(resource), p.external_id, \(tenant), \(provider), p.data, md5(p.data::text), p.version, p.mapped, p.mapping_version FROM page p
                ON CONFLICT (connection_id, resource, external_id) DO UPDATE
                   SET data = EXCLUDED.data, hash = EXCLUDED.hash, version = EXCLUDED.version, mapped = EXCLUDED.mapped, mapping_version = EXCLUDED.mapping_version,
                       change_seq = nextval('record_changes'), change_xid = pg_current_xact_id(),
                       last_seen_at = now(), changed_at = now(), deleted_at = NULL
                 WHERE (r.hash <> EXCLUDED.hash OR r.deleted_at IS NOT NULL)
                   AND (r.version IS NULL OR EXCLUDED.version IS NULL OR EXCLUDED.version >= r.version)
                RETURNING (xmax = 0) AS inserted
            )
            SELECT count(*) FILTER (WHERE inserted)::bigint AS added, count(*) FILTER (WHERE NOT inserted)::bigint AS updated FROM written
            """)
        let added: Int = try result.first?.decode("added") ?? 0
        let updated: Int = try result.first?.decode("updated") ?? 0
        return PageCounts(added: added, updated: updated, unchanged: rows.count - added - updated)
    }

    /// Soft-deletes an object (a provider's delete signal), unless the stored state is newer than
    /// the signal; answers whether it deleted something. A delete is a change: it takes the next
    /// change-sequence value.
    @discardableResult
    public func delete(_ externalID: String, version: Int64?, connection: UUID, resource: String, on database: PostgresConnection) throws -> Bool {
        try database.query("""
            UPDATE records SET deleted_at = now(), changed_at = now(), change_seq = nextval('record_changes'), change_xid = pg_current_xact_id(), version = coalesce(\(version), version)
            WHERE connection_id = \(connection) AND resource = \(resource) AND external_id = \(externalID) AND deleted_at IS NULL
              AND (version IS NULL OR \(version)::bigint IS NULL OR \(version)::bigint >= version)
            """).affectedRows == 1
    }

    /// Stamps the page's objects as seen by reconciliation generation `generation` (call in the
    /// page's transaction).
    public func markSeen(_ ids: [String], generation: Int64, connection: UUID, resource: String, on database: PostgresConnection) throws {
        guard !ids.isEmpty else { return }
        try database.query("""
            UPDATE records SET seen_generation = \(generation)
            WHERE connection_id = \(connection) AND resource = \(resource) AND external_id = ANY(\(PostgresTextArray(ids))::text[])
            """)
    }

    /// After a complete reconciliation walk: soft-deletes the live records it did not see that
    /// existed before it started (one first seen since arrived by webhook while the walk ran).
    public func deleteUnseen(generation: Int64, startedAt: Date, connection: UUID, resource: String, on database: PostgresConnection) throws -> Int {
        try database.query("""
            UPDATE records SET deleted_at = now(), changed_at = now(), change_seq = nextval('record_changes'), change_xid = pg_current_xact_id()
            WHERE connection_id = \(connection) AND resource = \(resource) AND deleted_at IS NULL
              AND seen_generation IS DISTINCT FROM \(generation) AND first_seen_at < \(startedAt)
            """).affectedRows
    }

    /// The connection's records of `resource` in change order, after `sequence`.
    public func changes(connection: UUID, resource: String, after sequence: Int64 = 0, limit: Int = 1000,
                        on database: PostgresConnection) throws -> [StoredRecord] {
        try database.query("""
            SELECT external_id, data::text AS data, version, change_seq, deleted_at FROM records
            WHERE connection_id = \(connection) AND resource = \(resource) AND change_seq > \(sequence)
            ORDER BY change_seq LIMIT \(limit)
            """).rows.map { row in
            StoredRecord(externalID: try row.decode("external_id"), data: try JSONValue(parsing: try row.decode("data", as: String.self)),
                         version: try row.decode("version"), changeSequence: try row.decode("change_seq"), deletedAt: try row.decode("deleted_at"))
        }
    }

    /// One page of the records feed: the connection's changes of `resource` after `cursor`, in
    /// the order no concurrent writer can break (migration 0007): by the writing transaction, then
    /// the change sequence, and only changes of transactions older than every one still running.
    /// A change still hidden that way shows on a later page, after the cursor: never skipped.
    /// `modifiedAfter` and `includeDeleted` filter what is answered; the cursor still moves past
    /// what they leave out (``FeedPage/next``).
    public func feed(connection: UUID, tenant: String, resource: String, after cursor: FeedCursor?, limit: Int,
                     modifiedAfter: Date? = nil, includeDeleted: Bool = false, on database: PostgresConnection) throws -> FeedPage {
        let from = cursor ?? FeedCursor(transaction: 0, sequence: 0)
        // Scanned in feed order up to `limit` rows; the filters apply to what is answered, so a
        // page of filtered-out changes still moves the cursor.
        // "After the cursor" is spelled out rather than written as the row comparison
        // `(change_xid, change_seq) > (x, s)`: with that form as an index condition, CI twice
        // answered the page after `x.1` without `x.2` (the scan began past every change of
        // transaction `x`), which no local run reproduced. This form starts the index scan at
        // `change_xid >= x` and filters the rest; it re-reads at most one transaction's changes.
        let rows = try database.query("""
            WITH visible AS (
                SELECT external_id, data, mapped, mapping_version, version, change_seq, change_xid, first_seen_at, last_seen_at, changed_at, deleted_at, last_conflict
                FROM records
                WHERE connection_id = \(connection) AND tenant = \(tenant) AND resource = \(resource)
                  AND change_xid >= \(String(from.transaction))::xid8
                  AND (change_xid > \(String(from.transaction))::xid8 OR change_seq > \(from.sequence))
                  AND change_xid < pg_snapshot_xmin(pg_current_snapshot())
                ORDER BY change_xid, change_seq LIMIT \(limit + 1)
            )
            SELECT external_id, data::text AS data, mapped::text AS mapped, mapping_version, version, change_seq, change_xid::text AS change_xid, first_seen_at, last_seen_at, changed_at, deleted_at,
                   last_conflict::text AS last_conflict,
                   (deleted_at IS NULL OR \(includeDeleted)) AND (\(modifiedAfter)::timestamptz IS NULL OR changed_at > \(modifiedAfter)) AS wanted
            FROM visible ORDER BY change_xid, change_seq
            """).rows
        var records: [FeedRecord] = []
        var next = from
        for row in rows.prefix(limit) {
            let position = FeedCursor(transaction: UInt64(try row.decode("change_xid", as: String.self)) ?? 0, sequence: try row.decode("change_seq"))
            next = position
            guard try row.decode("wanted", as: Bool.self) else { continue }
            records.append(FeedRecord(
                externalID: try row.decode("external_id"), data: try JSONValue(parsing: try row.decode("data", as: String.self)),
                mapped: try row.decode("mapped", as: String?.self).map { try JSONValue(parsing: $0) }, mappingVersion: try row.decode("mapping_version"),
                version: try row.decode("version"), cursor: position, firstSeenAt: try row.decode("first_seen_at"),
                lastSeenAt: try row.decode("last_seen_at"), changedAt: try row.decode("changed_at"), deletedAt: try row.decode("deleted_at"),
                lastConflict: try row.decode("last_conflict", as: String?.self).map { try JSONValue(parsing: $0) }))
        }
        return FeedPage(records: records, next: next, hasMore: rows.count > limit)
    }

    /// Re-maps up to `limit` of the tenant's live records of `provider` `resource` that `saved`'s
    /// version did not map, in one transaction, each a change (the next change-sequence value,
    /// `changed_at` now), so the feed's followers read them again; answers how many. Rows a sync
    /// is writing at that moment are skipped, and caught by the next call.
    public func remap(tenant: String, provider: String, resource: String, to saved: SavedMapping, limit: Int = 500,
                      on database: PostgresConnection) throws -> Int {
        try database.transaction { connection in
            let rows = try connection.query("""
                SELECT connection_id::text AS connection_id, external_id, data::text AS data FROM records
                WHERE tenant = \(tenant) AND provider = \(provider) AND resource = \(resource) AND deleted_at IS NULL
                  AND mapping_version IS DISTINCT FROM \(saved.version)
                LIMIT \(limit) FOR UPDATE SKIP LOCKED
                """).rows
            guard !rows.isEmpty else { return 0 }
            var text = JSONBytes(capacity: 512 * rows.count)
            text.raw("[")
            for (index, row) in rows.enumerated() {
                if index > 0 { text.raw(",") }
                text.raw(#"{"connection_id":"#)
                text.string(try row.decode("connection_id", as: String.self))
                text.raw(#","external_id":"#)
                text.string(try row.decode("external_id", as: String.self))
                text.raw(#","mapped":"#)
                saved.mapping.apply(to: try JSONValue(parsing: try row.decode("data", as: String.self))).record.write(to: &text, sortedKeys: false)
                text.raw("}")
            }
            text.raw("]")
            return try connection.query("""
                UPDATE records r SET mapped = p.mapped, mapping_version = \(saved.version), change_seq = nextval('record_changes'),
                       change_xid = pg_current_xact_id(), changed_at = now()
                FROM jsonb_to_recordset(\(PostgresJSON(text: String(decoding: text.bytes, as: UTF8.self)))::jsonb) AS p(connection_id uuid, external_id text, mapped jsonb)
                WHERE r.connection_id = p.connection_id AND r.resource = \(resource) AND r.external_id = p.external_id
                """).affectedRows
        }
    }

    /// The tenant's live records of `provider` `resource` that `version` did not map.
    public func unmapped(tenant: String, provider: String, resource: String, version: Int, on database: PostgresConnection) throws -> Int {
        try database.query("""
            SELECT count(*)::bigint AS n FROM records WHERE tenant = \(tenant) AND provider = \(provider) AND resource = \(resource)
              AND deleted_at IS NULL AND mapping_version IS DISTINCT FROM \(version)
            """).first!.decode("n")
    }

    public func count(connection: UUID, resource: String, on database: PostgresConnection) throws -> Int {
        try database.query("SELECT count(*)::bigint AS n FROM records WHERE connection_id = \(connection) AND resource = \(resource) AND deleted_at IS NULL")
            .first!.decode("n")
    }

    /// Keeps `conflict` as the last a push met on the object, as a change of the record (the next
    /// change-sequence value), so the feed's followers see it.
    public func recordConflict(_ conflict: JSONValue, externalID: String, connection: UUID, resource: String, on database: PostgresConnection) throws {
        try database.query("""
            UPDATE records SET last_conflict = \(PostgresJSON(text: conflict.serialized))::jsonb, change_seq = nextval('record_changes'),
                   change_xid = pg_current_xact_id(), changed_at = now()
            WHERE connection_id = \(connection) AND resource = \(resource) AND external_id = \(externalID)
            """)
    }

    /// One stored object (deleted or not), or nil when the connection never synced it.
    public func object(_ externalID: String, connection: UUID, resource: String, on database: PostgresConnection) throws -> JSONValue? {
        try database.query("""
            SELECT data::text AS data FROM records WHERE connection_id = \(connection) AND resource = \(resource) AND external_id = \(externalID)
            """).rows.first.map { try JSONValue(parsing: try $0.decode("data", as: String.self)) }
    }
}
