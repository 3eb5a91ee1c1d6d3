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
            Measure.gauge("junction_queue_ready", labels, Double(stats.ready[priority] ?? 0))
            Measure.gauge("junction_queue_oldest_ready_age_seconds", labels, stats.oldestReadyAge[priority].map { $0 / .seconds(1) } ?? 0)
        }
        Measure.gauge("junction_queue_in_flight", Double(stats.inflight))
        Measure.gauge("junction_queue_delayed", Double(stats.delayed))
        Measure.gauge("junction_queue_dead", Double(stats.dead))
        for event in events {
            Measure.gauge("junction_queue_events", [("event", event)], Double(stats.counters[event] ?? 0))
        }
    }

    /// The queue's lifetime counters, kept in Redis for the fleet.
    static let events = ["enqueued", "processed", "retried", "rescheduled", "dead"]

    static func stopSpeakingForTheQueue() {
        for priority in JobPriority.allCases {
            Measure.removeGauge("junction_queue_ready", [("priority", priority.rawValue)])
            Measure.removeGauge("junction_queue_oldest_ready_age_seconds", [("priority", priority.rawValue)])
        }
        for name in ["junction_queue_in_flight", "junction_queue_delayed", "junction_queue_dead"] { Measure.removeGauge(name) }
        for event in events { Measure.removeGauge("junction_queue_events", [("event", event)]) }
    }
}
