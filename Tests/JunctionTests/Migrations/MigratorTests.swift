import Foundation
import JunctionCore
import Testing

@Suite("Migrations")
struct MigratorTests {
    static func migrator() throws -> Migrator {
        try Migrator.bundled(directory: TestStack.migrationsDirectory)
    }

    @Test func runningTwiceAppliesEachMigrationOnce() async throws {
        let database = try await TestStack.shared().freshDatabase()
        let migrator = try Self.migrator()
        let (first, second, recorded) = try await TestStack.onThread {
            let connection = try PostgresConnection(database)
            let first = try migrator.migrate(connection)
            let second = try migrator.migrate(connection)
            let recorded = try connection.query("SELECT count(*) AS n FROM schema_migrations").first!.decode("n", as: Int.self)
            return (first.map(\.version), second.count, recorded)
        }
        #expect(first == migrator.migrations.map(\.version))
        #expect(second == 0)
        #expect(recorded == migrator.migrations.count)
    }

    @Test func firstMigrationCreatesTheTablesTheQueueIngressAndSchedulerNeed() async throws {
        let database = try await TestStack.shared().migratedDatabase()
        let tables = try await TestStack.onThread {
            try PostgresConnection(database).query("""
                SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' ORDER BY table_name
                """).rows.map { try $0.decode("table_name", as: String.self) }
        }
        for table in ["connections", "job_runs", "schedules", "schema_migrations", "webhook_events"] {
            #expect(tables.contains(table), "missing table \(table)")
        }
    }

    @Test func webhookEventsAreUniquePerProviderAndEventID() async throws {
        let database = try await TestStack.shared().migratedDatabase()
        try await TestStack.onThread {
            let connection = try PostgresConnection(database)
            let insert: (String) throws -> Void = { provider in
                try connection.query("""
                    INSERT INTO webhook_events (provider, event_id, body, received_at)
                    VALUES (\(provider), \("evt_1"), \(Array("{}".utf8)), now())
                    """)
            }
            try insert("stripe")
            try insert("github")
            #expect { try insert("stripe") } throws: { ($0 as? PostgresError)?.isUniqueViolation == true }
        }
    }

    @Test func concurrentRunsFromSeveralConnectionsApplyEachMigrationExactlyOnce() async throws {
        let database = try await TestStack.shared().freshDatabase()
        let migrator = try Self.migrator()
        let applied = try await withThrowingTaskGroup(of: [Int].self) { group in
            for _ in 0..<4 {
                group.addTask {
                    try await TestStack.onThread { try migrator.migrate(try PostgresConnection(database)).map(\.version) }
                }
            }
            return try await group.reduce(into: [Int]()) { $0 += $1 }
        }
        #expect(applied.sorted() == migrator.migrations.map(\.version))
    }

    @Test func aMigrationEditedAfterItWasAppliedStopsTheRun() async throws {
        let database = try await TestStack.shared().freshDatabase()
        let original = Migrator(migrations: [Migration(version: 1, name: "0001_t", sql: "CREATE TABLE t (a integer);")])
        let edited = Migrator(migrations: [Migration(version: 1, name: "0001_t", sql: "CREATE TABLE t (a bigint);")])
        try await TestStack.onThread {
            let connection = try PostgresConnection(database)
            _ = try original.migrate(connection)
            #expect {
                _ = try edited.migrate(connection)
            } throws: { error in
                guard case MigrationError.changedAfterApplied(version: 1, name: "0001_t") = error else { return false }
                return true
            }
        }
    }

    @Test func aFailingMigrationIsRolledBackWhole() async throws {
        let database = try await TestStack.shared().freshDatabase()
        let migrator = Migrator(migrations: [
            Migration(version: 1, name: "0001_ok", sql: "CREATE TABLE ok (a integer);"),
            Migration(version: 2, name: "0002_broken", sql: "CREATE TABLE half (a integer); SELECT * FROM nowhere;"),
        ])
        let (tables, recorded) = try await TestStack.onThread {
            let connection = try PostgresConnection(database)
            #expect {
                _ = try migrator.migrate(connection)
            } throws: { error in
                guard case MigrationError.failed(version: 2, name: "0002_broken", _) = error else { return false }
                return true
            }
            let tables = try connection.query("SELECT to_regclass('ok') IS NOT NULL AS ok, to_regclass('half') IS NOT NULL AS half").first!
            let recorded = try connection.query("SELECT version FROM schema_migrations").rows.map { try $0.decode("version", as: Int.self) }
            return ((try tables.decode("ok", as: Bool.self), try tables.decode("half", as: Bool.self)), recorded)
        }
        #expect(tables == (true, false))
        #expect(recorded == [1])
    }

    @Test func badFileNamesAreRejected() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("migrations-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        try "SELECT 1;".write(to: directory.appendingPathComponent("initial.sql"), atomically: true, encoding: .utf8)
        #expect { _ = try Migrator.bundled(directory: directory) } throws: { error in
            guard case MigrationError.badFileName("initial.sql") = error else { return false }
            return true
        }
    }
}
