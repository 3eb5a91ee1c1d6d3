/// Errors that know whether a retry can help (Redis, PostgreSQL and HTTP errors do).
public protocol RetryClassifiable: Error {
    var isRetryable: Bool { get }
}

extension RedisError: RetryClassifiable {}
extension PostgresError: RetryClassifiable {}
extension OutboundHTTPError: RetryClassifiable {}
