import Crypto
import Foundation
import Hummingbird
import JunctionCore
import JunctionProviders
import Synchronization
import Testing

@Suite("Provider sandbox: APIs")
struct SandboxAPITests {
    /// Walks a Stripe list newest first with starting_after; creates records midway.
    @Test func stripePaginationVisitsEveryRecordOnceWhileRecordsAreCreated() async throws {
        let sandbox = try await SandboxClient.start(seed: 250)
        var seen: [String] = []
        var cursor: String?
        var created = 0
        repeat {
            let response = try await sandbox.stripe("GET", "/v1/customers?limit=37" + (cursor.map { "&starting_after=\($0)" } ?? ""))
            #expect(response.status == 200)
            let page = try sandbox.json(response)
            #expect(page["object"] as? String == "list" && page["url"] as? String == "/v1/customers")
            let data = try #require(page["data"] as? [[String: Any]])
            seen += data.compactMap { $0["id"] as? String }
            let createdTimes = data.compactMap { $0["created"] as? Int }
            #expect(createdTimes == createdTimes.sorted(by: >), "newest first")
            cursor = (page["has_more"] as? Bool == true) ? seen.last : nil
            if created < 3 {
                #expect(try await sandbox.stripe("POST", "/v1/customers", form: "email=new\(created)%40example.com").status == 200)
                created += 1
            }
        } while cursor != nil
        #expect(seen.count == 250 && Set(seen).count == 250, "every seeded customer exactly once (\(seen.count) seen)")
        // Walking back with ending_before from the oldest returns the newer ones, again once each.
        let oldest = try #require(seen.last)
        let back = try sandbox.json(try await sandbox.stripe("GET", "/v1/customers?limit=5&ending_before=\(oldest)"))
        let backIDs = try #require(back["data"] as? [[String: Any]]).compactMap { $0["id"] as? String }
        #expect(backIDs == Array(seen.suffix(6).prefix(5)))
        // created[gte] cuts the range.
        let newest = try sandbox.json(try await sandbox.stripe("GET", "/v1/customers?limit=100"))
        let cutoff = try #require((newest["data"] as? [[String: Any]])?[10]["created"] as? Int)
        let recent = try sandbox.json(try await sandbox.stripe("GET", "/v1/customers?limit=100&created%5Bgte%5D=\(cutoff)"))
        #expect(try #require(recent["data"] as? [[String: Any]]).allSatisfy { ($0["created"] as? Int ?? 0) >= cutoff })
        #expect(try await sandbox.stripe("GET", "/v1/customers?limit=101").status == 400)
        try await sandbox.stop()
    }

    @Test func stripeIdempotencyKeyReplaysTheFirstResponseAndFormsNestMetadata() async throws {
        let sandbox = try await SandboxClient.start()
        let form = "email=zoe%40example.com&name=Zo%C3%AB&metadata%5Bvenue%5D=42"
        let first = try await sandbox.stripe("POST", "/v1/customers", form: form, headers: [("Idempotency-Key", "key-1")])
        let again = try await sandbox.stripe("POST", "/v1/customers", form: form, headers: [("Idempotency-Key", "key-1")])
        #expect(first.status == 200 && again.status == 200)
        #expect(again.body == first.body && again.header("Idempotent-Replayed") == "true")
        let customer = try sandbox.json(first)
        #expect((customer["metadata"] as? [String: String]) == ["venue": "42"] && customer["name"] as? String == "Zoë")
        let other = try await sandbox.stripe("POST", "/v1/customers", form: "email=other%40example.com", headers: [("Idempotency-Key", "key-1")])
        #expect(other.status == 400 && sandbox.stripeError(other, "type") == "idempotency_error")
        let list = try sandbox.json(try await sandbox.stripe("GET", "/v1/customers"))
        #expect((list["data"] as? [Any])?.count == 1, "the replay created nothing")
        // Update merges metadata; an empty value deletes a key.
        let id = try #require(customer["id"] as? String)
        let updated = try sandbox.json(try await sandbox.stripe("POST", "/v1/customers/\(id)", form: "metadata%5Bplan%5D=pro&metadata%5Bvenue%5D="))
        #expect((updated["metadata"] as? [String: String]) == ["plan": "pro"])
        let missing = try await sandbox.stripe("GET", "/v1/customers/cus_nope")
        #expect(missing.status == 404 && sandbox.stripeError(missing, "code") == "resource_missing")
        let invalid = try await sandbox.stripe("POST", "/v1/payment_intents", form: "currency=usd")
        #expect(invalid.status == 400 && sandbox.stripeError(invalid, "param") == "amount")
        let unauthorized = try await sandbox.send("GET", "/v1/customers", headers: [("Authorization", "Bearer pk_live_nope")])
        #expect(unauthorized.status == 401)
        try await sandbox.stop()
    }

