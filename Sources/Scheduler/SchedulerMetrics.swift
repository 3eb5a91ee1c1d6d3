import Foundation
import JunctionCoordination
import JunctionCore
import JunctionQueue

/// What the leading scheduler reports for the whole fleet: the queue, read from Redis by one
/// process at a time (the leader, every ``SchedulerLoop/queueSampleInterval``) rather than by every
/// replica. A scheduler that stops leading stops exporting these, so a sum over schedulers
/// counts the queue once.
enum SchedulerMetrics {
    static func record(_ stats: QueueStats) {
        for priority in JobPriority.allCases {
            let labels = [("priority", priority.rawValue)]
            Measure.gauge(MetricName.queueReady, labels, Double(stats.ready[priority] ?? 0))
            Measure.gauge(MetricName.queueOldestReadyAge, labels, stats.oldestReadyAge[priority].map { $0 / .seconds(1) } ?? 0)
        }
        Measure.gauge(MetricName.queueInFlight, Double(stats.inflight))
        Measure.gauge(MetricName.queueDelayed, Double(stats.delayed))
        Measure.gauge(MetricName.queueDead, Double(stats.dead))
        for event in events {
            Measure.gauge(MetricName.queueEvents, [("event", event)], Double(stats.counters[event] ?? 0))
        }
    }

    /// Each provider's fleet-wide breaker as stored in Redis: 0 closed, 1 half-open (or open with
    /// its cool-down over: the next call is the probe), 2 open. Read by the leader, so the value
    /// is the fleet's, not one worker's last sight of it.
    static func record(breakers: [BreakerStatus], now: Date = Date()) {
        for breaker in breakers {
            let value: Double = switch breaker.state {
            case .open where (breaker.reopenAt ?? .distantFuture) <= now: BreakerState.halfOpen.metricValue
            default: breaker.state.metricValue
            }
            Measure.gauge(MetricName.breakerState, [("provider", breaker.scope)], value)
        }
    }

    /// The queue's lifetime counters, kept in Redis for the fleet.
    static let events = ["enqueued", "processed", "retried", "rescheduled", "dead"]

    static func stopSpeakingForTheQueue(providers: [String]) {
        for provider in providers { Measure.removeGauge(MetricName.breakerState, [("provider", provider)]) }
        for priority in JobPriority.allCases {
            Measure.removeGauge(MetricName.queueReady, [("priority", priority.rawValue)])
            Measure.removeGauge(MetricName.queueOldestReadyAge, [("priority", priority.rawValue)])
        }
        for name in [MetricName.queueInFlight, MetricName.queueDelayed, MetricName.queueDead] { Measure.removeGauge(name) }
        for event in events { Measure.removeGauge(MetricName.queueEvents, [("event", event)]) }
    }
}
