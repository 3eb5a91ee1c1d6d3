import JunctionCore
import JunctionQueue
import NIOCore
import ServiceLifecycle
import Synchronization

/// The webhook path's enqueue (#20): each event loop group-commits the deliveries it read over
/// its own ``EventLoopRedisConnection``. Deliveries read in one turn of the loop join one script
/// call, sent at the end of that turn; the next turn's call goes out at once, while the previous
/// one is still in flight (pipelined), so the depth follows the load. Completions run on the loop:
/// no pool thread and no thread hop between reading a delivery and answering it.
///
/// Every job of a webhook carries a dedupe key, so a call whose connection broke before its reply
/// is sent once more on a fresh connection: had the first reached Redis, the second finds its jobs
/// there. A call that still fails is answered as failed (the ingress answers 503).
final class EventLoopEnqueuer {
    typealias Completion = (Result<[EnqueueOutcome], any Error>) -> Void

    let connection: EventLoopRedisConnection
    let queue: Queue
    private var waiting: [Waiter] = []
    private var scheduled = false

    private struct Waiter {
        var call: ScriptCall
        var ids: [String]
        var repeatable: Bool
        var completion: Completion
    }

    init(connection: EventLoopRedisConnection, queue: Queue) {
        self.connection = connection
        self.queue = queue
    }

    var eventLoop: any EventLoop { connection.eventLoop }

    /// Enqueues `requests` in one atomic step; `completion` runs on the event loop once Redis
    /// answered (each job's outcome) or could not.
    func enqueue(_ requests: [JobRequest], completion: @escaping Completion) {
        eventLoop.preconditionInEventLoop()
        guard !requests.isEmpty else { return completion(.success([])) }
        let (call, ids) = queue.enqueueCall(requests)
        waiting.append(Waiter(call: call, ids: ids, repeatable: requests.allSatisfy { $0.dedupeKey != nil }, completion: completion))
        guard !scheduled else { return }
        scheduled = true
        let bound = NIOLoopBound(self, eventLoop: eventLoop)
        eventLoop.execute { bound.value.flush() }
    }

    private func flush() {
        scheduled = false
        let batch = waiting
        waiting.removeAll(keepingCapacity: true)
        guard !batch.isEmpty else { return }
        send(batch, again: batch.allSatisfy(\.repeatable))
    }

    private func send(_ batch: [Waiter], again: Bool) {
        connection.evaluate(Queue.mergeEnqueueCalls(batch.map(\.call))) { [self] result in
            if case .failure(.connectionLost) = result, again { return send(batch, again: false) }
            complete(batch, with: result)
        }
    }

    /// Hands each waiter its own slice of the script's flags.
    private func complete(_ batch: [Waiter], with result: Result<RedisReply, RedisError>) {
        for (waiter, outcomes) in zip(batch, Queue.enqueueOutcomes(merged: result.mapError { $0 as any Error }, ids: batch.map(\.ids))) {
            waiter.completion(outcomes)
        }
    }
}

/// One ``EventLoopEnqueuer`` per event loop, made on first use on that loop; closed when the
/// ingress stops (``EventLoopEnqueuers/Closer``, after the HTTP server has answered everything).
final class EventLoopEnqueuers: Sendable {
    let queue: Queue
    let configuration: RedisConfiguration
    private let byLoop = Mutex<[ObjectIdentifier: NIOLoopBound<EventLoopEnqueuer>]>([:])

    init(queue: Queue, configuration: RedisConfiguration) {
        self.queue = queue
        self.configuration = configuration
    }

    /// The enqueuer of `eventLoop`; call it on that loop.
    func on(_ eventLoop: any EventLoop) -> EventLoopEnqueuer {
        eventLoop.preconditionInEventLoop()
        let key = ObjectIdentifier(eventLoop)
        if let known = byLoop.withLock({ $0[key] }) { return known.value }
        let made = EventLoopEnqueuer(connection: EventLoopRedisConnection(eventLoop: eventLoop, configuration: configuration), queue: queue)
        byLoop.withLock { $0[key] = NIOLoopBound(made, eventLoop: eventLoop) }
        return made
    }

    /// Closes every loop's connection.
    func close() async {
        let all = byLoop.withLock { state in
            defer { state.removeAll() }
            return Array(state.values)
        }
        for bound in all {
            try? await bound.eventLoop.submit { bound.value.connection.close() }.get()
        }
    }

    /// Closes the connections once the ingress stops: listed before the HTTP server, so the
    /// group stops it after the server has answered its last delivery.
    struct Closer: Service {
        let enqueuers: EventLoopEnqueuers

        func run() async throws {
            try? await gracefulShutdown()
            await enqueuers.close()
        }
    }
}
