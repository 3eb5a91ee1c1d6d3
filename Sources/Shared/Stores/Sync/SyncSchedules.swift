import Foundation
import JunctionCore

/// How often each connection's resources are synced: `JUNCTION_SYNC_INTERVAL` (15 min), or
/// `JUNCTION_SYNC_INTERVAL_<PROVIDER>` for one provider.
public struct SyncSettings: Sendable {
    public var interval: Duration
    public var byProvider: [String: Duration]

    public init(environment: EnvironmentVariables, providers: [String]) throws(ConfigurationError) {
        interval = try environment.duration("JUNCTION_SYNC_INTERVAL", default: "15m")
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
}

/// The schedules that keep a connection's data fresh: one `sync.run` per synced resource, named
/// `sync:<connection>:<resource>`, created (or re-enabled) when the connection becomes active, and
/// disabled with it when it is revoked (deleting the connection deletes them).
public struct SyncSchedules: Sendable {
    public init() {}

    public static func name(connection: UUID, resource: String) -> String { "sync:\(connection.uuidString.lowercased()):\(resource)" }

    /// Creates the connection's schedules, the first run of each within a minute (spread, so a new
    /// connection does not start every resource at once); answers how many are new.
    @discardableResult
    public func ensure(_ connection: Connection, resources: [String], interval: Duration, on database: PostgresConnection) throws -> Int {
        var created = 0
        let seconds = Int(interval / .seconds(1))
        for (index, resource) in resources.enumerated() {
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
