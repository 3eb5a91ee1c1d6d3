/// A Lua script run with `EVALSHA`. Connections load it on first use and reload it after
/// `NOSCRIPT`, so callers never send the source on the hot path.
public struct RedisScript: Sendable, Hashable {
    /// A short name for logs and errors, such as `enqueue-3`.
    public let name: String
    /// The Lua source.
    public let source: String

    public init(name: String, source: String) {
        self.name = name
        self.source = source
    }
}
