import Logging
import Synchronization

/// The outcome of checking one dependency.
public struct DependencyStatus: Sendable, Equatable {
    public let name: String
    /// nil when the dependency answered; otherwise why not.
    public let error: String?

    public var isHealthy: Bool { error == nil }

    public init(name: String, error: String?) {
        self.name = name
        self.error = error
    }
}

/// Checks that Redis answers `PING` and PostgreSQL answers `SELECT 1`.
public struct DependencyChecks: Sendable {
    public let redis: RedisClient
    public let database: PostgresClient

    public init(redis: RedisClient, database: PostgresClient) {
        self.redis = redis
        self.database = database
    }

    /// Both checks, run concurrently; Redis first in the result. With a `deadline`, a check that
    /// has not answered by then is reported as failing ("no answer within …") instead of being
    /// waited for: a readiness probe answers promptly even when a connection hangs (a server
    /// that accepts but never replies, every pooled connection busy). The late probe still ends
    /// on its own, at the client's connect or command timeout.
    public func check(deadline: Duration? = nil) async -> [DependencyStatus] {
        async let redisStatus = Self.status("redis", deadline: deadline) { [redis] in
            guard try await redis.command("PING").string() == "PONG" else { throw RedisError.unexpectedReply(expected: "PONG", got: .null) }
        }
        async let databaseStatus = Self.status("postgres", deadline: deadline) { [database] in
            try await database.query("SELECT 1")
        }
        return await [redisStatus, databaseStatus]
    }

    /// Checks until both dependencies answer, logging each failure and waiting a little longer
    /// each time (up to 5 s). Returns false if the task was cancelled (shutdown) first.
    public func waitUntilHealthy(logger: Logger) async -> Bool {
        var delay = Duration.milliseconds(250)
        while !Task.isCancelled {
            let failing = await check().filter { !$0.isHealthy }
            if failing.isEmpty { return true }
            for status in failing {
                logger.warning("dependency unavailable, retrying", metadata: [
                    "dependency": .string(status.name), "error": .string(status.error ?? ""), "retry_in_ms": "\(Milliseconds.of(delay))",
                ])
            }
            try? await Task.sleep(for: delay)
            delay = min(delay * 2, .seconds(5))
        }
        return false
    }

    private static func status(_ name: String, deadline: Duration?, _ probe: @escaping @Sendable () async throws -> Void) async -> DependencyStatus {
        @Sendable func run() async -> DependencyStatus {
            do {
                try await probe()
                return DependencyStatus(name: name, error: nil)
            } catch {
                return DependencyStatus(name: name, error: "\(error)")
            }
        }
        guard let deadline else { return await run() }
        // Not a task group: a group waits for all its children, and the probe's blocking call
        // cannot be cancelled. Whichever finishes first answers; the other is dropped.
        let first = FirstAnswer<DependencyStatus>()
        return await withCheckedContinuation { continuation in
            first.wait(with: continuation)
            let timer = Task {
                guard (try? await Task.sleep(for: deadline)) != nil else { return }
                first.answer(DependencyStatus(name: name, error: "no answer within \(Self.describe(deadline))"))
            }
            Task {
                first.answer(await run())
                timer.cancel()
            }
        }
    }

    static func describe(_ duration: Duration) -> String {
        let milliseconds = Milliseconds.of(duration)
        return milliseconds % 1000 == 0 ? "\(milliseconds / 1000) s" : "\(milliseconds) ms"
    }
}

/// Resumes one continuation with the first of several answers.
private final class FirstAnswer<Value: Sendable>: Sendable {
    private let continuation = Mutex<CheckedContinuation<Value, Never>?>(nil)

    func wait(with continuation: CheckedContinuation<Value, Never>) {
        self.continuation.withLock { $0 = continuation }
    }

    func answer(_ value: Value) {
        continuation.withLock { stored in
            defer { stored = nil }
            return stored
        }?.resume(returning: value)
    }
}
