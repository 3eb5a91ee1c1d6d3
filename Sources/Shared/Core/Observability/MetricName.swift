/// The names of every metric Junction's processes record, in one place: the calls use these, the
/// dashboard (`deploy/grafana/junction.json`) and the alerts (`deploy/prometheus/alerts.yml`) may
/// use only these (and Hummingbird's, ``hummingbird``), and a test holds both to it. Labels and
/// meanings: docs/operations.md#metrics-and-health.
public enum MetricName {
    /// Webhook deliveries answered, by provider, outcome and reason.
    public static let webhooks = "junction_webhooks_total"
    /// A delivery's request head to its answer.
    public static let webhookDuration = "junction_webhook_duration_seconds"
    /// Job attempts ended, by type and outcome.
    public static let jobs = "junction_jobs_total"
    /// Run time of each attempt, by type.
    public static let jobDuration = "junction_job_duration_seconds"
    /// Expired leases recovered: requeued or dead.
    public static let leaseRecoveries = "junction_lease_recoveries_total"
    /// Provider calls, by provider and status class.
    public static let providerRequests = "junction_provider_requests_total"
    /// One provider call.
    public static let providerRequestDuration = "junction_provider_request_duration_seconds"
    /// 429 answers.
    public static let provider429s = "junction_provider_429_total"
    /// Calls not made: a breaker or the limiter refused.
    public static let providerRefusals = "junction_provider_refusals_total"
    /// Waits for a rate-limit slot made in place.
    public static let limiterWaits = "junction_limiter_waits_total"
    /// How long those waits were.
    public static let limiterWait = "junction_limiter_wait_seconds"
    /// The provider-wide breaker as a worker last saw it: 0 closed, 1 half-open, 2 open.
    public static let breakerState = "junction_breaker_state"
    /// Breakers moved, by provider, scope and new state.
    public static let breakerTransitions = "junction_breaker_transitions_total"
    /// OAuth token refreshes, by provider and outcome.
    public static let tokenRefreshes = "junction_token_refreshes_total"
    /// Records written by syncs, by provider, resource and kind.
    public static let syncRecords = "junction_sync_records_total"
    /// Sync runs ended, by provider, resource and outcome.
    public static let syncRuns = "junction_sync_runs_total"
    /// Ready jobs per priority (leading scheduler).
    public static let queueReady = "junction_queue_ready"
    /// How long the oldest ready job of each priority has waited.
    public static let queueOldestReadyAge = "junction_queue_oldest_ready_age_seconds"
    /// Leased jobs.
    public static let queueInFlight = "junction_queue_in_flight"
    /// Jobs waiting for their time.
    public static let queueDelayed = "junction_queue_delayed"
    /// Dead letters.
    public static let queueDead = "junction_queue_dead"
    /// The fleet's lifetime counters kept in Redis.
    public static let queueEvents = "junction_queue_events"
    /// 1 while this scheduler leads.
    public static let schedulerLeader = "junction_scheduler_leader"
    /// Leadership taken or lost.
    public static let schedulerLeadershipChanges = "junction_scheduler_leadership_changes_total"
    /// How late each schedule fired.
    public static let schedulerLag = "junction_scheduler_lag_seconds"
    /// Schedule fires claimed.
    public static let schedulesFired = "junction_schedules_fired_total"

    public enum Kind: String, Sendable {
        case counter, gauge, histogram
    }

    /// Every metric above and its kind. A histogram is exported as `<name>_bucket`, `_sum` and `_count`.
    public static let catalog: [String: Kind] = [
        webhooks: .counter,
        webhookDuration: .histogram,
        jobs: .counter,
        jobDuration: .histogram,
        leaseRecoveries: .counter,
        providerRequests: .counter,
        providerRequestDuration: .histogram,
        provider429s: .counter,
        providerRefusals: .counter,
        limiterWaits: .counter,
        limiterWait: .histogram,
        breakerState: .gauge,
        breakerTransitions: .counter,
        tokenRefreshes: .counter,
        syncRecords: .counter,
        syncRuns: .counter,
        queueReady: .gauge,
        queueOldestReadyAge: .gauge,
        queueInFlight: .gauge,
        queueDelayed: .gauge,
        queueDead: .gauge,
        queueEvents: .gauge,
        schedulerLeader: .gauge,
        schedulerLeadershipChanges: .counter,
        schedulerLag: .histogram,
        schedulesFired: .counter,
    ]

    /// What Hummingbird's `MetricsMiddleware` records for the ingress's routed requests (after the
    /// exporter's sanitising: dots become underscores).
    public static let hummingbird: [String: Kind] = [
        "hb_requests": .counter, "http_server_request_duration": .histogram, "hb_request_errors": .counter,
        "http_server_active_requests": .gauge,
    ]
}
