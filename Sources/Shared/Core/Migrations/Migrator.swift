import Foundation

/// One numbered SQL file, such as `0001_initial.sql`.
public struct Migration: Sendable, Equatable {
    public let version: Int
    public let name: String
    public let sql: String

    public init(version: Int, name: String, sql: String) {
        self.version = version
        self.name = name
        self.sql = sql
    }
}

/// Why migrating stopped.
public enum MigrationError: Error, Sendable, CustomStringConvertible {
    /// A file name does not follow `NNNN_name.sql`, or two files share a number.
    case badFileName(String)
    /// A file already applied has changed since: the database and the code disagree.
    case changedAfterApplied(version: Int, name: String)
    /// The database records a migration this build does not have (a newer build ran).
    case unknownApplied(version: Int)
    /// Applying a migration failed; it was rolled back.
    case failed(version: Int, name: String, PostgresError)

    public var description: String {
        switch self {
        case .badFileName(let name):
            "migration file \(name) must be named NNNN_description.sql with a number no other file uses"
        case .changedAfterApplied(let version, let name):
            "migration \(version) (\(name)) was changed after it was applied; add a new migration instead of editing an applied one"
        case .unknownApplied(let version):
            "the database has migration \(version), which this build does not know: it was migrated by a newer Junction"
        case .failed(let version, let name, let error):
            "migration \(version) (\(name)) failed and was rolled back: \(error)"
        }
    }
}

/// Applies Junction's numbered SQL migrations in order, each in its own transaction, recording
/// them in `schema_migrations` with a checksum.
///
/// Safe to run twice (applied files are skipped) and from several processes at once: a session
/// advisory lock makes the second wait, then find nothing left to do.
public struct Migrator: Sendable {
    /// The advisory lock key every Junction process uses for migrations ("junction" in ASCII).
    public static let lockKey: Int64 = 0x6A75_6E63_7469_6F6E

    public let migrations: [Migration]

    public init(migrations: [Migration]) {
        self.migrations = migrations.sorted { $0.version < $1.version }
    }

    /// The migrations shipped with this build, read from `directory`, from `JUNCTION_MIGRATIONS_DIR`,
    /// or from the resource bundle next to the executable.
    public static func bundled(directory: URL? = nil, environment: EnvironmentVariables = EnvironmentVariables()) throws -> Migrator {
        let folder = try BundledResources.directory("sql", library: "JunctionCore", explicit: directory, overrideVariable: "JUNCTION_MIGRATIONS_DIR", environment: environment)
        let files = try FileManager.default.contentsOfDirectory(atPath: folder.path)
        return Migrator(migrations: try load(files: files, in: folder))
    }

    static func load(files: [String], in directory: URL) throws -> [Migration] {
        var migrations: [Migration] = []
        for file in files.sorted() where file.hasSuffix(".sql") {
            let stem = file.dropLast(4)
            guard let underscore = stem.firstIndex(of: "_"), let version = Int(stem[..<underscore]), version > 0 else {
                throw MigrationError.badFileName(file)
            }
            guard !migrations.contains(where: { $0.version == version }) else { throw MigrationError.badFileName(file) }
            let sql = try String(contentsOf: directory.appendingPathComponent(file), encoding: .utf8)
            migrations.append(Migration(version: version, name: String(stem), sql: sql))
        }
        return migrations
    }

    /// Applies what is pending and returns it (empty when the database is up to date).
    /// Blocks the calling thread; run it on a ``PostgresClient`` thread or from a command.
    public func migrate(_ connection: PostgresConnection) throws -> [Migration] {
        try connection.query("SELECT pg_advisory_lock(\(Self.lockKey))")
        defer { _ = try? connection.query("SELECT pg_advisory_unlock(\(Self.lockKey))") }
        try connection.query("""
            CREATE TABLE IF NOT EXISTS schema_migrations (
                version    integer PRIMARY KEY,
                name       text NOT NULL,
                checksum   text NOT NULL,
                applied_at timestamptz NOT NULL DEFAULT now()
            )
            """)
        let applied = try appliedChecksums(connection)
        var done: [Migration] = []
        for migration in migrations {
            if let checksum = applied[migration.version] {
                guard checksum == (try self.checksum(of: migration, on: connection)) else {
                    throw MigrationError.changedAfterApplied(version: migration.version, name: migration.name)
                }
                continue
            }
            do {
                try connection.transaction { connection in
                    try connection.executeScript(PostgresQuery(unsafeSQL: migration.sql))
                    try connection.query("""
                        INSERT INTO schema_migrations (version, name, checksum)
                        VALUES (\(migration.version), \(migration.name), encode(sha256(convert_to(\(migration.sql), 'UTF8')), 'hex'))
                        """)
                }
            } catch let error as PostgresError {
                throw MigrationError.failed(version: migration.version, name: migration.name, error)
            }
            done.append(migration)
        }
        return done
    }

    /// Applied versions and when, newest last; empty before the first migration.
    public func status(_ connection: PostgresConnection) throws -> [(version: Int, name: String, appliedAt: Date?)] {
        let exists = try connection.query("SELECT to_regclass('schema_migrations') IS NOT NULL AS present").first?.decode("present", as: Bool.self) ?? false
        var applied: [Int: Date] = [:]
        if exists {
            for row in try connection.query("SELECT version, applied_at FROM schema_migrations").rows {
                applied[try row.decode("version")] = try row.decode("applied_at", as: Date.self)
            }
        }
        for version in applied.keys where !migrations.contains(where: { $0.version == version }) {
            throw MigrationError.unknownApplied(version: version)
        }
        return migrations.map { ($0.version, $0.name, applied[$0.version]) }
    }

    private func appliedChecksums(_ connection: PostgresConnection) throws -> [Int: String] {
        var checksums: [Int: String] = [:]
        for row in try connection.query("SELECT version, checksum FROM schema_migrations").rows {
            checksums[try row.decode("version")] = try row.decode("checksum", as: String.self)
        }
        for version in checksums.keys where !migrations.contains(where: { $0.version == version }) {
            throw MigrationError.unknownApplied(version: version)
        }
        return checksums
    }

    private func checksum(of migration: Migration, on connection: PostgresConnection) throws -> String {
        try connection.query("SELECT encode(sha256(convert_to(\(migration.sql), 'UTF8')), 'hex') AS checksum")
            .first!.decode("checksum")
    }
}
