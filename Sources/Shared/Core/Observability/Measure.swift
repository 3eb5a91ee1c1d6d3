import Metrics
import Synchronization

/// The fleet's metrics, recorded through swift-metrics: every library calls these, and each
/// process exports them in Prometheus's text format (`JunctionObservability`). Until a process
/// bootstraps a metrics backend they cost a lookup and record nothing (the tests that run the
/// libraries in-process).
///
/// The names and labels are listed in `docs/operations.md`. Labels hold only bounded values
/// (providers, resources, job types, priorities, outcomes): never a tenant, a connection or a job
/// id, which would make one series per customer.
public enum Measure {
    /// Adds `amount` to the counter `name` with these labels.
    public static func count(_ name: String, _ labels: [(String, String)] = [], by amount: Int = 1) {
        cache.counter(name, labels).increment(by: amount)
    }

    /// Records one duration into the histogram `name` (exported in seconds).
    public static func time(_ name: String, _ labels: [(String, String)], _ duration: Duration) {
        let (seconds, attoseconds) = duration.components
        cache.timer(name, labels).recordNanoseconds(seconds * 1_000_000_000 + attoseconds / 1_000_000_000)
    }

    /// Records one duration into the unlabelled histogram `name`.
    public static func time(_ name: String, _ duration: Duration) { time(name, [], duration) }

    /// Sets the unlabelled gauge `name`.
    public static func gauge(_ name: String, _ value: Double) { gauge(name, [], value) }

    /// Sets the gauge `name` with these labels.
    public static func gauge(_ name: String, _ labels: [(String, String)], _ value: Double) {
        cache.gauge(name, labels).record(value)
    }

    /// Stops exporting the gauge `name` with these labels (a scheduler that stopped leading no
    /// longer speaks for the queue).
    public static func removeGauge(_ name: String, _ labels: [(String, String)] = []) {
        cache.removeGauge(name, labels)
    }

    /// A counter and a histogram with fixed labels, for a hot path that keeps its own handles
    /// (the ingress's connection handlers: no lookup, no lock per delivery).
    public struct Pair: Sendable {
        let counter: Counter
        let timer: Metrics.Timer

        public func record(_ duration: Duration) {
            counter.increment()
            let (seconds, attoseconds) = duration.components
            timer.recordNanoseconds(seconds * 1_000_000_000 + attoseconds / 1_000_000_000)
        }
    }

    /// The handles of the counter `counter` and the histogram `histogram`, with these labels each.
    public static func pair(counter: String, _ counterLabels: [(String, String)], histogram: String, _ histogramLabels: [(String, String)]) -> Pair {
        Pair(counter: cache.counter(counter, counterLabels), timer: cache.timer(histogram, histogramLabels))
    }

    /// The metrics' handles, made once per name and label set: the webhook path counts every
    /// delivery, and a lookup here is cheaper than the backend's own registry.
    private static let cache = Handles()

    private final class Handles: Sendable {
        private let counters = Mutex<[String: Counter]>([:])
        private let timers = Mutex<[String: Metrics.Timer]>([:])
        private let gauges = Mutex<[String: Gauge]>([:])

        private static func key(_ name: String, _ labels: [(String, String)]) -> String {
            var key = name
            for (label, value) in labels {
                key += "\u{1}"
                key += label
                key += "\u{2}"
                key += value
            }
            return key
        }

        func counter(_ name: String, _ labels: [(String, String)]) -> Counter {
            Self.handle(in: counters, Self.key(name, labels)) { Counter(label: name, dimensions: labels) }
        }

        func timer(_ name: String, _ labels: [(String, String)]) -> Metrics.Timer {
            Self.handle(in: timers, Self.key(name, labels)) { Metrics.Timer(label: name, dimensions: labels) }
        }

        func gauge(_ name: String, _ labels: [(String, String)]) -> Gauge {
            Self.handle(in: gauges, Self.key(name, labels)) { Gauge(label: name, dimensions: labels) }
        }

        /// The handle under `key`, made by `make` the first time.
        private static func handle<Handle: Sendable>(in handles: borrowing Mutex<[String: Handle]>, _ key: String, _ make: () -> Handle) -> Handle {
            handles.withLock { handles in
                if let handle = handles[key] { return handle }
                let handle = make()
                handles[key] = handle
                return handle
            }
        }

        func removeGauge(_ name: String, _ labels: [(String, String)]) {
            let key = Self.key(name, labels)
            gauges.withLock { $0.removeValue(forKey: key) }?.destroy()
        }
    }
}
