import Foundation
import JunctionCore
import Synchronization

/// Real Redis and PostgreSQL servers for the tests, started by `scripts/stack` on free loopback
/// ports and stopped when the test process exits (a watchdog stops them if it crashes).
///
/// Most tests share one stack (``shared()``) and isolate themselves with unique keys and a fresh
/// database each. Tests that stop, restart or flush a server get a stack of their own
/// (``dedicated(_:)``). Set `JUNCTION_TEST_REDIS_URL` and `JUNCTION_TEST_DATABASE_URL` to run the
/// shared part against servers you started yourself.
struct TestStack: Sendable {
    enum Server: String, Sendable { case redis, postgres }

    /// The stack's folder; nil for servers given by environment variables.
    let directory: String?
    let redis: RedisConfiguration
    let database: PostgresConfiguration

    /// The stack every test shares, started on first use.
    static func shared() async throws -> TestStack {
        try await SharedStack.instance.get()
    }

    /// A stack of its own for a test that stops or restarts servers; stop it with ``down()``.
    /// `durable` keeps Redis's append-only file on, so a restart loses nothing.
    static func dedicated(_ only: Server? = nil, durable: Bool = false) async throws -> TestStack {
        try await start(only: only, durable: durable)
    }

    /// A durable Redis of its own beside the shared PostgreSQL, for a test that stops and restarts
    /// Redis: ``down()`` stops that Redis and leaves the shared servers alone.
    static func ownRedis() async throws -> TestStack {
        let shared = try await shared()
        let redisOnly = try await dedicated(.redis, durable: true)
        return TestStack(directory: redisOnly.directory, redis: redisOnly.redis, database: shared.database)
    }

    /// Stops the servers and deletes the stack's folder.
    func down() async throws {
        guard let directory else { return }
        _ = try await Self.script(["down", directory, "--purge"])
        Self.registry.withLock { $0.removeAll { $0 == directory } }
    }

    func stop(_ server: Server) async throws {
        _ = try await Self.script(["stop-\(server.rawValue)", try requireDirectory()])
    }

    func start(_ server: Server) async throws {
        _ = try await Self.script(["start-\(server.rawValue)", try requireDirectory()])
    }

