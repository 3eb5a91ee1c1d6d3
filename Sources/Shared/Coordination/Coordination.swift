import Foundation
import JunctionCore

/// The fleet's coordination in Redis: where its keys are and the scripts that change them, shared
/// by ``DistributedLocks``, ``CircuitBreakers``, ``RateLimiter`` and ``LeaderLease``.
///
/// ```swift
/// let coordination = Coordination(namespace: queueSettings.keys.namespace, scripts: try CoordinationScripts.bundled())
/// let locks = DistributedLocks(coordination)
/// ```
public struct Coordination: Sendable {
    public let keys: CoordinationKeys
    public let scripts: CoordinationScripts

    public init(namespace: String, scripts: CoordinationScripts) {
        keys = CoordinationKeys(namespace: namespace)
        self.scripts = scripts
    }
}

/// The coordination's Lua scripts as loaded, one file per atomic transition in
/// `Coordination/Scripts/lua` (the `JunctionCoordination` resource bundle), named
/// `<transition>-<keys>.lua` after the keys every call passes; each has its Swift type beside it
/// in `Coordination/Scripts`.
public struct CoordinationScripts: Sendable {
    let lock: LockScript
    let lockRenew: LockRenewScript
    let release: ReleaseScript
    let lease: LeaseScript
    let breaker: BreakerScript
    let limit: LimitScript

    /// Reads the scripts from `directory`, `JUNCTION_SCRIPTS_DIR`, or the resource bundle.
    public static func bundled(directory: URL? = nil, environment: EnvironmentVariables = EnvironmentVariables()) throws -> CoordinationScripts {
        let folder = try BundledResources.directory("lua", library: "JunctionCoordination", explicit: directory, overrideVariable: "JUNCTION_SCRIPTS_DIR", environment: environment)
        func load(_ name: String) throws -> RedisScript { try RedisScript(file: name, in: folder) }
        return CoordinationScripts(
            lock: LockScript(try load(LockScript.file)), lockRenew: LockRenewScript(try load(LockRenewScript.file)),
            release: ReleaseScript(try load(ReleaseScript.file)), lease: LeaseScript(try load(LeaseScript.file)),
            breaker: BreakerScript(try load(BreakerScript.file)), limit: LimitScript(try load(LimitScript.file)))
    }
}
