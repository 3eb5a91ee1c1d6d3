import Foundation
import JunctionCore
import JunctionProviders
import JunctionQueue
import JunctionStores

/// `sync.run`: one resource of one connection, page by page, under the lock
/// `sync:<connection>:<resource>` (so two runs of the same resource never overlap, fleet-wide).
///
/// Payload: `connection`, `resource`, `trigger` (`schedule`, `manual`, `webhook`, …; default
/// `manual`), `mode` (`auto`, `incremental`, `full`, or `reconcile`: a full walk, stamping every
/// object it sees, and once it completes, soft-deleting the records it did not see; a
/// reconciliation cut short deletes nothing and its resumption goes on with the same generation).
/// Each page is fetched through the connection's credentials (``ConnectionAccess``: a 401 gets
/// one refresh) and ``ProviderClient`` (breakers, limits, 429 pauses); its records and the
/// checkpoint that follows them are written in one transaction carrying the lock's fence, so a
/// worker killed mid-run leaves the last committed page as the resume point: the next run goes on
/// from there, skips nothing and writes again at most the page whose commit was cut (it asks
/// again for that one and for the page asked for ahead while it committed). A stale fence's
/// write is refused (``StaleFence``).
///
/// Modes: `full` walks the resource's list (a backfill); `incremental` follows the resource's
/// change feed (``SyncResource/ChangeFeed``: Stripe `/v1/events`, QuickBooks CDC or its
/// update-time query, Square's searches by update time, Mailchimp's `since_last_changed`) from
/// when the last complete run began, page by page with the same checkpoints, applying the deletes
/// it reports; `auto` (the default) picks `incremental` where a feed still reaches that time, else
/// `full`. A page answered 5xx is asked for again (``pageTries``) before the attempt fails.
public struct SyncRunHandler: ConnectionJob {
    public static let jobType = "sync.run"
    public let type = Self.jobType
    public let services: ConnectionServices

    public init(_ services: ConnectionServices) {
        self.services = services
    }

    public static func lockName(connection: String, resource: String) -> String { "sync:\(connection):\(resource)" }

    /// How many times one page is asked for when the provider answers 5xx, and the first pause
    /// between (doubling: 250 ms, 500 ms, 1 s).
    static let pageTries = 4
    static let firstPagePause: Duration = .milliseconds(250)
    /// How long a backfill handed on to `low` keeps another from being queued for the resource.
    static let backfillDedupe: Duration = .seconds(600)

    public func lockName(for job: JobEnvelope) -> String? {
        guard let connection = job.connection ?? job.payload["connection"]?.stringValue, let resource = job.payload["resource"]?.stringValue,
              !resource.isEmpty else { return nil }
        return Self.lockName(connection: connection, resource: resource)
    }

