import Foundation
import JunctionCore

/// Tokens as a provider issued them, in memory only. Printing one shows no secret.
public struct TokenPair: Sendable, Equatable, CustomStringConvertible {
    /// The access token, or the API key.
    public var access: String
    public var refresh: String?
    public var expiresAt: Date?

    public init(access: String, refresh: String? = nil, expiresAt: Date? = nil) {
        self.access = access
        self.refresh = refresh
        self.expiresAt = expiresAt
    }

    public var description: String {
        "tokens (access [redacted], refresh \(refresh == nil ? "none" : "[redacted]"), expires \(expiresAt.map(Timestamp.format) ?? "never"))"
    }
}

/// One row of `credentials`, decrypted. Printing one shows no secret.
public struct Credential: Sendable, Equatable, CustomStringConvertible {
    public var connection: UUID
    public var tenant: String
    public var tokens: TokenPair
    public var keyID: String
    /// Grows with every new token pair; a refresh stores its pair only if this is still the value it read.
    public var version: Int64
    /// The fencing token of the last refresh that wrote the pair.
    public var fence: Int64
    public var refreshFailures: Int
    public var failingSince: Date?
    public var refreshedAt: Date?
    public var updatedAt: Date

    /// True when the access token is still good for at least `margin`.
    public func isValid(for margin: Duration, at now: Date = Date()) -> Bool {
        guard let expires = tokens.expiresAt else { return true }
        return expires.timeIntervalSince(now) > margin / .seconds(1)
    }

    public var description: String {
        "credential of \(connection.uuidString.lowercased()) v\(version) under key \(keyID): \(tokens)"
    }
}

/// A refresh that wrote its marker (``CredentialVault/beginRefresh(_:version:fence:worker:on:)``)
/// and never stored its answer nor removed the marker: its worker died, or lost its answer.
public struct InterruptedRefresh: Sendable, Equatable {
    public var fence: Int64
    public var version: Int64
    public var worker: String
    public var startedAt: Date
}

/// The `credentials` table: access tokens, refresh tokens and API keys, stored only sealed with
/// the key ring (AES-256-GCM), each field bound to its tenant, connection and field name, the key
/// id beside the ciphertext. New pairs are written by compare-and-set on `version` under a fence.
public struct CredentialVault: Sendable {
    public let keys: KeyRing

    public init(keys: KeyRing) {
        self.keys = keys
    }

    static func context(tenant: String, connection: UUID, field: String) -> SealContext {
        SealContext("credentials", tenant, connection.uuidString.lowercased(), field)
    }

    static let columns: StaticString = """
        connection_id, tenant, key_id, access_sealed, refresh_sealed, expires_at, version, fence, refresh_failures, failing_since,
        refreshed_at, updated_at
        """

    private func seal(_ tokens: TokenPair, tenant: String, connection: UUID) -> (keyID: String, access: [UInt8], refresh: [UInt8]?) {
        let access = keys.seal(Array(tokens.access.utf8), context: Self.context(tenant: tenant, connection: connection, field: "access"))
        let refresh = tokens.refresh.map {
            keys.seal(Array($0.utf8), context: Self.context(tenant: tenant, connection: connection, field: "refresh")).bytes
        }
        // seal uses the active key for both.
        return (access.keyID, access.bytes, refresh)
    }

    /// Stores a connection's first (or replacing) credentials, whatever was there: the exchange's
    /// answer, or an API key. Bumps the version, so a refresh that read the old pair stores nothing.
    @discardableResult
    public func put(_ connection: UUID, tenant: String, _ tokens: TokenPair, on database: PostgresConnection) throws -> Credential {
        let sealed = seal(tokens, tenant: tenant, connection: connection)
        let row = try database.query("""
            INSERT INTO credentials AS c (connection_id, tenant, key_id, access_sealed, refresh_sealed, expires_at, refreshed_at)
            VALUES (\(connection), \(tenant), \(sealed.keyID), \(sealed.access), \(sealed.refresh), \(tokens.expiresAt), now())
            ON CONFLICT (connection_id) DO UPDATE
               SET key_id = EXCLUDED.key_id, access_sealed = EXCLUDED.access_sealed, refresh_sealed = EXCLUDED.refresh_sealed,
                   expires_at = EXCLUDED.expires_at, version = c.version + 1, refresh_failures = 0, failing_since = NULL,
                   refreshed_at = now(), updated_at = now()
            RETURNING \(sql: Self.columns)
            """).first!
        try database.query("DELETE FROM credential_refreshes WHERE connection_id = \(connection)")
        return try decode(row)
    }

    public func read(_ connection: UUID, on database: PostgresConnection) throws -> Credential? {
        try database.query("SELECT \(sql: Self.columns) FROM credentials WHERE connection_id = \(connection)").first.map(decode)
    }

    /// Stores a refreshed pair if the stored version is still `expected` and no newer fence has
    /// written; answers the stored credential, or nil when the version moved (another refresher
    /// won: re-read). Throws ``StaleFence`` when a newer lock holder has written. Removes the
    /// refresh marker in the same statement's transaction.
    public func compareAndSet(_ connection: UUID, tenant: String, expected: Int64, fence: Int64, _ tokens: TokenPair,
                              on database: PostgresConnection) throws -> Credential? {
        let sealed = seal(tokens, tenant: tenant, connection: connection)
        return try database.transaction { database in
            let row = try database.query("""
                UPDATE credentials
                   SET key_id = \(sealed.keyID), access_sealed = \(sealed.access), refresh_sealed = \(sealed.refresh),
                       expires_at = \(tokens.expiresAt), version = version + 1, fence = \(fence), refresh_failures = 0,
                       failing_since = NULL, refreshed_at = now(), updated_at = now()
                 WHERE connection_id = \(connection) AND version = \(expected) AND fence <= \(fence)
                RETURNING \(sql: Self.columns)
                """).first
            guard let row else {
                if let current = try read(connection, on: database), current.fence > fence {
                    throw StaleFence(attempted: fence, current: current.fence)
                }
                return nil
            }
            try database.query("DELETE FROM credential_refreshes WHERE connection_id = \(connection)")
            return try decode(row)
        }
    }

