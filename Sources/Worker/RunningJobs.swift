import JunctionShared
import Synchronization

/// The jobs this process holds leases on (running, or fetched in a batch and waiting their turn),
/// with their lease tokens, so the housekeeper renews every lease it holds and shutdown can hand
/// them back.
final class RunningJobs: Sendable {
    struct Entry: Sendable {
        let id: String
        let token: String
        let cancellation: CancellationFlag
    }

    private let entries = Mutex<[String: Entry]>([:])

    func add(_ entry: Entry) {
        entries.withLock { $0[entry.id] = entry }
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
