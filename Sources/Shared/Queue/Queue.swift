import Foundation

/// Junction's reliable queue over one blocking Redis connection. Every transition is one Lua
/// script (`Scripts/lua`, each driven by its Swift type in `Scripts/`), so a job is always in
/// exactly one place: a priority list, the in-flight set under a lease, the delayed set, or the
/// dead letters. Worker processors, the scheduler and the API call these on a blocking connection;
/// the ingress's webhook path merges its deliveries' calls (``mergeEnqueueCalls(_:)``) on a
/// connection its event loop drives.
///
/// A job's life, one file each:
/// - `Queue+Enqueue.swift`: into a priority list (or the delayed set), deduplicated by key;
/// - `Queue+Fetch.swift`: leased into the in-flight set, the lease renewed while it runs;
/// - `Queue+Settle.swift`: acknowledged, or ended as a retry, a reschedule or a dead letter, or
///   handed back unstarted;
/// - `Queue+Recovery.swift`: due delayed jobs promoted, expired leases recovered, poison pills
///   buried;
/// - `Queue+DeadLetters.swift`: read, replayed and purged by ops;
/// - `Queue+Cancel.swift`: queued jobs of a connection removed by ops;
/// - `Queue+Stats.swift`: depths, ages and counters.
public struct Queue: Sendable {
    public let settings: QueueSettings
    public let scripts: QueueScripts
    var keys: QueueKeys { settings.keys }
    let enqueueScript: EnqueueScript
    let fetchScript: FetchScript
    let renewScript: RenewScript
    let ackScript: AckScript
    let failScript: FailScript
    let handBackScript: HandBackScript
    let promoteScript: PromoteScript
    let reapScript: ReapScript
    let replayScript: ReplayScript
    let purgeScript: PurgeScript
    let cancelScript: CancelScript

    public init(settings: QueueSettings, scripts: QueueScripts) {
        self.settings = settings
        self.scripts = scripts
        let keys = settings.keys
        enqueueScript = EnqueueScript(scripts.enqueue, keys: keys)
        fetchScript = FetchScript(scripts.fetch, keys: keys)
        renewScript = RenewScript(scripts.renew, keys: keys)
        ackScript = AckScript(scripts.ack, keys: keys)
        failScript = FailScript(scripts.fail, keys: keys)
        handBackScript = HandBackScript(scripts.handBack, keys: keys)
        promoteScript = PromoteScript(scripts.promote, keys: keys)
        reapScript = ReapScript(scripts.reap, keys: keys)
        replayScript = ReplayScript(scripts.replay, keys: keys)
        purgeScript = PurgeScript(scripts.purge, keys: keys)
        cancelScript = CancelScript(scripts.cancel, keys: keys)
    }
}
