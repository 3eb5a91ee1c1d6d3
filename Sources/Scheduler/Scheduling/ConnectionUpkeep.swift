import Foundation
import JunctionCore
import JunctionProviders
import JunctionQueue
import JunctionStores

/// What the leading scheduler does for connections, every ``interval``: enqueue `token.refresh`
/// (on `high`) for active connections whose access token expires within
/// `JUNCTION_TOKEN_REFRESH_MARGIN`, and `connection.check` (on `low`) for active connections whose
/// token never expires and that were not checked within `JUNCTION_CONNECTION_CHECK_INTERVAL`.
/// Both are idempotent: one refresh per connection and expiry, one check per connection and
/// interval (the queue's dedupe keys), so a scheduler that takes over re-enqueues nothing. OAuth
/// connections still `pending` once their flow's state has expired (the tenant never came back
/// from the provider) become `error`, so listings do not fill with flows nobody finishes.
struct ConnectionUpkeep: Sendable {
    let queue: Queue
    let settings: ConnectionSettings
    static let interval = Duration.seconds(10)
    /// Providers with a known check call (``ProviderAPI/check``).
    static let checkable = Providers.all.filter { $0.api.check != nil }.map(\.id)
    static let batch = 500

    struct Enqueued: Sendable, Equatable {
        var refreshes = 0
        var checks = 0
        var abandoned = 0
    }

    /// A pending flow is abandoned this long after it started: the state's lifetime, and a
    /// margin for an exchange still running.
    static let abandonedAfter = OAuthStateRecord.lifetime + .seconds(300)

    func run(database: PostgresConnection, redis: RedisConnection, now: Date = Date()) throws -> Enqueued {
        let margin = Int64(settings.refreshMargin / .milliseconds(1))
        let expiring = try database.query("""
            SELECT k.id, k.tenant, k.provider, c.expires_at FROM credentials c JOIN connections k ON k.id = c.connection_id
            WHERE k.status = 'active' AND c.refresh_sealed IS NOT NULL AND c.expires_at IS NOT NULL
              AND c.expires_at < \(now)::timestamptz + make_interval(secs => \(margin) / 1000.0)
            ORDER BY c.expires_at LIMIT \(Self.batch)
            """).rows
        var requests: [JobRequest] = []
        for row in expiring {
            let id: UUID = try row.decode("id")
            let expires: Date = try row.decode("expires_at")
            requests.append(JobRequest(
                type: "token.refresh", payload: ["connection": .string(id.uuidString.lowercased())], priority: .high,
                tenant: try row.decode("tenant"), provider: try row.decode("provider"), connection: id.uuidString.lowercased(),
                dedupeKey: "token.refresh:\(id.uuidString.lowercased()):\(Int64(expires.timeIntervalSince1970 * 1000))",
                dedupeTTL: settings.refreshMargin + .seconds(3600)))
        }
        let interval = Int64(settings.checkInterval / .milliseconds(1))
        let unchecked = try database.query("""
            SELECT k.id, k.tenant, k.provider FROM connections k JOIN credentials c ON c.connection_id = k.id
            WHERE k.status = 'active' AND c.expires_at IS NULL AND k.provider = ANY(\(PostgresTextArray(Self.checkable))::text[])
              AND coalesce((k.health->'last_check'->>'at')::timestamptz, k.updated_at) < \(now)::timestamptz - make_interval(secs => \(interval) / 1000.0)
            ORDER BY k.id LIMIT \(Self.batch)
            """).rows
        let bucket = Int64(now.timeIntervalSince1970 * 1000) / max(1, interval)
        for row in unchecked {
            let id: UUID = try row.decode("id")
            requests.append(JobRequest(
                type: "connection.check", payload: ["connection": .string(id.uuidString.lowercased())], priority: .low,
                tenant: try row.decode("tenant"), provider: try row.decode("provider"), connection: id.uuidString.lowercased(),
                dedupeKey: "connection.check:\(id.uuidString.lowercased()):\(bucket)", dedupeTTL: settings.checkInterval))
        }
        var enqueued = Enqueued()
        let abandonedMs = Int64(Self.abandonedAfter / .milliseconds(1))
        for row in try database.query("""
            SELECT id FROM connections WHERE status = 'pending' AND auth = 'oauth2'
              AND created_at < \(now)::timestamptz - make_interval(secs => \(abandonedMs) / 1000.0)
            ORDER BY created_at LIMIT \(Self.batch)
            """).rows {
            try ConnectionStore().transition(try row.decode("id"), to: .error, reason: "abandoned: the tenant did not come back from the provider within 10 minutes",
                                             actor: "scheduler", from: [.pending], on: database)
            enqueued.abandoned += 1
        }
        guard !requests.isEmpty else { return enqueued }
        for (request, outcome) in zip(requests, try queue.enqueue(requests, on: redis)) {
            guard case .enqueued = outcome else { continue }
            if request.type == "token.refresh" { enqueued.refreshes += 1 } else { enqueued.checks += 1 }
        }
        return enqueued
    }
}