    /// Writes the marker a refresh leaves before it presents the refresh token. Answers the marker
    /// of an earlier refresh that never finished instead of writing, if there is one.
    public func beginRefresh(_ connection: UUID, version: Int64, fence: Int64, worker: String,
                             on database: PostgresConnection) throws -> InterruptedRefresh? {
        if let earlier = try interruptedRefresh(connection, on: database) { return earlier }
        try database.query("""
            INSERT INTO credential_refreshes (connection_id, fence, version, worker) VALUES (\(connection), \(fence), \(version), \(worker))
            """)
        return nil
    }

    /// The marker of a refresh that started and did not finish, if any.
    public func interruptedRefresh(_ connection: UUID, on database: PostgresConnection) throws -> InterruptedRefresh? {
        try database.query("SELECT fence, version, worker, started_at FROM credential_refreshes WHERE connection_id = \(connection)").first.map { row in
            InterruptedRefresh(fence: try row.decode("fence"), version: try row.decode("version"), worker: try row.decode("worker"),
                               startedAt: try row.decode("started_at"))
        }
    }

    /// Removes the marker: the refresh ended without rotating anything (the provider refused it,
    /// or it never went out).
    public func endRefresh(_ connection: UUID, on database: PostgresConnection) throws {
        try database.query("DELETE FROM credential_refreshes WHERE connection_id = \(connection)")
    }

    /// Counts a refresh that failed for a reason worth retrying; answers since when refreshes
    /// have been failing.
    public func recordRefreshFailure(_ connection: UUID, on database: PostgresConnection) throws -> (failures: Int, since: Date) {
        let row = try database.query("""
            UPDATE credentials SET refresh_failures = refresh_failures + 1, failing_since = coalesce(failing_since, now()), updated_at = now()
             WHERE connection_id = \(connection)
            RETURNING refresh_failures, failing_since
            """).first
        guard let row else { throw ConnectionError.notFound(connection) }
        return (try row.decode("refresh_failures"), try row.decode("failing_since"))
    }

    /// Erases the connection's credentials (after revoking them at the provider).
    public func erase(_ connection: UUID, on database: PostgresConnection) throws {
        try database.query("DELETE FROM credentials WHERE connection_id = \(connection)")
        try database.query("DELETE FROM credential_refreshes WHERE connection_id = \(connection)")
    }

    /// Re-seals up to `batch` credentials that are not under the active key, leaving their
    /// version alone (the tokens do not change, so a refresh in flight still stores its pair).
    /// A row a refresh changes meanwhile is skipped and picked up by the next batch. Answers how
    /// many it re-sealed; 0 means none is left (or every remaining one is locked right now).
    public func reencrypt(batch: Int, on database: PostgresConnection) throws -> Int {
        try database.transaction { database in
            let rows = try database.query("""
                SELECT \(sql: Self.columns) FROM credentials WHERE key_id <> \(keys.activeID)
                ORDER BY connection_id LIMIT \(batch) FOR UPDATE SKIP LOCKED
                """).rows
            var done = 0
            for row in rows {
                let credential = try decode(row)
                let sealed = seal(credential.tokens, tenant: credential.tenant, connection: credential.connection)
                done += try database.query("""
                    UPDATE credentials SET key_id = \(sealed.keyID), access_sealed = \(sealed.access), refresh_sealed = \(sealed.refresh)
                     WHERE connection_id = \(credential.connection) AND version = \(credential.version)
                    """).affectedRows
            }
            return done
        }
    }

    /// How many credentials each key id seals.
    public func countByKey(on database: PostgresConnection) throws -> [String: Int] {
        var counts: [String: Int] = [:]
        for row in try database.query("SELECT key_id, count(*)::bigint AS n FROM credentials GROUP BY key_id").rows {
            counts[try row.decode("key_id")] = try row.decode("n")
        }
        return counts
    }

    func decode(_ row: PostgresRow) throws -> Credential {
        let connection: UUID = try row.decode("connection_id")
        let tenant: String = try row.decode("tenant")
        let keyID: String = try row.decode("key_id")
        func open(_ column: String, _ field: String) throws -> String? {
            guard let bytes = try row.decode(column, as: [UInt8]?.self) else { return nil }
            do {
                let plaintext = try keys.open(SealedValue(keyID: keyID, bytes: bytes), context: Self.context(tenant: tenant, connection: connection, field: field))
                return String(decoding: plaintext, as: UTF8.self)
            } catch {
                throw ConnectionError.undecryptable(connection, error)
            }
        }
        return Credential(
            connection: connection, tenant: tenant,
            tokens: TokenPair(access: try open("access_sealed", "access") ?? "", refresh: try open("refresh_sealed", "refresh"),
                              expiresAt: try row.decode("expires_at")),
            keyID: keyID, version: try row.decode("version"), fence: try row.decode("fence"), refreshFailures: try row.decode("refresh_failures"),
            failingSince: try row.decode("failing_since"), refreshedAt: try row.decode("refreshed_at"), updatedAt: try row.decode("updated_at"))
    }
}
