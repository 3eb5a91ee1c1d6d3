import JunctionCore

/// Where the ingress listens.
public struct IngressSettings: Sendable {
    public var host: String
    public var port: Int

    package init(host: String, port: Int) {
        self.host = host
        self.port = port
    }

    /// Reads `JUNCTION_INGRESS_HOST` (default `127.0.0.1`) and `JUNCTION_INGRESS_PORT`
    /// (default `8080`).
    public init(environment: EnvironmentVariables) throws(ConfigurationError) {
        host = environment.string("JUNCTION_INGRESS_HOST", default: "127.0.0.1")
        port = try environment.integer("JUNCTION_INGRESS_PORT", default: 8080, in: 1...65535)
    }
}
