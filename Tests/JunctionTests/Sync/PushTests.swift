import Foundation
import JunctionCore
import JunctionStores
import Testing

/// Pushes through the outbox to the sandbox's Stripe: a provider that applies the write and then
/// fails the answer does not get a second write on the retry, an update lands on the object, a
/// repeated Idempotency-Key answers the same push, and a write the provider refuses ends failed.
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
}
