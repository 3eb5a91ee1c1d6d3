import JunctionCore

/// How connections are kept alive, read at start by the worker and the scheduler.
public struct ConnectionSettings: Sendable {
    /// Refresh an access token that expires within this (`JUNCTION_TOKEN_REFRESH_MARGIN`, 10 min):
    /// the scheduler enqueues the refresh, and a job that finds a token this close refreshes it first.
    public var refreshMargin: Duration
    /// After refreshes have failed this long in a row for reasons worth retrying (network, 5xx),
    /// the connection needs the tenant (`JUNCTION_TOKEN_REFRESH_GIVE_UP`, 4 days).
    public var refreshGiveUp: Duration
    /// How long a job waits for another worker's refresh of the same connection before it is
    /// rescheduled (`JUNCTION_TOKEN_REFRESH_WAIT`, 15 s).
    public var refreshWait: Duration
    /// How often a connection whose token does not expire is checked with one cheap call
    /// (`JUNCTION_CONNECTION_CHECK_INTERVAL`, 24 h).
    public var checkInterval: Duration

    public init(environment: EnvironmentVariables) throws(ConfigurationError) {
        refreshMargin = try environment.duration("JUNCTION_TOKEN_REFRESH_MARGIN", default: "10m")
        refreshGiveUp = try environment.duration("JUNCTION_TOKEN_REFRESH_GIVE_UP", default: "4d")
        refreshWait = try environment.duration("JUNCTION_TOKEN_REFRESH_WAIT", default: "15s")
        checkInterval = try environment.duration("JUNCTION_CONNECTION_CHECK_INTERVAL", default: "24h")
    }
}
