import JunctionCoordination
import JunctionCore
import Synchronization

/// The jobs this process holds leases on (running, or fetched in a batch and waiting their turn),
/// with their lease tokens, so the housekeeper renews every lease it holds and shutdown can hand
/// them back.
package final class RunningJobs: Sendable {
    struct Entry: Sendable {
        let id: String
        let token: String
        let cancellation: CancellationFlag
        /// Until when the lease is known to hold (as of the fetch or the last renewal).
        var leasedUntil: ContinuousClock.Instant
        /// The fleet-wide lock the job runs under, renewed with the lease.
        var lock: HeldLock? = nil
        /// Set when the job was stopped because its lock (not its lease) was lost.
        var lockLost = false
    }

    package init() {}

    private let entries = Mutex<[String: Entry]>([:])

    func add(_ entry: Entry) {
        entries.withLock { $0[entry.id] = entry }
    }

    /// Records a successful renewal.
    func renewed(_ ids: [String], until deadline: ContinuousClock.Instant) {
        entries.withLock { entries in
            for id in ids { entries[id]?.leasedUntil = deadline }
        }
    }

    /// Cancels every job whose lease has run out by `now` without a renewal (Redis could not be
    /// reached): another worker may recover it, so this one must stop. Returns their ids.
    func cancelExpired(now: ContinuousClock.Instant) -> [String] {
        entries.withLock { entries in
            let expired = entries.values.filter { $0.leasedUntil <= now && !$0.cancellation.isSet }
            for entry in expired { entry.cancellation.set() }
            return expired.map(\.id)
        }
    }

    /// Stops the job because its lock is gone.
    func cancelForLostLock(_ id: String) {
        entries.withLock { entries in
            entries[id]?.lockLost = true
            entries[id]?.cancellation.set()
        }
    }

    func lostLock(_ id: String) -> Bool {
        entries.withLock { $0[id]?.lockLost ?? false }
    }

    func setLock(_ id: String, _ lock: HeldLock?) {
        entries.withLock { $0[id]?.lock = lock }
    }

    func remove(_ id: String) {
        entries.withLock { _ = $0.removeValue(forKey: id) }
    }

    var snapshot: [Entry] { entries.withLock { Array($0.values) } }

    /// Cancels the job (its lease is lost, or shutdown is handing it back).
    func cancel(_ id: String) {
        entries.withLock { $0[id]?.cancellation.set() }
    }
}
