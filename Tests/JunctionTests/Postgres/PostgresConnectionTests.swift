import Foundation
import JunctionCore
import Testing

@Suite("PostgreSQL client")
struct PostgresConnectionTests {
    @Test(arguments: [
        "Robert'); DROP TABLE notes;--",
        "semi;colons; everywhere;",
        "quotes ' \" `backticks` and \\ backslashes",
        "Zoë 🚀 中文 עברית \u{200B}",
        "$1 $2 looks like a placeholder",
    ])
    func parametersAreStoredVerbatim(text: String) async throws {
        let database = try await TestStack.shared().freshDatabase()
        let stored = try await TestStack.onThread {
            let connection = try PostgresConnection(database)
            try connection.query("CREATE TABLE notes (id integer PRIMARY KEY, body text)")
            try connection.query("INSERT INTO notes (id, body) VALUES (\(1), \(text))")
            let count = try connection.query("SELECT count(*) AS n FROM notes").first!.decode("n", as: Int.self)
            return (try connection.query("SELECT body FROM notes WHERE id = \(1)").first!.decode("body", as: String.self), count)
        }
        #expect(stored.0 == text)
        #expect(stored.1 == 1, "the table survived and holds the one row")
    }

    @Test func nullParametersAndColumnsDecodeAsNil() async throws {
        let database = try await TestStack.shared().freshDatabase()
        let missing: String? = nil
        let row = try await TestStack.onThread {
            let connection = try PostgresConnection(database)
            return try connection.query("SELECT \(missing)::text AS value, \(missing)::text IS NULL AS is_null").first!
        }
        #expect(try row.decode("value", as: String?.self) == nil)
        #expect(try row.decode("is_null", as: Bool.self))
        #expect(throws: PostgresError.unexpectedNull(column: "value")) { try row.decode("value", as: String.self) }
    }

    @Test func columnsDecodeIntoTypedValues() async throws {
        let database = try await TestStack.shared().freshDatabase()
        let id = UUID()
        let moment = Date(timeIntervalSince1970: 1_763_740_800.123456)
        let bytes: [UInt8] = [0, 1, 2, 0, 255, 0x5c, 0x78]
        let row = try await TestStack.onThread {
            let connection = try PostgresConnection(database)
            return try connection.query("""
                SELECT \(id)::uuid AS id, \(Int64.max)::bigint AS big, \(true)::boolean AS flag,
                       \(moment)::timestamptz AS moment, \(bytes)::bytea AS raw, \(2.5)::float8 AS ratio,
                       \(PostgresJSON(text: #"{"b": [1, 2], "a": "x"}"#))::jsonb AS doc,
                       '2026-11-21 17:01:43'::timestamp AS naive
                """).first!
        }
        #expect(try row.decode("id", as: UUID.self) == id)
        #expect(try row.decode("big", as: Int64.self) == Int64.max)
        #expect(try row.decode("flag", as: Bool.self))
        #expect(abs(try row.decode("moment", as: Date.self).timeIntervalSince(moment)) < 0.000_001)
        #expect(try row.decode("raw", as: [UInt8].self) == bytes)
        #expect(try row.decode("ratio", as: Double.self) == 2.5)
        struct Document: Decodable, Equatable { let a: String; let b: [Int] }
        #expect(try row.decode("doc", as: PostgresJSON.self).decode(as: Document.self) == Document(a: "x", b: [1, 2]))
        #expect(try row.decode("naive", as: Date.self) == Date(timeIntervalSince1970: 1_795_280_503))
        #expect(throws: PostgresError.decoding(column: "flag", type: "Int", text: "t")) { try row.decode("flag", as: Int.self) }
        #expect(throws: PostgresError.missingColumn("nope")) { try row.decode("nope", as: Int.self) }
    }