    /// A new, empty database on the stack's PostgreSQL server, named for the test run.
    func freshDatabase() async throws -> PostgresConfiguration {
        let name = "test_" + UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "")
        let admin = try database.with(database: "postgres")
        try await Self.onThread {
            let connection = try PostgresConnection(admin)
            // CREATE DATABASE takes no parameters; the name is generated above from hex digits only.
            precondition(name.allSatisfy { $0.isLetter || $0.isNumber || $0 == "_" })
            try connection.executeScript(PostgresQuery(unsafeSQL: "CREATE DATABASE \(name)"))
        }
        return try database.with(database: name)
    }

    /// A fresh database with Junction's migrations applied.
    func migratedDatabase() async throws -> PostgresConfiguration {
        let configuration = try await freshDatabase()
        try await Self.onThread {
            _ = try Migrator.bundled(directory: Self.migrationsDirectory).migrate(try PostgresConnection(configuration))
        }
        return configuration
    }

    /// The `JUNCTION_*` environment of a process that uses this stack (with `database` instead of
    /// the stack's default one, when given).
    func environment(database: PostgresConfiguration? = nil, _ extra: [String: String] = [:]) -> [String: String] {
        [
            "JUNCTION_REDIS_URL": "redis://default:\(redis.password ?? "")@\(redis.host):\(redis.port)/0",
            "JUNCTION_DATABASE_URL": (database ?? self.database).url,
            "JUNCTION_ENCRYPTION_KEYS": Self.encryptionKeys,
        ].merging(extra) { $1 }
    }

    /// A key ring made up for this test run.
    static let encryptionKeys = KeyRing.generateEntry(id: "test1")

    /// A Redis key prefix no other test uses.
    static func uniqueKey(_ name: String = #function) -> String {
        "test:\(name.prefix { $0 != "(" }):\(UUID().uuidString.prefix(8))"
    }

    // MARK: - Paths

    static let repositoryRoot = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let migrationsDirectory = repositoryRoot.appendingPathComponent("Sources/Shared/Core/Migrations/sql")
    /// Where `swift build` put the executables (next to the test bundle).
    static let binDirectory: URL = {
        var url = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
        while !url.path.hasSuffix(".xctest") && url.path != "/" { url.deleteLastPathComponent() }
        return url.deletingLastPathComponent()
    }()

    // MARK: - Internals

    private func requireDirectory() throws -> String {
        guard let directory else { throw StackError("servers from environment variables cannot be stopped by the tests") }
        return directory
    }

    private static let registry = Mutex<[String]>([])

    private static func start(only: Server?, durable: Bool = false) async throws -> TestStack {
        let directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("junction-test-\(getpid())-\(UUID().uuidString.prefix(8))").path
        registry.withLock { registered in
            if registered.isEmpty { atexit { TestStack.stopAllAtExit() } }
            registered.append(directory)
        }
        var arguments = ["up", directory, "--watch", String(getpid())]
        if !durable { arguments.append("--test") }
        if let only { arguments += ["--only", only.rawValue] }
        let output = try await script(arguments)
        var values: [String: String] = [:]
        for line in output.split(separator: "\n") {
            let parts = line.split(separator: "=", maxSplits: 1).map(String.init)
            if parts.count == 2 { values[parts[0]] = parts[1] }
        }
        let redis = try RedisConfiguration(url: values["JUNCTION_REDIS_URL"] ?? "redis://127.0.0.1:1/0")
        let database = try PostgresConfiguration(url: values["JUNCTION_DATABASE_URL"] ?? "postgres://junction@127.0.0.1:1/junction")
        return TestStack(directory: directory, redis: redis, database: database)
    }

    private static func stopAllAtExit() {
        for directory in registry.withLock({ $0 }) {
            ChildProcess.runBlocking(scriptPath, arguments: ["down", directory, "--purge"])
        }
    }

    static let scriptPath = repositoryRoot.appendingPathComponent("scripts/stack").path

    /// Runs `scripts/stack` and returns its standard output; throws with its error output when it fails.
    static func script(_ arguments: [String]) async throws -> String {
        let child = try ChildProcess(scriptPath, arguments: arguments, environment: ProcessInfo.processInfo.environment)
        let status = try await child.exitStatus()
        guard status == 0 else {
            throw StackError("scripts/stack \(arguments.joined(separator: " ")) failed (\(status)): \(child.standardError)")
        }
        return child.standardOutput
    }

    /// Runs blocking client code on a thread of its own, off the cooperative pool.
    static func onThread<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            Thread { continuation.resume(with: Result { try body() }) }.start()
        }
    }
}

struct StackError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// Starts the shared stack once, whichever test asks first.
private actor SharedStack {
    static let instance = SharedStack()
    private var starting: Task<TestStack, any Error>?

    func get() async throws -> TestStack {
        if let starting { return try await starting.value }
        let task = Task { () async throws -> TestStack in
            let environment = ProcessInfo.processInfo.environment
            if let redisURL = environment["JUNCTION_TEST_REDIS_URL"], let databaseURL = environment["JUNCTION_TEST_DATABASE_URL"] {
                return TestStack(directory: nil, redis: try RedisConfiguration(url: redisURL), database: try PostgresConfiguration(url: databaseURL))
            }
            return try await TestStack.dedicated()
        }
        starting = task
        return try await task.value
    }
}

/// One migrated database on the shared stack, for tests whose rows cannot collide (the ingress
/// tests use distinct endpoint ids).
actor SharedMigratedDatabase {
    static let instance = SharedMigratedDatabase()
    private var creating: Task<PostgresConfiguration, any Error>?

    func get() async throws -> PostgresConfiguration {
        if let creating { return try await creating.value }
        let task = Task { try await TestStack.shared().migratedDatabase() }
        creating = task
        return try await task.value
    }
}
