import Foundation
import JunctionCore
import JunctionProviders

/// One row of `webhook_endpoints`, secrets decrypted.
public struct WebhookEndpoint: Sendable, Equatable {
    public var provider: String
    public var endpoint: String
    public var tenant: String?
    public var connection: UUID?
    public var secrets: [String]
    public var enabled: Bool
    public var version: Int64
    public var keyID: String
    public var updatedAt: Date

    /// The endpoint id as logs, job payloads and listings show it: as its scheme shows it
    /// (``WebhookScheme/shown(endpoint:)``), so an id that is a URL token (Mailchimp's) shows only
    /// its first four characters.
    public static func shown(provider: String, endpoint: String) -> String {
        Providers.webhookScheme(named: provider)?.shown(endpoint: endpoint) ?? endpoint
    }
}

/// Why an endpoint cannot be stored or read.
public enum WebhookEndpointError: Error, Sendable, Equatable, CustomStringConvertible {
    case invalid(String)
    case exists(provider: String, endpoint: String)
    case notFound(provider: String, endpoint: String)
    case undecryptable(provider: String, endpoint: String, SealError)

    public var description: String {
        switch self {
        case .invalid(let reason): reason
        case .exists(let provider, let endpoint): "a \(provider) endpoint named \(WebhookEndpoint.shown(provider: provider, endpoint: endpoint)) exists already"
        case .notFound(let provider, let endpoint): "no \(provider) endpoint is named \(WebhookEndpoint.shown(provider: provider, endpoint: endpoint))"
        case .undecryptable(let provider, let endpoint, let error): "the secrets of \(provider)/\(WebhookEndpoint.shown(provider: provider, endpoint: endpoint)) are \(error)"
        }
    }
}

/// The `webhook_endpoints` table over a blocking connection: every secret set is sealed with the
/// key ring's active key, bound to its provider and endpoint.
public struct WebhookEndpointStore: Sendable {
    public let keys: KeyRing

    public init(keys: KeyRing) {
        self.keys = keys
    }

    static func context(provider: String, endpoint: String) -> SealContext {
        SealContext("webhook_endpoints", provider, endpoint, "secrets")
    }

    public static func validate(provider: String, endpoint: String, secrets: [String]) throws(WebhookEndpointError) {
        guard let scheme = Providers.webhookScheme(named: provider) else {
            throw .invalid("unknown provider \(provider); one of \(Providers.webhookSchemes.keys.sorted().joined(separator: ", "))")
        }
        guard isValidEndpointID(endpoint) else {
            throw .invalid("an endpoint id is 1 to 128 letters, digits, '-' or '_'")
        }
        guard !secrets.isEmpty else { throw .invalid("an endpoint needs at least one secret") }
        for secret in secrets where secret.isEmpty || secret.contains(",") || secret.contains(where: \.isNewline) {
            throw .invalid("a secret must be non-empty and hold no comma or line break")
        }
        if scheme.endpointIsSecret, !secrets.contains(endpoint) {
            // The provider signs nothing: the endpoint id in the callback URL is the token.
            throw .invalid("a \(provider) endpoint's id is its URL token, so its secrets must include the endpoint id")
        }
    }

    private func seal(_ secrets: [String], provider: String, endpoint: String) -> SealedValue {
        let plaintext = JSONValue.array(secrets.map(JSONValue.string)).serialized
        return keys.seal(Array(plaintext.utf8), context: Self.context(provider: provider, endpoint: endpoint))
    }

    func open(provider: String, endpoint: String, sealed: SealedValue) throws(WebhookEndpointError) -> [String] {
        let plaintext: [UInt8]
        do {
            plaintext = try keys.open(sealed, context: Self.context(provider: provider, endpoint: endpoint))
        } catch {
            throw .undecryptable(provider: provider, endpoint: endpoint, error)
        }
        guard let list = try? JSONValue(parsing: plaintext), case .array(let items) = list else {
            throw .undecryptable(provider: provider, endpoint: endpoint, .authenticationFailed(keyID: sealed.keyID))
        }
        return items.compactMap(\.stringValue)
    }