    @Test func failedTransactionRollsBackEverything() async throws {
        let database = try await TestStack.shared().freshDatabase()
        struct Abort: Error {}
        let count = try await TestStack.onThread {
            let connection = try PostgresConnection(database)
            try connection.query("CREATE TABLE items (name text PRIMARY KEY)")
            #expect(throws: Abort.self) {
                try connection.transaction { connection in
                    try connection.query("INSERT INTO items VALUES (\("first"))")
                    throw Abort()
                }
            }
            #expect(throws: PostgresError.self) {
                try connection.transaction { connection in
                    try connection.query("INSERT INTO items VALUES (\("second"))")
                    try connection.query("INSERT INTO items VALUES (\("second"))")
                }
            }
            try connection.transaction { connection in
                try connection.query("INSERT INTO items VALUES (\("kept"))")
            }
            return try connection.query("SELECT name FROM items").rows.map { try $0.decode("name", as: String.self) }
        }
        #expect(count == ["kept"])
    }

    @Test func uniqueViolationIsRecognisable() async throws {
        let database = try await TestStack.shared().freshDatabase()
        try await TestStack.onThread {
            let connection = try PostgresConnection(database)
            try connection.query("CREATE TABLE events (id text PRIMARY KEY)")
            try connection.query("INSERT INTO events VALUES (\("evt_1"))")
            #expect {
                try connection.query("INSERT INTO events VALUES (\("evt_1"))")
            } throws: { error in
                guard let error = error as? PostgresError, case .server(let server) = error else { return false }
                return error.isUniqueViolation && server.constraint == "events_pkey" && !error.isRetryable
            }
        }
    }

    @Test func affectedRowsAreReported() async throws {
        let database = try await TestStack.shared().freshDatabase()
        let affected = try await TestStack.onThread {
            let connection = try PostgresConnection(database)
            try connection.query("CREATE TABLE t (n integer)")
            try connection.query("INSERT INTO t SELECT generate_series(1, 7)")
            return try connection.query("UPDATE t SET n = n + 1 WHERE n > \(2)").affectedRows
        }
        #expect(affected == 5)
    }

    @Test func serverRestartGivesATypedErrorThenTheConnectionRecovers() async throws {
        let stack = try await TestStack.dedicated(.postgres)
        defer { Task { try await stack.down() } }
        let connection = try await TestStack.onThread { UncheckedBox(try PostgresConnection(stack.database)) }
        try await TestStack.onThread { try connection.value.query("SELECT 1") }
        try await stack.stop(.postgres)
        let failure = try await TestStack.onThread { () -> PostgresError? in
            do {
                try connection.value.query("SELECT 1")
                return nil
            } catch let error as PostgresError {
                return error
            }
        }
        let error = try #require(failure as PostgresError?)
        #expect(error.isRetryable, "a restarting server is worth retrying: \(error)")
        try await stack.start(.postgres)
        let value = try await TestStack.onThread { try connection.value.query("SELECT 41 + \(1) AS answer").first!.decode("answer", as: Int.self) }
        #expect(value == 42)
    }

    @Test func clientRunsQueriesAndTransactionsFromAsyncCode() async throws {
        let database = try await TestStack.shared().freshDatabase()
        let client = PostgresClient(database, connections: 2)
        try await client.query("CREATE TABLE counters (name text PRIMARY KEY, value integer NOT NULL)")
        try await client.transaction { connection in
            try connection.query("INSERT INTO counters VALUES (\("a"), \(1))")
            try connection.query("UPDATE counters SET value = value + \(1) WHERE name = \("a")")
        }
        try await withThrowingTaskGroup(of: Void.self) { group in
            for _ in 0..<20 {
                group.addTask { try await client.query("UPDATE counters SET value = value + 1 WHERE name = \("a")") }
            }
            try await group.waitForAll()
        }
        #expect(try await client.query("SELECT value FROM counters").first?.decode("value", as: Int.self) == 22)
        await client.shutdown()
    }

    @Test func wrongPasswordFailsToConnectWithoutEchoingIt() async throws {
        let stack = try await TestStack.shared()
        var components = URLComponents(string: stack.database.url)!
        components.password = "definitely-wrong"
        let configuration = try PostgresConfiguration(url: components.string!)
        await #expect {
            try await TestStack.onThread { _ = try PostgresConnection(configuration) }
        } throws: { error in
            guard case PostgresError.connectionFailed(let message) = error else { return false }
            return message.contains("password authentication failed") && !message.contains("definitely-wrong")
        }
    }
}

@Suite("PostgreSQL URLs and values")
struct PostgresConfigurationTests {
    @Test func urlIsParsedAndRedacted() throws {
        let configuration = try PostgresConfiguration(url: "postgres://junction:s3cret@db.internal:6432/junction?sslmode=require")
        #expect(configuration.host == "db.internal")
        #expect(configuration.port == 6432)
        #expect(configuration.database == "junction")
        #expect(!configuration.redactedURL.contains("s3cret"))
        #expect(try configuration.with(database: "other").database == "other")
    }

    @Test(arguments: [("mysql://x@h/db", "scheme"), ("postgres://user@host", "no database"), ("postgres:///db", "no host")])
    func invalidURLsAreRejectedWithTheReason(url: String, reason: String) {
        #expect {
            _ = try PostgresConfiguration(url: url)
        } throws: { error in
            (error as? InvalidValue)?.reason.contains(reason) == true
        }
    }

    @Test func interpolatedValuesBecomeNumberedParameters() {
        let name = "x'; DROP TABLE y;--"
        let query: PostgresQuery = "SELECT * FROM t WHERE a = \(name) AND b = \(7) AND c = \(Optional<Int>.none)"
        #expect(query.sql == "SELECT * FROM t WHERE a = $1 AND b = $2 AND c = $3")
        #expect(query.parameters == [.text(name), .text("7"), .null])
    }
}
