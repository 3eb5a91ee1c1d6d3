import Crypto
import Foundation
import JunctionCore
import JunctionQueue
import JunctionStores
import Testing

/// Pushes through the outbox to the sandbox's providers: a provider that applies the write and
/// then fails the answer does not get a second write on the retry (Stripe, Square, QuickBooks and
/// Mailchimp, each by its own mechanism), an update lands on the object, a repeated
/// Idempotency-Key answers the same push, a write the provider refuses ends failed, and an update
/// made against a version the provider has moved past is decided by the connection's policy and
/// recorded with both versions.
@Suite("Pushes to providers", .serialized)
struct PushTests {
    static func push(_ stack: ConnectStack, _ connection: String, _ resource: String, key: String?, body: String) async throws -> OutboundResponse {
        var headers = APITests.bearer("tenant-p") + [("Content-Type", "application/json")]
        if let key { headers.append(("Idempotency-Key", key)) }
        return try await stack.http.send(OutboundRequest(method: "POST", url: "\(stack.ingressURL)/v1/connections/\(connection)/push/\(resource)",
                                                         headers: headers.map { (name: $0.0, value: $0.1) }, body: Array(body.utf8)))
    }

    static func ended(_ stack: ConnectStack, _ id: String) async throws -> [String: Any] {
        for _ in 0..<600 {
            let shown = try APITests.object(try await APITests.call(stack, "GET", "/v1/pushes/\(id)", tenant: "tenant-p", roles: ["viewer"]))
            if shown["status"] as? String != "pending" { return shown }
            try await Task.sleep(for: .milliseconds(100))
        }
        throw StackError("push \(id) still pending after 60 s")
    }

