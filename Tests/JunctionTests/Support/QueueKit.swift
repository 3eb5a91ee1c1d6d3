import Foundation
import JunctionCoordination
import JunctionCore
import JunctionQueue

/// Queues for tests: each gets a namespace of its own on the shared Redis, so tests never see
/// each other's jobs.
enum QueueKit {
    static let scripts: QueueScripts = {
        do {
            return try QueueScripts.bundled(directory: TestStack.repositoryRoot.appendingPathComponent("Sources/Shared/Queue/Scripts/lua"))
        } catch {
            fatalError("cannot load the queue scripts: \(error)")
        }
    }()

    static let coordinationScripts: CoordinationScripts = {
        do {
            return try CoordinationScripts.bundled(directory: TestStack.repositoryRoot.appendingPathComponent("Sources/Shared/Coordination/Scripts/lua"))
        } catch {
            fatalError("cannot load the coordination scripts: \(error)")
        }
    }()

    /// The coordination in `queue`'s namespace, as a worker configured for that queue has it.
    static func coordination(_ queue: Queue) -> Coordination {
        Coordination(namespace: queue.settings.keys.namespace, scripts: coordinationScripts)
    }

    static func queue(_ configure: (inout QueueSettings) -> Void = { _ in }) -> Queue {
        var settings = QueueSettings(keys: QueueKeys(namespace: "t\(UUID().uuidString.prefix(12).lowercased())"))
        configure(&settings)
        return Queue(settings: settings, scripts: scripts)
    }

    /// The environment for a worker or CLI process on `stack`, using `queue`'s namespace.
    static func environment(_ stack: TestStack, queue: Queue, database: PostgresConfiguration? = nil, _ extra: [String: String] = [:]) -> [String: String] {
        stack.environment(database: database, ["JUNCTION_QUEUE_NAMESPACE": queue.settings.keys.namespace].merging(extra) { $1 })
    }

    static func request(_ payload: JSONValue = .object([:]), type: String = "system.noop", priority: JobPriority = .normal) -> JobRequest {
        JobRequest(type: type, payload: payload, priority: priority)
    }

    /// Leased jobs, failing the test on an unreadable one.
    static func fetch(_ queue: Queue, _ count: Int = 1, on connection: RedisConnection, now: Date = Date()) throws -> [LeasedJob] {
        try queue.fetch(count: count, tokenPrefix: "test", on: connection, now: now).map { try $0.get() }
    }

    /// Polls `condition` until it holds; the limit only turns a hang into a failure.
    static func eventually(_ what: String, limit: Duration = .seconds(60), _ condition: @Sendable () async throws -> Bool) async throws {
        let deadline = ContinuousClock.now + limit
        while ContinuousClock.now < deadline {
            if try await condition() { return }
            try await Task.sleep(for: .milliseconds(50))
        }
        throw StackError("timed out waiting until \(what)")
    }
}

