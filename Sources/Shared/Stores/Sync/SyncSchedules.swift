import Foundation
import JunctionCore

/// How often each connection's resources are synced: `JUNCTION_SYNC_INTERVAL` (15 min), or
/// `JUNCTION_SYNC_INTERVAL_<PROVIDER>` for one provider (a connection's own `sync_interval`
/// comes first); and how often each is reconciled: `JUNCTION_RECONCILE_INTERVAL` (24 h; `off`:
/// never on a schedule).
public struct SyncSettings: Sendable {
    public var interval: Duration
    public var byProvider: [String: Duration]
    /// nil: reconciliation runs only when asked for.
    public var reconcileInterval: Duration?

    public init(environment: EnvironmentVariables, providers: [String]) throws(ConfigurationError) {
        interval = try environment.duration("JUNCTION_SYNC_INTERVAL", default: "15m")
        if environment.values["JUNCTION_RECONCILE_INTERVAL"]?.lowercased() == "off" {
            reconcileInterval = nil
        } else {
            let every = try environment.duration("JUNCTION_RECONCILE_INTERVAL", default: "24h")
            guard every >= .seconds(3600) else {
                throw ConfigurationError(variable: "JUNCTION_RECONCILE_INTERVAL", problem: "JUNCTION_RECONCILE_INTERVAL is invalid: at least 1h, or off", example: "24h")
            }
            reconcileInterval = every
        }
        var byProvider: [String: Duration] = [:]
        for provider in providers {
            let name = "JUNCTION_SYNC_INTERVAL_\(provider.uppercased())"
            if environment.values[name] != nil { byProvider[provider] = try environment.duration(name, default: "15m") }
        }
        self.byProvider = byProvider
        for (name, value) in [("JUNCTION_SYNC_INTERVAL", interval)] + byProvider.map({ ("JUNCTION_SYNC_INTERVAL_\($0.key.uppercased())", $0.value) })
        where value < .seconds(60) {
            throw ConfigurationError(variable: name, problem: "\(name) is invalid: at least 1m", example: "15m")
        }
    }

    public func interval(for provider: String) -> Duration { byProvider[provider] ?? interval }

    /// The connection's own interval (its metadata's `sync_interval`, seconds), else its provider's.
    public func interval(for connection: Connection) -> Duration {
        connection.metadata["sync_interval"]?.intValue.map { .seconds($0) } ?? interval(for: connection.provider)
    }
}

/// The schedules that keep a connection's data fresh: one `sync.run` per synced resource, named
/// `sync:<connection>:<resource>` (`normal`, mode `auto`), and one reconciliation per resource,
/// `reconcile:<connection>:<resource>` (`low`, mode `reconcile`), created (or re-enabled) when the
/// connection becomes active, and disabled with it when it is revoked (deleting the connection
/// deletes them).
public struct SyncSchedules: Sendable {
    public init() {}

    public static func name(connection: UUID, resource: String) -> String { "sync:\(connection.uuidString.lowercased()):\(resource)" }

    public static func reconcileName(connection: UUID, resource: String) -> String { "reconcile:\(connection.uuidString.lowercased()):\(resource)" }

    /// Creates the connection's schedules, the first sync of each within a minute (spread, so a
    /// new connection does not start every resource at once) and the first reconciliation one
    /// interval later; answers how many are new. A `reconcile` of nil removes the reconciliations.
    @discardableResult
    public func ensure(_ connection: Connection, resources: [String], interval: Duration, reconcile: Duration? = nil,
                       on database: PostgresConnection) throws -> Int {
        var created = 0
        let seconds = Int(interval / .seconds(1))
        for (index, resource) in resources.enumerated() {
            if let reconcile {
                let payload: JSONValue = [
                    "connection": .string(connection.id.uuidString.lowercased()), "resource": .string(resource), "trigger": "schedule", "mode": "reconcile",
                ]
                let every = Int(reconcile / .seconds(1))
                let first = Date() + Double(every + (index * 97) % 3600)
                try database.query("""
                    INSERT INTO schedules AS s (name, job_type, payload, priority, tenant, provider, connection_id, interval_seconds, next_run_at)
                    VALUES (\(Self.reconcileName(connection: connection.id, resource: resource)), 'sync.run', \(PostgresJSON(text: payload.serialized))::jsonb,
                            'low', \(connection.tenant), \(connection.provider), \(connection.id), \(every), \(first))
                    ON CONFLICT (name) DO UPDATE SET enabled = true, interval_seconds = EXCLUDED.interval_seconds, updated_at = now()
                    """)
            } else {
                try database.query("DELETE FROM schedules WHERE name = \(Self.reconcileName(connection: connection.id, resource: resource))")
            }
            let payload: JSONValue = ["connection": .string(connection.id.uuidString.lowercased()), "resource": .string(resource), "trigger": "schedule"]
            let first = Date() + Double(5 + (index * 7) % 55)
            let row = try database.query("""
                INSERT INTO schedules AS s (name, job_type, payload, priority, tenant, provider, connection_id, interval_seconds, next_run_at)
                VALUES (\(Self.name(connection: connection.id, resource: resource)), 'sync.run', \(PostgresJSON(text: payload.serialized))::jsonb, 'normal',
                        \(connection.tenant), \(connection.provider), \(connection.id), \(seconds), \(first))
                ON CONFLICT (name) DO UPDATE SET enabled = true, interval_seconds = EXCLUDED.interval_seconds, updated_at = now()
                RETURNING (xmax = 0) AS inserted
                """).first
            if try row?.decode("inserted", as: Bool.self) == true { created += 1 }
        }
        return created
    }
}
