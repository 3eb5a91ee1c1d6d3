import Foundation
import JunctionCoordination
import JunctionCore
import JunctionQueue
import Logging
import ServiceLifecycle
import Synchronization

/// The life of a worker process: wait for Redis and PostgreSQL, refuse an evicting Redis, run the
/// processors and the housekeeper, and on SIGTERM stop fetching, give in-flight jobs the grace
/// period, then hand back whatever is still running.
struct WorkerRuntime: Service {
    let settings: WorkerSettings
    let core: CoreSettings
    let queue: Queue
    let coordination: Coordination
    let handlers: HandlerRegistry
    let logger: Logger

    func run() async throws {
        guard try await ProcessBootstrap.waitForDependencies(core, logger: logger) else { return }

        let workerID = "\(ProcessInfo.processInfo.hostName)-\(getpid())-\(UUID().uuidString.prefix(6).lowercased())"
        let context = ProcessorContext(
            queue: queue, coordination: coordination, handlers: handlers, settings: settings, core: core, running: RunningJobs(), stopping: CancellationFlag(),
            workerID: workerID, logger: logger)
        let housekeeper = BackgroundThread(name: "housekeeper") { stopped in Housekeeper(context: context).loop(until: stopped) }
        housekeeper.start()
        let active = Atomic<Int>(settings.concurrency)
        for index in 0..<settings.concurrency {
            Thread {
                Thread.current.name = "processor-\(index)"
                Processor(index: index, context: context).run()
                active.subtract(1, ordering: .releasing)
            }.start()
        }
        logger.info("worker started", metadata: [
            "worker": .string(workerID), "concurrency": .stringConvertible(settings.concurrency),
            "namespace": .string(queue.settings.keys.namespace), "job_types": .array(handlers.types.map { .string($0) }),
        ])

        try? await gracefulShutdown()
        context.stopping.set()
        logger.info("stopping: fetching no more jobs, letting running ones finish", metadata: [
            "grace_ms": .stringConvertible(Milliseconds.of(settings.shutdownGrace)), "running": .stringConvertible(context.running.snapshot.count),
        ])
        let deadline = ContinuousClock.now + settings.shutdownGrace
        while active.load(ordering: .acquiring) > 0 && ContinuousClock.now < deadline {
            try? await Task.sleep(for: .milliseconds(20))
        }
        let unfinished = context.running.snapshot
        if !unfinished.isEmpty {
            for entry in unfinished { context.running.cancel(entry.id) }
            let returned = try? await handBack(unfinished)
            logger.warning("grace period over: handed running jobs back to their lists", metadata: [
                "jobs": .stringConvertible(unfinished.count), "handed_back": .stringConvertible(returned ?? 0),
            ])
        }
        await housekeeper.stop()
    }

    /// Returns still-running jobs to their lists, on a connection of its own.
    private func handBack(_ entries: [RunningJobs.Entry]) async throws -> Int {
        let redis = RedisClient(core.redis, connections: 1)
        defer { Task { await redis.shutdown() } }
        let queue = self.queue
        return try await redis.withConnection { connection in try queue.handBack(entries.map { ($0.id, $0.token) }, on: connection) }
    }
}
