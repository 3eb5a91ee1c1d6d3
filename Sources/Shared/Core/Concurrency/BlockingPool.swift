import Foundation

/// A fixed set of dedicated threads, each owning one resource (a hiredis context, a libpq
/// connection, a curl handle), that runs blocking work for async callers.
///
/// hiredis, libpq and libcurl block the calling thread. Running them on the Swift cooperative pool
/// (two threads on a two-core machine) or on a NIO event loop would stall everything else, so they
/// run here: an async caller hands over a closure, one of the pool's threads runs it with the
/// resource that thread owns, and the caller is resumed with the result. A resource never leaves
/// its thread, so it needs no lock and is never used by two callers at once.
///
/// ```swift
/// let pool = BlockingPool(name: "redis", size: 4) { try RedisConnection(configuration) }
/// let reply = try await pool.run { connection in try connection.command("PING") }
/// ```
///
/// Resources are created lazily, on first use by their thread, so a pool can be built while its
/// server is still down; the factory's error is then thrown to the caller that needed it, and the
/// next job on that thread tries again. A resource that loses its server repairs itself (the
/// Redis and PostgreSQL connections reconnect before their next use).
public final class BlockingPool<Resource>: Sendable {
    private let pending: PendingWork
    private let threadCount: Int
    private let exited: DispatchGroup

    /// Starts `size` threads named `name-0`, `name-1`, …; each calls `factory` the first time it
    /// runs a job, and again on its next job while the factory keeps failing.
    /// `cleanup` runs on the owning thread when the pool shuts down.
    public init(
        name: String,
        size: Int,
        factory: @escaping @Sendable () throws -> Resource,
        cleanup: @escaping @Sendable (Resource) -> Void = { _ in }
    ) {
        precondition(size > 0, "a BlockingPool needs at least one thread")
        self.pending = PendingWork()
        self.threadCount = size
        self.exited = DispatchGroup()
        for index in 0..<size {
            exited.enter()
            let pending = self.pending
            let group = self.exited
            let threadName = "\(name)-\(index)"
            Thread {
                // Named from inside the thread, so top -H and gdb show it too.
                Thread.current.name = threadName
                PoolThread.mark(threadName)
                Self.threadMain(pending: pending, factory: factory, cleanup: cleanup)
                group.leave()
            }.start()
        }
    }

    deinit {
        pending.close()
    }

    /// The number of threads, and so of resources, in the pool.
    public var size: Int { threadCount }

    /// Runs `body` on one of the pool's threads with the resource that thread owns.
    ///
    /// Throws ``BlockingPoolError/shutDown`` once ``shutdown()`` has been called, and whatever
    /// the factory or `body` throws. Cancelling the calling task does not interrupt `body` (a C
    /// call cannot be interrupted); the caller is resumed when it returns.
    public func run<T: Sendable>(_ body: @escaping @Sendable (Resource) throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, any Error>) in
            let accepted = pending.push { slot in
                continuation.resume(with: Result { try body(slot.acquire()) })
            }
            if !accepted {
                continuation.resume(throwing: BlockingPoolError.shutDown)
            }
        }
    }

    /// Queues `body` to run on one of the pool's threads, with that thread's resource (or the error
    /// creating it threw), and returns at once: for callers that are not async, such as a NIO
    /// channel handler or work that continues on the pool thread itself. Returns false, without
    /// running `body`, once ``shutdown()`` has been called.
    @discardableResult
    public func submit(_ body: @escaping @Sendable (Result<Resource, any Error>) -> Void) -> Bool {
        pending.push { slot in body(Result { try slot.acquire() }) }
    }

    /// Stops accepting work, lets every waiting piece of work finish, releases the resources and waits for
    /// the threads to exit. Safe to call more than once.
    public func shutdown() async {
        pending.close()
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            exited.notify(queue: .global()) { continuation.resume() }
        }
    }

    private static func threadMain(
        pending: PendingWork,
        factory: @escaping @Sendable () throws -> Resource,
        cleanup: @escaping @Sendable (Resource) -> Void
    ) {
        let slot = Slot(factory: factory)
        while let job = pending.pop() {
            job(slot)
        }
        if let resource = slot.resource {
            cleanup(resource)
        }
    }

    /// The resource one pool thread owns, created on demand; only that thread touches it.
    fileprivate final class Slot {
        let factory: () throws -> Resource
        var resource: Resource?

        init(factory: @escaping () throws -> Resource) {
            self.factory = factory
        }

        func acquire() throws -> Resource {
            if let resource { return resource }
            let created = try factory()
            resource = created
            return created
        }
    }

    /// A piece of work as it waits: it receives the running thread's slot.
    fileprivate typealias Work = (Slot) -> Void

    /// An unbounded FIFO of work; threads block on it while it is empty.
    fileprivate final class PendingWork: @unchecked Sendable {
        // Invariant: `jobs` and `closed` are only touched with `condition` locked.
        private let condition = NSCondition()
        private var jobs: [Work] = []
        private var head = 0
        private var closed = false

        /// Appends a job; false once the queue is closed.
        func push(_ job: @escaping Work) -> Bool {
            condition.lock()
            defer { condition.unlock() }
            guard !closed else { return false }
            jobs.append(job)
            condition.signal()
            return true
        }

        /// The next job; nil when the queue is closed and drained.
        func pop() -> Work? {
            condition.lock()
            defer { condition.unlock() }
            while head == jobs.count && !closed {
                condition.wait()
            }
            guard head < jobs.count else { return nil }
            let job = jobs[head]
            head += 1
            if head > 64 && head * 2 > jobs.count {
                jobs.removeFirst(head)
                head = 0
            }
            return job
        }

        func close() {
            condition.lock()
            closed = true
            condition.broadcast()
            condition.unlock()
        }
    }
}

/// Errors of ``BlockingPool`` itself.
public enum BlockingPoolError: Error, Equatable, CustomStringConvertible {
    /// The pool was shut down before the work could run.
    case shutDown

    public var description: String {
        switch self {
        case .shutDown: "the connection pool has been shut down"
        }
    }
}
