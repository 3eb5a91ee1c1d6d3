import CLibPQ
import Foundation

/// One blocking connection to PostgreSQL over libpq.
///
/// Not thread-safe: one owner at a time. Every call blocks its thread, so never call it from the
/// cooperative pool or an event loop; async code uses ``PostgresClient``.
///
/// Every statement is parameterised (``PostgresQuery``); libpq's extended protocol also refuses
/// to run more than one statement per call. Sessions run with `TimeZone=UTC` and the configured
/// `statement_timeout`. When the server goes away the failing call throws
/// ``PostgresError/connectionLost(_:)`` and the next call connects again.
public final class PostgresConnection {
    public let configuration: PostgresConfiguration
    private var connection: OpaquePointer?
    private var transactionDepth = 0

    /// Connects at once; throws ``PostgresError/connectionFailed(_:)`` when that fails.
    public init(_ configuration: PostgresConfiguration) throws(PostgresError) {
        self.configuration = configuration
        try connect()
    }

    deinit {
        if let connection { PQfinish(connection) }
    }

    /// Runs one parameterised statement and returns its rows.
    @discardableResult
    public func query(_ query: PostgresQuery) throws(PostgresError) -> PostgresResult {
        let connection = try openConnection()
        let result = Self.withParameters(query.parameters) { types, values, lengths, formats in
            PQexecParams(connection, query.sql, Int32(query.parameters.count), types, values, lengths, formats, 0)
        }
        return try consume(result, on: connection)
    }

    /// Runs trusted SQL text that may hold several statements (a migration file), with no
    /// parameters. Never pass text that contains anything from outside.
    public func executeScript(_ script: PostgresQuery) throws(PostgresError) {
        precondition(script.parameters.isEmpty, "a script takes no parameters; use query(_:)")
        let connection = try openConnection()
        _ = try consume(PQexec(connection, script.sql), on: connection)
    }

    /// Runs `body` inside `BEGIN` … `COMMIT`, rolling back when it throws (the error is
    /// rethrown). A call inside another transaction joins it.
    @discardableResult
    public func transaction<T>(_ body: (PostgresConnection) throws -> T) throws -> T {
        if transactionDepth > 0 {
            return try body(self)
        }
        try query("BEGIN")
        transactionDepth = 1
        defer { transactionDepth = 0 }
        let value: T
        do {
            value = try body(self)
        } catch {
            // A rollback that fails (the connection is gone) changes nothing: the server
            // discards an unfinished transaction with its session.
            _ = try? query("ROLLBACK")
            throw error
        }
        try query("COMMIT")
        return value
    }

    /// Runs `body` in a transaction as the role `junction_tenant`, with `junction.tenant` set to
    /// `tenant`: row-level security (migration 0012) shows it only that tenant's rows, whatever
    /// its queries ask. A call inside another transaction scopes that transaction's remainder.
    public func asTenant<T>(_ tenant: String, _ body: (PostgresConnection) throws -> T) throws -> T {
        try transaction { connection in
            // One round trip for both: `set_config('role', …, true)` is `SET LOCAL ROLE`.
            try connection.query("SELECT set_config('role', 'junction_tenant', true), set_config('junction.tenant', \(tenant), true)")
            return try body(connection)
        }
    }

    /// Closes the connection; the next call opens a new one.
    public func close() {
        if let connection {
            PQfinish(connection)
            self.connection = nil
        }
    }

    // MARK: - Internals

    private func openConnection() throws(PostgresError) -> OpaquePointer {
        if let connection, PQstatus(connection) == CONNECTION_OK {
            return connection
        }
        // A transaction whose connection went away is over: reconnecting here would run its
        // remaining statements outside it (each committed alone, without its `SET LOCAL`s).
        if transactionDepth > 0 {
            throw .connectionLost("the connection was lost inside a transaction")
        }
        try connect()
        guard let connection else { throw .connectionFailed("no connection") }
        return connection
    }

    private func connect() throws(PostgresError) {
        close()
        var options = "-c TimeZone=UTC"
        if let timeout = configuration.statementTimeout {
            options += " -c statement_timeout=\(timeout.components.seconds * 1000 + timeout.components.attoseconds / 1_000_000_000_000_000)"
        }
        if let timeout = configuration.idleInTransactionTimeout {
            options += " -c idle_in_transaction_session_timeout=\(timeout.components.seconds * 1000 + timeout.components.attoseconds / 1_000_000_000_000_000)"
        }
        let settings: [(String, String)] = [
            ("dbname", configuration.url),
            ("connect_timeout", String(configuration.connectTimeoutSeconds)),
            ("application_name", configuration.applicationName),
            ("client_encoding", "UTF8"),
            ("options", options),
        ]
        let fresh = Self.withCStrings(settings.map(\.0)) { keywords in
            Self.withCStrings(settings.map(\.1)) { values in
                PQconnectdbParams(keywords, values, 1)
            }
        }
        guard let fresh else { throw .connectionFailed("out of memory allocating the connection") }
        guard PQstatus(fresh) == CONNECTION_OK else {
            let reason = Self.message(PQerrorMessage(fresh))
            PQfinish(fresh)
            throw .connectionFailed("\(configuration.host):\(configuration.port)/\(configuration.database): \(reason)")
        }
        // libpq prints server notices ("relation already exists, skipping") to stderr by
        // default, which would break the JSON log stream; Junction has no use for them.
        PQsetNoticeProcessor(fresh, { _, _ in }, nil)
        connection = fresh
        transactionDepth = 0
    }

