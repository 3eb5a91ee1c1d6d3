import Foundation
import JunctionCore
import JunctionStores
import Testing

/// `/v1/mappings` and the records feed's mapped form: a tenant reads its default mapping and the
/// resource's documented fields, a mapping that cannot work is refused with each problem named,
/// a saved version re-maps the stored records in the background, and the feed shows each of them
/// changed once, in the new shape.
@Suite("Field mappings through the API", .serialized)
struct MappingAPITests {
    static func feed(_ stack: ConnectStack, _ connection: String, tenant: String, after cursor: String?, expecting count: Int) async throws -> (records: [[String: Any]], cursor: String?) {
        var records: [[String: Any]] = []
        var cursor = cursor
        for _ in 0..<100 {
            let page = try APITests.object(try await APITests.call(
                stack, "GET", "/v1/records?connection=\(connection)&resource=customers&form=mapped&limit=1000" + (cursor.map { "&cursor=\($0)" } ?? ""), tenant: tenant, roles: ["viewer"]))
            records += (page["data"] as? [[String: Any]]) ?? []
            cursor = page["next_cursor"] as? String ?? cursor
            if records.count >= count { break }
            try await Task.sleep(for: .milliseconds(100))
        }
        return (records, cursor)
    }

    @Test func aSavedMappingRemapsTheStoredRecordsAndTheFeedShowsEachChangedOnceInTheNewShape() async throws {
        try await ConnectStack.with(seed: 41) { stack in
            let stripe = try await stack.connect("stripe", tenant: "tenant-m")
            let id = stripe.uuidString.lowercased()
            try await stack.sandbox.muteWebhooks()
            let run = try await SyncRunTests.sync(stack, stripe, "customers")
            let customers = try await SyncRunTests.sandboxCount(stack, "stripe", "customers")
            #expect(run.status == "succeeded" && customers > 0)

            // The default: every record mapped by version 0 as it was written.
            let first = try await Self.feed(stack, id, tenant: "tenant-m", after: nil, expecting: customers)
            #expect(first.records.count == customers)
            #expect(first.records.allSatisfy { $0["mapping_version"] as? Int == 0 && $0["data"] == nil }, "form=mapped answers the mapped form only")
            let stored = try await SyncRunTests.stored(stack, stripe, "customers")
            for record in first.records {
                let raw = try #require(stored.first { $0.externalID == record["id"] as? String }?.data)
                let mapped = try #require(record["mapped"] as? [String: Any])
                #expect(mapped["email"] as? String == raw["email"]?.stringValue?.trimmingCharacters(in: .whitespaces).lowercased())
                #expect(mapped["created_at"] as? String == raw["created"]?.intValue.map { Timestamp.format(Date(timeIntervalSince1970: TimeInterval($0))).prefix(19) + "Z" })
            }
            let listed = try APITests.object(try await APITests.call(stack, "GET", "/v1/mappings", tenant: "tenant-m", roles: ["viewer"]))
            let entries = try #require(listed["data"] as? [[String: Any]])
            #expect(entries.count == 23 && entries.allSatisfy { $0["version"] as? Int == 0 && $0["default"] as? Bool == true })
            let shown = try APITests.object(try await APITests.call(stack, "GET", "/v1/mappings/stripe/customers", tenant: "tenant-m", roles: ["viewer"]))
            #expect(shown["version"] as? Int == 0 && (shown["fields"] as? [String: String])?["balance"] == "minor_units" && (shown["rules"] as? [Any])?.isEmpty == false)
            #expect(try await APITests.call(stack, "GET", "/v1/mappings/stripe/lists", tenant: "tenant-m").status == 404, "Stripe syncs no lists")

            // Refused: a viewer; a mapping that cannot work (each problem named); nothing saved.
            let rules = #"{"rules":[{"target":"contact.email","source":"email","transforms":["trim","lower"]},{"target":"contact.name","source":"name","transforms":["trim","upper"]},{"target":"kind","transforms":[{"constant":"customer"}]}]}"#
            #expect(try await APITests.call(stack, "PUT", "/v1/mappings/stripe/customers", tenant: "tenant-m", roles: ["viewer"], body: rules).status == 403)
            let invalid = try await APITests.call(stack, "PUT", "/v1/mappings/stripe/customers", tenant: "tenant-m",
                                                  body: #"{"rules":[{"target":"email","source":"emial"},{"target":"balance","source":"balance","transforms":["trim"]},{"target":"x","source":"name","transforms":["shout"]}]}"#)
            #expect(invalid.status == 422 && invalid.header("Content-Type") == "application/problem+json", "\(invalid.status) \(invalid.text)")
            let named = ((try APITests.object(invalid)["errors"] as? [[String: Any]]) ?? []).compactMap { $0["field"] as? String }
            #expect(named == ["x"], "the document's own problems first: \(invalid.text)")
            let unfit = try await APITests.call(stack, "PUT", "/v1/mappings/stripe/customers", tenant: "tenant-m",
                                                body: #"{"rules":[{"target":"email","source":"emial"},{"target":"balance","source":"balance","transforms":["trim"]}]}"#)
            let errors = (try APITests.object(unfit)["errors"] as? [[String: Any]]) ?? []
            #expect(unfit.status == 422 && errors.compactMap { $0["field"] as? String } == ["email", "balance"], "\(unfit.text)")
            #expect((errors.first?["detail"] as? String)?.contains("did you mean email?") == true, "\(unfit.text)")
            #expect(try APITests.object(try await APITests.call(stack, "GET", "/v1/mappings/stripe/customers", tenant: "tenant-m"))["version"] as? Int == 0)

            // Saved: version 1, re-mapped in the background; the same rules again save nothing.
            let saved = try await APITests.call(stack, "PUT", "/v1/mappings/stripe/customers", tenant: "tenant-m", body: rules)
            let savedVersion = try APITests.object(saved)["version"] as? Int
            #expect(saved.status == 201 && savedVersion == 1, "\(saved.status) \(saved.text)")
            let again = try await APITests.call(stack, "PUT", "/v1/mappings/stripe/customers", tenant: "tenant-m", body: rules)
            let againVersion = try APITests.object(again)["version"] as? Int
            #expect(again.status == 200 && againVersion == 1)
            let remapped = try await Self.feed(stack, id, tenant: "tenant-m", after: first.cursor, expecting: customers)
            #expect(remapped.records.count == customers && Set(remapped.records.compactMap { $0["id"] as? String }).count == customers,
                    "each stored customer shows changed once: \(remapped.records.count) of \(customers)")
            for record in remapped.records {
                let mapped = try #require(record["mapped"] as? [String: Any])
                let raw = try #require(stored.first { $0.externalID == record["id"] as? String }?.data)
                #expect(record["mapping_version"] as? Int == 1 && mapped["kind"] as? String == "customer" && mapped["email"] == nil)
                #expect((mapped["contact"] as? [String: Any])?["name"] as? String == raw["name"]?.stringValue?.trimmingCharacters(in: .whitespaces).uppercased())
            }
            try await QueueKit.eventually("the re-map job says so") {
                stack.workers[0].lines.contains { $0.contains(#""msg":"records re-mapped""#) && $0.contains(#""records":"\#(customers)""#) }
            }
            // The raw form is unchanged; a new sync's records take version 1 as they are written.
            let raw = try APITests.object(try await APITests.call(stack, "GET", "/v1/records?connection=\(id)&resource=customers&limit=1", tenant: "tenant-m"))
            #expect(((raw["data"] as? [[String: Any]])?.first?["data"] as? [String: Any])?["object"] as? String == "customer")

            // Another tenant's mapping is its own.
            #expect(try APITests.object(try await APITests.call(stack, "GET", "/v1/mappings/stripe/customers", tenant: "tenant-other"))["version"] as? Int == 0)
            let versions = try await stack.onDatabase { try MappingStore().versions(tenant: "tenant-m", provider: "stripe", resource: "customers", on: $0) }
            #expect(versions.map(\.version) == [1] && versions.first?.createdBy == "tenant:tenant-m:user-1")
        }
    }
}