    public func run(_ job: JobContext, connection: Connection, database: PostgresConnection) throws {
        guard let name = job.payload["resource"]?.stringValue else { throw JobFailure.permanent("sync.run needs a resource") }
        guard let provider = Providers.named(connection.provider), let resource = provider.syncResource(name) else {
            let known = Providers.named(connection.provider)?.sync.map(\.name).joined(separator: ", ") ?? ""
            throw JobFailure.permanent("\(connection.provider) has no resource \(name) to sync (synced: \(known.isEmpty ? "none yet" : known))")
        }
        guard let lock = job.lock else { throw JobFailure.permanent("sync.run runs only under its lock") }
        guard let client = job.providers else { throw JobFailure.permanent("this worker has no provider client") }
        let trigger = job.payload["trigger"]?.stringValue ?? "manual"
        let asked = job.payload["mode"]?.stringValue ?? "auto"
        guard ["auto", "full", "incremental", "reconcile"].contains(asked) else {
            throw JobFailure.permanent("sync.run mode is auto, full, incremental or reconcile, not \(asked)")
        }
        let stateStore = SyncStateStore()
        let runs = SyncRunStore()
        let records = RecordStore()
        let access = ConnectionAccess(services, job: job)
        let id = connection.id
        let idText = id.uuidString.lowercased()

        // Resume a run that was cut short from its last committed page; otherwise start over.
        let state = try stateStore.load(tenant: connection.tenant, provider: provider.id, resource: name, connection: id, on: database)
        let resuming = state?.details["status"]?.stringValue == "running"
        // A scheduled run that waited on the lock behind another run finished meanwhile: that run
        // already brought the data this one was scheduled to bring.
        if trigger == "schedule", asked != "reconcile", let state, state.details["status"]?.stringValue == "complete", state.updatedAt > job.envelope.enqueuedAt {
            job.logger.info("sync skipped: a run finished after this one was scheduled", metadata: [
                "connection": .string(connection.id.uuidString.lowercased()), "resource": .string(name),
            ])
            return
        }
        var cursor = resuming ? state?.cursor : nil
        // A run resumed goes on in the mode (and change feed) it started in; a reconciliation keeps
        // its generation (the id of the run that began it) and the time it began. Otherwise `auto`
        // (and `incremental`) follows the resource's change feed from when the last complete run
        // began, where that time is within the feed's reach, or its slower fallback feed where
        // only that reaches; else it walks it all.
        let since = state?.details["since"]?.stringValue.flatMap(Timestamp.parse)
        var mode: String
        var usesFallback = false
        if resuming {
            mode = state?.details["mode"]?.stringValue ?? "full"
            usesFallback = state?.details["feed"]?.stringValue == "fallback"
        } else if asked == "auto" || asked == "incremental", let since, state?.details["status"]?.stringValue == "complete",
                  resource.changes?.reaches(since) == true || resource.fallback?.reaches(since) == true {
            mode = "incremental"
            usesFallback = resource.changes?.reaches(since) != true
        } else {
            mode = asked == "reconcile" ? "reconcile" : "full"
        }
        // A walk of everything (a first sync, a re-list past a feed's reach, a reset resource) is
        // a backfill, and backfills run at `low`, behind the fleet's webhooks and incremental
        // syncs: one a schedule or a webhook started at a higher priority hands itself on to a
        // `low` job (one at a time per resource) and ends. Asked for by hand, it runs as asked.
        if mode == "full", ["schedule", "webhook"].contains(trigger), job.envelope.priority != .low {
            var payload = job.payload.objectValue ?? [:]
            payload["trigger"] = "backfill"
            let outcome = try job.enqueue([JobRequest(
                type: Self.jobType, payload: .object(payload), priority: .low, tenant: connection.tenant, provider: provider.id, connection: idText,
                // A second's delay lets this job release the resource's lock first.
                dedupeKey: "sync-backfill:\(idText):\(name)", dedupeTTL: Self.backfillDedupe, delay: .seconds(1))])
            job.logger.info(outcome.first == .duplicate ? "sync is a backfill, already queued at low" : "sync is a backfill: handed on at low", metadata: [
                "connection": .string(idText), "resource": .string(name), "trigger": .string(trigger), "resuming": .stringConvertible(resuming),
            ])
            return
        }
        let run = try runs.start(connection: id, tenant: connection.tenant, provider: provider.id, resource: name, jobID: job.envelope.id,
                                 trigger: trigger, mode: mode, checkpoint: cursor, on: database)
        let generation = resuming ? (state?.details["generation"]?.intValue ?? run) : run
        let began = resuming ? (state?.details["began"]?.stringValue.flatMap(Timestamp.parse) ?? Date()) : Date()
        var pages = resuming ? (state?.details["pages"]?.intValue).map(Int.init) ?? 0 : 0
        func details(_ status: String) -> JSONValue {
            var fields: [String: JSONValue] = [
                "status": .string(status), "run": .integer(run), "mode": .string(mode), "pages": .integer(Int64(pages)),
                "generation": .integer(generation), "began": .string(Timestamp.format(began)), "at": .string(Timestamp.format(Date())),
            ]
            if mode == "incremental" { fields["feed"] = .string(usesFallback ? "fallback" : "changes") }
            // The next incremental run asks for changes since this run began: whatever changed
            // while it walked is asked for again, and the upsert absorbs the repeat.
            if status == "complete" { fields["since"] = .string(Timestamp.format(began)) } else if let since { fields["since"] = .string(Timestamp.format(since)) }
            return .object(fields)
        }
        try stateStore.save(tenant: connection.tenant, provider: provider.id, resource: name, connection: id, cursor: cursor,
                            details: details("running"), fence: lock.fence, on: database)
        job.logger.info(resuming ? "sync resumed" : "sync started", metadata: [
            "connection": .string(idText), "provider": .string(provider.id), "resource": .string(name), "run": .stringConvertible(run),
            "mode": .string(mode), "from": .string(cursor ?? "start"),
        ])

        var total = PageCounts()
        var deleted = 0
        // Where the run's time went: waiting on the provider (and parsing) and writing pages.
        var timing = (provider: Duration.zero, writing: Duration.zero)
        // A 5xx or a transport failure is tried again a few times, pausing longer each time, before
        // the attempt fails: a provider erring on a fraction of calls must not use up the job's
        // attempts on a long walk (each retry of the job resumes from the checkpoint anyway).
        func request(_ call: SyncResource.ProviderCall, _ connection: Connection, _ credential: Credential) -> OutboundRequest {
            OutboundRequest(method: call.method,
                            url: client.url(provider: provider, account: connection.externalAccountID,
                                            apiKey: connection.auth == .apiKey ? credential.tokens.access : nil, path: call.path),
                            headers: [("Authorization", provider.api.authorization(credential.tokens.access, isAPIKey: connection.auth == .apiKey))]
                                + resource.headers.map { (name: $0.0, value: $0.1) } + (call.body == nil ? [] : [("Content-Type", "application/json")]),
                            body: call.body.map { Array($0.serialized.utf8) } ?? [])
        }
        /// `tried`: the calls for this page already made (the page asked for ahead, when it failed).
        func authorized(_ call: SyncResource.ProviderCall, tried: Int = 0) throws -> OutboundResponse {
            let path = call.path
            var pause = Self.firstPagePause
            if tried > 0 {
                Thread.sleep(forTimeInterval: pause / .seconds(1))
                try job.checkCancellation()
                pause *= 2
            }
            for attempt in (1 + tried)...Self.pageTries {
                let response: OutboundResponse?
                let failure: String
                do {
                    response = try access.send(id, provider: provider.id) { request(call, $0, $1) }
                    failure = "provider answered \(response?.status ?? 0)"
                } catch let error as OutboundHTTPError where attempt < Self.pageTries {
                    response = nil
                    failure = "provider call failed (\(error))"
                }
                if let response, response.status < 500 || attempt == Self.pageTries {
                    guard response.status < 500 else { throw JobFailure.retryable("\(provider.id) answered \(response.status) to \(path) \(Self.pageTries) times") }
                    guard (200..<300).contains(response.status) else {
                        throw JobFailure.permanent("\(provider.id) answered \(response.status) to \(path): \(response.text.prefix(300))")
                    }
                    return response
                }
                job.logger.warning("\(failure); trying the page again", metadata: [
                    "provider": .string(provider.id), "resource": .string(name), "attempt": .stringConvertible(attempt),
                ])
                Thread.sleep(forTimeInterval: pause / .seconds(1))
                try job.checkCancellation()
                pause *= 2
            }
            throw JobFailure.retryable("\(provider.id) did not answer \(path)")
        }
        do {
            // Objects already brought by this run from a newer page of a newest-first feed.
            var applied: Set<String> = []
            while mode == "incremental", let since, let feed = usesFallback ? resource.fallback : resource.changes {
                try job.checkCancellation()
                // A minute of overlap absorbs clock skew and the provider's lag; the upsert absorbs the repeat.
                let call = feed.request(account: connection.externalAccountID, since: since - 60, cursor: cursor)
                let path = call.path
                let page: SyncResource.FeedPage
                let asked = ContinuousClock.now
                do {
                    page = try feed.parse(try authorized(call).body, cursor: cursor, since: since - 60, resource: resource)
                } catch let error as InvalidValue {
                    throw JobFailure.retryable("\(provider.id)'s answer to \(path) is unreadable: \(error)")
                }
                timing.provider += ContinuousClock.now - asked
                if page.truncated {
                    // A full answer may have left changes out: walk the slower feed, or everything.
                    job.logger.info("the change feed answered its maximum; walking \(resource.fallback == nil || usesFallback ? "the whole resource" : "by update time") instead", metadata: [
                        "resource": .string(name), "objects": .stringConvertible(page.changes.count),
                    ])
                    cursor = nil
                    if resource.fallback != nil, !usesFallback {
                        usesFallback = true
                    } else {
                        mode = "full"
                        try runs.mode(run, "full", on: database)
                    }
                    continue
                }
                // The newest change of each object wins: within the page (oldest first), and over
                // the older pages that follow a newer one in a newest-first feed. The changes kept
                // stay in the provider's order, so the change sequence follows it.
                var inPage: Set<String> = []
                var latest: [SyncChange] = []
                for change in page.changes.reversed() where !applied.contains(change.externalID) && inPage.insert(change.externalID).inserted {
                    latest.append(change)
                }
                latest.reverse()
                if feed.newestFirst { applied.formUnion(inPage) }
                let writes = latest.filter { !$0.deleted }.compactMap { change in
                    change.object.map { RecordWrite(externalID: change.externalID, data: $0, version: change.version) }
                }
                let deletes = latest.filter(\.deleted)
                pages += 1
                let next = page.next
                let writing = ContinuousClock.now
                defer { timing.writing += ContinuousClock.now - writing }
                let (counts, gone) = try database.transaction { database in
                    let counts = try records.write(writes, connection: id, tenant: connection.tenant, provider: provider.id, resource: name, on: database)
                    var gone = 0
                    for change in deletes where try records.delete(change.externalID, version: change.version, connection: id, resource: name, on: database) {
                        gone += 1
                    }
                    try stateStore.save(tenant: connection.tenant, provider: provider.id, resource: name, connection: id, cursor: next,
                                        details: details(next == nil ? "complete" : "running"), fence: lock.fence, on: database)
                    try runs.page(run, counts, deleted: gone, checkpoint: next, on: database)
                    return (counts, gone)
                }
                total = total + counts
                deleted += gone
                guard let next else { break }
                cursor = next
            }
            // While a page commits, the next one is already asked for, on another thread through
            // a second client (``PageInFlight``): a walk then takes as long per page as the slower
            // of the two, not both. Only a 2xx is used as it came; anything else is asked for
            // again here, through the retries, the token refresh and the pauses above. Where no
            // second client can be had (Redis refuses a connection), pages go one after another.
            let companion = mode == "incremental" ? nil : try? client.companion()
            var inFlight: PageInFlight?
            defer { inFlight?.abandon() }
            while mode != "incremental" {
                try job.checkCancellation()
                let call = resource.pageRequest(cursor: cursor, account: connection.externalAccountID)
                let path = call.path
                let asked = ContinuousClock.now
                var response: OutboundResponse?
                var receivedAt = Date()
                // A page asked for ahead that failed (5xx, transport) was the page's first try.
                var tried = 0
                if let ahead = inFlight {
                    inFlight = nil
                    switch ahead.wait() {
                    case .success(let answer) where (200..<300).contains(answer.response.status) && ahead.call == call:
                        (response, receivedAt) = (answer.response, answer.receivedAt)
                    case .success(let answer):
                        if answer.response.status >= 500 {
                            tried = 1
                            job.logger.warning("provider answered \(answer.response.status); trying the page again", metadata: [
                                "provider": .string(provider.id), "resource": .string(name), "attempt": "1",
                            ])
                        }
                    case .failure(let error):
                        if error is OutboundHTTPError { tried = 1 }
                        job.logger.debug("the page asked for ahead failed; asking again", metadata: ["resource": .string(name), "error": .string("\(error)")])
                    }
                }
                if response == nil {
                    response = try authorized(call, tried: tried)
                    receivedAt = Date()
                }
                let page: SyncResource.Page
                do {
                    page = try resource.parse(response!.body, cursor: cursor)
                } catch {
                    throw JobFailure.retryable("\(provider.id)'s answer to \(path) is unreadable: \(error)")
                }
                if let next = page.next, let companion {
                    let call = resource.pageRequest(cursor: next, account: connection.externalAccountID)
                    let (connection, credential) = try access.credentials(for: id)
                    inFlight = PageInFlight(call, request(call, connection, credential), client: companion, provider: provider.id, connection: idText)
                }
                timing.provider += ContinuousClock.now - asked
                // Without a version of its own, an object's state is as new as the moment it was
                // fetched, so a webhook about a later change is not overwritten by it. Event times
                // have whole seconds (Stripe's `created`): the page counts as just before the second
                // it was fetched in, so an event of that same second wins (a change after it has an
                // event of its own, later still).
                let fetchedAt = Int64(receivedAt.timeIntervalSince1970.rounded(.down)) * 1000 - 1
                let writes = page.objects.compactMap { object in
                    resource.id(of: object).map {
                        RecordWrite(externalID: $0, data: object, version: resource.version == nil ? fetchedAt : resource.version(of: object))
                    }
                }
                pages += 1
                let next = page.next
                let writing = ContinuousClock.now
                defer { timing.writing += ContinuousClock.now - writing }
                let counts = try database.transaction { database in
                    let counts = try records.write(writes, connection: id, tenant: connection.tenant, provider: provider.id, resource: name, on: database)
                    if mode == "reconcile" {
                        try records.markSeen(writes.map(\.externalID), generation: generation, connection: id, resource: name, on: database)
                    }
                    try stateStore.save(tenant: connection.tenant, provider: provider.id, resource: name, connection: id, cursor: next,
                                        details: details(next == nil ? "complete" : "running"), fence: lock.fence, on: database)
                    try runs.page(run, counts, checkpoint: next, on: database)
                    return counts
                }
                total = total + counts
                SyncMetrics.records(provider: provider.id, resource: name, counts)
                job.logger.debug("sync page committed", metadata: [
                    "resource": .string(name), "page": .stringConvertible(pages), "objects": .stringConvertible(writes.count),
                    "added": .stringConvertible(counts.added), "updated": .stringConvertible(counts.updated), "next": .string(next ?? "end"),
                ])
                guard let next else { break }
                cursor = next
            }
        } catch {
            // Stopped (lease lost, shutdown) or sent back to wait (429, an open circuit): the next
            // run resumes from the checkpoint. Anything else failed; its retry resumes the same way.
            let stopped: Bool
            switch error {
            case is JobCancelled, is ProviderBackoff: stopped = true
            case JobFailure.reschedule: stopped = true
            default: stopped = false
            }
            try? runs.finish(run, status: stopped ? "interrupted" : "failed", error: "\(error)", on: database)
            SyncMetrics.run(provider: provider.id, resource: name, outcome: stopped ? "interrupted" : "failed")
            throw error
        }
        // Only a walk that saw everything may conclude something is gone.
        if mode == "reconcile" {
            deleted += try database.transaction { database in
                let deleted = try records.deleteUnseen(generation: generation, startedAt: began, connection: id, resource: name, on: database)
                try runs.finish(run, status: "succeeded", deleted: deleted, on: database)
                return deleted
            }
        } else {
            try runs.finish(run, status: "succeeded", on: database)
        }
        SyncMetrics.deleted(provider: provider.id, resource: name, deleted)
        SyncMetrics.run(provider: provider.id, resource: name, outcome: "succeeded")
        job.logger.info("sync finished", metadata: [
            "connection": .string(idText), "provider": .string(provider.id), "resource": .string(name), "run": .stringConvertible(run),
            "pages": .stringConvertible(pages), "added": .stringConvertible(total.added), "updated": .stringConvertible(total.updated),
            "unchanged": .stringConvertible(total.unchanged), "deleted": .stringConvertible(deleted), "mode": .string(mode),
            "provider_ms": .stringConvertible(Milliseconds.of(timing.provider)), "write_ms": .stringConvertible(Milliseconds.of(timing.writing)),
        ])
    }
}

