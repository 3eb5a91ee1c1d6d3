import Foundation

/// Where and how to reach Redis, parsed from a `redis://[[user]:password@]host[:port][/db]` URL.
public struct RedisConfiguration: Sendable, Equatable {
    public var host: String
    public var port: Int
    public var username: String?
    public var password: String?
    public var database: Int
    /// How long establishing a connection may take.
    public var connectTimeout: Duration
    /// How long one command (or one pipeline's reply) may take before the connection is dropped.
    /// Blocking commands pass their own, longer, timeout.
    public var commandTimeout: Duration
    /// The name shown by `CLIENT LIST`, so ops can tell the processes apart.
    public var clientName: String?

    public init(
        host: String = "127.0.0.1", port: Int = 6379, username: String? = nil, password: String? = nil,
        database: Int = 0, connectTimeout: Duration = .seconds(2), commandTimeout: Duration = .seconds(5),
        clientName: String? = nil
    ) {
        self.host = host
        self.port = port
        self.username = username
        self.password = password
        self.database = database
        self.connectTimeout = connectTimeout
        self.commandTimeout = commandTimeout
        self.clientName = clientName
    }

    /// Parses a `redis://` URL. The password may be percent-encoded; the path names the database.
    public init(url: String) throws(InvalidValue) {
        guard let components = URLComponents(string: url), let scheme = components.scheme else {
            throw InvalidValue("not a URL")
        }
        guard scheme == "redis" else {
            if scheme == "rediss" {
                throw InvalidValue("TLS (rediss://) is not supported by the hiredis 0.14 client; reach Redis over a private network or a TLS tunnel")
            }
            throw InvalidValue("the scheme must be redis://, not \(scheme)://")
        }
        guard let host = components.host, !host.isEmpty else { throw InvalidValue("the URL has no host") }
        self.init(host: host)
        if let port = components.port {
            guard (1...65535).contains(port) else { throw InvalidValue("port \(port) is out of range") }
            self.port = port
        }
        if let user = components.percentEncodedUser, !user.isEmpty {
            self.username = user.removingPercentEncoding
        }
        if let password = components.percentEncodedPassword, !password.isEmpty {
            self.password = password.removingPercentEncoding
        }
        let path = components.path.trimmingCharacters(in: CharacterSet(charactersIn: "/"))
        if !path.isEmpty {
            guard let database = Int(path), database >= 0 else {
                throw InvalidValue("the path must be a database number such as /0, not /\(path)")
            }
            self.database = database
        }
    }

    /// The URL with the password replaced by `***`, for logs.
    public var redactedURL: String {
        let credentials = switch (username, password) {
        case (nil, nil): ""
        case (let user?, nil): "\(user)@"
        case (let user, _?): "\(user ?? ""):***@"
        }
        return "redis://\(credentials)\(host):\(port)/\(database)"
    }
}
