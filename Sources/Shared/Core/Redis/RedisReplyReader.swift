import CHiredis

/// Parses RESP replies from bytes as they arrive, with hiredis's reader (`redisReader`): what a
/// connection that does its own I/O (the ingress's event-loop connection) uses to read Redis's
/// answers. Feed it whatever the socket delivered, then take the complete replies.
///
/// Not thread-safe: one owner (an event loop).
public final class RedisReplyReader {
    private let reader: UnsafeMutablePointer<redisReader>

    public init() {
        reader = redisReaderCreate()
    }

    deinit {
        redisReaderFree(reader)
    }

    /// Appends bytes read from the connection.
    public func feed(_ bytes: UnsafeRawBufferPointer) throws(RedisError) {
        guard let base = bytes.baseAddress, bytes.count > 0 else { return }
        guard redisReaderFeed(reader, base.assumingMemoryBound(to: CChar.self), bytes.count) == REDIS_OK else {
            throw .connectionLost("not a Redis reply: \(Self.error(reader))")
        }
    }

    /// The next complete reply, or nil until more bytes arrive. A protocol error (bytes that are
    /// not RESP) throws ``RedisError/connectionLost(_:)``: drop the connection.
    public func next() throws(RedisError) -> RedisReply? {
        var raw: UnsafeMutableRawPointer?
        guard redisReaderGetReply(reader, &raw) == REDIS_OK else { throw .connectionLost("not a Redis reply: \(Self.error(reader))") }
        guard let raw else { return nil }
        defer { freeReplyObject(raw) }
        return RedisConnection.convert(raw.assumingMemoryBound(to: redisReply.self))
    }

    private static func error(_ reader: UnsafeMutablePointer<redisReader>) -> String {
        withUnsafeBytes(of: reader.pointee.errstr) { raw in
            String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
        }
    }
}
