import Foundation
import JunctionCore
import JunctionProviders
import Testing

/// How each provider's change feed is asked and read: what an incremental sync relies on to see
/// every change, in order, and to go on where a page left off.
@Suite("Change feeds")
struct ChangeFeedTests {
    static func event(_ id: String, _ type: String, created: Int64, object: JSONValue) -> JSONValue {
        ["id": .string(id), "object": "event", "type": .string(type), "created": .integer(created), "data": ["object": object]]
    }

    @Test func aStripeEventsPageGivesEachChangeOldestFirstAndLeavesOtherObjectsOut() throws {
        let customers = try #require(Providers.named("stripe")?.syncResource("customers"))
        let feed = try #require(customers.changes)
        let since = Date(timeIntervalSince1970: 1_700_000_000)
        let path = feed.request(account: nil, since: since, cursor: "evt_9").path
        #expect(path == "/v1/events?limit=100&type=customer.%2A&created%5Bgte%5D=1700000000&starting_after=evt_9")
        let page: JSONValue = [
            "object": "list", "has_more": true,
            "data": [
                Self.event("evt_3", "customer.deleted", created: 1_700_000_030, object: ["id": "cus_2", "object": "customer", "deleted": true]),
                Self.event("evt_2", "customer.subscription.created", created: 1_700_000_020, object: ["id": "sub_1", "object": "subscription"]),
                Self.event("evt_1", "customer.updated", created: 1_700_000_010, object: ["id": "cus_1", "object": "customer", "name": "Zoë"]),
            ],
        ]
        let read = try feed.parse(Array(page.serialized.utf8), cursor: nil, since: since, resource: customers)
        #expect(read.next == "evt_1" && !read.truncated && feed.newestFirst)
        #expect(read.changes.map(\.externalID) == ["cus_1", "cus_2"], "oldest first; the subscription is another resource's")
        #expect(read.changes[0].object?["name"] == "Zoë" && read.changes[0].version == 1_700_000_010_000 && !read.changes[0].deleted)
        #expect(read.changes[1].deleted && read.changes[1].object == nil && read.changes[1].version == 1_700_000_030_000)
        #expect(feed.reaches(Date().addingTimeInterval(-29 * 86_400)) && !feed.reaches(Date().addingTimeInterval(-30 * 86_400)))
        // A subscription Stripe calls deleted has ended; it is kept, canceled.
        let ended = Self.event("evt_4", "customer.subscription.deleted", created: 1_700_000_040, object: ["id": "sub_1", "object": "subscription", "status": "canceled"])
        let change = try #require(Providers.named("stripe")?.syncChanges(Array(ended.serialized.utf8)).first)
        #expect(change.resource == "subscriptions" && !change.deleted && change.object?["status"] == "canceled")
    }

    @Test func quickBooksCDCReportsDeletesAndAFullAnswerAsTruncated() throws {
        let invoices = try #require(Providers.named("quickbooks")?.syncResource("invoices"))
        let feed = try #require(invoices.changes)
        let since = Date(timeIntervalSince1970: 1_700_000_000.7)
        #expect(feed.request(account: "123", since: since, cursor: nil).path == "/v3/company/123/cdc?entities=Invoice&changedSince=2023-11-14T22%3A13%3A20Z")
        func answer(_ objects: [JSONValue]) -> [UInt8] {
            let body: JSONValue = ["CDCResponse": [["QueryResponse": [["Invoice": .array(objects)]]]]]
            return Array(body.serialized.utf8)
        }
        let read = try feed.parse(answer([["Id": "5", "SyncToken": "3"], ["Id": "6", "status": "Deleted"]]), cursor: nil, since: since, resource: invoices)
        #expect(read.changes.map(\.externalID) == ["5", "6"] && read.changes[0].version == 3 && read.changes[1].deleted && !read.truncated)
        let full = try feed.parse(answer((1...1000).map { ["Id": .string(String($0)), "SyncToken": "0"] }), cursor: nil, since: since, resource: invoices)
        #expect(full.truncated, "1,000 objects may be only part of the changes")
        #expect(throws: InvalidValue.self) { try feed.parse(Array(#"{"Fault":{}}"#.utf8), cursor: nil, since: since, resource: invoices) }
    }