    @Test func squareMailchimpAndQuickBooksPagesCoverEveryRecordOnceWhileRecordsAreCreated() async throws {
        let sandbox = try await SandboxClient.start(seed: 120)
        let square = [("Authorization", "Bearer \(SandboxClient.squareToken)"), ("Square-Version", "2024-06-04")]
        var squareIDs: [String] = []
        var cursor: String?
        var added = 0
        repeat {
            let page = try sandbox.json(try await sandbox.send("GET", "/v2/customers?limit=50" + (cursor.map { "&cursor=\($0)" } ?? ""), headers: square))
            squareIDs += (page["customers"] as? [[String: Any]] ?? []).compactMap { $0["id"] as? String }
            cursor = page["cursor"] as? String
            if added < 2 {
                // Created mid-walk: Square lists oldest first, so they come at the end, once.
                #expect(try await sandbox.send("POST", "/v2/customers", headers: square, body: #"{"given_name":"Mid\#(added)"}"#).status == 200)
                added += 1
            }
        } while cursor != nil
        #expect(squareIDs.count == 122 && Set(squareIDs).count == 122)

        let mailchimp = [("Authorization", "Bearer \(SandboxClient.mailchimpKey)")]
        var emails: [String] = []
        var total = 0
        var offset = 0
        repeat {
            let page = try sandbox.json(try await sandbox.send("GET", "/3.0/lists/\(SandboxClient.mailchimpList)/members?count=25&offset=\(offset)", headers: mailchimp))
            total = page["total_items"] as? Int ?? -1
            emails += (page["members"] as? [[String: Any]] ?? []).compactMap { $0["email_address"] as? String }
            offset += 25
            if offset == 25 {
                let email = "mid-walk@example.com"
                let hash = Insecure.MD5.hash(data: Array(email.utf8)).map { String(format: "%02x", $0) }.joined()
                #expect(try await sandbox.send("PUT", "/3.0/lists/\(SandboxClient.mailchimpList)/members/\(hash)", headers: mailchimp, body: #"{"email_address":"\#(email)"}"#).status == 200)
            }
        } while offset < total
        #expect(total == 121 && emails.count == 121 && Set(emails).count == 121)
        // Each data centre is its own account: a us21 key sees an empty list, and its members stay there.
        let us21 = [("Authorization", "Bearer sandboxkey1111-us21")]
        let other = try sandbox.json(try await sandbox.send("GET", "/3.0/lists/\(SandboxClient.mailchimpList)/members", headers: us21))
        #expect(other["total_items"] as? Int == 0)

        let quickbooks = [("Authorization", "Bearer \(SandboxClient.quickBooksToken)"), ("Accept", "application/json")]
        var qbIDs: [String] = []
        for start in stride(from: 1, through: 121, by: 50) {
            if start == 51 {
                #expect(try await sandbox.send("POST", "/v3/company/\(SandboxClient.quickBooksRealm)/customer", headers: quickbooks, body: #"{"DisplayName":"Mid walk"}"#).status == 200)
            }
            let query = "SELECT * FROM Customer STARTPOSITION \(start) MAXRESULTS 50".addingPercentEncoding(withAllowedCharacters: .alphanumerics)!
            let page = try sandbox.json(try await sandbox.send("GET", "/v3/company/\(SandboxClient.quickBooksRealm)/query?query=\(query)&minorversion=75", headers: quickbooks))
            qbIDs += ((page["QueryResponse"] as? [String: Any])?["Customer"] as? [[String: Any]] ?? []).compactMap { $0["Id"] as? String }
        }
        #expect(qbIDs.count == 121 && Set(qbIDs).count == 121)
        let count = "SELECT COUNT(*) FROM Customer".addingPercentEncoding(withAllowedCharacters: .alphanumerics)!
        let counted = try sandbox.json(try await sandbox.send("GET", "/v3/company/\(SandboxClient.quickBooksRealm)/query?query=\(count)", headers: quickbooks))
        #expect((counted["QueryResponse"] as? [String: Any])?["totalCount"] as? Int == 121)
        let bad = try await sandbox.send("GET", "/v3/company/\(SandboxClient.quickBooksRealm)/query?query=DELETE%20FROM%20Customer", headers: quickbooks)
        #expect(bad.status == 400 && bad.text.contains("\"Fault\""))
        try await sandbox.stop()
    }

