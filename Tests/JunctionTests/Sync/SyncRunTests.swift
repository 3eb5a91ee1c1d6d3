import Crypto
import Foundation
import JunctionCore
import JunctionMapping
import JunctionProviders
import JunctionQueue
import JunctionStores
import Testing

/// `sync.run` against the sandbox's seeded accounts: every object lands once, a re-run rewrites
/// nothing, a change is one new change-sequence value, and a worker killed mid-run is resumed
/// from its last committed page.
@Suite("Sync runs", .serialized)
struct SyncRunTests {
    /// Stripe's id prefix of each resource's objects.
    enum StripeIDs {
        static let prefixes = ["customers": "cus_", "products": "prod_", "prices": "price_", "subscriptions": "sub_", "invoices": "in_",
                               "payment_intents": "pi_", "charges": "ch_", "refunds": "re_", "disputes": "dp_"]
    }

    static func sync(_ stack: ConnectStack, _ connection: UUID, _ resource: String) async throws -> SyncRun {
        let before = try await runs(stack, connection, resource).count
        try await stack.enqueue([JobRequest(type: "sync.run", payload: ["connection": .string(connection.uuidString.lowercased()), "resource": .string(resource)],
                                            priority: .high, connection: connection.uuidString.lowercased())])
        try await QueueKit.eventually("the \(resource) sync finished", limit: .seconds(90)) {
            let all = try await runs(stack, connection, resource)
            return all.count > before && all.first.map { $0.status != "running" } == true
        }
        return try #require(try await runs(stack, connection, resource).first)
    }

    /// Runs a reconciliation of `resource` (a complete walk that soft-deletes what it did not see).
    static func reconcile(_ stack: ConnectStack, _ connection: UUID, _ resource: String) async throws -> SyncRun {
        let before = try await runs(stack, connection, resource).count
        let payload: JSONValue = ["connection": .string(connection.uuidString.lowercased()), "resource": .string(resource), "mode": "reconcile"]
        try await stack.enqueue([JobRequest(type: "sync.run", payload: payload, priority: .high, connection: connection.uuidString.lowercased())])
        try await QueueKit.eventually("the \(resource) reconciliation finished", limit: .seconds(90)) {
            let all = try await runs(stack, connection, resource)
            return all.count > before && all.first.map { $0.status != "running" } == true
        }
        return try #require(try await runs(stack, connection, resource).first)
    }

    static func runs(_ stack: ConnectStack, _ connection: UUID, _ resource: String) async throws -> [SyncRun] {
        try await stack.onDatabase { try SyncRunStore().list(connection: connection, resource: resource, on: $0) }
    }

    static func stored(_ stack: ConnectStack, _ connection: UUID, _ resource: String) async throws -> [StoredRecord] {
        try await stack.onDatabase { try RecordStore().changes(connection: connection, resource: resource, limit: 100_000, on: $0) }
    }

    static func sandboxCount(_ stack: ConnectStack, _ provider: String, _ collection: String) async throws -> Int {
        let counts = try stack.sandbox.json(try await stack.sandbox.send("GET", "/_sandbox/counts"))
        return ((counts[provider] as? [String: Any])?[collection] as? Int) ?? -1
    }