    @Test func aWriteTheProviderAppliedButFailedToAnswerIsNotWrittenTwice() async throws {
        try await ConnectStack.with(seed: 77) { stack in
            let stripe = try await stack.connect("stripe", tenant: "tenant-p")
            let id = stripe.uuidString.lowercased()
            try await stack.sandbox.muteWebhooks()
            let before = try await SyncRunTests.sandboxCount(stack, "stripe", "customers")
            // Stripe applies the next write and answers 500: the client cannot tell it happened.
            try await stack.sandbox.fault("stripe", ["fail_after_apply": 1])

            let body = #"{"operation":"create","fields":{"email":"pushed@example.com","name":"Pushed Customer","address":{"city":"Lyon"},"metadata":{"platform_id":"p-1"}}}"#
            let accepted = try await Self.push(stack, id, "customers", key: "create-pushed-1", body: body)
            #expect(accepted.status == 202 && accepted.header("Location")?.hasPrefix("/v1/pushes/") == true, "\(accepted.status) \(accepted.text)")
            let pushID = try #require(try APITests.object(accepted)["id"] as? String)
            let delivered = try await Self.ended(stack, pushID)
            #expect(delivered["status"] as? String == "delivered" && delivered["attempts"] as? Int == 2, "\(delivered)")
            #expect((delivered["errors"] as? [[String: Any]])?.count == 1, "the first attempt's 500 is in its history: \(delivered)")
            let customerID = try #require(delivered["external_id"] as? String)
            #expect(try await SyncRunTests.sandboxCount(stack, "stripe", "customers") == before + 1, "one customer, not two")
            let log = try await stack.sandbox.send("GET", "/_sandbox/requests?provider=stripe")
            let requests = try #require(try JSONSerialization.jsonObject(with: Data(log.body)) as? [[String: Any]])
            let writes = requests.filter { $0["method"] as? String == "POST" && $0["path"] as? String == "/v1/customers" }
            let keys = Set(writes.compactMap { ($0["headers"] as? [String: String])?.first { $0.key.lowercased() == "idempotency-key" }?.value })
            #expect(writes.count == 2 && keys.count == 1, "both attempts sent the one key: \(writes.count) writes, keys \(keys)")
            // The provider's object is a record now.
            let record = try #require(try await SyncRunTests.stored(stack, stripe, "customers").first { $0.externalID == customerID })
            #expect(record.data["email"] == "pushed@example.com" && record.data["address"]?["city"] == "Lyon" && record.data["metadata"]?["platform_id"] == "p-1")

            // The same key again: the same push, nothing new written.
            let repeated = try await Self.push(stack, id, "customers", key: "create-pushed-1", body: body)
            let repeatedID = try APITests.object(repeated)["id"] as? String
            #expect((200..<300).contains(repeated.status) && repeatedID == pushID, "\(repeated.status) \(repeated.text)")
            let reused = try await Self.push(stack, id, "customers", key: "create-pushed-1", body: #"{"fields":{"email":"other@example.com"}}"#)
            #expect(reused.status == 422 && reused.text.contains("Idempotency-Key"), "\(reused.status) \(reused.text)")

            // An update lands on the object.
            let updated = try await Self.push(stack, id, "customers", key: "rename-1", body: #"{"operation":"update","id":"\#(customerID)","fields":{"name":"Renamed By Push"}}"#)
            #expect(updated.status == 202, "\(updated.text)")
            let renamed = try await Self.ended(stack, try #require(try APITests.object(updated)["id"] as? String))
            #expect(renamed["status"] as? String == "delivered" && (renamed["result"] as? [String: Any])?["name"] as? String == "Renamed By Push", "\(renamed)")
            #expect(try await SyncRunTests.stored(stack, stripe, "customers").first { $0.externalID == customerID }?.data["name"] == "Renamed By Push")

            // Refused by the provider (no such customer): failed at once, with its reason.
            let missing = try await Self.push(stack, id, "customers", key: "rename-missing", body: #"{"operation":"update","id":"cus_missing","fields":{"name":"X"}}"#)
            let failed = try await Self.ended(stack, try #require(try APITests.object(missing)["id"] as? String))
            #expect(failed["status"] as? String == "failed" && failed["attempts"] as? Int == 1, "\(failed)")
            #expect(((failed["errors"] as? [[String: Any]])?.first?["error"] as? String)?.contains("answered 404") == true, "\(failed)")

            // Refused before anything is recorded.
            #expect(try await Self.push(stack, id, "customers", key: nil, body: body).status == 422, "an Idempotency-Key is required")
            #expect(try await Self.push(stack, id, "invoices", key: "k", body: body).status == 422, "Stripe takes no pushes of invoices (yet)")
            #expect(try await Self.push(stack, id, "customers", key: "k2", body: #"{"operation":"update","fields":{"name":"X"}}"#).status == 422, "an update names its object")
            let pushes = try await stack.onDatabase { try $0.query("SELECT count(*)::bigint AS n FROM pushes").first!.decode("n", as: Int.self) }
            #expect(pushes == 3)
        }
    }

    /// The sandbox's log of `provider`'s requests that were not reads.
    static func writes(_ stack: ConnectStack, _ provider: String) async throws -> [[String: Any]] {
        try await stack.sandbox.requests(provider).filter { ($0["method"] as? String) != "GET" }
    }

    static func pushed(_ stack: ConnectStack, _ connection: UUID, _ resource: String, key: String, _ body: String) async throws -> [String: Any] {
        let accepted = try await Self.push(stack, connection.uuidString.lowercased(), resource, key: key, body: body)
        #expect(accepted.status == 202, "\(accepted.status) \(accepted.text)")
        return try await Self.ended(stack, try #require(try APITests.object(accepted)["id"] as? String))
    }

    @Test func squareQuickBooksAndMailchimpWritesAppliedButUnansweredAreWrittenOnce() async throws {
        try await ConnectStack.with(seed: 78) { stack in
            try await stack.sandbox.muteWebhooks()
            let square = try await stack.connect("square", tenant: "tenant-p")
            let quickBooks = try await stack.connect("quickbooks", tenant: "tenant-p")
            let mailchimp = try await stack.connect("mailchimp", tenant: "tenant-p")
            let counts = (try await SyncRunTests.sandboxCount(stack, "square", "customers"), try await SyncRunTests.sandboxCount(stack, "quickbooks", "Invoice"),
                          try await SyncRunTests.sandboxCount(stack, "mailchimp", "us6/\(SandboxClient.mailchimpList)"))
            for provider in ["square", "quickbooks", "mailchimp"] { try await stack.sandbox.fault(provider, ["fail_after_apply": 1]) }

            // Square: the retry repeats the create's idempotency_key; Square answers the first customer.
            let customer = try await Self.pushed(stack, square, "customers", key: "sq-1", #"{"fields":{"given_name":"Ada","family_name":"Pushed","email_address":"ada.pushed@example.com"}}"#)
            #expect(customer["status"] as? String == "delivered" && customer["attempts"] as? Int == 2, "\(customer)")
            #expect(try await SyncRunTests.sandboxCount(stack, "square", "customers") == counts.0 + 1, "one Square customer, not two")
            let squareKeys = try await Self.writes(stack, "square").compactMap { try? JSONValue(parsing: ($0["body"] as? String) ?? "")["idempotency_key"]?.stringValue }
            #expect(squareKeys.count == 2 && Set(squareKeys).count == 1, "both attempts carried one idempotency_key: \(squareKeys)")
            let squareID = try #require(customer["external_id"] as? String)
            #expect(try await SyncRunTests.stored(stack, square, "customers").first { $0.externalID == squareID }?.data["email_address"] == "ada.pushed@example.com")

            // QuickBooks: both attempts carry one requestid; QuickBooks answers the first invoice.
            let invoice = try await Self.pushed(stack, quickBooks, "invoices", key: "qb-1", #"""
                {"fields":{"CustomerRef":{"value":"1"},"DocNumber":"PUSH-1","Line":[{"Amount":120.5,"DetailType":"SalesItemLineDetail","SalesItemLineDetail":{"ItemRef":{"value":"1"}}}]}}
                """#)
            #expect(invoice["status"] as? String == "delivered" && invoice["attempts"] as? Int == 2, "\(invoice)")
            #expect(try await SyncRunTests.sandboxCount(stack, "quickbooks", "Invoice") == counts.1 + 1, "one QuickBooks invoice, not two")
            let requestIDs = try await Self.writes(stack, "quickbooks").compactMap { ConnectStack.query("/?" + (($0["query"] as? String) ?? ""))["requestid"] }
            #expect(requestIDs.count == 2 && Set(requestIDs).count == 1, "both attempts carried one requestid: \(requestIDs)")
            let invoiceID = try #require(invoice["external_id"] as? String)
            #expect(try await SyncRunTests.stored(stack, quickBooks, "invoices").first { $0.externalID == invoiceID }?.data["DocNumber"] == "PUSH-1")

            // Mailchimp: a PUT by subscriber hash twice is one member.
            let member = try await Self.pushed(stack, mailchimp, "members", key: "mc-1", #"""
                {"fields":{"list_id":"\#(SandboxClient.mailchimpList)","email_address":"Grace.Pushed@example.com","status_if_new":"subscribed","merge_fields":{"FNAME":"Grace"}}}
                """#)
            #expect(member["status"] as? String == "delivered" && member["attempts"] as? Int == 2, "\(member)")
            #expect(try await SyncRunTests.sandboxCount(stack, "mailchimp", "us6/\(SandboxClient.mailchimpList)") == counts.2 + 1, "one Mailchimp member, not two")
            let hash = Insecure.MD5.hash(data: Array("grace.pushed@example.com".utf8)).map { String(format: "%02x", $0) }.joined()
            #expect(member["external_id"] as? String == "\(SandboxClient.mailchimpList):\(hash)", "the record id is <list>:<subscriber hash>: \(member)")
            let paths = try await Self.writes(stack, "mailchimp").compactMap { $0["path"] as? String }.filter { $0.hasPrefix("/3.0/") }
            #expect(paths == Array(repeating: "/3.0/lists/\(SandboxClient.mailchimpList)/members/\(hash)", count: 2), "\(paths)")

            // An update by the member's record id; a create without what the provider needs is refused.
            let renamed = try await Self.pushed(stack, mailchimp, "members", key: "mc-2", #"{"operation":"update","id":"\#(SandboxClient.mailchimpList):\#(hash)","fields":{"merge_fields":{"FNAME":"Gracie"}}}"#)
            #expect(renamed["status"] as? String == "delivered" && (renamed["result"] as? [String: Any]).flatMap { $0["merge_fields"] as? [String: Any] }?["FNAME"] as? String == "Gracie", "\(renamed)")
            let incomplete = try await Self.push(stack, mailchimp.uuidString.lowercased(), "members", key: "mc-3", body: #"{"fields":{"email_address":"x@example.com"}}"#)
            #expect(incomplete.status == 422 && incomplete.text.contains("fields.list_id") && incomplete.text.contains("fields.status_if_new"), "\(incomplete.text)")
            let unscoped = try await Self.push(stack, mailchimp.uuidString.lowercased(), "members", key: "mc-4", body: #"{"operation":"update","id":"\#(hash)","fields":{"status":"unsubscribed"}}"#)
            #expect(unscoped.status == 422 && unscoped.text.contains("<list_id>:<id>"), "\(unscoped.text)")
        }
    }

    /// A Square customer changed at Square after Junction synced it: an update pushed against the
    /// synced version meets Square's CONFLICT, and the connection's policy decides.
    @Test func anUpdateAgainstAMovedVersionIsDecidedByTheConnectionsPolicyAndRecorded() async throws {
        try await ConnectStack.with(seed: 79) { stack in
            try await stack.sandbox.muteWebhooks()
            let square = try await stack.connect("square", tenant: "tenant-p")
            _ = try await SyncRunTests.sync(stack, square, "customers")
            let records = try await SyncRunTests.stored(stack, square, "customers")
            #expect(records.count >= 3)
            let headers = [("Authorization", "Bearer \(SandboxClient.squareToken)"), ("Content-Type", "application/json")]
            func changeAtSquare(_ id: String, _ note: String) async throws {
                let changed = try await stack.sandbox.send("PUT", "/v2/customers/\(id)", headers: headers, body: #"{"note":"\#(note)"}"#)
                #expect(changed.status == 200, "\(changed.text)")
            }
            func atSquare(_ id: String) async throws -> [String: Any] {
                try #require(try stack.sandbox.json(try await stack.sandbox.send("GET", "/v2/customers/\(id)", headers: headers))["customer"] as? [String: Any])
            }
            func setPolicy(_ policy: String) async throws {
                let set = try await APITests.call(stack, "PATCH", "/v1/connections/\(square.uuidString.lowercased())", tenant: "tenant-p", body: #"{"conflict_policy":"\#(policy)"}"#)
                let shown = try APITests.object(set)["conflict_policy"] as? String
                #expect(set.status == 200 && shown == policy, "\(set.status) \(set.text)")
            }
            // The policy is the tenant's to set (admin), checked, and audited.
            let path = "/v1/connections/\(square.uuidString.lowercased())"
            let initial = try APITests.object(try await APITests.call(stack, "GET", path, tenant: "tenant-p", roles: ["viewer"]))["conflict_policy"] as? String
            #expect(initial == "last_write_wins")
            let refused = try await APITests.call(stack, "PATCH", path, tenant: "tenant-p", body: #"{"conflict_policy":"newest","status":"active"}"#)
            #expect(refused.status == 422 && refused.text.contains("conflict_policy") && refused.text.contains("status"), "\(refused.status) \(refused.text)")
            #expect(try await APITests.call(stack, "PATCH", path, tenant: "tenant-p", roles: ["viewer"], body: #"{"conflict_policy":"provider_wins"}"#).status == 403)
            #expect(try await APITests.call(stack, "PATCH", path, tenant: "tenant-other", body: #"{"conflict_policy":"provider_wins"}"#).status == 404)

            // last_write_wins (the default): the push was made after Square's change, so it wins,
            // applied again on the version Square has now.
            let first = records[0].externalID
            try await changeAtSquare(first, "changed at Square")
            let won = try await Self.pushed(stack, square, "customers", key: "lww-1", #"{"operation":"update","id":"\#(first)","fields":{"nickname":"Platform"}}"#)
            #expect(won["status"] as? String == "delivered", "\(won)")
            let wonConflict = try #require(won["conflict"] as? [String: Any], "the conflict is recorded: \(won)")
            #expect(wonConflict["policy"] as? String == "last_write_wins" && wonConflict["winner"] as? String == "platform")
            #expect((wonConflict["provider"] as? [String: Any])?["note"] as? String == "changed at Square", "Square's version is kept beside the push's")
            #expect((wonConflict["platform"] as? [String: Any])?["nickname"] as? String == "Platform")
            #expect((wonConflict["provider_version"] as? Int ?? 0) > (wonConflict["expected_version"] as? Int ?? .max))
            let afterWin = try await atSquare(first)
            #expect(afterWin["nickname"] as? String == "Platform" && afterWin["note"] as? String == "changed at Square", "\(afterWin)")

            // provider_wins: nothing is written; the push ends superseded and the records hold
            // Square's object.
            try await setPolicy("provider_wins")
            let audited = try await stack.onDatabase { database in
                try database.query("SELECT reason FROM connection_events WHERE connection_id = \(square) AND event = 'conflict_policy'").rows.map { try $0.decode("reason", as: String.self) }
            }
            #expect(audited == ["last_write_wins to provider_wins"], "\(audited)")
            let second = records[1].externalID
            try await changeAtSquare(second, "Square keeps this")
            let lost = try await Self.pushed(stack, square, "customers", key: "pw-1", #"{"operation":"update","id":"\#(second)","fields":{"nickname":"Ignored"}}"#)
            #expect(lost["status"] as? String == "superseded" && (lost["conflict"] as? [String: Any])?["winner"] as? String == "provider", "\(lost)")
            #expect(try await atSquare(second)["nickname"] == nil, "Square was not written")
            #expect(try await SyncRunTests.stored(stack, square, "customers").first { $0.externalID == second }?.data["note"] == "Square keeps this")
            // The records feed shows each record with the last conflict a push met on it.
            let feed = try APITests.object(try await APITests.call(stack, "GET", "/v1/records?connection=\(square.uuidString.lowercased())&resource=customers&limit=1000",
                                                                 tenant: "tenant-p", roles: ["viewer"]))
            let fed = Dictionary(uniqueKeysWithValues: ((feed["data"] as? [[String: Any]]) ?? []).compactMap { record in (record["id"] as? String).map { ($0, record) } })
            let firstConflict = fed[first]?["last_conflict"] as? [String: Any]
            let secondConflict = fed[second]?["last_conflict"] as? [String: Any]
            #expect(firstConflict?["winner"] as? String == "platform" && firstConflict?["push"] as? String == won["id"] as? String, "\(String(describing: firstConflict))")
            #expect(secondConflict?["winner"] as? String == "provider" && (secondConflict?["provider"] as? [String: Any])?["note"] as? String == "Square keeps this")
            #expect(fed[records[2].externalID]?["last_conflict"] is NSNull, "a record no push met a conflict on has none")

            // last_write_wins with a push made before Square's change: Square's change is the later
            // one and stands. (The push is recorded an hour back and then enqueued.)
            try await setPolicy("last_write_wins")
            let third = records[2].externalID
            let tenant = "tenant-p"
            let old = try await stack.onDatabase { database -> Push in
                let recorded = try PushStore().record(tenant: tenant, connection: square, provider: "square", resource: "customers", operation: "update",
                                                      externalID: third, fields: ["nickname": "Stale"], idempotencyKey: "lww-old", on: database)
                try database.query("UPDATE pushes SET created_at = now() - interval '1 hour' WHERE id = \(recorded.push.id)")
                return recorded.push
            }
            try await changeAtSquare(third, "newer than the push")
            try await stack.enqueue([PushStore.job(for: old)])
            let older = try await Self.ended(stack, old.id.uuidString.lowercased())
            #expect(older["status"] as? String == "superseded" && (older["conflict"] as? [String: Any])?["winner"] as? String == "provider", "\(older)")
            #expect(try await atSquare(third)["nickname"] == nil)

            // A write Square applied but whose answer was lost: the retry meets CONFLICT (its own
            // write moved the version), reads the customer, finds the change there and is done.
            try await setPolicy("provider_wins")
            try await stack.sandbox.fault("square", ["fail_after_apply": 1])
            let fourth = records.count > 3 ? records[3].externalID : first
            let before = try await Self.writes(stack, "square").count
            let applied = try await Self.pushed(stack, square, "customers", key: "lost-answer", #"{"operation":"update","id":"\#(fourth)","fields":{"nickname":"Once"}}"#)
            #expect(applied["status"] as? String == "delivered" && applied["attempts"] as? Int == 2 && applied["conflict"] is NSNull, "\(applied)")
            #expect(try await Self.writes(stack, "square").count == before + 2, "the first write and the retry that found it applied; no third")
        }
    }

    /// QuickBooks: an update must carry a SyncToken; a stale one (the invoice changed since the
    /// sync) is fault 5010, and under platform_wins the change is applied on the new token.
    @Test func aStaleQuickBooksSyncTokenIsReadAgainAndResolved() async throws {
        try await ConnectStack.with(seed: 80) { stack in
            try await stack.sandbox.muteWebhooks()
            let quickBooks = try await stack.connect("quickbooks", tenant: "tenant-p")
            _ = try await SyncRunTests.sync(stack, quickBooks, "invoices")
            let invoice = try #require(try await SyncRunTests.stored(stack, quickBooks, "invoices").first)
            let token = try #require(invoice.data["SyncToken"]?.stringValue)
            let set = try await APITests.call(stack, "PATCH", "/v1/connections/\(quickBooks.uuidString.lowercased())", tenant: "tenant-p", body: #"{"conflict_policy":"platform_wins"}"#)
            #expect(set.status == 200, "\(set.text)")
            // Someone edits the invoice in QuickBooks.
            let headers = [("Authorization", "Bearer \(SandboxClient.quickBooksToken)"), ("Content-Type", "application/json"), ("Accept", "application/json")]
            let edited = try await stack.sandbox.send("POST", "/v3/company/\(SandboxClient.quickBooksRealm)/invoice", headers: headers,
                                                      body: #"{"Id":"\#(invoice.externalID)","SyncToken":"\#(token)","sparse":true,"PrivateNote":"edited in QuickBooks"}"#)
            #expect(edited.status == 200, "\(edited.text)")

            let pushed = try await Self.pushed(stack, quickBooks, "invoices", key: "qb-stale", #"{"operation":"update","id":"\#(invoice.externalID)","fields":{"DueDate":"2027-01-31"}}"#)
            #expect(pushed["status"] as? String == "delivered", "\(pushed)")
            let conflict = try #require(pushed["conflict"] as? [String: Any], "\(pushed)")
            #expect(conflict["winner"] as? String == "platform" && conflict["expected_version"] as? String == token, "\(conflict)")
            let result = try #require(pushed["result"] as? [String: Any])
            #expect(result["DueDate"] as? String == "2027-01-31" && result["PrivateNote"] as? String == "edited in QuickBooks", "both changes stand: \(result)")
            let sent = try await Self.writes(stack, "quickbooks").compactMap { try? JSONValue(parsing: ($0["body"] as? String) ?? "") }.filter { $0["DueDate"] != nil }
            #expect(sent.map { $0["SyncToken"]?.stringValue } == [token, String((Int(token) ?? 0) + 1)] && sent.allSatisfy { $0["sparse"] == true && $0["Id"]?.stringValue == invoice.externalID },
                    "the stale token, then the one read again, each a sparse update naming its invoice: \(sent)")
        }
    }

    /// The worker is SIGKILLed after Square applied the write and before the outbox recorded it
    /// (the sandbox applies, then never answers). The push's job is recovered when its lease runs
    /// out; the next attempt finds the write already applied (a create by its idempotency key, an
    /// update by reading the customer) and marks the push delivered once.
    @Test func aWorkerKilledBetweenTheProvidersWriteAndTheOutboxIsDeliveredOnce() async throws {
        try await ConnectStack.with(seed: 81, extra: ["JUNCTION_WORKER_LEASE": "3s", "JUNCTION_PROVIDER_TIMEOUT": "20s"]) { stack in
            try await stack.sandbox.muteWebhooks()
            let square = try await stack.connect("square", tenant: "tenant-p")
            let before = try await SyncRunTests.sandboxCount(stack, "square", "customers")
            let headers = [("Authorization", "Bearer \(SandboxClient.squareToken)")]

            // A create, applied and never answered; the worker dies waiting.
            try await stack.sandbox.fault("square", ["hang_after_apply": 1])
            let accepted = try await Self.push(stack, square.uuidString.lowercased(), "customers", key: "killed-create",
                                               body: #"{"fields":{"given_name":"Kill","family_name":"Once","email_address":"kill.once@example.com"}}"#)
            let createID = try #require(try APITests.object(accepted)["id"] as? String, "\(accepted.text)")
            try await QueueKit.eventually("Square applied the create") { try await SyncRunTests.sandboxCount(stack, "square", "customers") == before + 1 }
            _ = try await stack.workers[0].stop(signal: SIGKILL)
            let held = try APITests.object(try await APITests.call(stack, "GET", "/v1/pushes/\(createID)", tenant: "tenant-p", roles: ["viewer"]))
            #expect(held["status"] as? String == "pending", "nothing recorded before the kill: \(held)")
            try await stack.startWorker()
            let created = try await Self.ended(stack, createID)
            #expect(created["status"] as? String == "delivered" && (created["errors"] as? [Any])?.isEmpty == true, "\(created)")
            #expect(try await SyncRunTests.sandboxCount(stack, "square", "customers") == before + 1, "one customer: the retry's key was answered with the first")
            let customerID = try #require(created["external_id"] as? String)
            #expect(try await SyncRunTests.stored(stack, square, "customers").contains { $0.externalID == customerID })

            // An update, applied and never answered: the retry's version is stale now, and the
            // customer read again already holds the change.
            try await stack.sandbox.fault("square", ["hang_after_apply": 1])
            let update = try await Self.push(stack, square.uuidString.lowercased(), "customers", key: "killed-update",
                                             body: #"{"operation":"update","id":"\#(customerID)","fields":{"nickname":"Written once"}}"#)
            let updateID = try #require(try APITests.object(update)["id"] as? String, "\(update.text)")
            try await QueueKit.eventually("Square applied the update") {
                let customer = try stack.sandbox.json(try await stack.sandbox.send("GET", "/v2/customers/\(customerID)", headers: headers))["customer"] as? [String: Any]
                return customer?["nickname"] as? String == "Written once"
            }
            let version = try stack.sandbox.json(try await stack.sandbox.send("GET", "/v2/customers/\(customerID)", headers: headers))["customer"] as? [String: Any]
            _ = try await stack.workers.last!.stop(signal: SIGKILL)
            try await stack.startWorker()
            let updated = try await Self.ended(stack, updateID)
            #expect(updated["status"] as? String == "delivered" && updated["conflict"] is NSNull, "found applied, no conflict: \(updated)")
            let after = try stack.sandbox.json(try await stack.sandbox.send("GET", "/v2/customers/\(customerID)", headers: headers))["customer"] as? [String: Any]
            #expect(after?["version"] as? Int == version?["version"] as? Int, "no second write moved the version: \(String(describing: after))")
        }
    }

    /// Square sends a webhook about the push's own write (its echo). Applied before or after the
    /// push records the answer, it brings the object the records already hold: the record keeps
    /// the change the push made, and the feed does not show it again as a change from Square.
    @Test func thePushsOwnEchoIsNotAnotherChange() async throws {
        try await ConnectStack.with(seed: 82) { stack in
            let square = try await stack.connect("square", tenant: "tenant-p")
            _ = try await SyncRunTests.sync(stack, square, "customers")
            let customer = try #require(try await SyncRunTests.stored(stack, square, "customers").first).externalID
            func changeSequence() async throws -> Int64 {
                try await stack.onDatabase { database in
                    try database.query("SELECT change_seq FROM records WHERE connection_id = \(square) AND resource = 'customers' AND external_id = \(customer)")
                        .rows.first!.decode("change_seq", as: Int64.self)
                }
            }
            let synced = try await changeSequence()
            let pushed = try await Self.pushed(stack, square, "customers", key: "echo-1", #"{"operation":"update","id":"\#(customer)","fields":{"nickname":"Echoed"}}"#)
            #expect(pushed["status"] as? String == "delivered", "\(pushed)")
            let afterPush = try await changeSequence()
            #expect(afterPush > synced, "the push's write is one change")
            // The echo: Square's customer.updated about this customer, stored and processed.
            try await QueueKit.eventually("the echo was processed") {
                try await stack.onDatabase { database in
                    try database.query("""
                        SELECT count(*)::bigint AS n FROM webhook_events WHERE provider = 'square' AND event_type = 'customer.updated'
                           AND convert_from(body, 'UTF8') LIKE \("%" + customer + "%") AND processed_at IS NOT NULL
                        """).rows.first!.decode("n", as: Int.self)
                } == 1
            }
            #expect(try await changeSequence() == afterPush, "the echo changed nothing")
            let stored = try #require(try await SyncRunTests.stored(stack, square, "customers").first { $0.externalID == customer })
            #expect(stored.data["nickname"] == "Echoed")
        }
    }

    /// Mailchimp members in bulk: one batch-subscribe call for up to 500, answered per member; the
    /// push keeps which were written and which refused (and why), and the written ones are
    /// records. Applied and answered 500, the batch's retry writes each member once.
    @Test func mailchimpMembersGoInBatchesWithEachMembersResultKept() async throws {
        try await ConnectStack.with(seed: 83) { stack in
            try await stack.sandbox.muteWebhooks()
            let mailchimp = try await stack.connect("mailchimp", tenant: "tenant-p")
            let list = SandboxClient.mailchimpList
            let before = try await SyncRunTests.sandboxCount(stack, "mailchimp", "us6/\(list)")
            try await stack.sandbox.fault("mailchimp", ["fail_after_apply": 1])
            let members = (1...120).map { #"{"email_address":"bulk\#($0)@example.com","status":"subscribed","merge_fields":{"FNAME":"Bulk \#($0)"}}"# }
                + [#"{"email_address":"not-an-address","status":"subscribed"}"#, #"{"email_address":"odd@example.com","status":"sleeping"}"#]
            let batch = try await Self.pushed(stack, mailchimp, "members", key: "bulk-1",
                                              #"{"operation":"batch","fields":{"list_id":"\#(list)","members":[\#(members.joined(separator: ","))]}}"#)
            #expect(batch["status"] as? String == "delivered" && batch["attempts"] as? Int == 2, "\(batch["status"] ?? "") \(batch["errors"] ?? "")")
            let result = try #require(batch["result"] as? [String: Any])
            let written = try #require(result["written"] as? [String])
            let refused = try #require(result["refused"] as? [[String: Any]])
            #expect(written.count == 120 && Set(written).count == 120, "\(written.count) written")
            #expect(Set(refused.compactMap { $0["email_address"] as? String }) == ["not-an-address", "odd@example.com"], "\(refused)")
            #expect(result["error_count"] as? Int == 2)
            #expect(try await SyncRunTests.sandboxCount(stack, "mailchimp", "us6/\(list)") == before + 120, "each member once, though the batch was sent twice")
            let batchCalls = try await Self.writes(stack, "mailchimp").filter { ($0["path"] as? String) == "/3.0/lists/\(list)" }
            #expect(batchCalls.count == 2, "one call per attempt: \(batchCalls.count)")
            let stored = Set(try await SyncRunTests.stored(stack, mailchimp, "members").map(\.externalID))
            #expect(Set(written).isSubset(of: stored), "the written members are records")

            // Every member refused: failed, each refusal kept on the push.
            let allRefused = try await Self.pushed(stack, mailchimp, "members", key: "bulk-refused",
                                                   #"{"operation":"batch","fields":{"list_id":"\#(list)","members":[{"email_address":"nobody","status":"subscribed"}]}}"#)
            let history = ((allRefused["errors"] as? [[String: Any]])?.first?["error"] as? String) ?? ""
            #expect(allRefused["status"] as? String == "failed" && history.contains("refused every one of the 1 members") && history.contains("nobody"), "\(allRefused)")

            // Checked before anything is recorded: the list, the size, each member's fields.
            let tooMany = (0...500).map { #"{"email_address":"m\#($0)@example.com","status":"subscribed"}"# }.joined(separator: ",")
            let refusedBatch = try await Self.push(stack, mailchimp.uuidString.lowercased(), "members", key: "bulk-2",
                                                   body: #"{"operation":"batch","fields":{"members":[\#(tooMany)]}}"#)
            #expect(refusedBatch.status == 422 && refusedBatch.text.contains("fields.list_id") && refusedBatch.text.contains("1 to 500"), "\(refusedBatch.text.prefix(600))")
            let missing = try await Self.push(stack, mailchimp.uuidString.lowercased(), "members", key: "bulk-3",
                                              body: #"{"operation":"batch","fields":{"list_id":"\#(list)","members":[{"email_address":"x@example.com"}]}}"#)
            #expect(missing.status == 422 && missing.text.contains("fields.members[0].status"), "\(missing.text)")
            let square = try await stack.connect("square", tenant: "tenant-p")
            let notBatched = try await Self.push(stack, square.uuidString.lowercased(), "customers", key: "bulk-4", body: #"{"operation":"batch","fields":{"customers":[]}}"#)
            #expect(notBatched.status == 422 && notBatched.text.contains("one at a time"), "\(notBatched.text)")
        }
    }

    /// A push in the tenant's mapped shape: written back to Square's field names by the tenant's
    /// mapping (its default here), delivered, and refused by name where a field cannot be.
    @Test func aPushInTheMappedShapeIsWrittenBackByTheTenantsMapping() async throws {
        try await ConnectStack.with(seed: 84) { stack in
            try await stack.sandbox.muteWebhooks()
            let square = try await stack.connect("square", tenant: "tenant-p")
            let created = try await Self.pushed(stack, square, "customers", key: "mapped-1",
                                                #"{"mapped":{"email":"mapped@example.com","phone":"+14155550123","address":{"city":"Oakland"}},"fields":{"given_name":"Mapped"}}"#)
            #expect(created["status"] as? String == "delivered", "\(created)")
            let fields = try #require(created["fields"] as? [String: Any])
            #expect(fields["email_address"] as? String == "mapped@example.com" && fields["phone_number"] as? String == "+14155550123"
                    && (fields["address"] as? [String: Any])?["locality"] as? String == "Oakland" && fields["given_name"] as? String == "Mapped", "\(fields)")
            let customer = try #require(created["result"] as? [String: Any])
            #expect(customer["email_address"] as? String == "mapped@example.com" && (customer["address"] as? [String: Any])?["locality"] as? String == "Oakland", "\(customer)")

            let refused = try await Self.push(stack, square.uuidString.lowercased(), "customers", key: "mapped-2", body: #"{"mapped":{"name":"Ana Lima","colour":"red"}}"#)
            #expect(refused.status == 422 && refused.text.contains("mapped.name") && refused.text.contains("mapped.colour"), "\(refused.text)")
        }
    }

    /// An internal caller that reaches Junction through Redis enqueues `push.request`: the push is
    /// checked as the API checks it, recorded under the caller's key (a second request with it is
    /// the same push) and delivered; a request that is wrong goes to the dead letters saying why.
    @Test func anInternalCallersPushRequestJobIsRecordedOnceAndDelivered() async throws {
        try await ConnectStack.with(seed: 85) { stack in
            try await stack.sandbox.muteWebhooks()
            let square = try await stack.connect("square", tenant: "tenant-p")
            let before = try await SyncRunTests.sandboxCount(stack, "square", "customers")
            func request(_ key: String, _ push: JSONValue) -> JobRequest {
                JobRequest(type: "push.request", payload: ["connection": .string(square.uuidString.lowercased()), "resource": "customers",
                                                           "idempotency_key": .string(key), "push": push],
                           priority: .high, tenant: "tenant-p", connection: square.uuidString.lowercased())
            }
            let push: JSONValue = ["operation": "create", "mapped": ["email": "internal@example.com"], "fields": ["given_name": "Internal"]]
            try await stack.enqueue([request("internal-1", push)])
            try await stack.enqueue([request("internal-1", push)])
            @Sendable func pushes(_ key: String) async throws -> [(id: String, status: String)] {
                try await stack.onDatabase { database in
                    try database.query("SELECT id::text AS id, status FROM pushes WHERE idempotency_key = \(key)").rows.map {
                        (try $0.decode("id", as: String.self), try $0.decode("status", as: String.self))
                    }
                }
            }
            try await QueueKit.eventually("the push was delivered") { try await pushes("internal-1").first?.status == "delivered" }
            #expect(try await pushes("internal-1").count == 1, "one push for the key, though requested twice")
            #expect(try await SyncRunTests.sandboxCount(stack, "square", "customers") == before + 1)
            let shown = try await Self.ended(stack, try #require(try await pushes("internal-1").first?.id))
            #expect((shown["result"] as? [String: Any])?["email_address"] as? String == "internal@example.com", "\(shown)")

            // A wrong request: dead at once, with every problem named.
            try await stack.enqueue([request("internal-2", ["operation": "update", "fields": ["nickname": "x"]])])
            let queue = stack.queue
            let redis = stack.stack.redis
            @Sendable func letters() async throws -> [DeadLetter] {
                try await TestStack.onThread { try queue.deadLetters(on: try RedisConnection(redis), limit: 10, type: "push.request") }
            }
            try await QueueKit.eventually("the wrong request is a dead letter") { try await !letters().isEmpty }
            let letter = try #require(try await letters().first)
            #expect(letter.envelope.errors.last?.message.contains("id: required to update") == true, "\(letter.envelope.errors)")
            #expect(try await pushes("internal-2").isEmpty, "nothing recorded")
        }
    }
}
