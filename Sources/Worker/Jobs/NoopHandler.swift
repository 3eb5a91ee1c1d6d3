import Foundation
import JunctionQueue
import JunctionStores

/// `system.noop`: does nothing, for benchmarks, smoke and chaos tests.
///
/// Payload (all optional): `sleep_ms` (integer) sleeps that long, waking every 10 ms to notice a
/// lost lease or a shutdown; `fail: true` fails the attempt with a retryable error; `lock` (a
/// name) runs it under that fleet-wide lock; `sync_state` (`{tenant, provider, resource,
/// cursor}`, with `lock`) then writes that cursor under the lock's fence. The last two let ops
/// (and the tests) see locks and fencing work on a live fleet.
public struct NoopHandler: JobHandler {
    public let type = "system.noop"

    public init() {}

    public func lockName(for job: JobEnvelope) -> String? { job.payload["lock"]?.stringValue }

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
        if let state = job.payload["sync_state"] {
            guard let lock = job.lock, let tenant = state["tenant"]?.stringValue, let provider = state["provider"]?.stringValue,
                  let resource = state["resource"]?.stringValue else {
                throw JobFailure.permanent("sync_state needs tenant, provider, resource and a lock")
            }
            try SyncStateStore().save(tenant: tenant, provider: provider, resource: resource, cursor: state["cursor"]?.stringValue,
                                      details: ["job_id": .string(job.envelope.id)], fence: lock.fence, on: try job.database())
        }
    }
}
