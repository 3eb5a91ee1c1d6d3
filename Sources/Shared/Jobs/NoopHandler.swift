import Foundation

/// `system.noop`: does nothing, for benchmarks, smoke and chaos tests.
///
/// Payload (all optional): `sleep_ms` (integer) sleeps that long, waking every 10 ms to notice a
/// lost lease or a shutdown; `fail: true` fails the attempt with a retryable error.
public struct NoopHandler: JobHandler {
    public let type = "system.noop"

    public init() {}

    public func run(_ job: JobContext) throws {
        if let milliseconds = job.payload["sleep_ms"]?.intValue, milliseconds > 0 {
            let end = ContinuousClock.now + .milliseconds(milliseconds)
            while ContinuousClock.now < end {
                try job.checkCancellation()
                Thread.sleep(forTimeInterval: min(0.01, max(0, (end - ContinuousClock.now) / .seconds(1))))
            }
        }
        if job.payload["fail"]?.boolValue == true {
            throw JobFailure.retryable("system.noop was asked to fail")
        }
    }
}
