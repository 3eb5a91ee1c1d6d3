import Foundation
import JunctionCore

/// The queue's and the coordination's Lua scripts, one file per atomic transition in `Queue/scripts` (shipped in the
/// resource bundle). Each file's header lists its KEYS, ARGV and reply.
public struct QueueScripts: Sendable {
    public let enqueue: RedisScript
    public let fetch: RedisScript
    public let renew: RedisScript
    public let ack: RedisScript
    public let fail: RedisScript
    public let promote: RedisScript
    public let reap: RedisScript
    public let handBack: RedisScript
    public let replay: RedisScript
    public let purge: RedisScript
    /// Take or keep a lease (scheduler leadership).
    public let lease: RedisScript
    /// Give a lease up if still held (also releases a lock: compare-and-delete).
    public let release: RedisScript
    /// Take a fleet-wide lock with a fencing token.
    public let lock: RedisScript
    /// Extend a lock while still its holder.
    public let lockRenew: RedisScript
    /// Circuit breaker: allow a call, or record its outcome.
    public let breaker: RedisScript
    /// Rate limits: acquire, release, pause.
    public let limit: RedisScript

    /// Reads the scripts from `directory`, `JUNCTION_SCRIPTS_DIR`, or the resource bundle.
    public static func bundled(directory: URL? = nil, environment: EnvironmentVariables = EnvironmentVariables()) throws -> QueueScripts {
        let folder = try BundledResources.directory("scripts", library: "JunctionQueue", explicit: directory, overrideVariable: "JUNCTION_SCRIPTS_DIR", environment: environment)
        func load(_ name: String) throws -> RedisScript {
            RedisScript(name: name, source: try String(contentsOf: folder.appendingPathComponent("\(name).lua"), encoding: .utf8))
        }
        return QueueScripts(
            enqueue: try load("enqueue-8"), fetch: try load("fetch-7"), renew: try load("renew-1"), ack: try load("ack-4"),
            fail: try load("fail-8"), promote: try load("promote-7"), reap: try load("reap-9"),
            handBack: try load("handback-6"), replay: try load("replay-8"), purge: try load("purge-2"),
            lease: try load("lease-1"), release: try load("release-1"), lock: try load("lock-2"), lockRenew: try load("lockrenew-1"),
            breaker: try load("breaker-1"), limit: try load("limit-1"))
    }
}