    public func add(provider: String, endpoint: String, secrets: [String], tenant: String? = nil, connection: UUID? = nil,
                    on database: PostgresConnection) throws -> WebhookEndpoint {
        try Self.validate(provider: provider, endpoint: endpoint, secrets: secrets)
        let sealed = seal(secrets, provider: provider, endpoint: endpoint)
        do {
            let row = try database.query("""
                INSERT INTO webhook_endpoints (provider, endpoint, tenant, connection_id, secrets_key_id, secrets_sealed, secret_count)
                VALUES (\(provider), \(endpoint), \(tenant), \(connection), \(sealed.keyID), \(sealed.bytes), \(secrets.count))
                RETURNING provider, endpoint, tenant, connection_id, secrets_key_id, secrets_sealed, enabled, version, updated_at
                """).first!
            return try decode(row)
        } catch let error as PostgresError where error.isUniqueViolation {
            throw WebhookEndpointError.exists(provider: provider, endpoint: endpoint)
        }
    }

    /// Replaces the secret set (rotation: pass the new secret and the ones still in use).
    public func setSecrets(provider: String, endpoint: String, secrets: [String], on database: PostgresConnection) throws -> WebhookEndpoint {
        try Self.validate(provider: provider, endpoint: endpoint, secrets: secrets)
        let sealed = seal(secrets, provider: provider, endpoint: endpoint)
        guard let row = try database.query("""
            UPDATE webhook_endpoints SET secrets_key_id = \(sealed.keyID), secrets_sealed = \(sealed.bytes), secret_count = \(secrets.count),
                   version = version + 1, updated_at = now()
            WHERE provider = \(provider) AND endpoint = \(endpoint)
            RETURNING provider, endpoint, tenant, connection_id, secrets_key_id, secrets_sealed, enabled, version, updated_at
            """).first else { throw WebhookEndpointError.notFound(provider: provider, endpoint: endpoint) }
        return try decode(row)
    }

    public func setEnabled(provider: String, endpoint: String, _ enabled: Bool, on database: PostgresConnection) throws {
        guard try database.query("""
            UPDATE webhook_endpoints SET enabled = \(enabled), version = version + 1, updated_at = now()
            WHERE provider = \(provider) AND endpoint = \(endpoint)
            """).affectedRows == 1 else { throw WebhookEndpointError.notFound(provider: provider, endpoint: endpoint) }
    }

    public func remove(provider: String, endpoint: String, on database: PostgresConnection) throws {
        guard try database.query("DELETE FROM webhook_endpoints WHERE provider = \(provider) AND endpoint = \(endpoint)").affectedRows == 1 else {
            throw WebhookEndpointError.notFound(provider: provider, endpoint: endpoint)
        }
    }

    public func find(provider: String, endpoint: String, on database: PostgresConnection) throws -> WebhookEndpoint? {
        try database.query("SELECT provider, endpoint, tenant, connection_id, secrets_key_id, secrets_sealed, enabled, version, updated_at FROM webhook_endpoints WHERE provider = \(provider) AND endpoint = \(endpoint)")
            .first.map(decode)
    }

    /// Every endpoint, by provider and id. One whose secrets do not decrypt is an error naming it.
    public func list(on database: PostgresConnection) throws -> [WebhookEndpoint] {
        try database.query("SELECT provider, endpoint, tenant, connection_id, secrets_key_id, secrets_sealed, enabled, version, updated_at FROM webhook_endpoints ORDER BY provider, endpoint").rows.map(decode)
    }

