import Foundation

/// One outbound HTTP request.
public struct OutboundRequest: Sendable {
    public var method: String
    public var url: String
    /// Header fields in order; a name may repeat.
    public var headers: [(name: String, value: String)]
    public var body: [UInt8]
    /// How long establishing the connection (TCP and TLS) may take.
    public var connectTimeout: Duration
    /// How long the whole exchange may take, connection included.
    public var timeout: Duration

    public init(
        method: String = "GET", url: String, headers: [(name: String, value: String)] = [], body: [UInt8] = [],
        connectTimeout: Duration = .seconds(5), timeout: Duration = .seconds(30)
    ) {
        self.method = method
        self.url = url
        self.headers = headers
        self.body = body
        self.connectTimeout = connectTimeout
        self.timeout = timeout
    }
}

/// What came back: the final status, its header fields and the body.
public struct OutboundResponse: Sendable {
    public let status: Int
    /// Header fields of the final response, in order, names as the server sent them.
    public let headers: [(name: String, value: String)]
    public let body: [UInt8]

    public init(status: Int, headers: [(name: String, value: String)], body: [UInt8]) {
        self.status = status
        self.headers = headers
        self.body = body
    }

    /// The first value of the named header, compared case-insensitively.
    public func header(_ name: String) -> String? {
        headers.first { $0.name.caseInsensitiveCompare(name) == .orderedSame }?.value
    }

    /// How long the server asked the caller to wait (`Retry-After`, seconds or HTTP-date), or nil
    /// when it did not ask or the value is unreadable.
    public func retryAfter(now: Date = Date()) -> Duration? {
        header("Retry-After").flatMap { RetryAfter.parse($0, now: now) }
    }

    /// The body as UTF-8 text.
    public var text: String { String(decoding: body, as: UTF8.self) }
}
