import Foundation
import JunctionCore

/// The queue's Lua scripts as loaded: one file per atomic transition in `Queue/Scripts/lua`
/// (shipped in the `JunctionQueue` resource bundle), named `<transition>-<keys>.lua` after the
/// number of keys every call passes. Each file's header lists its KEYS, ARGV and reply; the Swift
/// type beside it in `Queue/Scripts` (``EnqueueScript``, ``FetchScript``, …) is the only code that
/// knows that layout.
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
    public let cancel: RedisScript

    /// Reads the scripts from `directory`, `JUNCTION_SCRIPTS_DIR`, or the resource bundle.
    public static func bundled(directory: URL? = nil, environment: EnvironmentVariables = EnvironmentVariables()) throws -> QueueScripts {
        let folder = try BundledResources.directory("lua", library: "JunctionQueue", explicit: directory, overrideVariable: "JUNCTION_SCRIPTS_DIR", environment: environment)
        func load(_ name: String) throws -> RedisScript { try RedisScript(file: name, in: folder) }
        return QueueScripts(
            enqueue: try load(EnqueueScript.file), fetch: try load(FetchScript.file), renew: try load(RenewScript.file),
            ack: try load(AckScript.file), fail: try load(FailScript.file), promote: try load(PromoteScript.file),
            reap: try load(ReapScript.file), handBack: try load(HandBackScript.file), replay: try load(ReplayScript.file),
            purge: try load(PurgeScript.file), cancel: try load(CancelScript.file))
    }
}