    @Test func everyObjectOfEachResourceLandsOnceAndARerunRewritesNothing() async throws {
        try await ConnectStack.with(seed: 150) { stack in
            let cases: [(provider: String, resource: String, collection: String)] = [
                ("stripe", "customers", "customers"), ("stripe", "products", "products"), ("stripe", "invoices", "invoices"),
                ("stripe", "prices", "prices"), ("stripe", "subscriptions", "subscriptions"), ("stripe", "payment_intents", "payment_intents"),
                ("stripe", "charges", "charges"), ("stripe", "refunds", "refunds"), ("stripe", "disputes", "disputes"),
                ("square", "customers", "customers"), ("square", "catalog", "catalog"), ("square", "payments", "payments"),
                ("square", "orders", "orders"), ("square", "inventory", "inventory"),
                ("quickbooks", "customers", "Customer"), ("quickbooks", "invoices", "Invoice"), ("quickbooks", "items", "Item"),
                ("quickbooks", "payments", "Payment"), ("quickbooks", "accounts", "Account"),
            ]
            var connections: [String: UUID] = [:]
            for provider in ["stripe", "square", "quickbooks"] { connections[provider] = try await stack.connect(provider, tenant: "tenant-s") }
            for item in cases {
                let id = try #require(connections[item.provider])
                let expected = try await Self.sandboxCount(stack, item.provider, item.collection)
                #expect(expected > 0, "the sandbox seeded \(item.provider) \(item.collection)")
                let first = try await Self.sync(stack, id, item.resource)
                #expect(first.status == "succeeded", "\(item.provider) \(item.resource): \(first.error ?? "")")
                #expect(first.counts == PageCounts(added: expected, updated: 0, unchanged: 0), "\(item.provider) \(item.resource): \(first.counts) of \(expected)")
                let records = try await Self.stored(stack, id, item.resource)
                #expect(records.count == expected && Set(records.map(\.externalID)).count == expected)
                DefaultMappingCheck.expectDefaultsMap(records, provider: item.provider, resource: item.resource)
                // A re-run rewrites nothing: it walks everything unchanged, or (Stripe, QuickBooks) asks
                // what changed since the last run and gets nothing.
                let again = try await Self.sync(stack, id, item.resource)
                let incremental = try #require(Providers.named(item.provider)?.syncResource(item.resource)).changes != nil
                #expect(again.mode == (incremental ? "incremental" : "full"))
                #expect(again.counts == PageCounts(added: 0, updated: 0, unchanged: incremental ? 0 : expected), "\(item.provider) \(item.resource): \(again.counts)")
                #expect(try await Self.stored(stack, id, item.resource).map(\.changeSequence) == records.map(\.changeSequence))
            }

            // One changed object is one new change: it moves to the end of the change order, whether its
            // webhook or the next run brings it.
            let stripe = try #require(connections["stripe"])
            let target = try #require(try await Self.stored(stack, stripe, "customers").first)
            let changed = try await stack.sandbox.send("POST", "/_sandbox/stripe/customers/\(target.externalID)", body: #"{"name":"Renamed Customer"}"#)
            #expect(changed.status == 200, "\(changed.text)")
            // The sandbox's webhook may bring it first; the run brings it otherwise, once.
            let third = try await Self.sync(stack, stripe, "customers")
            #expect(third.counts.updated <= 1 && third.counts.added == 0, "\(third.counts)")
            let last = try #require(try await Self.stored(stack, stripe, "customers").last)
            #expect(last.externalID == target.externalID && last.data["name"] == "Renamed Customer" && last.changeSequence > target.changeSequence)
        }
    }

    /// Activating a connection schedules each of its resources; the scheduler runs them; ops see
    /// where each stands; revoking the connection disables them.
    @Test func anActiveConnectionIsSyncedOnScheduleAndOpsSeeWhereItStands() async throws {
        try await ConnectStack.with(seed: 30) { stack in
            let stripe = try await stack.connect("stripe", tenant: "tenant-s")
            let schedules = try await stack.onDatabase { database in try ScheduleStore().list(on: database).filter { $0.connection == stripe } }
            let names = schedules.map(\.name)
            let resources = try #require(Providers.named("stripe")).sync.map(\.name)
            #expect(Set(names) == Set(resources.map { SyncSchedules.name(connection: stripe, resource: $0) })
                .union(resources.map { SyncSchedules.reconcileName(connection: stripe, resource: $0) }), "\(names)")
            // Each resource is reconciled daily at low, the first a day after the connection.
            let reconciliations = schedules.filter { $0.name.hasPrefix("reconcile:") }
            #expect(reconciliations.allSatisfy { $0.priority == .low && $0.payload["mode"] == "reconcile" && $0.rule == .every(.seconds(86_400)) })
            #expect(reconciliations.allSatisfy { $0.nextRunAt > Date().addingTimeInterval(86_000) })
            // One connection synced every 5 minutes, then back to the provider's 15.
            let faster = try await CredentialSecrecyTests.cli(stack, ["syncs", "interval", stripe.uuidString.lowercased(), "5m"])
            #expect(faster.standardOutput.contains("synced every 300s; \(resources.count) schedules changed"), "\(faster.standardOutput)\(faster.standardError)")
            let intervals = { try await stack.onDatabase { database in
                try ScheduleStore().list(on: database).filter { $0.connection == stripe && $0.name.hasPrefix("sync:") }.map(\.rule)
            } }
            #expect(try await intervals().allSatisfy { $0 == .every(.seconds(300)) })
            #expect(try await stack.connection(stripe)?.metadata["sync_interval"] == 300)
            let refused = try await CredentialSecrecyTests.cli(stack, ["syncs", "interval", stripe.uuidString.lowercased(), "10s"])
            #expect(try await refused.exitStatus() == 65 && refused.standardError.contains("at least 1m"))
            _ = try await CredentialSecrecyTests.cli(stack, ["syncs", "interval", stripe.uuidString.lowercased(), "default"])
            #expect(try await intervals().allSatisfy { $0 == .every(.seconds(900)) })
            let scheduler = try ChildProcess(junction: "junction-scheduler", environment: stack.environment)
            try await scheduler.waitForLine(containing: "\"msg\":\"scheduler started\"")
            // The first scheduled sync walks everything: a backfill, handed on to `low` before it
            // starts, so the run recorded is the backfill's.
            try await QueueKit.eventually("the first scheduled sync ran as a backfill", limit: .seconds(60)) {
                try await Self.runs(stack, stripe, resources[0]).first.map { $0.status == "succeeded" && $0.trigger == "backfill" && $0.mode == "full" } == true
            }
            let backfill = try #require(try await Self.runs(stack, stripe, resources[0]).first)
            #expect(try await Self.runs(stack, stripe, resources[0]).count == 1, "the scheduled job that handed the backfill on recorded no run")
            let started = stack.workers.flatMap(\.lines).filter { $0.contains("\"msg\":\"job started\"") && $0.contains(backfill.jobID) }
            #expect(!started.isEmpty && started.allSatisfy { $0.contains("\"priority\":\"low\"") }, "the backfill ran at low: \(started)")
            // The job it was handed on from logged under the same trace id: one id follows the work.
            let traceID = { (line: String) in line.range(of: #""trace_id":"[0-9a-f]{32}""#, options: .regularExpression).map { String(line[$0]) } }
            let handedOn = stack.workers.flatMap(\.lines).filter { $0.contains("sync is a backfill: handed on at low") && $0.contains("\"resource\":\"\(resources[0])\"") }
            #expect(handedOn.count == 1 && handedOn.compactMap(traceID).first != nil && handedOn.compactMap(traceID).first == started.first.flatMap(traceID),
                    "the backfill keeps the trace id of the job that handed it on: \(handedOn) \(started)")
            _ = try await scheduler.stop()
            let listed = try await CredentialSecrecyTests.cli(stack, ["syncs", "list", stripe.uuidString.lowercased()])
            #expect(listed.standardOutput.contains("\(resources[0])  complete  last run"), "\(listed.standardOutput)\(listed.standardError)")
            let triggered = try await CredentialSecrecyTests.cli(stack, ["syncs", "trigger", stripe.uuidString.lowercased(), "products"])
            #expect(triggered.standardOutput.contains("enqueued sync.run products"))
            try await QueueKit.eventually("the triggered sync ran") {
                try await Self.runs(stack, stripe, "products").contains { $0.trigger == "manual" && $0.status == "succeeded" }
            }
            let shown = try await CredentialSecrecyTests.cli(stack, ["syncs", "show", stripe.uuidString.lowercased(), "products"])
            #expect(shown.standardOutput.contains("succeeded  manual  "), "\(shown.standardOutput)")
            #expect(shown.standardOutput.contains(" -0  from "), "the deleted count shows: \(shown.standardOutput)")
            let reconcile = try await CredentialSecrecyTests.cli(stack, ["syncs", "trigger", stripe.uuidString.lowercased(), "prices", "--mode", "reconcile"])
            #expect(reconcile.standardOutput.contains("enqueued sync.run prices"))
            try await QueueKit.eventually("the reconciliation ran") {
                try await Self.runs(stack, stripe, "prices").contains { $0.mode == "reconcile" && $0.status == "succeeded" }
            }
            let badMode = try await CredentialSecrecyTests.cli(stack, ["syncs", "trigger", stripe.uuidString.lowercased(), "--mode", "sideways"])
            #expect(try await badMode.exitStatus() == 65 && badMode.standardError.contains("--mode is auto, full, incremental or reconcile"))
            let unknown = try await CredentialSecrecyTests.cli(stack, ["syncs", "trigger", stripe.uuidString.lowercased(), "widgets"])
            #expect(try await unknown.exitStatus() == 65 && unknown.standardError.contains("stripe has no resource widgets"))

            _ = try await CredentialSecrecyTests.cli(stack, ["connections", "revoke", stripe.uuidString.lowercased()])
            let enabled = try await stack.onDatabase { database in try ScheduleStore().list(on: database).filter { $0.connection == stripe && $0.enabled }.count }
            #expect(enabled == 0, "revoking disables the connection's schedules")
        }
    }

    /// Changes made in the sandbox after a sync arrive by webhook: the event's object updates the
    /// record of the connection whose account it names, a delete soft-deletes it, and both take
    /// the next change-sequence values.
    @Test func stripeWebhooksUpdateAndDeleteTheSyncedRecords() async throws {
        try await ConnectStack.with(seed: 20) { stack in
            let stripe = try await stack.connect("stripe", tenant: "tenant-s")
            _ = try await Self.sync(stack, stripe, "customers")
            let records = try await Self.stored(stack, stripe, "customers")
            let (target, doomed) = (records[0], records[1])
            let highest = try #require(records.map(\.changeSequence).max())
            let update = try await stack.sandbox.send("POST", "/_sandbox/stripe/customers/\(target.externalID)", body: #"{"email":"new@example.com"}"#)
            #expect(update.status == 200)
            let removed = try await stack.sandbox.stripe("DELETE", "/v1/customers/\(doomed.externalID)")
            #expect(removed.status == 200 && removed.text.contains("\"deleted\":true"))
            do {
                try await QueueKit.eventually("both events applied", limit: .seconds(30)) {
                    let now = try await Self.stored(stack, stripe, "customers")
                    return now.contains { $0.externalID == target.externalID && $0.data["email"] == "new@example.com" }
                        && now.contains { $0.externalID == doomed.externalID && $0.deletedAt != nil }
                }
            } catch {
                let now = try await Self.stored(stack, stripe, "customers")
                Issue.record("records now: \(now.filter { [target.externalID, doomed.externalID].contains($0.externalID) })")
                throw error
            }
            let changes = try await stack.onDatabase { try RecordStore().changes(connection: stripe, resource: "customers", after: highest, on: $0) }
            #expect(Set(changes.map(\.externalID)) == [target.externalID, doomed.externalID], "two changes after the sync, in order")
            #expect(try await stack.onDatabase { try RecordStore().count(connection: stripe, resource: "customers", on: $0) } == records.count - 1)
            let outcomes = try await stack.onDatabase { database in
                try database.query("SELECT outcome FROM webhook_events WHERE event_type IN ('customer.updated', 'customer.deleted') ORDER BY id").rows.map { try $0.decode("outcome", as: String.self) }
            }
            #expect(outcomes == ["applied", "applied"], "\(outcomes)")
            // The next poll brings the customer as it is now: nothing changes.
            let again = try await Self.sync(stack, stripe, "customers")
            #expect(again.counts.updated == 0 && again.counts.added == 0, "\(again.counts)")
        }
    }

    /// Objects that vanish without a delete signal are found by reconciliation, and only by one
    /// that completes: a walk cut short deletes nothing, and its resumption goes on to the end.
    @Test func aReconciliationCutShortDeletesNothingAndACompleteOneDeletesExactlyTheVanished() async throws {
        try await ConnectStack.with(seed: 250) { stack in
            let stripe = try await stack.connect("stripe", tenant: "tenant-s")
            _ = try await Self.sync(stack, stripe, "customers")
            let before = try await Self.stored(stack, stripe, "customers")
            // Two customers vanish with no webhook reaching Junction.
            try await stack.sandbox.muteWebhooks()
            let vanished = [before[3].externalID, before[200].externalID]
            for id in vanished { #expect(try await stack.sandbox.stripe("DELETE", "/v1/customers/\(id)").status == 200) }

            // A reconciliation that fails after its first page.
            try await stack.sandbox.fault("stripe", ["latency_ms": 400])
            let payload: JSONValue = ["connection": .string(stripe.uuidString.lowercased()), "resource": "customers", "mode": "reconcile"]
            try await stack.enqueue([JobRequest(type: "sync.run", payload: payload, priority: .high, connection: stripe.uuidString.lowercased(), maxAttempts: 1)])
            try await QueueKit.eventually("its first page committed") {
                try await Self.runs(stack, stripe, "customers").first.map { $0.mode == "reconcile" && $0.pages >= 1 } == true
            }
            try await stack.sandbox.fault("stripe", ["error_rate": 1, "error_status": 503])
            try await QueueKit.eventually("the reconciliation failed") {
                try await Self.runs(stack, stripe, "customers").first.map { $0.status == "failed" } == true
            }
            let cut = try await Self.stored(stack, stripe, "customers")
            #expect(cut.allSatisfy { $0.deletedAt == nil }, "a reconciliation cut short deletes nothing")

            // Resumed to the end: exactly the two vanished customers are deleted.
            try await stack.sandbox.clearFaults()
            let finished = try await Self.sync(stack, stripe, "customers")
            #expect(finished.status == "succeeded" && finished.mode == "reconcile" && finished.checkpointFrom != nil, "it resumed the reconciliation: \(finished)")
            #expect(finished.deleted == 2)
            let after = try await Self.stored(stack, stripe, "customers")
            #expect(Set(after.filter { $0.deletedAt != nil }.map(\.externalID)) == Set(vanished))
        }
    }

    /// After a complete run, the next asks QuickBooks's CDC what changed since it began (deletes
    /// included); a CDC answer at its 1,000-object maximum may be missing changes, so that run
    /// walks the window by update time instead, and so does a run whose last one began beyond CDC's
    /// 30 days.
    @Test func quickBooksRunsAfterTheFirstAskCDCAndAFullAnswerSplitsTheWindow() async throws {
        try await ConnectStack.with(seed: 1100) { stack in
            let quickbooks = try await stack.connect("quickbooks", tenant: "tenant-s")
            // Only the runs this test starts bring changes (the events would start runs of their own).
            try await stack.sandbox.muteWebhooks()
            let first = try await Self.sync(stack, quickbooks, "customers")
            #expect(first.mode == "full" && first.counts.added == 1100)
            func rename(_ ids: [String]) async throws {
                for id in ids {
                    let response = try await stack.sandbox.send("POST", "/v3/company/\(SandboxClient.quickBooksRealm)/customer",
                                                                headers: [("Authorization", "Bearer \(SandboxClient.quickBooksToken)"), ("Content-Type", "application/json")],
                                                                body: #"{"Id":"\#(id)","SyncToken":"0","sparse":true,"DisplayName":"Renamed \#(id)"}"#)
                    #expect(response.status == 200, "\(response.text)")
                }
            }
            try await rename(["3", "7"])
            let second = try await Self.sync(stack, quickbooks, "customers")
            #expect(second.mode == "incremental" && second.pages == 1 && second.counts.updated == 2, "\(second.mode) \(second.pages) \(second.counts)")
            let cdc = try await stack.sandbox.requests("quickbooks").filter { ($0["path"] as? String)?.hasSuffix("/cdc") == true }
            #expect(cdc.count == 1 && ((cdc.first?["query"] as? String) ?? "").contains("entities=Customer"))
            #expect(try await Self.stored(stack, quickbooks, "customers").last?.data["DisplayName"] == "Renamed 7")

            // More changes than one CDC answer holds: the window is walked by update time, in pages
            // of 1,000, touching only what changed (and the overlap before it), never the whole list.
            try await rename((100..<1101).map(String.init))
            #expect(try await stack.sandbox.send("DELETE", "/_sandbox/requests").status == 204)
            let third = try await Self.sync(stack, quickbooks, "customers")
            #expect(third.mode == "incremental" && third.counts.updated == 1001 && third.counts.added == 0 && third.counts.unchanged < 1000,
                    "\(third.mode) \(third.counts)")
            let queries = try await stack.sandbox.requests("quickbooks").compactMap { ($0["query"] as? String)?.removingPercentEncoding }.filter { $0.contains("SELECT") }
            #expect(queries.count == 2 && queries.allSatisfy { $0.contains("WHERE Metadata.LastUpdatedTime >= ") && $0.contains("ORDERBY Metadata.LastUpdatedTime") },
                    "\(queries)")
            let stored = try await Self.stored(stack, quickbooks, "customers")
            #expect(stored.count == 1100 && stored.filter { $0.data["DisplayName"]?.stringValue?.hasPrefix("Renamed") == true }.count == 1003)

            // A deleted invoice is deleted by the next run, from CDC's report.
            _ = try await Self.sync(stack, quickbooks, "invoices")
            let invoice = try #require(try await Self.stored(stack, quickbooks, "invoices").first)
            let removed = try await stack.sandbox.send("POST", "/v3/company/\(SandboxClient.quickBooksRealm)/invoice?operation=delete",
                                                       headers: [("Authorization", "Bearer \(SandboxClient.quickBooksToken)"), ("Content-Type", "application/json")],
                                                       body: #"{"Id":"\#(invoice.externalID)","SyncToken":"0"}"#)
            #expect(removed.status == 200)
            let deleting = try await Self.sync(stack, quickbooks, "invoices")
            #expect(deleting.mode == "incremental" && deleting.deleted == 1, "\(deleting.mode) deleted \(deleting.deleted)")
            #expect(try await Self.stored(stack, quickbooks, "invoices").first { $0.externalID == invoice.externalID }?.deletedAt != nil)

            // Last run 31 days ago: beyond CDC, so the run queries by update time.
            try await Self.age(stack, quickbooks, "customers", days: 31)
            #expect(try await stack.sandbox.send("DELETE", "/_sandbox/requests").status == 204)
            let old = try await Self.sync(stack, quickbooks, "customers")
            let asked = try await stack.sandbox.requests("quickbooks").map { ($0["path"] as? String ?? "") + "?" + (($0["query"] as? String)?.removingPercentEncoding ?? "") }
            #expect(old.mode == "incremental" && old.counts.added == 0 && old.counts.updated == 0, "\(old.mode) \(old.counts)")
            #expect(!asked.isEmpty && asked.allSatisfy { $0.contains("/query?") && $0.contains("Metadata.LastUpdatedTime >= ") }, "\(asked)")
        }
    }

    /// Makes the resource's last complete run look `days` old.
    static func age(_ stack: ConnectStack, _ connection: UUID, _ resource: String, days: Int) async throws {
        let since = Timestamp.format(Date().addingTimeInterval(-Double(days) * 86_400))
        let changed = try await stack.onDatabase { database in
            try database.query("""
                UPDATE sync_state SET details = jsonb_set(details, '{since}', to_jsonb(\(since)::text))
                WHERE connection_id = \(connection) AND resource = \(resource)
                """).affectedRows
        }
        #expect(changed == 1)
    }

    /// After the backfill, Stripe changes arrive by following `/v1/events` from when the last run
    /// began: creates, updates and deletes, each one change in order, without listing the resource
    /// again; a last run beyond the 30 days Stripe keeps events re-lists instead.
    @Test func stripeRunsAfterTheBackfillFollowEventsAndFallBackToAReListAfterThirtyDays() async throws {
        try await ConnectStack.with(seed: 40) { stack in
            let stripe = try await stack.connect("stripe", tenant: "tenant-s")
            // No webhook reaches Junction: only the incremental run can bring the changes.
            try await stack.sandbox.muteWebhooks()
            let first = try await Self.sync(stack, stripe, "customers")
            #expect(first.mode == "full" && first.counts.added == 40)
            let before = try await Self.stored(stack, stripe, "customers")
            let highest = try #require(before.map(\.changeSequence).max())
            let (renamed, doomed) = (before[5].externalID, before[9].externalID)
            let created = try stack.sandbox.json(try await stack.sandbox.stripe("POST", "/v1/customers", form: "email=new%40example.com"))
            let newID = try #require(created["id"] as? String)
            #expect(try await stack.sandbox.stripe("POST", "/v1/customers/\(renamed)", form: "name=First").status == 200)
            #expect(try await stack.sandbox.stripe("POST", "/v1/customers/\(renamed)", form: "name=Second").status == 200)
            #expect(try await stack.sandbox.stripe("DELETE", "/v1/customers/\(doomed)").status == 200)
            // A product change is not a customer's.
            _ = try await stack.sandbox.stripe("POST", "/v1/products", form: "name=Other")
            #expect(try await stack.sandbox.send("DELETE", "/_sandbox/requests").status == 204)

            let second = try await Self.sync(stack, stripe, "customers")
            #expect(second.mode == "incremental" && second.counts.added == 1 && second.counts.updated == 1 && second.deleted == 1,
                    "\(second.mode) \(second.counts) deleted \(second.deleted)")
            let paths = try await stack.sandbox.requests("stripe").map { ($0["path"] as? String ?? "") + "?" + (($0["query"] as? String)?.removingPercentEncoding ?? "") }
            #expect(paths.count == 1 && paths[0].hasPrefix("/v1/events?") && paths[0].contains("type=customer.*"), "\(paths) \(second.error ?? "")")
            let changes = try await stack.onDatabase { try RecordStore().changes(connection: stripe, resource: "customers", after: highest, on: $0) }
            #expect(Set(changes.map(\.externalID)) == [newID, renamed, doomed] && changes.count == 3)
            #expect(changes.first { $0.externalID == renamed }?.data["name"] == "Second", "the newest state of an object changed twice")
            #expect(changes.first { $0.externalID == doomed }?.deletedAt != nil)
            #expect(try await stack.onDatabase { try RecordStore().count(connection: stripe, resource: "customers", on: $0) } == 40)

            // Events older than 30 days are gone: the run lists everything again.
            try await Self.age(stack, stripe, "customers", days: 31)
            let relist = try await Self.sync(stack, stripe, "customers")
            #expect(relist.mode == "full" && relist.counts.added == 0 && relist.counts.unchanged == 40, "\(relist.mode) \(relist.counts)")
        }
    }

    /// Every Stripe resource after its backfill: an object created, one updated and, where Stripe
    /// deletes (customers, products), one deleted arrive by the next run, which reads them from
    /// `/v1/events`, and by webhook. Each is one change after everything stored before, and no
    /// resource takes another's (a subscription's `customer.subscription.*` event is not a customer's).
    @Test func everyStripeResourcesChangesArriveByTheNextRunAndByWebhook() async throws {
        try await ConnectStack.with(seed: 12) { stack in
            let stripe = try await stack.connect("stripe", tenant: "tenant-s")
            try await stack.sandbox.muteWebhooks()
            func first(_ path: String) async throws -> String {
                let list = try stack.sandbox.json(try await stack.sandbox.stripe("GET", "/v1/\(path)?limit=1"))
                return try #require(((list["data"] as? [[String: Any]])?.first?["id"]) as? String, "a seeded \(path)")
            }
            let (customer, product, charge) = (try await first("customers"), try await first("products"), try await first("charges"))
            let creates: [String: String] = [
                "customers": "email=created%40example.com", "products": "name=Created", "prices": "currency=usd&unit_amount=500&product=\(product)",
                "subscriptions": "customer=\(customer)", "invoices": "customer=\(customer)", "payment_intents": "amount=500&currency=usd",
                "charges": "amount=500&currency=usd", "refunds": "amount=100&charge=\(charge)",
            ]
            let deletable: Set<String> = ["customers", "products"]
            let resources = try #require(Providers.named("stripe")).sync.map(\.name)
            #expect(Set(resources) == Set(creates.keys).union(["disputes"]), "every synced resource is tried: \(resources)")

            /// Creates, updates and deletes one object of `resource` in the sandbox; answers the ids.
            func change(_ resource: String, _ stored: [StoredRecord], tag: String) async throws -> (created: String?, updated: String, deleted: String?) {
                var created: String?
                if let form = creates[resource] {
                    let answer = try await stack.sandbox.stripe("POST", "/v1/\(resource)", form: form)
                    #expect(answer.status == 200, "\(resource): \(answer.text)")
                    created = try stack.sandbox.json(answer)["id"] as? String
                }
                let live = stored.filter { $0.deletedAt == nil }
                let updated = live[0].externalID
                #expect(try await stack.sandbox.stripe("POST", "/v1/\(resource)/\(updated)", form: "metadata[changed]=\(tag)").status == 200)
                var deleted: String?
                if deletable.contains(resource), live[1].externalID != created {
                    deleted = live[1].externalID
                    #expect(try await stack.sandbox.stripe("DELETE", "/v1/\(resource)/\(live[1].externalID)").status == 200)
                }
                return (created, updated, deleted)
            }
            func expectChanges(_ resource: String, after highest: Int64, _ ids: (created: String?, updated: String, deleted: String?), tag: String) async throws {
                let changes = try await stack.onDatabase { try RecordStore().changes(connection: stripe, resource: resource, after: highest, on: $0) }
                let expected = Set([ids.created, ids.updated, ids.deleted].compactMap { $0 })
                #expect(Set(changes.map(\.externalID)) == expected && changes.count == expected.count,
                        "\(resource) by \(tag): \(changes.map { "\($0.externalID)\($0.deletedAt == nil ? "" : " deleted")" })")
                #expect(changes.first { $0.externalID == ids.updated }?.data["metadata"]?["changed"] == .string(tag), "\(resource) by \(tag)")
                if let deleted = ids.deleted { #expect(changes.first { $0.externalID == deleted }?.deletedAt != nil, "\(resource) by \(tag)") }
            }

            // By the next run: the webhooks go nowhere.
            for resource in resources {
                let backfill = try await Self.sync(stack, stripe, resource)
                #expect(backfill.status == "succeeded" && backfill.mode == "full", "\(resource): \(backfill.error ?? "")")
                let stored = try await Self.stored(stack, stripe, resource)
                let ids = try await change(resource, stored, tag: "run")
                let run = try await Self.sync(stack, stripe, resource)
                #expect(run.status == "succeeded" && run.mode == "incremental", "\(resource): \(run.mode) \(run.error ?? "")")
                #expect(run.counts.added == (ids.created == nil ? 0 : 1) && run.counts.updated == 1 && run.deleted == (ids.deleted == nil ? 0 : 1),
                        "\(resource): \(run.counts) deleted \(run.deleted)")
                try await expectChanges(resource, after: stored.map(\.changeSequence).max() ?? 0, ids, tag: "run")
            }

            // A change can touch another resource's object (a refund marks its charge refunded): one
            // more run of each brings those, before the webhooks are on.
            for resource in resources { _ = try await Self.sync(stack, stripe, resource) }

            // By webhook: each change is applied without a run, and the next run finds nothing new.
            try await stack.pointWebhooksAtTheIngress()
            for resource in resources {
                let stored = try await Self.stored(stack, stripe, resource)
                let ids = try await change(resource, stored, tag: "webhook")
                do {
                    try await QueueKit.eventually("\(resource)'s webhooks applied", limit: .seconds(30)) {
                        let now = try await Self.stored(stack, stripe, resource)
                        return now.contains { $0.externalID == ids.updated && $0.data["metadata"]?["changed"] == "webhook" }
                            && (ids.created.map { id in now.contains { $0.externalID == id } } ?? true)
                            && (ids.deleted.map { id in now.contains { $0.externalID == id && $0.deletedAt != nil } } ?? true)
                    }
                } catch {
                    Issue.record("\(resource): the webhooks were not applied")
                    throw error
                }
                try await expectChanges(resource, after: stored.map(\.changeSequence).max() ?? 0, ids, tag: "webhook")
                let run = try await Self.sync(stack, stripe, resource)
                #expect(run.counts.added == 0 && run.counts.updated == 0 && run.deleted == 0, "\(resource) after its webhooks: \(run.counts) deleted \(run.deleted)")
            }

            // A refund's `charge.refunded` reached the charge too.
            let refunded = try stack.sandbox.json(try await stack.sandbox.stripe("GET", "/v1/charges/\(charge)"))["amount_refunded"] as? Int
            #expect(refunded == 200, "two refunds of 100")
            try await QueueKit.eventually("the refunded charge applied", limit: .seconds(30)) {
                try await Self.stored(stack, stripe, "charges").contains { $0.externalID == charge && $0.data["amount_refunded"] == 200 }
            }

            // Every resource's events have gone by since the first ones above: a run of each takes
            // none of another resource's.
            for resource in resources {
                let run = try await Self.sync(stack, stripe, resource)
                #expect(run.counts.added == 0 && run.counts.updated == 0 && run.deleted == 0, "\(resource) at the end: \(run.counts) deleted \(run.deleted)")
                let prefix = try #require(StripeIDs.prefixes[resource])
                let foreign = try await Self.stored(stack, stripe, resource).map(\.externalID).filter { !$0.hasPrefix(prefix) }
                #expect(foreign.isEmpty, "\(resource) holds another resource's objects: \(foreign)")
            }
        }
    }

    /// Every QuickBooks entity after its first run: an object created, one updated and, where
    /// QuickBooks deletes (invoices, payments: transactions), one deleted arrive by the next run
    /// (CDC), and by webhook (which names the object, not its state). Each is one change after what
    /// was stored; a name-list entity is not deleted but made inactive, an update like any other.
    @Test func everyQuickBooksEntitysChangesArriveByCDCAndByWebhook() async throws {
        try await ConnectStack.with(seed: 12) { stack in
            let quickbooks = try await stack.connect("quickbooks", tenant: "tenant-q")
            try await stack.sandbox.muteWebhooks()
            let realm = SandboxClient.quickBooksRealm
            let headers = [("Authorization", "Bearer \(SandboxClient.quickBooksToken)"), ("Content-Type", "application/json")]
            func call(_ method: String, _ path: String, _ body: JSONValue? = nil) async throws -> [String: Any] {
                let answer = try await stack.sandbox.send(method, "/v3/company/\(realm)/\(path)", headers: headers, body: body?.serialized ?? "")
                #expect(answer.status == 200, "\(method) \(path): \(answer.text)")
                return try stack.sandbox.json(answer)
            }
            let line: JSONValue = ["Amount": 10, "DetailType": "SalesItemLineDetail", "SalesItemLineDetail": ["ItemRef": ["value": "1"]]]
            let entities: [(resource: String, path: String, entity: String, create: JSONValue, field: String, deletes: Bool)] = [
                ("customers", "customer", "Customer", ["DisplayName": "Created customer"], "Notes", false),
                ("invoices", "invoice", "Invoice", ["CustomerRef": ["value": "1"], "Line": [line]], "PrivateNote", true),
                ("items", "item", "Item", ["Name": "Created item", "Type": "Service"], "Description", false),
                ("payments", "payment", "Payment", ["CustomerRef": ["value": "1"], "TotalAmt": 25], "PrivateNote", true),
                ("accounts", "account", "Account", ["Name": "Created account", "AccountType": "Bank"], "Description", false),
            ]
            #expect(Set(entities.map(\.resource)) == Set(try #require(Providers.named("quickbooks")).sync.map(\.name)), "every synced entity is tried")

            /// Creates one, updates one (sparse, with its current SyncToken) and deletes one; answers the ids.
            func change(_ item: (resource: String, path: String, entity: String, create: JSONValue, field: String, deletes: Bool),
                        _ stored: [StoredRecord], tag: String) async throws -> (created: String, updated: String, deleted: String?) {
                let created = try #require((try await call("POST", item.path, item.create)[item.entity] as? [String: Any])?["Id"] as? String)
                func token(_ id: String) async throws -> String {
                    try #require((try await call("GET", "\(item.path)/\(id)")[item.entity] as? [String: Any])?["SyncToken"] as? String)
                }
                let live = stored.filter { $0.deletedAt == nil }
                let updated = live[0].externalID
                _ = try await call("POST", item.path, ["Id": .string(updated), "SyncToken": .string(try await token(updated)), "sparse": true, .init(item.field): .string(tag)])
                var deleted: String?
                if item.deletes {
                    deleted = live[1].externalID
                    _ = try await call("POST", "\(item.path)?operation=delete", ["Id": .string(live[1].externalID), "SyncToken": .string(try await token(live[1].externalID))])
                }
                return (created, updated, deleted)
            }
            func expectChanges(_ resource: String, field: String, after highest: Int64, _ ids: (created: String, updated: String, deleted: String?), tag: String) async throws {
                let changes = try await stack.onDatabase { try RecordStore().changes(connection: quickbooks, resource: resource, after: highest, on: $0) }
                let expected = Set([ids.created, ids.updated] + (ids.deleted.map { [$0] } ?? []))
                #expect(Set(changes.map(\.externalID)) == expected && changes.count == expected.count,
                        "\(resource) by \(tag): \(changes.map { "\($0.externalID)\($0.deletedAt == nil ? "" : " deleted")" })")
                #expect(changes.first { $0.externalID == ids.updated }?.data[field] == .string(tag), "\(resource) by \(tag)")
                if let deleted = ids.deleted { #expect(changes.first { $0.externalID == deleted }?.deletedAt != nil, "\(resource) by \(tag)") }
            }

            for item in entities {
                let first = try await Self.sync(stack, quickbooks, item.resource)
                #expect(first.status == "succeeded" && first.mode == "full", "\(item.resource): \(first.error ?? "")")
                let stored = try await Self.stored(stack, quickbooks, item.resource)
                let ids = try await change(item, stored, tag: "by-cdc")
                let run = try await Self.sync(stack, quickbooks, item.resource)
                #expect(run.status == "succeeded" && run.mode == "incremental", "\(item.resource): \(run.mode) \(run.error ?? "")")
                #expect(run.counts.added == 1 && run.counts.updated == 1 && run.deleted == (item.deletes ? 1 : 0),
                        "\(item.resource): \(run.counts) deleted \(run.deleted)")
                try await expectChanges(item.resource, field: item.field, after: stored.map(\.changeSequence).max() ?? 0, ids, tag: "by-cdc")
            }

            try await stack.pointWebhooksAtTheIngress()
            for item in entities {
                let stored = try await Self.stored(stack, quickbooks, item.resource)
                let ids = try await change(item, stored, tag: "by-webhook")
                do {
                    try await QueueKit.eventually("\(item.resource)'s webhooks applied", limit: .seconds(30)) {
                        let now = try await Self.stored(stack, quickbooks, item.resource)
                        return now.contains { $0.externalID == ids.updated && $0.data[item.field] == "by-webhook" }
                            && now.contains { $0.externalID == ids.created }
                            && (ids.deleted.map { id in now.contains { $0.externalID == id && $0.deletedAt != nil } } ?? true)
                    }
                } catch {
                    Issue.record("\(item.resource): the webhooks were not applied")
                    throw error
                }
                try await expectChanges(item.resource, field: item.field, after: stored.map(\.changeSequence).max() ?? 0, ids, tag: "by-webhook")
            }
        }
    }

