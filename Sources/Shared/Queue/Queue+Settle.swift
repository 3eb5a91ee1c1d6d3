import Foundation
import JunctionCore

/// How an attempt that did not succeed ends.
public enum AttemptEnd: Sendable, Equatable {
    /// Run again at `due`, counting this attempt.
    case retry(due: Date)
    /// Run again at `due` without counting this attempt (open circuit, rate limit, lock busy).
    case reschedule(due: Date)
    /// Give up: to the dead letters.
    case dead

    /// The `outcome` label of `junction_jobs_total`.
    public var metricOutcome: String {
        switch self {
        case .retry: "retried"
        case .reschedule: "rescheduled"
        case .dead: "dead"
        }
    }
}

extension Queue {
    /// The script call that acknowledges finished jobs (processors send it with their next fetch).
    public func ackCall(_ jobs: [(id: String, token: String)]) -> ScriptCall { ackScript.call(jobs) }

    /// Reads the reply of an ``ackCall(_:)``: per job, false when its lease was lost meanwhile.
    public static func acknowledged(_ reply: RedisReply) throws -> [Bool] { try AckScript.acknowledged(reply) }

    /// Acknowledges finished jobs; per job, false when its lease was lost meanwhile.
    @discardableResult
    public func ack(_ jobs: [(id: String, token: String)], on connection: RedisConnection) throws -> [Bool] {
        guard !jobs.isEmpty else { return [] }
        return try Self.acknowledged(try connection.evaluate(ackCall(jobs)))
    }

    /// Ends an attempt that did not succeed, storing `envelope` (with its new attempt count and
    /// error) as the job's state. `token` nil is for poison pills, which hold no lease. False when
    /// the lease was lost (nothing changed).
    @discardableResult
    public func end(_ envelope: JobEnvelope, token: String?, as end: AttemptEnd, on connection: RedisConnection, now: Date = Date()) throws -> Bool {
        let call = failScript.call(envelope, token: token, end: end, deadLetterCaps: (settings.deadLetterMaxEntries, settings.deadLetterMaxAge), now: now)
        return try FailScript.ended(try connection.evaluate(call))
    }

    /// Returns leased jobs to the front of their lists without counting an attempt.
    @discardableResult
    public func handBack(_ jobs: [(id: String, token: String)], on connection: RedisConnection) throws -> Int {
        guard !jobs.isEmpty else { return 0 }
        return try HandBackScript.count(try connection.evaluate(handBackScript.call(jobs)))
    }
}
