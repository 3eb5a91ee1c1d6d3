import Foundation
import JunctionCore
import Testing

/// Row-level security, the management API's second wall (migration 0012): a tenant's transaction
/// (`asTenant`) reads, changes and deletes only that tenant's rows, whatever its queries ask.
@Suite("Tenant isolation in PostgreSQL")
struct TenantIsolationTests {
    /// Every table whose rows can belong to a tenant (a `tenant` or `connection_id` column) has
    /// row-level security on and a policy for the tenant role: a new table that forgets it fails here.
    @Test func everyTableThatNamesATenantOrAConnectionHasAPolicy() async throws {
        let configuration = try await SharedMigratedDatabase.instance.get()
        let (tables, unguarded) = try await TestStack.onThread {
            let database = try PostgresConnection(configuration)
            let tables = try database.query("""
                SELECT DISTINCT c.table_name FROM information_schema.columns c
                JOIN information_schema.tables t ON t.table_schema = c.table_schema AND t.table_name = c.table_name AND t.table_type = 'BASE TABLE'
                WHERE c.table_schema = 'public' AND c.column_name IN ('tenant', 'connection_id') ORDER BY 1
                """).rows.map { try $0.decode("table_name", as: String.self) }
            let unguarded = try database.query("""
                SELECT name FROM unnest(\(PostgresTextArray(tables))::text[]) AS name
                WHERE NOT EXISTS (SELECT 1 FROM pg_class WHERE oid = to_regclass('public.' || name) AND relrowsecurity)
                   OR NOT EXISTS (SELECT 1 FROM pg_policies WHERE schemaname = 'public' AND tablename = name AND 'junction_tenant' = ANY(roles))
                """).rows.map { try $0.decode("name", as: String.self) }
            return (tables, unguarded)
        }
        #expect(tables.contains("records") && tables.contains("pushes") && tables.contains("webhook_events"), "\(tables)")
        #expect(unguarded.isEmpty, "tables a tenant's rows live in without row-level security: \(unguarded)")
    }

    @Test func aTenantsTransactionSeesChangesAndDeletesOnlyItsOwnRows() async throws {
        let configuration = try await SharedMigratedDatabase.instance.get()
        try await TestStack.onThread {
            let owner = try PostgresConnection(configuration)
            let suffix = UUID().uuidString.prefix(8)
            let (a, b) = ("rls-a-\(suffix)", "rls-b-\(suffix)")
            func connection(_ tenant: String) throws -> UUID {
                try owner.query("INSERT INTO connections (tenant, provider, status) VALUES (\(tenant), 'stripe', 'active') RETURNING id").first!.decode("id")
            }
            let (ca, cb) = (try connection(a), try connection(b))
            for (tenant, id) in [(a, ca), (b, cb)] {
                try owner.query("""
                    INSERT INTO records (connection_id, tenant, provider, resource, external_id, data, hash)
                    VALUES (\(id), \(tenant), 'stripe', 'customers', 'cus_1', '{}'::jsonb, 'h')
                    """)
            }
            // Webhook events: one naming tenant a, one only a's connection, one b's connection, one nobody's.
            let events = "evt_rls_\(suffix)"
            try owner.query("""
                INSERT INTO webhook_events (provider, event_id, tenant, connection_id, body, received_at)
                VALUES ('stripe', \(events + "_1"), \(a), NULL, '', now()), ('stripe', \(events + "_2"), NULL, \(ca), '', now()),
                       ('stripe', \(events + "_3"), NULL, \(cb), '', now()), ('stripe', \(events + "_4"), NULL, NULL, '', now())
                """)
            let both = PostgresTextArray([ca, cb].map(\.uuidString))

            let seen = try owner.asTenant(a) { database in
                (connections: try database.query("SELECT id FROM connections WHERE id = ANY(\(both)::uuid[])").rows.map { try $0.decode("id", as: UUID.self) },
                 records: try database.query("SELECT connection_id FROM records WHERE connection_id = ANY(\(both)::uuid[])").rows.map { try $0.decode("connection_id", as: UUID.self) },
                 events: try database.query("SELECT event_id FROM webhook_events WHERE event_id LIKE \(events + "%") ORDER BY event_id").rows.map { try $0.decode("event_id", as: String.self) },
                 updated: try database.query("UPDATE connections SET status = 'error' WHERE id = ANY(\(both)::uuid[])").affectedRows,
                 deleted: try database.query("DELETE FROM records WHERE connection_id = \(cb)").affectedRows)
            }
            #expect(seen.connections == [ca])
            #expect(seen.records == [ca])
            #expect(seen.events == [events + "_1", events + "_2"])
            #expect(seen.updated == 1, "only a's connection is changed")
            #expect(seen.deleted == 0, "b's record is not a's to delete")

            // Writing a row for another tenant is refused, and the transaction rolled back.
            var refused: PostgresError?
            do {
                try owner.asTenant(a) { database in
                    try database.query("UPDATE connections SET status = 'active' WHERE id = \(ca)")
                    try database.query("INSERT INTO connections (tenant, provider) VALUES (\(b), 'square')")
                }
            } catch let error as PostgresError {
                refused = error
            }
            #expect(refused.map { "\($0)" }?.contains("row-level security") == true, "\(String(describing: refused))")

            // Without a tenant set, the role sees nothing (fails closed).
            let unset = try owner.transaction { database in
                try database.query("SET LOCAL ROLE junction_tenant")
                return try database.query("SELECT count(*)::bigint AS n FROM connections WHERE id = ANY(\(both)::uuid[])").first!.decode("n", as: Int.self)
            }
            #expect(unset == 0)

            // Outside a tenant's transaction the processes see every tenant again, and a's
            // connection keeps the change of the scoped transaction that committed, not of the one
            // that was refused.
            let after = try owner.query("""
                SELECT current_user::text AS role, coalesce(current_setting('junction.tenant', true), '') AS tenant,
                       (SELECT string_agg(status, ',' ORDER BY tenant) FROM connections WHERE id = ANY(\(both)::uuid[])) AS statuses,
                       (SELECT count(*)::bigint FROM records WHERE connection_id = ANY(\(both)::uuid[])) AS records
                """).first!
            #expect(try after.decode("role", as: String.self) != "junction_tenant")
            #expect(try after.decode("tenant", as: String.self) == "")
            #expect(try after.decode("statuses", as: String.self) == "error,active")
            #expect(try after.decode("records", as: Int.self) == 2)
        }
    }
}
