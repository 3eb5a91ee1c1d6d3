import Foundation

/// Where and how to reach PostgreSQL, from a `postgres://user:password@host:port/database` URL.
/// Query parameters libpq understands (`sslmode=require`, …) pass through.
public struct PostgresConfiguration: Sendable, Equatable {
    /// The URL as given; libpq parses it.
    public let url: String
    public let host: String
    public let port: Int
    public let database: String
    /// Seconds libpq may take to connect (libpq counts whole seconds, 2 at least).
    public var connectTimeoutSeconds: Int
    /// The longest one statement may run before the server cancels it; nil for no limit.
    public var statementTimeout: Duration?
    /// The name shown in `pg_stat_activity`.
    public var applicationName: String
    /// Ends a session that sits inside a transaction doing nothing for this long (a frozen
    /// process must not hold row locks forever); nil for the server's default.
    public var idleInTransactionTimeout: Duration?

    public init(url: String, connectTimeoutSeconds: Int = 5, statementTimeout: Duration? = .seconds(30), applicationName: String = "junction") throws(InvalidValue) {
        guard let components = URLComponents(string: url), let scheme = components.scheme else {
            throw InvalidValue("not a URL")
        }
        guard scheme == "postgres" || scheme == "postgresql" else {
            throw InvalidValue("the scheme must be postgres:// or postgresql://, not \(scheme)://")
        }
        guard let host = components.host, !host.isEmpty else { throw InvalidValue("the URL has no host") }
        let database = components.path.trimmingCharacters(in: CharacterSet(charactersIn: "/"))
        guard !database.isEmpty else { throw InvalidValue("the URL names no database (add /DATABASE after the host)") }
        if let port = components.port, !(1...65535).contains(port) {
            throw InvalidValue("port \(port) is out of range")
        }
        self.url = url
        self.host = host
        self.port = components.port ?? 5432
        self.database = database
        self.connectTimeoutSeconds = max(2, connectTimeoutSeconds)
        self.statementTimeout = statementTimeout
        self.applicationName = applicationName
        self.idleInTransactionTimeout = nil
    }

    /// The same server and credentials with another database (the test harness uses it).
    public func with(database name: String) throws(InvalidValue) -> PostgresConfiguration {
        guard var components = URLComponents(string: url) else { throw InvalidValue("not a URL") }
        components.path = "/" + name
        guard let changed = components.string else { throw InvalidValue("\(name) is not a valid database name") }
        return try PostgresConfiguration(
            url: changed, connectTimeoutSeconds: connectTimeoutSeconds, statementTimeout: statementTimeout,
            applicationName: applicationName)
    }

    /// The URL with any password replaced by `***`, for logs.
    public var redactedURL: String {
        guard var components = URLComponents(string: url) else { return "postgres://(unparseable)" }
        if components.password != nil { components.password = "***" }
        return components.string ?? "postgres://(unparseable)"
    }
}