    private func consume(_ result: OpaquePointer?, on connection: OpaquePointer) throws(PostgresError) -> PostgresResult {
        guard let result else {
            throw lostOrFailed(on: connection)
        }
        defer { PQclear(result) }
        switch PQresultStatus(result) {
        case PGRES_COMMAND_OK, PGRES_TUPLES_OK, PGRES_EMPTY_QUERY:
            return Self.copy(result)
        default:
            if PQstatus(connection) != CONNECTION_OK {
                throw lostOrFailed(on: connection)
            }
            guard let state = Self.field(result, "C") else {
                throw .connectionLost(Self.message(PQresultErrorMessage(result)))
            }
            throw .server(PostgresServerError(
                sqlState: state,
                message: Self.field(result, "M") ?? Self.message(PQresultErrorMessage(result)),
                detail: Self.field(result, "D"),
                constraint: Self.field(result, "n")))
        }
    }

    private func lostOrFailed(on connection: OpaquePointer) -> PostgresError {
        let reason = Self.message(PQerrorMessage(connection))
        close()
        return .connectionLost(reason)
    }

    private static func copy(_ result: OpaquePointer) -> PostgresResult {
        let rowCount = Int(PQntuples(result))
        let columnCount = Int(PQnfields(result))
        let names = (0..<columnCount).map { String(cString: PQfname(result, Int32($0))) }
        let index = PostgresRow.ColumnIndex(names: names)
        var rows: [PostgresRow] = []
        rows.reserveCapacity(rowCount)
        for row in 0..<rowCount {
            var values: [String?] = []
            values.reserveCapacity(columnCount)
            for column in 0..<columnCount {
                if PQgetisnull(result, Int32(row), Int32(column)) == 1 {
                    values.append(nil)
                } else {
                    let length = Int(PQgetlength(result, Int32(row), Int32(column)))
                    let start = UnsafeRawPointer(PQgetvalue(result, Int32(row), Int32(column))!)
                    values.append(String(decoding: UnsafeRawBufferPointer(start: start, count: length), as: UTF8.self))
                }
            }
            rows.append(PostgresRow(columns: index, values: values))
        }
        let affected = Int(String(cString: PQcmdTuples(result))) ?? 0
        return PostgresResult(columns: names, rows: rows, affectedRows: affected)
    }

    private static func field(_ result: OpaquePointer, _ code: Character) -> String? {
        guard let value = PQresultErrorField(result, Int32(code.asciiValue!)) else { return nil }
        return String(cString: value)
    }

    private static func message(_ pointer: UnsafePointer<CChar>?) -> String {
        guard let pointer else { return "unknown error" }
        return String(cString: pointer).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// Lays the parameters out for `PQexecParams`: text as NUL-terminated UTF-8 (type inferred by
    /// the server), bytes in binary format typed `bytea`, `NULL` as a null pointer.
    private static func withParameters<R>(
        _ parameters: [PostgresParameter],
        _ body: (UnsafePointer<Oid>?, UnsafePointer<UnsafePointer<CChar>?>?, UnsafePointer<Int32>?, UnsafePointer<Int32>?) -> R
    ) -> R {
        guard !parameters.isEmpty else { return body(nil, nil, nil, nil) }
        var storage: [UInt8] = []
        var offsets: [Int?] = []
        var types: [Oid] = []
        var lengths: [Int32] = []
        var formats: [Int32] = []
        for parameter in parameters {
            switch parameter {
            case .null:
                offsets.append(nil)
                types.append(0)
                lengths.append(0)
                formats.append(0)
            case .text(let text):
                offsets.append(storage.count)
                storage.append(contentsOf: text.utf8)
                storage.append(0)
                types.append(0)
                lengths.append(0)
                formats.append(0)
            case .bytea(let bytes):
                offsets.append(storage.count)
                storage.append(contentsOf: bytes)
                types.append(17)
                lengths.append(Int32(bytes.count))
                formats.append(1)
            }
        }
        storage.append(0)
        return storage.withUnsafeBufferPointer { buffer in
            let base = UnsafeRawPointer(buffer.baseAddress!)
            let values: [UnsafePointer<CChar>?] = offsets.map { offset in
                offset.map { (base + $0).assumingMemoryBound(to: CChar.self) }
            }
            return body(types, values, lengths, formats)
        }
    }

    private static func withCStrings<R>(_ strings: [String], _ body: (UnsafePointer<UnsafePointer<CChar>?>) -> R) -> R {
        let copies = strings.map { strdup($0) }
        defer { copies.forEach { free($0) } }
        let pointers: [UnsafePointer<CChar>?] = copies.map { UnsafePointer($0) } + [nil]
        return pointers.withUnsafeBufferPointer { body($0.baseAddress!) }
    }
}