    /// Every Square resource after its first run: objects created and updated arrive by the next
    /// run (a search by update time) and by webhook (whole objects applied, or a sync for the events
    /// that only name a change); a deleted customer by webhook, or by the next reconciliation (the
    /// search does not show it), a deleted catalog object by either (`is_deleted`).
    @Test func everySquareResourcesChangesArriveByTheNextRunAndByWebhook() async throws {
        try await ConnectStack.with(seed: 12) { stack in
            let square = try await stack.connect("square", tenant: "tenant-q")
            try await stack.sandbox.muteWebhooks()
            let headers = [("Authorization", "Bearer \(SandboxClient.squareToken)"), ("Content-Type", "application/json")]
            func call(_ method: String, _ path: String, _ body: String = "") async throws -> [String: Any] {
                let answer = try await stack.sandbox.send(method, path, headers: headers, body: body)
                #expect(answer.status == 200, "\(method) \(path): \(answer.text)")
                return try stack.sandbox.json(answer)
            }
            func id(_ answer: [String: Any], _ key: String) throws -> String { try #require((answer[key] as? [String: Any])?["id"] as? String, "\(answer)") }
            func live(_ resource: String) async throws -> [StoredRecord] { try await Self.stored(stack, square, resource).filter { $0.deletedAt == nil } }
            let location = "L88917AVBK2S5"
            var createdItem = ""

            /// One round of changes to `resource`: the ids created, updated and deleted, and whether
            /// the updated one shows `tag`.
            func change(_ resource: String, tag: String, round: Int) async throws -> (ids: [String], deleted: String?, shows: @Sendable (StoredRecord) -> Bool) {
                let records = try await live(resource)
                switch resource {
                case "customers":
                    let made = try id(try await call("POST", "/v2/customers", #"{"idempotency_key":"c-\#(tag)","given_name":"Created","note":"\#(tag)"}"#), "customer")
                    _ = try await call("PUT", "/v2/customers/\(records[0].externalID)", #"{"note":"\#(tag)"}"#)
                    _ = try await call("DELETE", "/v2/customers/\(records[1].externalID)")
                    return ([made, records[0].externalID], records[1].externalID, { $0.data["note"] == .string(tag) })
                case "payments":
                    let made = try id(try await call("POST", "/v2/payments", #"{"idempotency_key":"p-\#(tag)","source_id":"cnon:card-nonce-ok","amount_money":{"amount":700,"currency":"USD"},"note":"\#(tag)"}"#), "payment")
                    _ = try await call("POST", "/v2/refunds", #"{"idempotency_key":"r-\#(tag)","payment_id":"\#(records[0].externalID)","amount_money":{"amount":\#(round),"currency":"USD"}}"#)
                    let refunded = (records[0].data["refunded_money"]?["amount"]?.intValue ?? 0) + Int64(round)
                    return ([made, records[0].externalID], nil, { $0.data["refunded_money"]?["amount"] == .integer(refunded) })
                case "catalog":
                    let items = records.filter { $0.data["type"] == "ITEM" }
                    let made = try id(try await call("POST", "/v2/catalog/object", ##"{"idempotency_key":"k-\##(tag)","object":{"id":"#new","type":"ITEM","item_data":{"name":"Created \##(tag)"}}}"##), "catalog_object")
                    createdItem = made
                    let version = try #require(items[0].data["version"]?.intValue)
                    _ = try await call("POST", "/v2/catalog/object", #"{"idempotency_key":"u-\#(tag)","object":{"id":"\#(items[0].externalID)","type":"ITEM","version":\#(version),"item_data":{"name":"\#(tag)"}}}"#)
                    _ = try await call("DELETE", "/v2/catalog/object/\(items[1].externalID)")
                    return ([made, items[0].externalID], items[1].externalID, { $0.data["item_data"]?["name"] == .string(tag) })
                case "orders":
                    let made = try id(try await call("POST", "/v2/orders", #"""
                        {"idempotency_key":"o-\#(tag)","order":{"location_id":"\#(location)","reference_id":"new-\#(tag)","line_items":[{"name":"Pass","quantity":"2","base_price_money":{"amount":500,"currency":"USD"}}]}}
                        """#), "order")
                    let version = try #require(records[0].data["version"]?.intValue)
                    _ = try await call("PUT", "/v2/orders/\(records[0].externalID)", #"{"idempotency_key":"v-\#(tag)","order":{"version":\#(version),"reference_id":"\#(tag)"}}"#)
                    return ([made, records[0].externalID], nil, { $0.data["reference_id"] == .string(tag) })
                default: // inventory: a count for the item created above, and a changed one
                    let item = try #require(records[0].data["catalog_object_id"]?.stringValue)
                    let quantity = "\(10 + round)"
                    _ = try await call("POST", "/v2/inventory/changes/batch-create", #"""
                        {"idempotency_key":"i-\#(tag)","changes":[
                          {"type":"PHYSICAL_COUNT","physical_count":{"catalog_object_id":"\#(item)","location_id":"\#(location)","state":"IN_STOCK","quantity":"\#(quantity)"}},
                          {"type":"PHYSICAL_COUNT","physical_count":{"catalog_object_id":"\#(createdItem)","location_id":"\#(location)","state":"IN_STOCK","quantity":"5"}}]}
                        """#)
                    return ([records[0].externalID], nil, { $0.data["quantity"] == .string(quantity) })
                }
            }
            /// The changes after `highest`: exactly `ids` (and, for inventory, the new item's count), the deleted one deleted.
            func expectChanges(_ resource: String, after highest: Int64, _ round: (ids: [String], deleted: String?, shows: @Sendable (StoredRecord) -> Bool),
                               deleted: Bool, tag: String) async throws {
                let changes = try await stack.onDatabase { try RecordStore().changes(connection: square, resource: resource, after: highest, on: $0) }
                var expected = Set(round.ids)
                if deleted, let gone = round.deleted { expected.insert(gone) }
                var seen = Set(changes.map(\.externalID))
                if resource == "inventory" {
                    let fresh = changes.filter { $0.data["catalog_object_id"] == .string(createdItem) }.map(\.externalID)
                    #expect(fresh.count == 1, "inventory by \(tag): the new item's count")
                    seen.subtract(fresh)
                }
                #expect(seen == expected, "\(resource) by \(tag): \(changes.map { "\($0.externalID)\($0.deletedAt == nil ? "" : " deleted")" }) expected \(expected)")
                let updated = round.ids.count > 1 ? round.ids[1] : round.ids[0]
                #expect(changes.first { $0.externalID == updated }.map(round.shows) == true, "\(resource) by \(tag): \(updated) changed")
                if deleted, let gone = round.deleted { #expect(changes.first { $0.externalID == gone }?.deletedAt != nil, "\(resource) by \(tag)") }
            }

            let resources = ["customers", "payments", "catalog", "orders", "inventory"]
            #expect(Set(resources) == Set(try #require(Providers.named("square")).sync.map(\.name)), "every synced resource is tried")
            for resource in resources {
                let first = try await Self.sync(stack, square, resource)
                #expect(first.status == "succeeded" && first.mode == "full", "\(resource): \(first.error ?? "")")
            }
            for resource in resources {
                let highest = try await Self.stored(stack, square, resource).map(\.changeSequence).max() ?? 0
                let round = try await change(resource, tag: "by-run", round: 1)
                let run = try await Self.sync(stack, square, resource)
                let added = resource == "inventory" || round.ids.count > 1 ? 1 : 0
                #expect(run.status == "succeeded" && run.mode == "incremental" && run.counts.added == added && run.counts.updated == 1
                        && run.deleted == (resource == "catalog" ? 1 : 0), "\(resource): \(run.mode) \(run.counts) deleted \(run.deleted) \(run.error ?? "")")
                if resource == "customers" {
                    // The search shows no deleted customer: the reconciliation finds it gone.
                    let reconciled = try await Self.reconcile(stack, square, resource)
                    #expect(reconciled.deleted == 1 && reconciled.counts.added == 0 && reconciled.counts.updated == 0, "\(reconciled.counts) deleted \(reconciled.deleted)")
                }
                try await expectChanges(resource, after: highest, round, deleted: round.deleted != nil, tag: "by-run")
            }

            try await stack.pointWebhooksAtTheIngress()
            for resource in resources {
                let highest = try await Self.stored(stack, square, resource).map(\.changeSequence).max() ?? 0
                let round = try await change(resource, tag: "by-webhook", round: 2)
                let item = createdItem
                do {
                    try await QueueKit.eventually("\(resource)'s webhooks applied", limit: .seconds(40)) {
                        let now = try await Self.stored(stack, square, resource)
                        let updated = round.ids.count > 1 ? round.ids[1] : round.ids[0]
                        return now.contains { $0.externalID == updated && round.shows($0) }
                            && round.ids.allSatisfy { id in now.contains { $0.externalID == id } }
                            && (round.deleted.map { id in now.contains { $0.externalID == id && $0.deletedAt != nil } } ?? true)
                            && (resource != "inventory" || now.contains { $0.data["catalog_object_id"] == .string(item) && $0.data["quantity"] == "5" })
                    }
                } catch {
                    Issue.record("\(resource): the webhooks were not applied")
                    throw error
                }
                try await expectChanges(resource, after: highest, round, deleted: round.deleted != nil, tag: "by-webhook")
            }
        }
    }

    @Test func anOlderStateNeverReplacesANewerOne() async throws {
        try await ConnectStack.with(seed: 20) { stack in
            let square = try await stack.connect("square", tenant: "tenant-s")
            _ = try await Self.sync(stack, square, "customers")
            let target = try #require(try await Self.stored(stack, square, "customers").first)
            // A newer state than the provider's list will bring (as a webhook would have written it).
            _ = try await stack.onDatabase { database in
                try database.query("""
                    UPDATE records SET version = 7, data = data || '{"nickname":"from a webhook"}'::jsonb, hash = 'newer'
                    WHERE connection_id = \(square) AND resource = 'customers' AND external_id = \(target.externalID)
                    """)
            }
            let run = try await Self.sync(stack, square, "customers")
            #expect(run.counts.updated == 0, "the list's version 0 does not replace version 7")
            let kept = try #require(try await Self.stored(stack, square, "customers").first { $0.externalID == target.externalID })
            #expect(kept.version == 7 && kept.data["nickname"] == "from a webhook")
        }
    }

    /// A worker SIGKILLed mid-run: the run is recovered and resumes from the last committed page;
    /// every object lands once, no page is fetched more than twice, and only the two in flight at
    /// the kill are fetched again.
    @Test func aWorkerKilledMidSyncIsResumedFromItsLastCommittedPage() async throws {
        try await ConnectStack.with(seed: 1000, extra: ["JUNCTION_WORKER_LEASE": "3s", "JUNCTION_PROVIDER_TIMEOUT": "5s"]) { stack in
            let stripe = try await stack.connect("stripe", tenant: "tenant-s")
            let expected = try await Self.sandboxCount(stack, "stripe", "customers")
            #expect(expected >= 1000)
            try await stack.sandbox.fault("stripe", ["latency_ms": 150])
            #expect(try await stack.sandbox.send("DELETE", "/_sandbox/requests").status == 204)
            try await stack.enqueue([JobRequest(type: "sync.run", payload: ["connection": .string(stripe.uuidString.lowercased()), "resource": "customers"],
                                                priority: .high, connection: stripe.uuidString.lowercased())])
            try await QueueKit.eventually("three pages committed", limit: .seconds(60)) {
                (try await Self.runs(stack, stripe, "customers").first?.pages ?? 0) >= 3
            }
            _ = try await stack.workers[0].stop(signal: SIGKILL)
            let cut = try #require(try await Self.runs(stack, stripe, "customers").first)
            #expect(cut.status == "running" && cut.pages >= 3 && cut.pages < 10)
            try await stack.sandbox.clearFaults()
            try await stack.startWorker()
            try await QueueKit.eventually("the resumed run finished", limit: .seconds(90)) {
                try await Self.runs(stack, stripe, "customers").first.map { $0.status == "succeeded" } == true
            }
            let all = try await Self.runs(stack, stripe, "customers")
            let resumed = try #require(all.first)
            #expect(all.count == 2 && all[1].status == "interrupted", "\(all.map(\.status))")
            #expect(resumed.checkpointFrom != nil && resumed.checkpointFrom == cut.checkpointTo, "it went on from the committed checkpoint")
            let records = try await Self.stored(stack, stripe, "customers")
            #expect(records.count == expected && Set(records.map(\.externalID)).count == expected, "every customer once: \(records.count) of \(expected)")
            #expect(cut.counts.added + resumed.counts.added + resumed.counts.updated + resumed.counts.unchanged >= expected)
            let lists = try await stack.sandbox.requests("stripe").filter { ($0["path"] as? String) == "/v1/customers" }.map { ($0["query"] as? String) ?? "" }
            let repeats = Dictionary(grouping: lists, by: { $0 }).values.filter { $0.count > 1 }
            // In flight at the kill: the page being committed (written again only if its commit
            // did not land) and the page asked for ahead (never written before the kill).
            #expect(repeats.count <= 2 && repeats.allSatisfy { $0.count == 2 }, "at most the two pages in flight are fetched twice: \(repeats)")
            #expect(lists.count <= (expected + 99) / 100 + 2, "\(lists.count) list calls for \(expected) customers")
        }
    }

    /// After the backfill, Square changes arrive by its searches by update time: an updated
    /// customer, a refunded payment, a new and a deleted catalog object, an updated order, a
    /// counted item; none by listing again.
    @Test func squareRunsAfterTheBackfillSearchByUpdateTime() async throws {
        try await ConnectStack.with(seed: 40) { stack in
            let square = try await stack.connect("square", tenant: "tenant-s")
            try await stack.sandbox.muteWebhooks()
            for resource in ["customers", "payments", "catalog", "orders", "inventory"] {
                let first = try await Self.sync(stack, square, resource)
                #expect(first.mode == "full" && first.status == "succeeded", "\(resource): \(first.error ?? "")")
            }
            let headers = [("Authorization", "Bearer \(SandboxClient.squareToken)"), ("Content-Type", "application/json")]
            let customer = try #require(try await Self.stored(stack, square, "customers").dropFirst(3).first)
            #expect(try await stack.sandbox.send("PUT", "/v2/customers/\(customer.externalID)", headers: headers, body: #"{"note":"VIP","version":0}"#).status == 200)
            let payment = try #require(try await Self.stored(stack, square, "payments").first)
            #expect(try await stack.sandbox.send("POST", "/v2/refunds", headers: headers,
                                                 body: #"{"idempotency_key":"r1","payment_id":"\#(payment.externalID)","amount_money":{"amount":100,"currency":"USD"}}"#).status == 200)
            let doomed = try #require(try await Self.stored(stack, square, "catalog").first)
            #expect(try await stack.sandbox.send("DELETE", "/v2/catalog/object/\(doomed.externalID)", headers: headers).status == 200)
            #expect(try await stack.sandbox.send("POST", "/v2/catalog/object", headers: headers,
                                                 body: ##"{"idempotency_key":"c1","object":{"id":"#tote","type":"ITEM","item_data":{"name":"Tote"}}}"##).status == 200)
            let order = try #require(try await Self.stored(stack, square, "orders").first)
            #expect(try await stack.sandbox.send("PUT", "/v2/orders/\(order.externalID)", headers: headers,
                                                 body: #"{"idempotency_key":"o1","order":{"version":1,"reference_id":"table-4"}}"#).status == 200)
            let count = try #require(try await Self.stored(stack, square, "inventory").first)
            let item = try #require(count.data["catalog_object_id"]?.stringValue)
            #expect(try await stack.sandbox.send("POST", "/v2/inventory/changes/batch-create", headers: headers, body: #"""
                {"idempotency_key":"i1","changes":[{"type":"PHYSICAL_COUNT","physical_count":{"catalog_object_id":"\#(item)","location_id":"L88917AVBK2S5","state":"IN_STOCK","quantity":"7","occurred_at":"2026-01-01T00:00:00Z"}}]}
                """#).status == 200)
            #expect(try await stack.sandbox.send("DELETE", "/_sandbox/requests").status == 204)

            let customers = try await Self.sync(stack, square, "customers")
            #expect(customers.mode == "incremental" && customers.counts.updated == 1 && customers.counts.added == 0, "\(customers.mode) \(customers.counts)")
            #expect(try await Self.stored(stack, square, "customers").first { $0.externalID == customer.externalID }?.data["note"] == "VIP")
            let payments = try await Self.sync(stack, square, "payments")
            #expect(payments.mode == "incremental" && payments.counts.updated == 1, "\(payments.mode) \(payments.counts)")
            let catalog = try await Self.sync(stack, square, "catalog")
            #expect(catalog.mode == "incremental" && catalog.counts.added == 1 && catalog.deleted == 1, "\(catalog.mode) \(catalog.counts) \(catalog.deleted)")
            #expect(try await Self.stored(stack, square, "catalog").first { $0.externalID == doomed.externalID }?.deletedAt != nil)
            let orders = try await Self.sync(stack, square, "orders")
            #expect(orders.mode == "incremental" && orders.counts.updated == 1 && orders.counts.added == 0, "\(orders.mode) \(orders.counts)")
            #expect(try await Self.stored(stack, square, "orders").first { $0.externalID == order.externalID }?.data["reference_id"] == "table-4")
            let inventory = try await Self.sync(stack, square, "inventory")
            #expect(inventory.mode == "incremental" && inventory.counts.updated == 1 && inventory.counts.added == 0, "\(inventory.mode) \(inventory.counts)")
            #expect(try await Self.stored(stack, square, "inventory").first { $0.externalID == count.externalID }?.data["quantity"] == "7")
            let calls = try await stack.sandbox.requests("square").map { "\($0["method"] as? String ?? "") \($0["path"] as? String ?? "")" }
            #expect(calls == ["POST /v2/customers/search", "GET /v2/payments", "POST /v2/catalog/search", "GET /v2/locations", "POST /v2/orders/search",
                              "POST /v2/inventory/counts/batch-retrieve"], "\(calls)")
        }
    }

    /// Webhooks that carry their object (a Square customer) update its record at once; those
    /// that only name a change (a QuickBooks entity event, Square's catalog version) start the
    /// resource's incremental sync, which brings it.
    @Test func webhooksThatNameAChangeWithoutTheObjectStartASync() async throws {
        try await ConnectStack.with(seed: 20) { stack in
            let square = try await stack.connect("square", tenant: "tenant-s")
            let quickbooks = try await stack.connect("quickbooks", tenant: "tenant-s")
            _ = try await Self.sync(stack, square, "customers")
            _ = try await Self.sync(stack, quickbooks, "invoices")
            let headers = [("Authorization", "Bearer \(SandboxClient.squareToken)"), ("Content-Type", "application/json")]
            let customer = try #require(try await Self.stored(stack, square, "customers").first)
            #expect(try await stack.sandbox.send("PUT", "/v2/customers/\(customer.externalID)", headers: headers, body: #"{"nickname":"Zo","version":0}"#).status == 200)
            try await QueueKit.eventually("the Square webhook applied the customer", limit: .seconds(30)) {
                try await Self.stored(stack, square, "customers").first { $0.externalID == customer.externalID }?.data["nickname"] == "Zo"
            }

            let invoice = try #require(try await Self.stored(stack, quickbooks, "invoices").first)
            let renamed = try await stack.sandbox.send("POST", "/v3/company/\(SandboxClient.quickBooksRealm)/invoice",
                                                       headers: [("Authorization", "Bearer \(SandboxClient.quickBooksToken)"), ("Content-Type", "application/json")],
                                                       body: #"{"Id":"\#(invoice.externalID)","SyncToken":"0","sparse":true,"DocNumber":"W-1"}"#)
            #expect(renamed.status == 200)
            try await QueueKit.eventually("the QuickBooks event's sync brought the invoice", limit: .seconds(40)) {
                try await Self.stored(stack, quickbooks, "invoices").first { $0.externalID == invoice.externalID }?.data["DocNumber"] == "W-1"
            }
            let run = try #require(try await Self.runs(stack, quickbooks, "invoices").first)
            #expect(run.trigger == "webhook" && run.mode == "incremental" && run.counts.updated == 1, "\(run.trigger) \(run.mode) \(run.counts)")
            let outcomes = try await stack.onDatabase { database in
                try database.query("SELECT DISTINCT outcome FROM webhook_events WHERE provider = 'quickbooks'").rows.map { try $0.decode("outcome", as: String.self) }
            }
            #expect(outcomes == ["synced"], "an event that names a change records that it started a sync: \(outcomes)")

            // Square: a count's event carries the count; an order's names only the order.
            _ = try await Self.sync(stack, square, "inventory")
            _ = try await Self.sync(stack, square, "orders")
            let count = try #require(try await Self.stored(stack, square, "inventory").first)
            let item = try #require(count.data["catalog_object_id"]?.stringValue)
            #expect(try await stack.sandbox.send("POST", "/v2/inventory/changes/batch-create", headers: headers, body: #"""
                {"idempotency_key":"i1","changes":[{"type":"PHYSICAL_COUNT","physical_count":{"catalog_object_id":"\#(item)","location_id":"L88917AVBK2S5","state":"IN_STOCK","quantity":"3"}}]}
                """#).status == 200)
            let order = try #require(try await Self.stored(stack, square, "orders").first)
            #expect(try await stack.sandbox.send("PUT", "/v2/orders/\(order.externalID)", headers: headers,
                                                 body: #"{"idempotency_key":"o1","order":{"version":1,"reference_id":"table-9"}}"#).status == 200)
            try await QueueKit.eventually("the count's event applied it and the order's event synced the orders", limit: .seconds(40)) {
                let counted = try await Self.stored(stack, square, "inventory").first { $0.externalID == count.externalID }?.data["quantity"] == "3"
                let ordered = try await Self.stored(stack, square, "orders").first { $0.externalID == order.externalID }?.data["reference_id"] == "table-9"
                return counted && ordered
            }
            #expect(try await Self.runs(stack, square, "orders").first?.trigger == "webhook")
            #expect(try await Self.runs(stack, square, "inventory").first?.trigger != "webhook", "the count came whole, with no sync")
        }
    }

    /// Mailchimp: every list's members (scoped by list: one email in two lists is two records),
    /// tags, lists and campaigns land; after that, members changed since the last run (and those
    /// archived since, as deletes) come from each list's `since_last_changed`, never a walk.
    @Test func mailchimpMembersOfEveryListLandAndLaterRunsAskWhatChanged() async throws {
        try await ConnectStack.with(seed: 60) { stack in
            let mailchimp = try await stack.connect("mailchimp", tenant: "tenant-s")
            try await stack.sandbox.muteWebhooks()
            let auth = [("Authorization", "Bearer \(SandboxClient.mailchimpKey)"), ("Content-Type", "application/json")]
            let made = try stack.sandbox.json(try await stack.sandbox.send("POST", "/3.0/lists", headers: auth, body: #"""
                {"name":"Second","contact":{"company":"Venue","country":"US"},"permission_reminder":"You asked.","campaign_defaults":{"from_name":"V","from_email":"v@example.com","subject":"Hi","language":"en"},"email_type_option":false}
                """#))
            let second = try #require(made["id"] as? String)
            let seeded = try stack.sandbox.json(try await stack.sandbox.send("GET", "/3.0/lists/\(SandboxClient.mailchimpList)/members?count=5", headers: auth))
            let shared = try #require((seeded["members"] as? [[String: Any]])?.first?["email_address"] as? String)
            func put(_ list: String, _ email: String, _ extra: String = "") async throws {
                let hash = Insecure.MD5.hash(data: Array(email.lowercased().utf8)).map { String(format: "%02x", $0) }.joined()
                let response = try await stack.sandbox.send("PUT", "/3.0/lists/\(list)/members/\(hash)", headers: auth,
                                                            body: #"{"email_address":"\#(email)","status_if_new":"subscribed"\#(extra)}"#)
                #expect(response.status == 200, "\(response.text)")
            }
            for email in [shared, "ana@example.com", "li@example.com"] { try await put(second, email) }
            let sharedHash = Insecure.MD5.hash(data: Array(shared.lowercased().utf8)).map { String(format: "%02x", $0) }.joined()
            #expect(try await stack.sandbox.send("POST", "/3.0/lists/\(SandboxClient.mailchimpList)/members/\(sharedHash)/tags", headers: auth,
                                                 body: #"{"tags":[{"name":"vip","status":"active"}]}"#).status == 204)

            let expected = ["lists": 2, "members": 63, "tags": 1, "campaigns": 2]
            for (resource, count) in expected.sorted(by: { $0.key < $1.key }) {
                let run = try await Self.sync(stack, mailchimp, resource)
                #expect(run.status == "succeeded" && run.counts.added == count, "\(resource): \(run.counts) of \(count) \(run.error ?? "")")
            }
            for resource in expected.keys.sorted() {
                DefaultMappingCheck.expectDefaultsMap(try await Self.stored(stack, mailchimp, resource), provider: "mailchimp", resource: resource)
            }
            let members = try await Self.stored(stack, mailchimp, "members")
            #expect(Set(members.map(\.externalID)).count == 63 && members.contains { $0.externalID == "\(second):\(sharedHash)" }
                    && members.contains { $0.externalID == "\(SandboxClient.mailchimpList):\(sharedHash)" }, "one email in two lists is two records")
            #expect(try await Self.stored(stack, mailchimp, "tags").map(\.externalID) == ["\(SandboxClient.mailchimpList):vip"])

            // Changes: a renamed member of the seeded list, a new and an archived one in the second.
            try await put(SandboxClient.mailchimpList, shared, #","merge_fields":{"FNAME":"Renamed"}"#)
            try await put(second, "new@example.com")
            let liHash = Insecure.MD5.hash(data: Array("li@example.com".utf8)).map { String(format: "%02x", $0) }.joined()
            #expect(try await stack.sandbox.send("DELETE", "/3.0/lists/\(second)/members/\(liHash)", headers: auth).status == 204)
            #expect(try await stack.sandbox.send("DELETE", "/_sandbox/requests").status == 204)
            let incremental = try await Self.sync(stack, mailchimp, "members")
            #expect(incremental.mode == "incremental" && incremental.counts.added == 1 && incremental.counts.updated == 1 && incremental.deleted == 1,
                    "\(incremental.mode) \(incremental.counts) deleted \(incremental.deleted)")
            let asked = try await stack.sandbox.requests("mailchimp").map { ($0["path"] as? String ?? "") + "?" + (($0["query"] as? String)?.removingPercentEncoding ?? "") }
            #expect(asked.count == 5 && asked[0].hasPrefix("/3.0/lists?") && asked.dropFirst().allSatisfy { $0.contains("since_last_changed=") }, "\(asked)")
            let now = try await Self.stored(stack, mailchimp, "members")
            #expect(now.first { $0.externalID == "\(SandboxClient.mailchimpList):\(sharedHash)" }?.data["merge_fields"]?["FNAME"] == "Renamed")
            #expect(now.first { $0.externalID == "\(second):\(liHash)" }?.deletedAt != nil)
        }
    }

    /// Mailchimp's lists, tags and campaigns have no change filter: every run walks them, so a
    /// created or changed one arrives by the next run, and one deleted by the next reconciliation
    /// (Mailchimp sends no webhook for them).
    @Test func mailchimpListsTagsAndCampaignsChangesArriveByTheNextWalk() async throws {
        try await ConnectStack.with(seed: 20) { stack in
            let mailchimp = try await stack.connect("mailchimp", tenant: "tenant-m")
            let auth = [("Authorization", "Bearer \(SandboxClient.mailchimpKey)"), ("Content-Type", "application/json")]
            func call(_ method: String, _ path: String, _ body: String = "", status: Int = 200) async throws -> [String: Any] {
                let answer = try await stack.sandbox.send(method, path, headers: auth, body: body)
                #expect(answer.status == status, "\(method) \(path): \(answer.text)")
                return status == 204 ? [:] : try stack.sandbox.json(answer)
            }
            func newList(_ name: String) async throws -> String {
                try #require(try await call("POST", "/3.0/lists", #"""
                    {"name":"\#(name)","contact":{"company":"Venue","country":"US"},"permission_reminder":"You asked.","campaign_defaults":{"from_name":"V","from_email":"v@example.com","subject":"Hi","language":"en"},"email_type_option":false}
                    """#)["id"] as? String)
            }
            func newCampaign(_ subject: String) async throws -> String {
                try #require(try await call("POST", "/3.0/campaigns", #"{"type":"regular","settings":{"subject_line":"\#(subject)"}}"#)["id"] as? String)
            }
            let list = SandboxClient.mailchimpList
            let seeded = try await call("GET", "/3.0/lists/\(list)/members?count=1")
            let email = try #require((seeded["members"] as? [[String: Any]])?.first?["email_address"] as? String)
            let hash = Insecure.MD5.hash(data: Array(email.lowercased().utf8)).map { String(format: "%02x", $0) }.joined()
            func tag(_ name: String, _ status: String) async throws {
                _ = try await call("POST", "/3.0/lists/\(list)/members/\(hash)/tags", #"{"tags":[{"name":"\#(name)","status":"\#(status)"}]}"#, status: 204)
            }
            let (renamed, doomedList) = (try await newList("Renamed later"), try await newList("Deleted later"))
            let (edited, doomedCampaign) = (try await newCampaign("Before"), try await newCampaign("Deleted later"))
            try await tag("vip", "active")
            try await tag("gone", "active")
            for resource in ["lists", "tags", "campaigns"] {
                let first = try await Self.sync(stack, mailchimp, resource)
                #expect(first.status == "succeeded" && first.counts.added > 0, "\(resource): \(first.counts) \(first.error ?? "")")
            }
            let before = try await stack.onDatabase { database in
                try ["lists", "tags", "campaigns"].map { try RecordStore().changes(connection: mailchimp, resource: $0, limit: 100_000, on: database).map(\.changeSequence).max() ?? 0 }
            }
            try await stack.sandbox.muteWebhooks()

            let createdList = try await newList("Created")
            _ = try await call("PATCH", "/3.0/lists/\(renamed)", #"{"name":"Renamed"}"#)
            _ = try await call("DELETE", "/3.0/lists/\(doomedList)", status: 204)
            let createdCampaign = try await newCampaign("Created")
            _ = try await call("PATCH", "/3.0/campaigns/\(edited)", #"{"settings":{"subject_line":"After"}}"#)
            _ = try await call("DELETE", "/3.0/campaigns/\(doomedCampaign)", status: 204)
            try await tag("fresh", "active")
            try await tag("gone", "inactive")

            let cases: [(resource: String, created: String, updated: String?, deleted: String)] = [
                ("lists", createdList, renamed, doomedList),
                ("tags", "\(list):fresh", nil, "\(list):gone"),
                ("campaigns", createdCampaign, edited, doomedCampaign),
            ]
            for (index, item) in cases.enumerated() {
                let run = try await Self.sync(stack, mailchimp, item.resource)
                #expect(run.status == "succeeded" && run.mode == "full" && run.counts.added == 1 && run.counts.updated == (item.updated == nil ? 0 : 1) && run.deleted == 0,
                        "\(item.resource): \(run.mode) \(run.counts) deleted \(run.deleted)")
                let reconciled = try await Self.reconcile(stack, mailchimp, item.resource)
                #expect(reconciled.status == "succeeded" && reconciled.deleted == 1 && reconciled.counts.added == 0 && reconciled.counts.updated == 0,
                        "\(item.resource) reconciled: \(reconciled.counts) deleted \(reconciled.deleted)")
                let changes = try await stack.onDatabase { try RecordStore().changes(connection: mailchimp, resource: item.resource, after: before[index], on: $0) }
                let expected = Set([item.created, item.deleted] + (item.updated.map { [$0] } ?? []))
                #expect(Set(changes.map(\.externalID)) == expected && changes.count == expected.count,
                        "\(item.resource): \(changes.map { "\($0.externalID)\($0.deletedAt == nil ? "" : " deleted")" })")
                #expect(changes.first { $0.externalID == item.deleted }?.deletedAt != nil, "\(item.resource): \(item.deleted) deleted")
            }
            let stored = try await Self.stored(stack, mailchimp, "lists") + (try await Self.stored(stack, mailchimp, "campaigns"))
            #expect(stored.first { $0.externalID == renamed }?.data["name"] == "Renamed")
            #expect(stored.first { $0.externalID == edited }?.data["settings"]?["subject_line"] == "After")
        }
    }

    /// Mailchimp's member webhooks (`subscribe`, `profile`, `unsubscribe`) reach the connection whose
    /// endpoint token their URL carries, and each starts a members sync that brings the change: a
    /// new member, a changed one, an archived one deleted.
    @Test func mailchimpMemberWebhooksThroughTheConnectionsEndpointBringTheChanges() async throws {
        try await ConnectStack.with(seed: 20, extra: ["JUNCTION_WEBHOOK_ENDPOINT_REFRESH": "1s"]) { stack in
            let mailchimp = try await stack.connect("mailchimp", tenant: "tenant-m")
            _ = try await Self.sync(stack, mailchimp, "members")
            let before = try await Self.stored(stack, mailchimp, "members")
            let highest = try #require(before.map(\.changeSequence).max())
            // The connection's endpoint: the token in the URL the sandbox posts to.
            let token = try #require((try await stack.sandbox.credentials()["webhook_secrets"] as? [String: String])?["mailchimp"])
            let add = try ChildProcess(junction: "junction", arguments: ["endpoints", "add", "mailchimp", token, "--tenant", "tenant-m",
                                                                         "--connection", mailchimp.uuidString.lowercased()],
                                       environment: stack.environment, input: token + "\n")
            #expect(try await add.exitStatus() == 0, "\(add.standardError)")
            // Until the ingress has read the endpoint, its deliveries belong to no connection: send
            // probes until one is recorded as the connection's.
            try await QueueKit.eventually("the ingress routes the token to the connection", limit: .seconds(30)) {
                let probe = MailchimpWebhookScheme().sample(url: "\(stack.ingressURL)/webhooks/mailchimp/\(token)", secret: token, eventType: "profile", now: Date())
                _ = try await stack.http.send(OutboundRequest(method: "POST", url: probe.url, headers: probe.headers.map { (name: $0.key, value: $0.value) }, body: probe.body))
                return try await stack.onDatabase { database in
                    try database.query("SELECT count(*)::bigint AS n FROM webhook_events WHERE provider = 'mailchimp' AND connection_id = \(mailchimp)").first!.decode("n", as: Int.self) > 0
                }
            }

            let auth = [("Authorization", "Bearer \(SandboxClient.mailchimpKey)"), ("Content-Type", "application/json")]
            let list = SandboxClient.mailchimpList
            func hash(_ email: String) -> String { Insecure.MD5.hash(data: Array(email.lowercased().utf8)).map { String(format: "%02x", $0) }.joined() }
            let changed = try #require(before.first?.data["email_address"]?.stringValue)
            let archived = try #require(before.dropFirst().first?.data["email_address"]?.stringValue)
            let added = "webhook.new@example.com"
            #expect(try await stack.sandbox.send("PUT", "/3.0/lists/\(list)/members/\(hash(added))", headers: auth,
                                                 body: #"{"email_address":"\#(added)","status_if_new":"subscribed"}"#).status == 200)
            #expect(try await stack.sandbox.send("PATCH", "/3.0/lists/\(list)/members/\(hash(changed))", headers: auth,
                                                 body: #"{"merge_fields":{"FNAME":"Hooked"}}"#).status == 200)
            #expect(try await stack.sandbox.send("DELETE", "/3.0/lists/\(list)/members/\(hash(archived))", headers: auth).status == 204)
            let ids = ["\(list):\(hash(added))", "\(list):\(hash(changed))", "\(list):\(hash(archived))"]
            try await QueueKit.eventually("the members' webhooks brought the changes", limit: .seconds(40)) {
                let now = try await Self.stored(stack, mailchimp, "members")
                return now.contains { $0.externalID == ids[0] } && now.contains { $0.externalID == ids[1] && $0.data["merge_fields"]?["FNAME"] == "Hooked" }
                    && now.contains { $0.externalID == ids[2] && $0.deletedAt != nil }
            }
            let changes = try await stack.onDatabase { try RecordStore().changes(connection: mailchimp, resource: "members", after: highest, on: $0) }
            #expect(Set(changes.map(\.externalID)) == Set(ids) && changes.count == 3, "\(changes.map(\.externalID))")
            let triggers = try await Self.runs(stack, mailchimp, "members").dropLast().map(\.trigger)
            #expect(!triggers.isEmpty && triggers.allSatisfy { $0 == "webhook" }, "the runs after the first were the webhooks': \(triggers)")
        }
    }

    /// A provider failing 30 % of calls with 503 and rate-limiting some with 429 and `Retry-After`:
    /// two resources synced at once by two workers still land every object once, and the
    /// fleet-wide limiter keeps the rate the sandbox saw within the connection's limit.
    @Test func syncsFinishThroughFaultsAndTheLimiterHoldsTheRateFleetWide() async throws {
        try await ConnectStack.with(workers: 2, seed: 2000, extra: ["JUNCTION_RATE_LIMIT_STRIPE": "5/1s,burst=1"]) { stack in
            let stripe = try await stack.connect("stripe", tenant: "tenant-s")
            #expect(try await stack.sandbox.send("DELETE", "/_sandbox/requests").status == 204)
            try await stack.sandbox.fault("stripe", ["error_rate": 0.3, "error_status": 503, "rate_limit_rate": 0.05, "retry_after": 1])
            let resources = ["customers", "payment_intents"]
            try await stack.enqueue(resources.map { resource in
                JobRequest(type: "sync.run", payload: ["connection": .string(stripe.uuidString.lowercased()), "resource": .string(resource)],
                           priority: .high, connection: stripe.uuidString.lowercased())
            })
            try await QueueKit.eventually("both syncs succeeded", limit: .seconds(120)) {
                var done = true
                for resource in resources where !(try await Self.runs(stack, stripe, resource).contains { $0.status == "succeeded" }) { done = false }
                return done
            }
            try await stack.sandbox.clearFaults()
            for resource in resources {
                let expected = try await Self.sandboxCount(stack, "stripe", resource)
                let records = try await Self.stored(stack, stripe, resource)
                #expect(records.count == expected && Set(records.map(\.externalID)).count == expected, "\(resource): \(records.count) of \(expected)")
            }
            let times = try await stack.sandbox.requests("stripe").compactMap { ($0["at"] as? String).flatMap(Timestamp.parse) }.sorted()
            #expect(times.count >= 30, "the walks took \(times.count) calls")
            let retried = stack.workers.flatMap(\.lines).filter { $0.contains("trying the page again") }.count
            // (A 429 comes every twenty calls or so; it is not asserted, being left to chance.)
            #expect(retried > 0, "the 503s were met: \(retried) pages tried again")
            // A token bucket of 5 a second with a burst of 1 lets at most 6 calls into any second
            // (without the limiter these walks make 14 to 20).
            var busiest = 0
            var start = 0
            for (index, time) in times.enumerated() {
                while time.timeIntervalSince(times[start]) >= 1 { start += 1 }
                busiest = max(busiest, index - start + 1)
            }
            #expect(busiest <= 6, "the sandbox saw \(busiest) calls within one second")
        }
    }
}
