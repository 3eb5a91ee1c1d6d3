import Foundation
import JunctionCore

/// A lock this process holds: the value proves ownership, the fence orders it after every earlier
/// holder of the same lock.
public struct HeldLock: Sendable, Equatable {
    public let name: String
    /// `<owner>|<fence>`, compared by renew and release.
    public let value: String
    /// Larger than the fence of every earlier holder: carry it into guarded writes.
    public let fence: Int64
    public let ttl: Duration

    public init(name: String, value: String, fence: Int64, ttl: Duration) {
        self.name = name
        self.value = value
        self.fence = fence
        self.ttl = ttl
    }
}

/// What ``DistributedLocks/acquire(_:ttl:on:)`` found.
public enum LockAttempt: Sendable, Equatable {
    case acquired(HeldLock)
    /// Someone else holds it; it expires in `expiresIn` unless renewed.
    case busy(expiresIn: Duration)
}

/// Fleet-wide locks in Redis (`SET NX PX` semantics in one script), each acquisition numbered by a
/// fencing token that only grows. Renew while working; release by compare-and-delete, so a holder
/// whose lock expired can never delete its successor's.
///
/// ```swift
/// let locks = DistributedLocks(coordination)
/// guard case .acquired(let lock) = try locks.acquire("sync:venue-1:stripe:customers", ttl: .seconds(30), on: redis) else { … }
/// defer { _ = try? locks.release(lock, on: redis) }
/// try SyncStateStore().save(…, fence: lock.fence, on: database)
/// ```
public struct DistributedLocks: Sendable {
    public let coordination: Coordination
    private var keys: CoordinationKeys { coordination.keys }

    public init(_ coordination: Coordination) {
        self.coordination = coordination
    }

    public static func isValidName(_ name: String) -> Bool {
        !name.isEmpty && name.utf8.count <= 200 && !name.contains(where: { $0.isWhitespace || $0 == "*" || $0 == "?" || $0 == "[" || $0 == "]" })
    }

    public func acquire(_ name: String, ttl: Duration, owner: String = UUID().uuidString.lowercased(), on redis: RedisConnection) throws -> LockAttempt {
        precondition(Self.isValidName(name), "lock names are 1 to 200 characters without spaces or glob characters")
        let reply = try redis.evaluate(coordination.scripts.lock.call(name, owner: owner, ttl: ttl, keys: keys))
        return try LockScript.attempt(reply, name: name, owner: owner, ttl: ttl)
    }

    /// The call that extends `lock` (for pipelining with lease renewals); its reply is 1 when
    /// still held.
    public func renewCall(_ lock: HeldLock) -> ScriptCall { coordination.scripts.lockRenew.call(lock, keys: keys) }

    /// Extends the lock by its TTL; false when it was lost (expired, or taken by someone else).
    public func renew(_ lock: HeldLock, on redis: RedisConnection) throws -> Bool {
        try LockRenewScript.renewed(try redis.evaluate(renewCall(lock)))
    }

    /// Releases the lock if still held; false when it had already gone to someone else.
    @discardableResult
    public func release(_ lock: HeldLock, on redis: RedisConnection) throws -> Bool {
        try ReleaseScript.released(try redis.evaluate(coordination.scripts.release.call(key: keys.lock(lock.name), value: lock.value)))
    }

    /// Every lock held now, for `junction locks`.
    public func list(on redis: RedisConnection) throws -> [(name: String, owner: String, fence: Int64, expiresIn: Duration)] {
        let prefix = keys.lock("")
        let names = try redis.keys(matching: keys.lock("*"))
        var locks: [(String, String, Int64, Duration)] = []
        for key in names {
            let replies = try redis.pipeline([["GET", RedisArgument(key)], ["PTTL", RedisArgument(key)]])
            guard let value = try replies[0].string(), let bar = value.lastIndex(of: "|") else { continue }
            locks.append((String(key.dropFirst(prefix.count)), String(value[..<bar]), Int64(value[value.index(after: bar)...]) ?? 0,
                          .milliseconds(max(0, try replies[1].int()))))
        }
        return locks
    }
}
