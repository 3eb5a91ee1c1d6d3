import Foundation
import JunctionCore

/// `lua/fetch-7.lua`: leases up to N ready jobs, highest priority first (every K-th call lowest
/// first, so low priorities still progress under a flood).
struct FetchScript: Sendable {
    static let file = "fetch-7"

    let script: RedisScript
    /// KEYS[1…4] the priority lists, KEYS[5] in-flight, KEYS[6] jobs, KEYS[7] stats.
    private let keys: [RedisArgument]

    init(_ script: RedisScript, keys: QueueKeys) {
        self.script = script
        self.keys = keys.queues.map { RedisArgument($0) } + [RedisArgument(keys.inflight), RedisArgument(keys.jobs), RedisArgument(keys.stats)]
    }

    /// ARGV: now, lease, most jobs, token prefix, starvation guard.
    func call(count: Int, tokenPrefix: String, lease: Duration, lowPriorityEvery: Int, now: Date) -> ScriptCall {
        (script, keys, [RedisArgument(Milliseconds.of(now)), RedisArgument(Milliseconds.of(lease)), RedisArgument(count),
                        RedisArgument(tokenPrefix), RedisArgument(lowPriorityEvery)])
    }

    /// The reply, a flat `id, token, envelope, …`: an envelope that cannot be read comes back as
    /// `.failure` with its id, so the caller can dead-letter it.
    static func leasedJobs(_ reply: RedisReply) throws -> [Result<LeasedJob, UnreadableJob>] {
        let parts = try reply.array()
        var jobs: [Result<LeasedJob, UnreadableJob>] = []
        jobs.reserveCapacity(parts.count / 3)
        var index = 0
        while index + 2 < parts.count {
            let id = try parts[index].string() ?? ""
            let token = try parts[index + 1].string() ?? ""
            let raw = try parts[index + 2].string() ?? ""
            do {
                jobs.append(.success(LeasedJob(envelope: try JobEnvelope.decode(raw), token: token)))
            } catch {
                jobs.append(.failure(UnreadableJob(id: id, token: token, raw: raw, reason: "\(error)")))
            }
            index += 3
        }
        return jobs
    }
}