    @Test func writesDetectConcurrentChangesTheWayEachProviderDoes() async throws {
        let sandbox = try await SandboxClient.start(seed: 3)
        let quickbooks = [("Authorization", "Bearer \(SandboxClient.quickBooksToken)"), ("Content-Type", "application/json")]
        let base = "/v3/company/\(SandboxClient.quickBooksRealm)"
        let before = Date()
        try await Task.sleep(for: .milliseconds(5))
        let created = try sandbox.json(try await sandbox.send("POST", "\(base)/customer", headers: quickbooks, body: #"{"DisplayName":"Zoë Ångström"}"#))
        let customer = try #require(created["Customer"] as? [String: Any])
        let id = try #require(customer["Id"] as? String)
        #expect(customer["SyncToken"] as? String == "0")
        let sparse = try await sandbox.send("POST", "\(base)/customer", headers: quickbooks, body: #"{"Id":"\#(id)","SyncToken":"0","sparse":true,"CompanyName":"Junction"}"#)
        #expect(sparse.status == 200)
        #expect(try (sandbox.json(sparse)["Customer"] as? [String: Any])?["DisplayName"] as? String == "Zoë Ångström", "a sparse update keeps the other fields")
        let stale = try await sandbox.send("POST", "\(base)/customer", headers: quickbooks, body: #"{"Id":"\#(id)","SyncToken":"0","sparse":true,"CompanyName":"Other"}"#)
        #expect(stale.status == 400 && stale.text.contains("\"code\":\"5010\""))
        // Only what changed since `before` comes back from a filtered query and from CDC.
        let since = Timestamp.format(before)
        let query = "SELECT * FROM Customer WHERE Metadata.LastUpdatedTime > '\(since)'".addingPercentEncoding(withAllowedCharacters: .alphanumerics)!
        let changed = try sandbox.json(try await sandbox.send("GET", "\(base)/query?query=\(query)", headers: quickbooks))
        #expect(((changed["QueryResponse"] as? [String: Any])?["Customer"] as? [[String: Any]])?.compactMap { $0["Id"] as? String } == [id])
        let cdc = try await sandbox.send("GET", "\(base)/cdc?entities=Customer,Invoice&changedSince=\(since.prefix(19))Z", headers: quickbooks)
        #expect(cdc.status == 200 && cdc.text.contains("\"Id\":\"\(id)\""))

        let square = [("Authorization", "Bearer \(SandboxClient.squareToken)"), ("Content-Type", "application/json")]
        let made = try sandbox.json(try await sandbox.send("POST", "/v2/customers", headers: square, body: #"{"given_name":"Amélie","email_address":"amelie@example.com"}"#))
        let squareID = try #require((made["customer"] as? [String: Any])?["id"] as? String)
        #expect(try await sandbox.send("PUT", "/v2/customers/\(squareID)", headers: square, body: #"{"note":"VIP","version":0}"#).status == 200)
        let conflict = try await sandbox.send("PUT", "/v2/customers/\(squareID)", headers: square, body: #"{"note":"late","version":0}"#)
        #expect(conflict.status == 400 && conflict.text.contains("\"code\":\"CONFLICT\""))

        let mailchimp = [("Authorization", "Basic " + Data("any:\(SandboxClient.mailchimpKey)".utf8).base64EncodedString())]
        let email = "Zoe.Martin@Example.com"
        let hash = Insecure.MD5.hash(data: Array(email.lowercased().utf8)).map { String(format: "%02x", $0) }.joined()
        let member = "/3.0/lists/\(SandboxClient.mailchimpList)/members/\(hash)"
        #expect(try await sandbox.send("PUT", member, headers: mailchimp, body: #"{"email_address":"\#(email)","status_if_new":"subscribed"}"#).status == 200)
        #expect(try await sandbox.send("PUT", "/3.0/lists/\(SandboxClient.mailchimpList)/members/0000", headers: mailchimp, body: #"{"email_address":"\#(email)"}"#).status == 400)
        #expect(try await sandbox.send("POST", member + "/tags", headers: mailchimp, body: #"{"tags":[{"name":"vip","status":"active"}]}"#).status == 204)
        let tags = try sandbox.json(try await sandbox.send("GET", member + "/tags", headers: mailchimp))
        #expect((tags["tags"] as? [[String: Any]])?.first?["name"] as? String == "vip")
        try await sandbox.stop()
    }

    /// Every change is an event in `/v1/events` (what incremental syncs follow), listed newest
    /// first and filtered by type; a refund follows its charge and fires both events.
    @Test func stripeEventsListEveryChangeAndARefundFollowsItsCharge() async throws {
        let sandbox = try await SandboxClient.start(seed: 40)
        let created = try sandbox.json(try await sandbox.stripe("POST", "/v1/customers", form: "email=zoe%40example.com"))
        let customer = try #require(created["id"] as? String)
        #expect(try await sandbox.stripe("POST", "/v1/customers/\(customer)", form: "name=Zo%C3%AB").status == 200)
        #expect(try await sandbox.stripe("DELETE", "/v1/customers/\(customer)").status == 200)
        let charges = try #require(try sandbox.json(try await sandbox.stripe("GET", "/v1/charges?limit=100"))["data"] as? [[String: Any]])
        let charge = try #require(charges.first { $0["refunded"] as? Bool == false })
        let chargeID = try #require(charge["id"] as? String)
        let amount = try #require(charge["amount"] as? Int)
        let refund = try await sandbox.stripe("POST", "/v1/refunds", form: "charge=\(chargeID)&amount=100")
        let refunded = try sandbox.json(refund)
        #expect(refund.status == 200 && refunded["amount"] as? Int == 100 && refunded["object"] as? String == "refund")
        let after = try sandbox.json(try await sandbox.stripe("GET", "/v1/charges/\(chargeID)"))
        #expect(after["amount_refunded"] as? Int == 100 && after["refunded"] as? Bool == (amount == 100))
        let over = try await sandbox.stripe("POST", "/v1/refunds", form: "charge=\(chargeID)&amount=\(amount)")
        #expect(over.status == 400 && sandbox.stripeError(over, "code") == "charge_already_refunded")
        #expect(try await sandbox.stripe("POST", "/v1/refunds", form: "amount=5").status == 400)
        #expect(try await sandbox.stripe("POST", "/v1/disputes", form: "charge=\(chargeID)").status == 404, "disputes are not created by the API")

        let all = try sandbox.json(try await sandbox.stripe("GET", "/v1/events?limit=100"))
        let types = try #require(all["data"] as? [[String: Any]]).compactMap { $0["type"] as? String }
        #expect(types == ["charge.refunded", "refund.created", "customer.deleted", "customer.updated", "customer.created"], "\(types)")
        let customers = try sandbox.json(try await sandbox.stripe("GET", "/v1/events?type=customer.*&limit=2"))
        let page = try #require(customers["data"] as? [[String: Any]])
        #expect(page.compactMap { $0["type"] as? String } == ["customer.deleted", "customer.updated"] && customers["has_more"] as? Bool == true)
        let rest = try sandbox.json(try await sandbox.stripe("GET", "/v1/events?type=customer.*&starting_after=\(page[1]["id"] as? String ?? "")"))
        #expect((rest["data"] as? [[String: Any]])?.compactMap { $0["type"] as? String } == ["customer.created"])
        let updated = try #require(page[1]["data"] as? [String: Any])
        #expect((updated["object"] as? [String: Any])?["name"] as? String == "Zoë" && (updated["previous_attributes"] as? [String: Any])?["name"] is NSNull)
        let exact = try sandbox.json(try await sandbox.stripe("GET", "/v1/events?types%5B%5D=refund.created&types%5B%5D=customer.created"))
        #expect((exact["data"] as? [[String: Any]])?.count == 2)
        let future = Int(Date().timeIntervalSince1970) + 60
        let none = try sandbox.json(try await sandbox.stripe("GET", "/v1/events?created%5Bgte%5D=\(future)"))
        #expect((none["data"] as? [Any])?.isEmpty == true)
        let one = try await sandbox.stripe("GET", "/v1/events/\(page[0]["id"] as? String ?? "")")
        #expect(one.status == 200 && (try? sandbox.json(one))?["type"] as? String == "customer.deleted")
        #expect(try await sandbox.stripe("GET", "/v1/events/evt_missing").status == 404)
        try await sandbox.stop()
    }

    /// QuickBooks answers a query posted as `application/text` (the form most clients send) like
    /// the GET form, orders by update time with bounds, and reports a deleted transaction in CDC.
    @Test func quickBooksAnswersPostedQueriesAndReportsDeletesInCDC() async throws {
        let sandbox = try await SandboxClient.start(seed: 40)
        let base = "/v3/company/\(SandboxClient.quickBooksRealm)"
        let auth = ("Authorization", "Bearer \(SandboxClient.quickBooksToken)")
        let statement = "SELECT * FROM Invoice STARTPOSITION 1 MAXRESULTS 5"
        let posted = try await sandbox.send("POST", "\(base)/query?minorversion=75", headers: [auth, ("Content-Type", "application/text"), ("Accept", "application/json")], body: statement)
        let got = try await sandbox.send("GET", "\(base)/query?query=\(statement.addingPercentEncoding(withAllowedCharacters: .alphanumerics)!)", headers: [auth])
        #expect(posted.status == 200)
        let invoices = try #require((try sandbox.json(posted)["QueryResponse"] as? [String: Any])?["Invoice"] as? [[String: Any]])
        let gotten = ((try sandbox.json(got)["QueryResponse"] as? [String: Any])?["Invoice"] as? [[String: Any]])?.map { $0["Id"] as? String }
        #expect(invoices.count == 5 && invoices.map { $0["Id"] as? String } == gotten)
        let json = try await sandbox.send("POST", "\(base)/query", headers: [auth, ("Content-Type", "application/json")], body: statement)
        #expect(json.status == 415 && json.text.contains("application/text"))
        for entity in ["Payment", "Account"] {
            let answer = try sandbox.json(try await sandbox.send("POST", "\(base)/query", headers: [auth, ("Content-Type", "application/text")], body: "SELECT COUNT(*) FROM \(entity)"))
            #expect(((answer["QueryResponse"] as? [String: Any])?["totalCount"] as? Int ?? 0) > 0, "\(entity) is seeded")
        }

        let before = Date()
        try await Task.sleep(for: .milliseconds(5))
        let target = try #require(invoices[2]["Id"] as? String)
        let json2 = [auth, ("Content-Type", "application/json")]
        let removed = try await sandbox.send("POST", "\(base)/invoice?operation=delete", headers: json2, body: #"{"Id":"\#(target)","SyncToken":"0"}"#)
        #expect(removed.status == 200 && removed.text.contains("\"status\":\"Deleted\""), "\(removed.text)")
        #expect(try await sandbox.send("POST", "\(base)/customer?operation=delete", headers: json2, body: #"{"Id":"1","SyncToken":"0"}"#).status == 400,
                "a customer is made inactive, not deleted")
        let renamed = try await sandbox.send("POST", "\(base)/invoice", headers: json2, body: #"{"Id":"\#(invoices[3]["Id"] as? String ?? "")","SyncToken":"0","sparse":true,"DocNumber":"X-1"}"#)
        #expect(renamed.status == 200)
        let since = ISO8601DateFormatter().string(from: before)
        let cdc = try sandbox.json(try await sandbox.send("GET", "\(base)/cdc?entities=Invoice&changedSince=\(since)", headers: [auth]))
        let changed = try #require(((cdc["CDCResponse"] as? [[String: Any]])?.first?["QueryResponse"] as? [[String: Any]])?.first?["Invoice"] as? [[String: Any]])
        #expect(changed.map { $0["Id"] as? String } == [target, invoices[3]["Id"] as? String] && changed.first?["status"] as? String == "Deleted")
        // Bounded and ordered by update time: only the renamed one, then the newest first.
        let window = "SELECT * FROM Invoice WHERE Metadata.LastUpdatedTime >= '\(since)' AND Metadata.LastUpdatedTime <= '2999-01-01T00:00:00Z' ORDERBY Metadata.LastUpdatedTime DESC"
        let recent = try sandbox.json(try await sandbox.send("POST", "\(base)/query", headers: [auth, ("Content-Type", "application/text")], body: window))
        #expect(((recent["QueryResponse"] as? [String: Any])?["Invoice"] as? [[String: Any]])?.map { $0["Id"] as? String } == [invoices[3]["Id"] as? String])
        let all = try sandbox.json(try await sandbox.send("POST", "\(base)/query", headers: [auth, ("Content-Type", "application/text")],
                                                          body: "SELECT * FROM Invoice ORDERBY Metadata.LastUpdatedTime DESC MAXRESULTS 2"))
        #expect(((all["QueryResponse"] as? [String: Any])?["Invoice"] as? [[String: Any]])?.first?["Id"] as? String == invoices[3]["Id"] as? String)
        try await sandbox.stop()
    }

    /// Square's searches filter by update time with exclusive bounds, the catalog's shows deleted
    /// objects when asked, and ListPayments answers newest first and only the last year unless told.
    @Test func squareSearchesFilterByUpdateTimeAndShowDeletes() async throws {
        let sandbox = try await SandboxClient.start(seed: 40)
        let square = [("Authorization", "Bearer \(SandboxClient.squareToken)"), ("Content-Type", "application/json")]
        func body(_ response: OutboundResponse) throws -> [String: Any] { try sandbox.json(response) }
        let before = Timestamp.format(Date())
        try await Task.sleep(for: .milliseconds(5))
        let customers = try #require(try body(try await sandbox.send("GET", "/v2/customers?limit=3", headers: square))["customers"] as? [[String: Any]])
        let customer = try #require(customers[1]["id"] as? String)
        #expect(try await sandbox.send("PUT", "/v2/customers/\(customer)", headers: square, body: #"{"note":"VIP","version":0}"#).status == 200)
        let search = #"{"limit":10,"query":{"filter":{"updated_at":{"start_at":"\#(before)"}}}}"#
        let found = try body(try await sandbox.send("POST", "/v2/customers/search", headers: square, body: search))
        #expect((found["customers"] as? [[String: Any]])?.compactMap { $0["id"] as? String } == [customer])
        let all = try body(try await sandbox.send("POST", "/v2/customers/search", headers: square, body: #"{"limit":30}"#))
        #expect((all["customers"] as? [Any])?.count == 30 && all["cursor"] is String)

        let catalog = try #require(try body(try await sandbox.send("GET", "/v2/catalog/list", headers: square))["objects"] as? [[String: Any]])
        let item = try #require(catalog.first?["id"] as? String)
        #expect(try await sandbox.send("DELETE", "/v2/catalog/object/\(item)", headers: square).status == 200)
        let made = try body(try await sandbox.send("POST", "/v2/catalog/object", headers: square,
                                                   body: ##"{"idempotency_key":"k1","object":{"id":"#new","type":"ITEM","item_data":{"name":"Tote"}}}"##))
        let newItem = try #require((made["catalog_object"] as? [String: Any])?["id"] as? String)
        let stale = try await sandbox.send("POST", "/v2/catalog/object", headers: square, body: #"{"object":{"id":"\#(newItem)","type":"ITEM","version":1}}"#)
        #expect(stale.status == 400 && stale.text.contains("VERSION_MISMATCH"))
        let changed = try body(try await sandbox.send("POST", "/v2/catalog/search", headers: square, body: #"{"begin_time":"\#(before)","include_deleted_objects":true}"#))
        let objects = try #require(changed["objects"] as? [[String: Any]])
        #expect(objects.compactMap { $0["id"] as? String } == [item, newItem] && objects.first?["is_deleted"] as? Bool == true)
        let live = try body(try await sandbox.send("POST", "/v2/catalog/search", headers: square, body: #"{"begin_time":"\#(before)"}"#))
        #expect((live["objects"] as? [[String: Any]])?.compactMap { $0["id"] as? String } == [newItem])
        let listed = try #require(try body(try await sandbox.send("GET", "/v2/catalog/list", headers: square))["objects"] as? [[String: Any]])
        #expect(!listed.contains { $0["id"] as? String == item }, "a deleted object leaves the list")

        let newest = try #require(try body(try await sandbox.send("GET", "/v2/payments?limit=100", headers: square))["payments"] as? [[String: Any]])
        let times = newest.compactMap { $0["created_at"] as? String }
        #expect(times == times.sorted(by: >) && !times.isEmpty, "newest first by default")
        let payment = try #require(newest.first?["id"] as? String)
        let refund = try await sandbox.send("POST", "/v2/refunds", headers: square, body: #"{"idempotency_key":"r1","payment_id":"\#(payment)","amount_money":{"amount":100,"currency":"USD"}}"#)
        #expect(refund.status == 200)
        let updated = try body(try await sandbox.send("GET", "/v2/payments?updated_at_begin_time=\(before)&sort_field=UPDATED_AT&sort_order=ASC", headers: square))
        let refunded = try #require((updated["payments"] as? [[String: Any]])?.first)
        #expect((updated["payments"] as? [Any])?.count == 1 && refunded["id"] as? String == payment
                && (refunded["refunded_money"] as? [String: Any])?["amount"] as? Int == 100)
        try await sandbox.stop()
    }

    @Test func theSameSeedGivesTheSameData() async throws {
        func customers(_ arguments: [String]) async throws -> [[String: Any]] {
            let sandbox = try await SandboxClient.start(seed: 40, arguments: arguments)
            let page = try sandbox.json(try await sandbox.stripe("GET", "/v1/customers?limit=100"))
            try await sandbox.stop()
            return try #require(page["data"] as? [[String: Any]])
        }
        let first = try await customers([])
        let again = try await customers([])
        let other = try await customers(["--seed-value", "7"])
        func summary(_ list: [[String: Any]]) -> [String] { list.map { "\($0["id"] ?? "")|\($0["name"] ?? "")|\($0["email"] ?? "")" } }
        #expect(first.count == 40 && summary(first) == summary(again))
        #expect(summary(first) != summary(other))
        #expect(Set(first.compactMap { $0["name"] as? String }).count > 10, "names vary")
        #expect(first.contains { $0["phone"] is NSNull } && first.contains { ($0["description"] as? String)?.count ?? 0 > 400 }, "nulls and long strings")
    }

    @Test func aHundredThousandRecordsAreQuickToCreateAndToPage() async throws {
        let sandbox = try await SandboxClient.start(seed: 100_000)
        let line = try #require(sandbox.process.lines.first { $0.contains("\"msg\":\"listening\"") })
        #expect(line.contains("\"seeded\":\"100000\""))
        let page = try sandbox.json(try await sandbox.stripe("GET", "/v1/customers?limit=100"))
        let last = try #require((page["data"] as? [[String: Any]])?.last?["id"] as? String)
        let next = try sandbox.json(try await sandbox.stripe("GET", "/v1/customers?limit=100&starting_after=\(last)"))
        #expect((next["data"] as? [Any])?.count == 100 && next["has_more"] as? Bool == true)
        try await sandbox.stop()
    }
}

@Suite("Provider sandbox: OAuth, webhooks, faults")
struct SandboxBehaviourTests {
    static func authorize(_ sandbox: SandboxClient, _ path: String, _ extra: String = "") async throws -> [String: String] {
        let response = try await sandbox.send("GET", "\(path)?client_id=\(SandboxClient.clientID)&redirect_uri=https%3A%2F%2Fapp.example.com%2Fcallback&state=s123&response_type=code\(extra)")
        #expect(response.status == 302)
        let location = try #require(response.header("Location"))
        return Dictionary(uniqueKeysWithValues: (URLComponents(string: location)?.queryItems ?? []).map { ($0.name, $0.value ?? "") })
    }

    @Test func oauthFollowsEachProvidersRulesForPKCEAndRefreshRotation() async throws {
        let sandbox = try await SandboxClient.start(arguments: ["--token-lifetime", "60"])
        let basic = "Basic " + Data("\(SandboxClient.clientID):\(SandboxClient.clientSecret)".utf8).base64EncodedString()
        // QuickBooks: the redirect carries realmId; each refresh rotates and the old token dies.
        let qb = try await Self.authorize(sandbox, "/quickbooks/connect/oauth2")
        #expect(qb["state"] == "s123" && qb["realmId"] == SandboxClient.quickBooksRealm)
        let form = [("Authorization", basic), ("Content-Type", "application/x-www-form-urlencoded")]
        let tokens = try sandbox.json(try await sandbox.send("POST", "/quickbooks/oauth2/v1/tokens/bearer", headers: form,
                                                             body: "grant_type=authorization_code&code=\(qb["code"]!)&redirect_uri=https%3A%2F%2Fapp.example.com%2Fcallback"))
        #expect(tokens["expires_in"] as? Int == 60)
        let access = try #require(tokens["access_token"] as? String)
        let refresh = try #require(tokens["refresh_token"] as? String)
        let query = "SELECT%20COUNT(*)%20FROM%20Customer"
        #expect(try await sandbox.send("GET", "/v3/company/\(SandboxClient.quickBooksRealm)/query?query=\(query)", headers: [("Authorization", "Bearer \(access)")]).status == 200)
        let reused = try await sandbox.send("POST", "/quickbooks/oauth2/v1/tokens/bearer", headers: form, body: "grant_type=authorization_code&code=\(qb["code"]!)")
        #expect(reused.status == 400, "a code works once")
        let rotated = try sandbox.json(try await sandbox.send("POST", "/quickbooks/oauth2/v1/tokens/bearer", headers: form, body: "grant_type=refresh_token&refresh_token=\(refresh)"))
        #expect(rotated["refresh_token"] as? String != refresh)
        let old = try await sandbox.send("POST", "/quickbooks/oauth2/v1/tokens/bearer", headers: form, body: "grant_type=refresh_token&refresh_token=\(refresh)")
        #expect(old.status == 400 && old.text.contains("invalid_grant"), "the rotated-out refresh token stops working")

        // Square code flow: refreshing keeps the same, multi-use refresh token.
        let json = [("Content-Type", "application/json")]
        let code = try await Self.authorize(sandbox, "/square/oauth2/authorize")["code"]!
        let square = try sandbox.json(try await sandbox.send("POST", "/square/oauth2/token", headers: json, body: #"{"client_id":"\#(SandboxClient.clientID)","client_secret":"\#(SandboxClient.clientSecret)","code":"\#(code)","grant_type":"authorization_code"}"#))
        let squareRefresh = try #require(square["refresh_token"] as? String)
        for _ in 0..<2 {
            let again = try sandbox.json(try await sandbox.send("POST", "/square/oauth2/token", headers: json, body: #"{"client_id":"\#(SandboxClient.clientID)","client_secret":"\#(SandboxClient.clientSecret)","refresh_token":"\#(squareRefresh)","grant_type":"refresh_token"}"#))
            #expect(again["refresh_token"] as? String == squareRefresh)
        }

        // Square PKCE: the verifier must hash to the challenge.
        let verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
        let challenge = Data(SHA256.hash(data: Array(verifier.utf8))).base64EncodedString()
            .replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
        let pkce = try await Self.authorize(sandbox, "/square/oauth2/authorize", "&code_challenge=\(challenge)&code_challenge_method=S256")["code"]!
        let wrong = try await sandbox.send("POST", "/square/oauth2/token", headers: json, body: #"{"client_id":"\#(SandboxClient.clientID)","code":"\#(pkce)","grant_type":"authorization_code","code_verifier":"wrong-verifier"}"#)
        #expect(wrong.status == 400 && wrong.text.contains("code_verifier does not match"))
        let pkce2 = try await Self.authorize(sandbox, "/square/oauth2/authorize", "&code_challenge=\(challenge)&code_challenge_method=S256")["code"]!
        let right = try sandbox.json(try await sandbox.send("POST", "/square/oauth2/token", headers: json, body: #"{"client_id":"\#(SandboxClient.clientID)","code":"\#(pkce2)","grant_type":"authorization_code","code_verifier":"\#(verifier)"}"#))
        let single = try #require(right["refresh_token"] as? String)
        let next = try sandbox.json(try await sandbox.send("POST", "/square/oauth2/token", headers: json, body: #"{"client_id":"\#(SandboxClient.clientID)","refresh_token":"\#(single)","grant_type":"refresh_token"}"#))
        #expect(next["refresh_token"] as? String != single, "PKCE refresh tokens are single use")

        // Mailchimp: a non-expiring token, then the metadata endpoint names the data centre.
        let mc = try await Self.authorize(sandbox, "/mailchimp/oauth2/authorize")["code"]!
        let mcToken = try sandbox.json(try await sandbox.send("POST", "/mailchimp/oauth2/token", headers: form, body: "grant_type=authorization_code&client_id=\(SandboxClient.clientID)&client_secret=\(SandboxClient.clientSecret)&code=\(mc)"))
        let metadata = try sandbox.json(try await sandbox.send("GET", "/mailchimp/oauth2/metadata", headers: [("Authorization", "OAuth \(mcToken["access_token"] as? String ?? "")")]))
        #expect(metadata["dc"] as? String == "us6" && metadata["api_endpoint"] as? String == sandbox.url)
        try await sandbox.stop()
    }

    /// Collects webhook deliveries, answering 500 to the first `failFirst` of them.
    final class Inbox: Sendable {
        let deliveries = Mutex<[WebhookDelivery]>([])
        let failures = Mutex<Int>(0)

        func router(failFirst: Int) -> Router<BasicRequestContext> {
            let router = Router()
            router.post("/webhooks/**") { request, _ -> Response in
                var buffer = try await request.body.collect(upTo: 1 << 20)
                var headers: [String: String] = [:]
                for field in request.headers { headers[field.name.canonicalName] = field.value }
                let failNow = self.failures.withLock { count -> Bool in
                    count += 1
                    return count <= failFirst
                }
                if failNow { return Response(status: .internalServerError) }
                let port = request.head.authority ?? ""
                self.deliveries.withLock {
                    $0.append(WebhookDelivery(url: "http://\(port)\(request.uri.path)", headers: headers, body: buffer.readBytes(length: buffer.readableBytes) ?? []))
                }
                return Response(status: .ok)
            }
            return router
        }
    }

    @Test func webhooksItSendsVerifyWithJunctionsOwnVerifiersAndAreRetried() async throws {
        let inbox = Inbox()
        try await withLiveServer(inbox.router(failFirst: 1)) { port in
            let secrets = ["STRIPE": "whsec_sandbox_test", "SQUARE": "square-signature-key", "QUICKBOOKS": "qb-verifier-token", "MAILCHIMP": "mc-url-token-123"]
            let sandbox = try await SandboxClient.start(seed: 2, arguments: ["--webhook-url", "http://127.0.0.1:\(port)/webhooks"],
                                                        environment: Dictionary(uniqueKeysWithValues: secrets.map { ("JUNCTION_SANDBOX_WEBHOOK_SECRET_\($0.key)", $0.value) }))
            #expect(try await sandbox.stripe("POST", "/v1/customers", form: "email=hook%40example.com").status == 200)
            #expect(try await sandbox.send("POST", "/v2/customers", headers: [("Authorization", "Bearer \(SandboxClient.squareToken)")], body: #"{"given_name":"Hook"}"#).status == 200)
            #expect(try await sandbox.send("POST", "/v3/company/\(SandboxClient.quickBooksRealm)/customer", headers: [("Authorization", "Bearer \(SandboxClient.quickBooksToken)")], body: #"{"DisplayName":"Hook"}"#).status == 200)
            let email = "hook@example.com"
            let hash = Insecure.MD5.hash(data: Array(email.utf8)).map { String(format: "%02x", $0) }.joined()
            #expect(try await sandbox.send("PUT", "/3.0/lists/\(SandboxClient.mailchimpList)/members/\(hash)", headers: [("Authorization", "Bearer \(SandboxClient.mailchimpKey)")], body: #"{"email_address":"\#(email)"}"#).status == 200)
            // Via the admin API too.
            #expect(try await sandbox.send("POST", "/_sandbox/stripe/products", body: #"{"name":"Season pass"}"#).status == 200)
            try await QueueKit.eventually("five deliveries (one after a retry)", limit: .seconds(20)) { inbox.deliveries.withLock { $0.count } == 5 }
            let deliveries = inbox.deliveries.withLock { $0 }
            for delivery in deliveries {
                let provider = String(URLComponents(string: delivery.url)!.path.split(separator: "/")[1])
                let scheme = try #require(Providers.webhookScheme(named: provider))
                let secret = try #require(secrets[provider.uppercased()])
                #expect(throws: Never.self, "\(provider) delivery verifies") { try scheme.verify(delivery, secrets: [WebhookSecret(secret)], now: Date()) }
                #expect(throws: WebhookRejection.self) { try scheme.verify(delivery, secrets: [WebhookSecret("not-the-secret")], now: Date()) }
                let events = try scheme.events(in: delivery)
                #expect(events.count == 1 && !events[0].eventID.isEmpty)
            }
            var stripeTypes: Set<String> = []
            for delivery in deliveries where delivery.url.contains("/stripe") {
                if let type = try StripeWebhookScheme().events(in: delivery).first?.eventType { stripeTypes.insert(type) }
            }
            #expect(stripeTypes == ["customer.created", "product.created"])
            #expect(inbox.failures.withLock { $0 } == 6, "the first delivery was answered 500 and sent again")
            try await sandbox.stop()
        }
    }

    @Test func eachFaultDoesWhatItSaysAndTheLogKeepsNoCredentials() async throws {
        let sandbox = try await SandboxClient.start(seed: 1)
        try await sandbox.fault("stripe", ["error_rate": 1, "error_status": 503])
        let failed = try await sandbox.stripe("GET", "/v1/customers")
        #expect(failed.status == 503 && sandbox.stripeError(failed, "type") == "api_error")
        try await sandbox.fault("stripe", ["rate_limit_rate": 1, "retry_after": 7])
        let limited = try await sandbox.stripe("GET", "/v1/customers")
        #expect(limited.status == 429 && limited.header("Retry-After") == "7")
        try await sandbox.fault("quickbooks", ["revoked": true])
        let revoked = try await sandbox.send("GET", "/v3/company/\(SandboxClient.quickBooksRealm)/query?query=SELECT%20*%20FROM%20Item", headers: [("Authorization", "Bearer \(SandboxClient.quickBooksToken)")])
        #expect(revoked.status == 401 && revoked.text.contains("AuthenticationFailed"))
        try await sandbox.fault("square", ["latency_ms": 300])
        let started = ContinuousClock.now
        #expect(try await sandbox.send("GET", "/v2/customers", headers: [("Authorization", "Bearer \(SandboxClient.squareToken)")]).status == 200)
        #expect(ContinuousClock.now - started >= .milliseconds(300), "latency is added")
        try await sandbox.fault("mailchimp", ["hang": true])
        await #expect(throws: OutboundHTTPError.timeout) {
            try await sandbox.send("GET", "/3.0/lists/\(SandboxClient.mailchimpList)/members", headers: [("Authorization", "Bearer \(SandboxClient.mailchimpKey)")], timeout: .milliseconds(500))
        }
        // Faults can target one account (a QuickBooks realm) and leave the others alone.
        try await sandbox.clearFaults()
        try await sandbox.fault("quickbooks", ["error_rate": 1], account: "123")
        #expect(try await sandbox.send("GET", "/v3/company/\(SandboxClient.quickBooksRealm)/query?query=SELECT%20*%20FROM%20Item", headers: [("Authorization", "Bearer \(SandboxClient.quickBooksToken)")]).status == 200)
        let logged = try await sandbox.requests("stripe")
        #expect(logged.count == 2 && logged.allSatisfy { ($0["path"] as? String) == "/v1/customers" })
        #expect(logged.allSatisfy { ($0["headers"] as? [String: String])?["authorization"] == nil }, "credentials are not logged")
        try await sandbox.stop()
    }
}