/// One page of a walk asked for ahead, on a thread of its own through a client of its own (a
/// ``ProviderClient/companion()``), while the job's thread commits the page before it. The job's
/// thread takes the answer with ``wait()``; the call goes through the same breakers and limits
/// as every other, and nothing about it is shared with the job's thread until it is taken.
final class PageInFlight: @unchecked Sendable {
    struct Answer {
        let response: OutboundResponse
        let receivedAt: Date
    }

    let call: SyncResource.ProviderCall
    private let request: OutboundRequest
    private let client: ProviderClient
    private let provider: String
    private let connection: String
    private let finished = DispatchSemaphore(value: 0)
    private var outcome: Result<Answer, any Error>?

    init(_ call: SyncResource.ProviderCall, _ request: OutboundRequest, client: ProviderClient, provider: String, connection: String) {
        self.call = call
        self.request = request
        self.client = client
        self.provider = provider
        self.connection = connection
        Thread.detachNewThread { [self] in
            outcome = Result { Answer(response: try self.client.send(self.request, provider: self.provider, connection: self.connection), receivedAt: Date()) }
            finished.signal()
        }
    }

    /// The answer, once the call is done.
    func wait() -> Result<Answer, any Error> {
        finished.wait()
        return outcome!
    }

    /// Waits for a call whose answer is no longer wanted (the run stopped), so its client is not
    /// in use when the run ends.
    func abandon() { _ = wait() }
}

/// `junction_sync_records_total{provider,resource,kind}` (kind `added`, `updated`, `unchanged`,
/// `deleted`) and `junction_sync_runs_total{provider,resource,outcome}`. Resources are each
/// provider's fixed list, so the labels stay bounded.
enum SyncMetrics {
    static func records(provider: String, resource: String, _ counts: PageCounts) {
        for (kind, count) in [("added", counts.added), ("updated", counts.updated), ("unchanged", counts.unchanged)] where count > 0 {
            Measure.count(MetricName.syncRecords, [("provider", provider), ("resource", resource), ("kind", kind)], by: count)
        }
    }

    static func deleted(provider: String, resource: String, _ count: Int) {
        guard count > 0 else { return }
        Measure.count(MetricName.syncRecords, [("provider", provider), ("resource", resource), ("kind", "deleted")], by: count)
    }

    static func run(provider: String, resource: String, outcome: String) {
        Measure.count(MetricName.syncRuns, [("provider", provider), ("resource", resource), ("outcome", outcome)])
    }
}
