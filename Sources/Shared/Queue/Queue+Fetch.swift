import Foundation
import JunctionCore

/// A job a processor holds: its envelope and the lease token that proves it.
public struct LeasedJob: Sendable {
    public var envelope: JobEnvelope
    public let token: String
}

/// A leased job whose envelope could not be read (corrupted by hand, say): it is dead-lettered
/// as it is rather than retried forever.
public struct UnreadableJob: Error, Sendable {
    public let id: String
    public let token: String
    public let raw: String
    public let reason: String
}

extension Queue {
    /// The script call that leases up to `count` ready jobs.
    public func fetchCall(count: Int, tokenPrefix: String, now: Date = Date()) -> ScriptCall {
        fetchScript.call(count: count, tokenPrefix: tokenPrefix, lease: settings.lease, lowPriorityEvery: settings.lowPriorityEvery, now: now)
    }

    /// Reads the reply of a ``fetchCall(count:tokenPrefix:now:)``. An envelope that cannot be
    /// read comes back as `.failure` with its id, so the caller can dead-letter it.
    public static func leasedJobs(_ reply: RedisReply) throws -> [Result<LeasedJob, UnreadableJob>] {
        try FetchScript.leasedJobs(reply)
    }

    /// Leases up to `count` ready jobs, highest priority first.
    public func fetch(count: Int, tokenPrefix: String, on connection: RedisConnection, now: Date = Date()) throws -> [Result<LeasedJob, UnreadableJob>] {
        try Self.leasedJobs(try connection.evaluate(fetchCall(count: count, tokenPrefix: tokenPrefix, now: now)))
    }

    /// Extends the leases of running jobs; per job, false when its lease is lost.
    public func renew(_ jobs: [(id: String, token: String)], on connection: RedisConnection, now: Date = Date()) throws -> [Bool] {
        guard !jobs.isEmpty else { return [] }
        return try RenewScript.held(try connection.evaluate(renewScript.call(jobs, lease: settings.lease, now: now)))
    }
}
