import Foundation
import JunctionCore
import JunctionStores
import Testing

/// The records feed never misses a change a concurrent writer commits late, and never repeats one.
@Suite("Records feed")
struct RecordFeedTests {
    static func page(_ ids: [String], _ note: String) -> [RecordWrite] {
        ids.map { RecordWrite(externalID: $0, data: ["id": .string($0), "note": .string(note)], version: nil) }
    }

    /// Two writers: the first takes its change-sequence values and commits after the second. A
    /// feed read between the two commits must not hand out a cursor past the first writer's
    /// changes; read after both, it answers each change once, the late ones included.
    @Test func aChangeCommittedLateWithAnEarlierSequenceIsNeverSkipped() async throws {
        let configuration = try await SharedMigratedDatabase.instance.get()
        try await TestStack.onThread {
            let setup = try PostgresConnection(configuration)
            let tenant = "feed-\(UUID().uuidString.prefix(8))"
            let connection: UUID = try setup.query("INSERT INTO connections (tenant, provider) VALUES (\(tenant), 'stripe') RETURNING id").first!.decode("id")
            let store = RecordStore()
            _ = try store.write(Self.page(["a1", "a2"], "first"), connection: connection, tenant: tenant, provider: "stripe", resource: "customers", on: setup)
            // Shown once every transaction older than them has ended: tests running beside this one
            // on the same server may hold that back a moment.
            func settled(after cursor: FeedCursor?, count: Int) throws -> FeedPage {
                var page = try store.feed(connection: connection, tenant: tenant, resource: "customers", after: cursor, limit: 100, on: setup)
                for _ in 0..<100 where page.records.count < count {
                    Thread.sleep(forTimeInterval: 0.1)
                    page = try store.feed(connection: connection, tenant: tenant, resource: "customers", after: cursor, limit: 100, on: setup)
                }
                return page
            }
            let start = try settled(after: nil, count: 2)
            #expect(start.records.map(\.externalID) == ["a1", "a2"])

            // Writer one changes b1 and holds its transaction open; writer two changes b2 and commits.
            let one = try PostgresConnection(configuration)
            let two = try PostgresConnection(configuration)
            try one.query("BEGIN")
            _ = try store.write(Self.page(["b1"], "slow"), connection: connection, tenant: tenant, provider: "stripe", resource: "customers", on: one)
            _ = try store.write(Self.page(["b2"], "fast"), connection: connection, tenant: tenant, provider: "stripe", resource: "customers", on: two)
            let sequences: [String: Int64] = Dictionary(uniqueKeysWithValues: try setup.query(
                "SELECT external_id, change_seq FROM records WHERE connection_id = \(connection) AND external_id IN ('b2')").rows.map {
                    (try $0.decode("external_id", as: String.self), try $0.decode("change_seq", as: Int64.self))
                })
            #expect(sequences["b2"] != nil, "b2 is committed and visible to a plain read")

            // While writer one is open, the feed shows nothing after the cursor: b2 would move the
            // cursor past b1's sequence for good.
            let during = try store.feed(connection: connection, tenant: tenant, resource: "customers", after: start.next, limit: 100, on: setup)
            #expect(during.records.isEmpty && during.next == start.next, "nothing shown while an older writer is open: \(during.records.map(\.externalID))")

            try one.query("COMMIT")
            let after = try settled(after: during.next, count: 2)
            #expect(after.records.map(\.externalID) == ["b1", "b2"], "both, the late one first (its transaction is older)")
            let again = try store.feed(connection: connection, tenant: tenant, resource: "customers", after: after.next, limit: 100, on: setup)
            #expect(again.records.isEmpty, "nothing twice")

            // Paging one at a time visits the same changes, in the same order.
            var cursor: FeedCursor?
            var visited: [String] = []
            var trail: [String] = []
            for _ in 0..<10 {
                let page = try store.feed(connection: connection, tenant: tenant, resource: "customers", after: cursor, limit: 1, on: setup)
                visited += page.records.map(\.externalID)
                trail.append("after \(cursor?.description ?? "start"): \(page.records.map { "\($0.externalID)@\($0.cursor)" }) next \(page.next) more \(page.hasMore)")
                cursor = page.next
                if !page.hasMore { break }
            }
            // What the table holds, to read a failure by.
            let stored = try setup.query("""
                SELECT external_id || '@' || change_xid::text || '.' || change_seq || CASE WHEN deleted_at IS NULL THEN '' ELSE ' deleted' END AS row, pg_current_snapshot()::text AS snapshot
                FROM records WHERE connection_id = \(connection) ORDER BY change_xid, change_seq
                """).rows.map { "\(try $0.decode("row", as: String.self)) (snapshot \(try $0.decode("snapshot", as: String.self)))" }
            #expect(visited == ["a1", "a2", "b1", "b2"], "pages: \(trail); stored: \(stored)")
            // Another tenant reading the same connection id sees nothing.
            #expect(try store.feed(connection: connection, tenant: "someone-else", resource: "customers", after: nil, limit: 100, on: setup).records.isEmpty)
        }
    }

    @Test func cursorsReadBackAndRefuseAnythingElse() {
        let cursor = FeedCursor(transaction: 7_123, sequence: 42)
        #expect(FeedCursor(cursor.description) == cursor)
        for bad in ["", "12", "1.2.3", "a.b", "-1.2", "1.-2", "1.", ".2", "١.٢", "99999999999999999999.1"] {
            #expect(FeedCursor(bad) == nil, "\(bad)")
        }
        #expect(FeedCursor(transaction: 1, sequence: 9) < FeedCursor(transaction: 2, sequence: 1))
    }
}
