import Foundation
import JunctionCore

/// One row of `sync_runs`.
public struct SyncRun: Sendable, Equatable {
    public var id: Int64
    public var connection: UUID
    public var resource: String
    public var jobID: String
    public var trigger: String
    public var mode: String
    public var status: String
    public var pages: Int
    public var counts: PageCounts
    /// Soft-deleted: by a provider's delete signal in a change feed, or by a complete reconciliation.
    public var deleted: Int
    public var checkpointFrom: String?
    public var checkpointTo: String?
    public var error: String?
    public var startedAt: Date
    public var finishedAt: Date?
}

/// The `sync_runs` table: the history of every sync, for the API's status and history and for
/// `junction syncs`. A run's counters grow in the transaction of each page it commits, so they
/// always match what is stored.
public struct SyncRunStore: Sendable {
    public init() {}

    static let columns: StaticString = """
        id, connection_id, resource, job_id, trigger, mode, status, pages, added, updated, unchanged, deleted, checkpoint_from, checkpoint_to, error,
        started_at, finished_at
        """

    /// Starts a run. Runs of the same connection and resource still marked `running` were cut short
    /// (the caller holds the resource's lock): they become `interrupted`.
    public func start(connection: UUID, tenant: String, provider: String, resource: String, jobID: String, trigger: String, mode: String,
                      checkpoint: String?, on database: PostgresConnection) throws -> Int64 {
        try database.transaction { database in
            try database.query("""
                UPDATE sync_runs SET status = 'interrupted', finished_at = coalesce(finished_at, now()),
                       error = coalesce(error, 'the worker stopped before the run finished; the next run resumed from its last committed page')
                WHERE connection_id = \(connection) AND resource = \(resource) AND status = 'running'
                """)
            return try database.query("""
                INSERT INTO sync_runs (connection_id, tenant, provider, resource, job_id, trigger, mode, status, checkpoint_from, checkpoint_to)
                VALUES (\(connection), \(tenant), \(provider), \(resource), \(jobID), \(trigger), \(mode), 'running', \(checkpoint), \(checkpoint))
                RETURNING id
                """).first!.decode("id")
        }
    }

    /// Counts one committed page (call inside the page's transaction).
    public func page(_ run: Int64, _ counts: PageCounts, deleted: Int = 0, checkpoint: String?, on database: PostgresConnection) throws {
        try database.query("""
            UPDATE sync_runs SET pages = pages + 1, added = added + \(counts.added), updated = updated + \(counts.updated),
                   unchanged = unchanged + \(counts.unchanged), deleted = deleted + \(deleted), checkpoint_to = \(checkpoint)
            WHERE id = \(run)
            """)
    }

    /// Records that the run changed mode (an incremental run that had to walk everything).
    public func mode(_ run: Int64, _ mode: String, on database: PostgresConnection) throws {
        try database.query("UPDATE sync_runs SET mode = \(mode) WHERE id = \(run)")
    }

    public func finish(_ run: Int64, status: String, error: String? = nil, deleted: Int = 0, on database: PostgresConnection) throws {
        try database.query("UPDATE sync_runs SET status = \(status), error = \(error), deleted = deleted + \(deleted), finished_at = now() WHERE id = \(run)")
    }

    /// The connection's runs, newest first; with `before`, those older than that run.
    public func list(connection: UUID, resource: String? = nil, before: Int64? = nil, limit: Int = 50, on database: PostgresConnection) throws -> [SyncRun] {
        try database.query("""
            SELECT \(sql: Self.columns) FROM sync_runs
            WHERE connection_id = \(connection) AND (\(resource)::text IS NULL OR resource = \(resource))
              AND (\(before)::bigint IS NULL OR id < \(before))
            ORDER BY id DESC LIMIT \(limit)
            """).rows.map(Self.decode)
    }

    static func decode(_ row: PostgresRow) throws -> SyncRun {
        SyncRun(id: try row.decode("id"), connection: try row.decode("connection_id"), resource: try row.decode("resource"), jobID: try row.decode("job_id"),
                trigger: try row.decode("trigger"), mode: try row.decode("mode"), status: try row.decode("status"), pages: try row.decode("pages"),
                counts: PageCounts(added: try row.decode("added"), updated: try row.decode("updated"), unchanged: try row.decode("unchanged")),
                deleted: try row.decode("deleted"),
                checkpointFrom: try row.decode("checkpoint_from"), checkpointTo: try row.decode("checkpoint_to"), error: try row.decode("error"),
                startedAt: try row.decode("started_at"), finishedAt: try row.decode("finished_at"))
    }
}