    /// Endpoints whose version differs from `known` (the ingress cache's refresh), plus the full
    /// set of keys present, so removals show too.
    public func changes(since known: [EndpointKey: Int64], on database: PostgresConnection) throws -> (changed: [Result<WebhookEndpoint, WebhookEndpointError>], present: Set<EndpointKey>) {
        let rows = try database.query("SELECT provider, endpoint, version FROM webhook_endpoints").rows
        var present = Set<EndpointKey>()
        var stale: [EndpointKey] = []
        for row in rows {
            let key = EndpointKey(provider: try row.decode(0), endpoint: try row.decode(1))
            present.insert(key)
            if known[key] != (try row.decode(2, as: Int64.self)) { stale.append(key) }
        }
        var changed: [Result<WebhookEndpoint, WebhookEndpointError>] = []
        // In slices, so a first load of many endpoints is a few round trips, not one per row.
        for start in stride(from: 0, to: stale.count, by: 500) {
            let slice = stale[start..<min(start + 500, stale.count)]
            let result = try database.query("""
                SELECT provider, endpoint, tenant, connection_id, secrets_key_id, secrets_sealed, enabled, version, updated_at FROM webhook_endpoints
                WHERE (provider, endpoint) IN (SELECT * FROM unnest(\(PostgresTextArray(slice.map(\.provider)))::text[], \(PostgresTextArray(slice.map(\.endpoint)))::text[]))
                """)
            for row in result.rows {
                do {
                    changed.append(.success(try decode(row)))
                } catch let error as WebhookEndpointError {
                    changed.append(.failure(error))
                }
            }
        }
        return (changed, present)
    }

    /// How many endpoints are sealed under each key id (what `junction keys status` shows).
    public func countByKey(on database: PostgresConnection) throws -> [String: Int] {
        var counts: [String: Int] = [:]
        for row in try database.query("SELECT secrets_key_id, count(*) FROM webhook_endpoints GROUP BY 1").rows {
            counts[try row.decode(0)] = try row.decode(1, as: Int.self)
        }
        return counts
    }

    /// Re-seals up to `limit` endpoints that are not under the active key; returns how many.
    /// Rows are claimed with SKIP LOCKED, so two schedulers never fight over one.
    public func reencrypt(limit: Int, on database: PostgresConnection) throws -> Int {
        try database.transaction { connection in
            let rows = try connection.query("""
                SELECT provider, endpoint, tenant, connection_id, secrets_key_id, secrets_sealed, enabled, version, updated_at FROM webhook_endpoints WHERE secrets_key_id <> \(keys.activeID)
                ORDER BY provider, endpoint LIMIT \(limit) FOR UPDATE SKIP LOCKED
                """).rows
            for row in rows {
                let endpoint = try decode(row)
                let sealed = seal(endpoint.secrets, provider: endpoint.provider, endpoint: endpoint.endpoint)
                // The version stays: the secrets are the same, so the ingress need not re-read.
                _ = try connection.query("""
                    UPDATE webhook_endpoints SET secrets_key_id = \(sealed.keyID), secrets_sealed = \(sealed.bytes)
                    WHERE provider = \(endpoint.provider) AND endpoint = \(endpoint.endpoint)
                    """)
            }
            return rows.count
        }
    }

    private func decode(_ row: PostgresRow) throws -> WebhookEndpoint {
        let provider: String = try row.decode("provider")
        let endpoint: String = try row.decode("endpoint")
        let sealed = SealedValue(keyID: try row.decode("secrets_key_id"), bytes: try row.decode("secrets_sealed"))
        return WebhookEndpoint(
            provider: provider, endpoint: endpoint, tenant: try row.decode("tenant"), connection: try row.decode("connection_id"),
            secrets: try open(provider: provider, endpoint: endpoint, sealed: sealed), enabled: try row.decode("enabled"),
            version: try row.decode("version"), keyID: sealed.keyID, updatedAt: try row.decode("updated_at"))
    }
}

/// A provider and endpoint id.
public struct EndpointKey: Hashable, Sendable {
    public var provider: String
    public var endpoint: String

    public init(provider: String, endpoint: String) {
        self.provider = provider
        self.endpoint = endpoint
    }
}

/// 1 to 128 letters, digits, '-' or '_': safe in a URL path segment and a log line.
public func isValidEndpointID(_ id: String) -> Bool {
    !id.isEmpty && id.utf8.count <= 128 && id.utf8.allSatisfy { byte in
        (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A) || byte == 0x2D || byte == 0x5F
    }
}
