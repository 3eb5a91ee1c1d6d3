import Foundation

/// A long-running loop on a thread of its own (a worker's housekeeper, the scheduler's ticks),
/// for blocking clients that must stay off the cooperative pool.
///
/// ```swift
/// let loop = BackgroundThread(name: "housekeeper") { stopped in
///     while !stopped.isSet { … }
/// }
/// loop.start()
/// await loop.stop()   // sets the flag, waits for the body to return
/// ```
public final class BackgroundThread: Sendable {
    private let name: String
    private let body: @Sendable (CancellationFlag) -> Void
    private let stopped = CancellationFlag()
    private let finished = DispatchGroup()

    public init(name: String, body: @escaping @Sendable (CancellationFlag) -> Void) {
        self.name = name
        self.body = body
    }

    public func start() {
        finished.enter()
        Thread { [self] in
            Thread.current.name = name
            body(stopped)
            finished.leave()
        }.start()
    }

    /// Asks the body to return (it checks the flag) and waits until it has.
    public func stop() async {
        stopped.set()
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            finished.notify(queue: .global()) { continuation.resume() }
        }
    }
}
