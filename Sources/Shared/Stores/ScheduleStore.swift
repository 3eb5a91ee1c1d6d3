import Foundation
import JunctionCore
import JunctionQueue

/// Why a schedule cannot be stored.
public enum ScheduleError: Error, Sendable, Equatable, CustomStringConvertible {
    case invalid(String)
    case duplicateName(String)

    public var description: String {
        switch self {
        case .invalid(let reason): reason
        case .duplicateName(let name): "a schedule named \(name) exists already"
        }
    }
}

/// The `schedules` table, over a blocking connection.
public struct ScheduleStore: Sendable {
    public init() {}

    /// Stores a new schedule whose first fire is the rule's first after `now`.
    public func add(
        name: String, jobType: String, payload: JSONValue, priority: JobPriority, tenant: String? = nil, provider: String? = nil,
        connection: UUID? = nil, rule: ScheduleRule, now: Date = Date(), on database: PostgresConnection
    ) throws -> Schedule {
        guard !name.isEmpty, !jobType.isEmpty else { throw ScheduleError.invalid("a schedule needs a name and a job type") }
        guard case .object = payload else { throw ScheduleError.invalid("the payload must be a JSON object") }
        guard let first = rule.next(after: now, previous: now) else { throw ScheduleError.invalid("the rule never fires") }
        let (interval, cron, zone): (Int?, String?, String) = switch rule {
        case .every(let every): (Int(every / .seconds(1)), nil, "UTC")
        case .cron(let expression, let timeZone): (nil, expression.description, timeZone.identifier)
        }
        if case .every(let every) = rule, every < .seconds(1) || every / .seconds(1) != (every / .seconds(1)).rounded() {
            throw ScheduleError.invalid("an interval is a whole number of seconds, at least 1")
        }
        do {
            let row = try database.query("""
                INSERT INTO schedules (name, job_type, payload, priority, tenant, provider, connection_id, interval_seconds, cron, time_zone, next_run_at)
                VALUES (\(name), \(jobType), \(PostgresJSON(text: payload.serialized))::jsonb, \(priority.rawValue), \(tenant), \(provider),
                        \(connection), \(interval), \(cron), \(zone), \(first))
                RETURNING id, name, job_type, payload, priority, tenant, provider, connection_id, interval_seconds, cron, time_zone, enabled, next_run_at, last_run_at
                """).first!
            return try Self.schedule(row)
        } catch let error as PostgresError where error.isUniqueViolation {
            throw ScheduleError.duplicateName(name)
        }
    }

    /// Every schedule, by name.
    public func list(on database: PostgresConnection) throws -> [Schedule] {
        try database.query("SELECT id, name, job_type, payload, priority, tenant, provider, connection_id, interval_seconds, cron, time_zone, enabled, next_run_at, last_run_at FROM schedules ORDER BY name").rows.map(Self.schedule)
    }

    public func find(name: String, on database: PostgresConnection) throws -> Schedule? {
        try database.query("SELECT id, name, job_type, payload, priority, tenant, provider, connection_id, interval_seconds, cron, time_zone, enabled, next_run_at, last_run_at FROM schedules WHERE name = \(name)").first.map(Self.schedule)
    }

    /// Deletes a schedule; false when none has that name.
    public func remove(name: String, on database: PostgresConnection) throws -> Bool {
        try database.query("DELETE FROM schedules WHERE name = \(name)").affectedRows == 1
    }

    /// Pauses or resumes; a resumed schedule whose time has passed fires once at the next tick.
    public func setEnabled(_ enabled: Bool, name: String, on database: PostgresConnection) throws -> Bool {
        try database.query("UPDATE schedules SET enabled = \(enabled), updated_at = now() WHERE name = \(name)").affectedRows == 1
    }

    /// Makes a schedule due now (it fires at the next tick, then keeps its rhythm).
    public func runNow(name: String, now: Date = Date(), on database: PostgresConnection) throws -> Bool {
        try database.query("UPDATE schedules SET next_run_at = \(now), updated_at = now() WHERE name = \(name)").affectedRows == 1
    }

    package static func schedule(_ row: PostgresRow) throws -> Schedule {
        let rule: ScheduleRule
        if let seconds = try row.decode("interval_seconds", as: Int?.self) {
            rule = .every(.seconds(seconds))
        } else {
            let zoneName = try row.decode("time_zone", as: String.self)
            guard let zone = TimeZone(identifier: zoneName) else { throw ScheduleError.invalid("unknown time zone \(zoneName)") }
            rule = .cron(try CronExpression(try row.decode("cron", as: String.self)), zone)
        }
        return Schedule(
            id: try row.decode("id"), name: try row.decode("name"), jobType: try row.decode("job_type"),
            payload: try JSONValue(parsing: try row.decode("payload", as: String.self)),
            priority: JobPriority(rawValue: try row.decode("priority", as: String.self)) ?? .normal,
            tenant: try row.decode("tenant"), provider: try row.decode("provider"), connection: try row.decode("connection_id"),
            rule: rule, enabled: try row.decode("enabled"), nextRunAt: try row.decode("next_run_at"), lastRunAt: try row.decode("last_run_at"))
    }
}