    /// The update-time walk goes on from the second its last page ended in, and by position when
    /// a whole page shares one second, so it always advances.
    @Test func quickBooksUpdateTimeWalkAlwaysAdvances() throws {
        let customers = try #require(Providers.named("quickbooks")?.syncResource("customers"))
        let feed = try #require(customers.fallback)
        #expect(feed.lookback == nil && feed.capacity == nil)
        let since = Date(timeIntervalSince1970: 1_700_000_000)
        let first = feed.request(account: "123", since: since, cursor: nil).path.removingPercentEncoding ?? ""
        #expect(first.hasSuffix("query?query=SELECT * FROM Customer WHERE Metadata.LastUpdatedTime >= '2023-11-14T22:13:20Z' ORDERBY Metadata.LastUpdatedTime STARTPOSITION 1 MAXRESULTS 1000"))
        func page(_ times: [String]) -> [UInt8] {
            let body: JSONValue = ["QueryResponse": ["Customer": .array(times.enumerated().map { index, time in
                ["Id": .string(String(index)), "SyncToken": "0", "MetaData": ["LastUpdatedTime": .string(time)]]
            })]]
            return Array(body.serialized.utf8)
        }
        let spread = try feed.parse(page(Array(repeating: "2023-11-14T22:13:20Z", count: 999) + ["2023-11-14T22:20:00Z"]), cursor: nil, since: since, resource: customers)
        #expect(spread.next == "2023-11-14T22:20:00Z|0")
        let flat = try feed.parse(page(Array(repeating: "2023-11-14T22:20:00.500Z", count: 1000)), cursor: spread.next, since: since, resource: customers)
        #expect(flat.next == "2023-11-14T22:20:00Z|1000")
        let next = feed.request(account: "123", since: since, cursor: flat.next).path.removingPercentEncoding ?? ""
        #expect(next.contains(">= '2023-11-14T22:20:00Z'") && next.contains("STARTPOSITION 1001"))
        let last = try feed.parse(page(["2023-11-14T22:21:00Z"]), cursor: flat.next, since: since, resource: customers)
        #expect(last.next == nil && last.changes.count == 1)
    }

    /// A walk over every Mailchimp list reads the lists first, re-reads the last objects of a
    /// full page (an archive during the walk shifts the rest back), and moves from list to list.
    @Test func mailchimpPerListWalksReadTheListsFirstAndOverlapFullPages() throws {
        let members = try #require(Providers.named("mailchimp")?.syncResource("members"))
        #expect(members.pagePath(cursor: nil, account: nil).hasPrefix("/3.0/lists?"))
        let lists: JSONValue = ["lists": [["id": "a1"], ["id": "b2"]], "total_items": 2]
        let first = try members.parse(Array(lists.serialized.utf8), cursor: nil)
        #expect(first.objects.isEmpty && first.next == "a1,b2|0|0|0")
        #expect(members.pagePath(cursor: first.next, account: nil) == "/3.0/lists/a1/members?count=1000&offset=0")
        func page(_ count: Int) -> [UInt8] {
            let body: JSONValue = ["members": .array((0..<count).map { ["id": .string("m\($0)"), "list_id": "a1", "last_changed": "2026-01-01T00:00:00+00:00"] })]
            return Array(body.serialized.utf8)
        }
        let full = try members.parse(page(1000), cursor: first.next)
        #expect(full.next == "a1,b2|0|0|990")
        let short = try members.parse(page(3), cursor: full.next)
        #expect(short.next == "a1,b2|1|0|0" && short.objects.compactMap(members.id) == ["a1:m0", "a1:m1", "a1:m2"])
        #expect(try members.parse(page(3), cursor: "a1,b2|1|0|0").next == nil)
        // The change feed reads changed members, then archived ones (deletes), per list.
        let feed = try #require(members.changes)
        let since = Date(timeIntervalSince1970: 1_700_000_000)
        #expect(feed.request(account: nil, since: since, cursor: "a1|0|1|0").path.contains("status=archived"))
        let archived = try feed.parse(page(2), cursor: "a1|0|1|0", since: since, resource: members)
        #expect(archived.changes.allSatisfy(\.deleted) && archived.next == nil)
    }
}
