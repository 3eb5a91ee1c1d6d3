import Logging

/// Jobs vanish when Redis evicts keys under memory pressure, so Junction refuses to run against a
/// Redis whose `maxmemory-policy` is anything but `noeviction`.
public enum RedisEvictionPolicy {
    public enum Verdict: Sendable, Equatable {
        case safe
        /// The policy evicts keys: refuse to run.
        case unsafe(policy: String)
        /// The server does not allow `CONFIG GET` (some managed services): warn and go on.
        case unknown(reason: String)
    }

    /// Asks the server for its policy.
    public static func check(_ connection: RedisConnection) throws(RedisError) -> Verdict {
        let reply: RedisReply
        do {
            reply = try connection.command("CONFIG", "GET", "maxmemory-policy")
        } catch .server(let message) {
            return .unknown(reason: message)
        }
        let values = try reply.array()
        guard values.count == 2, let policy = try values[1].string() else {
            return .unknown(reason: "CONFIG GET maxmemory-policy answered \(reply)")
        }
        return policy == "noeviction" ? .safe : .unsafe(policy: policy)
    }

    /// The message for an unsafe policy.
    public static func refusal(_ policy: String) -> String {
        "Redis maxmemory-policy is \(policy): under memory pressure Redis would delete queued jobs. Set `maxmemory-policy noeviction` (redis.conf or CONFIG SET) and start again"
    }
}

extension RedisEvictionPolicy {
    /// The start-up check of a process that queues or runs jobs: throws
    /// ``UnsafeRedisConfiguration`` for an evicting policy, logs a warning when the policy cannot
    /// be read. Other Redis errors are thrown as they are.
    public static func verify(_ redis: RedisClient, logger: Logger) async throws {
        switch try await redis.withConnection({ try check($0) }) {
        case .safe:
            return
        case .unsafe(let policy):
            throw UnsafeRedisConfiguration(description: refusal(policy))
        case .unknown(let reason):
            logger.warning("cannot read Redis maxmemory-policy; make sure it is noeviction, or queued jobs can be lost", metadata: ["reason": .string(reason)])
        }
    }
}

/// Redis is configured so that it may delete queued jobs.
public struct UnsafeRedisConfiguration: Error, CustomStringConvertible {
    public let description: String
}
