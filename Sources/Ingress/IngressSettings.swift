import JunctionCore

/// Where the ingress listens.
public struct IngressSettings: Sendable {
    public var host: String
    public var port: Int
    /// Timeouts and the cap of open connections (``ConnectionLimits``).
    public var limits: ConnectionLimits

    package init(host: String, port: Int, limits: ConnectionLimits = ConnectionLimits()) {
        self.host = host
        self.port = port
        self.limits = limits
    }

    /// Reads `JUNCTION_INGRESS_HOST` (default `127.0.0.1`) and `JUNCTION_INGRESS_PORT`
    /// (default `8080`).
    public init(environment: EnvironmentVariables) throws(ConfigurationError) {
        host = environment.string("JUNCTION_INGRESS_HOST", default: "127.0.0.1")
        port = try environment.integer("JUNCTION_INGRESS_PORT", default: 8080, in: 1...65535)
        limits = try ConnectionLimits(environment: environment)
    }
}
