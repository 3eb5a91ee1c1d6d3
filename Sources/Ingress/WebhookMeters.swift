import JunctionCore

/// The ingress's own metrics (docs/operations.md lists every metric). The routed endpoints'
/// requests are counted and timed by Hummingbird's `MetricsMiddleware`.
///
/// One webhook delivery: `junction_webhooks_total{provider,outcome,reason}` (outcome `accepted`,
/// `duplicate`, `rejected` with the problem's slug as the reason, `unavailable` when Redis could
/// not take it) and `junction_webhook_duration_seconds{provider}`, from the request's head to its
/// answer. Each connection's handler keeps the handles it used (a few), so counting a delivery
/// takes no lock shared with the other event loops.
struct WebhookMeters {
    private struct Key: Hashable {
        let provider: String
        let outcome: String
        let reason: String
    }

    private var pairs: [Key: Measure.Pair] = [:]

    mutating func record(provider: String, outcome: String, reason: String, took: Duration) {
        let key = Key(provider: provider, outcome: outcome, reason: reason)
        if let pair = pairs[key] { return pair.record(took) }
        let pair = Measure.pair(counter: MetricName.webhooks, [("provider", provider), ("outcome", outcome), ("reason", reason)],
                                histogram: MetricName.webhookDuration, [("provider", provider)])
        pairs[key] = pair
        pair.record(took)
    }
}
