/// The hash-tagged prefix every Junction key starts with: `{junction}` by default
/// (`JUNCTION_QUEUE_NAMESPACE`), so all of a namespace's keys live in one Redis Cluster slot and
/// every script works there. ``QueueKeys`` and `CoordinationKeys` build each key from it; no key is
/// spelled out anywhere else.
public struct RedisNamespace: Sendable, Equatable {
    public let name: String
    /// `{name}`.
    public let prefix: String

    public init(_ name: String = "junction") {
        self.name = name
        self.prefix = "{\(name)}"
    }

    /// `{name}:part:part…`.
    public func key(_ parts: String...) -> String {
        parts.reduce(prefix) { $0 + ":" + $1 }
    }
}
