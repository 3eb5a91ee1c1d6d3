import Foundation
import Hummingbird
import JunctionCore
@testable import JunctionIngress
import JunctionProviders
import JunctionQueue
import JunctionStores
import Testing

/// The management API's tenant operations (`/v1`), end to end: the real ingress, worker, sandbox,
/// Redis and PostgreSQL, with tenant JWTs made the way a platform's auth server makes them.
@Suite("Management API", .serialized)
struct APITests {
    static func bearer(_ tenant: String, roles: [String] = ["admin"]) -> [(String, String)] {
        [("Authorization", "Bearer \(ConnectStack.token(tenant: tenant, roles: roles))")]
    }

    static func call(_ stack: ConnectStack, _ method: String, _ path: String, tenant: String?, roles: [String] = ["admin"],
                     body: String? = nil) async throws -> OutboundResponse {
        var headers = tenant.map { bearer($0, roles: roles) } ?? []
        if body != nil { headers.append(("Content-Type", "application/json")) }
        return try await stack.http.send(OutboundRequest(method: method, url: stack.ingressURL + path, headers: headers.map { (name: $0.0, value: $0.1) },
                                                         body: body.map { Array($0.utf8) } ?? [], timeout: .seconds(30)))
    }

    static func object(_ response: OutboundResponse) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(response.body)) as? [String: Any], "\(response.status) \(response.text)")
    }

    /// The spec's operations, as (METHOD, path with `{id}`).
    static func specOperations() throws -> Set<String> {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let text = try Data(contentsOf: root.appendingPathComponent("Sources/Ingress/API/openapi.json"))
        let spec = try #require(try JSONSerialization.jsonObject(with: text) as? [String: Any])
        let paths = try #require(spec["paths"] as? [String: [String: Any]])
        return Set(paths.flatMap { path, operations in operations.keys.map { "\($0.uppercased()) \(path)" } })
    }

    /// The routes the ingress serves under `/v1` are exactly the spec's operations.
    @Test func theRoutesServedAreTheOperationsTheSpecNames() async throws {
        let redis = RedisClient(try RedisConfiguration(url: "redis://127.0.0.1:1"), connections: 1)
        let database = PostgresClient(try PostgresConfiguration(url: "postgres://junction@127.0.0.1:1/junction"), connections: 1)
        let router = Router()
        APIRoutes(tenants: nil, keys: try KeyRing(parsing: TestStack.encryptionKeys), queue: QueueKit.queue(), redis: redis, database: database,
                  logger: .init(label: "test")).register(on: router)
        let served = Set(router.routes.filter { $0.path.description.hasPrefix("/v1") }.map { route in
            "\(route.method.rawValue) " + route.path.description.split(separator: "/").map { $0.hasPrefix(":") ? "{\($0.dropFirst())}" : String($0) }
                .joined(separator: "/")
        }.map { $0.replacingOccurrences(of: " v1", with: " /v1") })
        let specified = try Self.specOperations()
        #expect(served == specified, "served, not in the spec: \(served.subtracting(specified)); in the spec, not served: \(specified.subtracting(served))")
        #expect(specified.count >= 8)
        await redis.shutdown()
        await database.shutdown()
    }

    /// A tenant lists its connections, triggers a sync, watches it in the history and the status,
    /// and follows the records feed page by page: every customer once, then only what changed.
    @Test func aTenantTriggersASyncAndFollowsTheRecordsFeed() async throws {
        try await ConnectStack.with(seed: 250) { stack in
            let stripe = try await stack.connect("stripe", tenant: "tenant-a")
            let id = stripe.uuidString.lowercased()
            try await stack.sandbox.muteWebhooks()

            let listed = try await Self.call(stack, "GET", "/v1/connections", tenant: "tenant-a", roles: ["viewer"])
            #expect(listed.status == 200 && listed.header("Content-Type") == "application/json")
            let rows = try #require(try Self.object(listed)["data"] as? [[String: Any]])
            #expect(rows.map { $0["id"] as? String } == [id] && rows.first?["status"] as? String == "active" && rows.first?["provider"] as? String == "stripe")
            #expect(!listed.text.contains("access_token") && !listed.text.contains("refresh"), "no secret in a connection: \(listed.text)")
            let shown = try Self.object(try await Self.call(stack, "GET", "/v1/connections/\(id)", tenant: "tenant-a", roles: ["viewer"]))
            #expect(shown["id"] as? String == id && shown["auth"] as? String == "oauth2")

            // A viewer reads but cannot trigger.
            let refused = try await Self.call(stack, "POST", "/v1/connections/\(id)/syncs", tenant: "tenant-a", roles: ["viewer"], body: #"{"resource":"customers"}"#)
            #expect(refused.status == 403 && refused.header("Content-Type") == "application/problem+json", "\(refused.status) \(refused.text)")

            let triggered = try await Self.call(stack, "POST", "/v1/connections/\(id)/syncs", tenant: "tenant-a", body: #"{"resource":"customers"}"#)
            #expect(triggered.status == 202, "\(triggered.status) \(triggered.text)")
            let jobs = try #require(try Self.object(triggered)["data"] as? [[String: Any]])
            #expect(jobs.count == 1 && jobs.first?["resource"] as? String == "customers" && jobs.first?["job_id"] is String)
            try await QueueKit.eventually("the sync ran", limit: .seconds(60)) {
                let runs = try Self.object(try await Self.call(stack, "GET", "/v1/connections/\(id)/syncs/runs?resource=customers", tenant: "tenant-a"))
                return ((runs["data"] as? [[String: Any]])?.first?["status"] as? String) == "succeeded"
            }
            let runs = try Self.object(try await Self.call(stack, "GET", "/v1/connections/\(id)/syncs/runs?resource=customers", tenant: "tenant-a"))
            let run = try #require((runs["data"] as? [[String: Any]])?.first)
            #expect(run["trigger"] as? String == "manual" && run["mode"] as? String == "full" && run["job_id"] as? String == jobs.first?["job_id"] as? String)
            let expected = try await SyncRunTests.sandboxCount(stack, "stripe", "customers")
            #expect(run["added"] as? Int == expected)

            let status = try Self.object(try await Self.call(stack, "GET", "/v1/connections/\(id)/syncs", tenant: "tenant-a", roles: ["viewer"]))
            let resources = try #require(status["data"] as? [[String: Any]])
            #expect(resources.map { $0["resource"] as? String } == Providers.named("stripe")!.sync.map(\.name))
            let customers = try #require(resources.first { $0["resource"] as? String == "customers" })
            #expect(customers["state"] as? String == "complete" && customers["records"] as? Int == expected)
            #expect((customers["last_run"] as? [String: Any])?["status"] as? String == "succeeded")
            #expect(resources.first { $0["resource"] as? String == "products" }?["state"] as? String == "never_synced")

            // The feed, 100 at a time: every customer exactly once. A change shows once every
            // transaction older than it has ended (docs/api.md), and tests running beside this
            // one may hold that back a moment: `expecting` polls until that many have shown.
            func follow(from start: String?, expecting count: Int = 0) async throws -> (ids: [String], cursor: String) {
                var result = try await followOnce(from: start)
                for _ in 0..<50 where result.ids.count < count {
                    try await Task.sleep(for: .milliseconds(100))
                    let more = try await followOnce(from: result.cursor)
                    result = (result.ids + more.ids, more.cursor)
                }
                return result
            }
            func followOnce(from start: String?) async throws -> (ids: [String], cursor: String) {
                var cursor = start
                var ids: [String] = []
                for _ in 0..<20 {
                    let query = "connection=\(id)&resource=customers&limit=100" + (cursor.map { "&cursor=\($0)" } ?? "")
                    let page = try Self.object(try await Self.call(stack, "GET", "/v1/records?\(query)", tenant: "tenant-a", roles: ["viewer"]))
                    let data = try #require(page["data"] as? [[String: Any]])
                    ids += data.compactMap { $0["id"] as? String }
                    cursor = try #require(page["next_cursor"] as? String)
                    if page["has_more"] as? Bool != true { break }
                }
                return (ids, cursor!)
            }
            let first = try await follow(from: nil, expecting: expected)
            #expect(first.ids.count == expected && Set(first.ids).count == expected, "\(first.ids.count) of \(expected), \(Set(first.ids).count) distinct")
            let quiet = try await follow(from: first.cursor)
            #expect(quiet.ids.isEmpty && quiet.cursor == first.cursor, "nothing changed: the cursor stays")

            // One customer changes and one is deleted at the provider; the incremental run brings both.
            let changed = first.ids[17]
            let gone = first.ids[42]
            #expect(try await stack.sandbox.stripe("POST", "/v1/customers/\(changed)", form: "description=changed").status == 200)
            #expect(try await stack.sandbox.stripe("DELETE", "/v1/customers/\(gone)").status == 200)
            _ = try await SyncRunTests.sync(stack, stripe, "customers")
            let after = try await follow(from: first.cursor, expecting: 1)
            #expect(after.ids == [changed], "only the changed customer; the deleted one is left out by default: \(after.ids)")
            let withDeleted = try Self.object(try await Self.call(
                stack, "GET", "/v1/records?connection=\(id)&resource=customers&include_deleted=true&cursor=\(first.cursor)", tenant: "tenant-a"))
            let changes = try #require(withDeleted["data"] as? [[String: Any]])
            // (One page of the incremental run wrote both, in one transaction: both show together.)
            #expect(Set(changes.compactMap { $0["id"] as? String }) == [changed, gone])
            #expect(changes.first { $0["id"] as? String == gone }?["deleted"] as? Bool == true)
            #expect((changes.first { $0["id"] as? String == changed }?["data"] as? [String: Any])?["description"] as? String == "changed")

            // An admin deletes the connection: 202, then it is gone.
            #expect(try await Self.call(stack, "DELETE", "/v1/connections/\(id)", tenant: "tenant-a", roles: ["viewer"]).status == 403)
            let deleting = try await Self.call(stack, "DELETE", "/v1/connections/\(id)", tenant: "tenant-a")
            let deletion = try Self.object(deleting)
            #expect(deleting.status == 202 && deletion["status"] as? String == "deleting", "\(deleting.status) \(deleting.text)")
            try await QueueKit.eventually("the connection was deleted") {
                try await Self.call(stack, "GET", "/v1/connections/\(id)", tenant: "tenant-a").status == 404
            }
        }
    }

    /// Tenant B can neither read, trigger nor delete anything of tenant A's, by any route with an
    /// id in it: each answers 404, exactly as an id that does not exist, and nothing changes.
    @Test func anotherTenantsIDsAnswer404OnEveryRouteAndChangeNothing() async throws {
        try await ConnectStack.with(seed: 20) { stack in
            let stripe = try await stack.connect("stripe", tenant: "tenant-a")
            let id = stripe.uuidString.lowercased()
            // A webhook event about tenant A's account (the sandbox sends it to the ingress).
            let event = try await Self.changeACustomer(stack, tenant: "tenant-a")
            let processedBefore = try await Self.processedAt(stack, event)
            // A push of tenant A's.
            let pushed = try await stack.http.send(OutboundRequest(method: "POST", url: "\(stack.ingressURL)/v1/connections/\(id)/push/customers",
                headers: (Self.bearer("tenant-a") + [("Content-Type", "application/json"), ("Idempotency-Key", "tenant-a-push")]).map { (name: $0.0, value: $0.1) },
                body: Array(#"{"fields":{"email":"a@example.com"}}"#.utf8)))
            let push = try #require(try Self.object(pushed)["id"] as? String, "\(pushed.status) \(pushed.text)")
            let routes: [(method: String, template: String, body: String?)] = [
                ("POST", "/v1/connections/{id}/push/customers", #"{"fields":{"email":"b@example.com"}}"#),
                ("GET", "/v1/pushes/{id}", nil),
                ("GET", "/v1/connections/{id}", nil),
                ("PATCH", "/v1/connections/{id}", #"{"conflict_policy":"provider_wins"}"#),
                ("DELETE", "/v1/connections/{id}", nil),
                ("GET", "/v1/connections/{id}/syncs", nil),
                ("POST", "/v1/connections/{id}/syncs", #"{"resource":"customers"}"#),
                ("GET", "/v1/connections/{id}/syncs/runs", nil),
                ("GET", "/v1/records?connection={id}&resource=customers", nil),
                ("POST", "/v1/connections/{id}/refresh", nil),
                ("POST", "/v1/connections/{id}/syncs/runs/1/retry", nil),
                ("GET", "/v1/webhook-events/{id}", nil),
                ("POST", "/v1/webhook-events/{id}/replay", nil),
            ]
            let specified = try Self.specOperations()
            let covered = Set(routes.map { "\($0.method) \($0.template.split(separator: "?").first!)".replacingOccurrences(of: "/runs/1/", with: "/runs/{run}/")
                .replacingOccurrences(of: "/push/customers", with: "/push/{resource}") })
            #expect(specified.filter { $0.contains("{id}") && !$0.contains("/v1/admin/") }.isSubset(of: covered), "every tenant route with an id is in the table")
            for (method, template, body) in routes {
                let isEvent = template.hasPrefix("/v1/webhook-events")
                let (mine, missing) = isEvent ? (event, "987654321") : (template.hasPrefix("/v1/pushes") ? push : id, UUID().uuidString.lowercased())
                let theirs = try await Self.call(stack, method, template.replacingOccurrences(of: "{id}", with: mine), tenant: "tenant-b", body: body)
                let nobody = try await Self.call(stack, method, template.replacingOccurrences(of: "{id}", with: missing), tenant: "tenant-b", body: body)
                #expect(theirs.status == 404 && theirs.header("Content-Type") == "application/problem+json", "\(method) \(template): \(theirs.status) \(theirs.text)")
                let (theirType, nobodysType) = (try Self.object(theirs)["type"] as? String, try Self.object(nobody)["type"] as? String)
                #expect(theirs.status == nobody.status && theirType == nobodysType, "\(method) \(template): another tenant's id reads as one that does not exist")
                // Tenant A reads its own.
                if method == "GET" {
                    let own = try await Self.call(stack, method, template.replacingOccurrences(of: "{id}", with: mine), tenant: "tenant-a")
                    #expect(own.status == 200, "\(method) \(template) for its tenant: \(own.status) \(own.text)")
                }
            }
            for path in ["/v1/connections", "/v1/webhook-events"] {
                let others = try Self.object(try await Self.call(stack, "GET", path, tenant: "tenant-b"))
                #expect((others["data"] as? [Any])?.isEmpty == true, "\(path) lists nothing of tenant A's for tenant B")
            }
            // Nothing of tenant A's changed: the connection is there, active, never synced, and the
            // event was processed once.
            #expect(try await stack.connection(stripe)?.status == .active)
            #expect(try await stack.connection(stripe)?.conflictPolicy == .lastWriteWins, "tenant B's PATCH changed nothing")
            #expect(try await SyncRunTests.runs(stack, stripe, "customers").isEmpty)
            try await Task.sleep(for: .milliseconds(500))
            #expect(try await Self.processedAt(stack, event) == processedBefore, "no replay ran")
        }
    }

    static func processedAt(_ stack: ConnectStack, _ event: String) async throws -> Date? {
        let id = try #require(Int64(event))
        return try await stack.onDatabase { try $0.query("SELECT processed_at FROM webhook_events WHERE id = \(id)").first?.decode("processed_at", as: Date?.self) }
    }

    /// Changes one of the sandbox's Stripe customers; answers the id of the webhook event that
    /// change produced, once the worker stored it for `tenant`.
    static func changeACustomer(_ stack: ConnectStack, tenant: String, description: String = "changed for the webhook") async throws -> String {
        let list = try stack.sandbox.json(try await stack.sandbox.stripe("GET", "/v1/customers?limit=1"))
        let customer = try #require(((list["data"] as? [[String: Any]])?.first)?["id"] as? String)
        let update = try await stack.sandbox.send("POST", "/_sandbox/stripe/customers/\(customer)", body: #"{"description":"\#(description)"}"#)
        #expect(update.status == 200)
        try await QueueKit.eventually("the customer.updated event was stored for \(tenant)", limit: .seconds(30)) {
            try await storedEvent(stack, tenant: tenant, containing: description) != nil
        }
        return String(try #require(try await storedEvent(stack, tenant: tenant, containing: description)))
    }

    static func storedEvent(_ stack: ConnectStack, tenant: String, containing text: String) async throws -> Int64? {
        try await stack.onDatabase { database in
            try database.query("""
                SELECT id FROM webhook_events WHERE event_type = 'customer.updated' AND tenant = \(tenant) AND processed_at IS NOT NULL
                  AND convert_from(body, 'UTF8') LIKE '%' || \(text) || '%' ORDER BY id DESC LIMIT 1
                """).first?.decode("id", as: Int64.self)
        }
    }

    /// A tenant finds a webhook event by provider and type, reads it as received, and replays it:
    /// the worker applies it again, restoring the record a later mistake overwrote.
    @Test func aTenantSearchesItsWebhookEventsAndReplaysOne() async throws {
        try await ConnectStack.with(seed: 20) { stack in
            let stripe = try await stack.connect("stripe", tenant: "tenant-a")
            _ = try await SyncRunTests.sync(stack, stripe, "customers")
            let event = try await Self.changeACustomer(stack, tenant: "tenant-a", description: "from the webhook")
            let listed = try Self.object(try await Self.call(stack, "GET", "/v1/webhook-events?provider=stripe&type=customer.updated", tenant: "tenant-a", roles: ["viewer"]))
            let rows = try #require(listed["data"] as? [[String: Any]])
            #expect(rows.first?["id"] as? String == event && rows.first?["outcome"] as? String == "applied" && rows.first?["connection"] as? String == stripe.uuidString.lowercased(),
                    "\(rows)")
            let none = try Self.object(try await Self.call(stack, "GET", "/v1/webhook-events?type=invoice.paid", tenant: "tenant-a"))
            #expect((none["data"] as? [Any])?.isEmpty == true)
            let later = try Self.object(try await Self.call(stack, "GET", "/v1/webhook-events?received_after=\(Timestamp.format(Date() + 60))", tenant: "tenant-a"))
            #expect((later["data"] as? [Any])?.isEmpty == true)
            let shown = try Self.object(try await Self.call(stack, "GET", "/v1/webhook-events/\(event)", tenant: "tenant-a", roles: ["viewer"]))
            let body = try #require(shown["body"] as? String)
            #expect(body.contains("\"customer.updated\"") && body.contains("from the webhook"))
            let headers = try #require(shown["headers"] as? [String: Any])
            #expect(!headers.keys.contains { $0.lowercased() == "stripe-signature" }, "no signature is kept: \(headers.keys)")

            // The record is overwritten by mistake (as an older state would be); the replay brings
            // the event's object back.
            let object = try #require((try JSONSerialization.jsonObject(with: Data(body.utf8)) as? [String: Any]).flatMap { ($0["data"] as? [String: Any])?["object"] as? [String: Any] })
            let customer = try #require(object["id"] as? String)
            _ = try await stack.onDatabase { database in
                try database.query("""
                    UPDATE records SET data = data || '{"description":"overwritten"}'::jsonb, hash = 'overwritten', version = 1
                    WHERE connection_id = \(stripe) AND resource = 'customers' AND external_id = \(customer)
                    """)
            }
            #expect(try await Self.call(stack, "POST", "/v1/webhook-events/\(event)/replay", tenant: "tenant-a", roles: ["viewer"]).status == 403)
            let replay = try await Self.call(stack, "POST", "/v1/webhook-events/\(event)/replay", tenant: "tenant-a")
            let replaying = try Self.object(replay)
            #expect(replay.status == 202 && replaying["status"] as? String == "replaying", "\(replay.status) \(replay.text)")
            try await QueueKit.eventually("the replay restored the record") {
                try await SyncRunTests.stored(stack, stripe, "customers").first { $0.externalID == customer }?.data["description"] == "from the webhook"
            }
        }
    }

    /// A POST retried with the same Idempotency-Key gets the first answer again and does nothing
    /// twice; the key reused for another request is refused.
    @Test func aRetriedTriggerWithItsIdempotencyKeyRunsOnce() async throws {
        try await ConnectStack.with(seed: 10) { stack in
            let stripe = try await stack.connect("stripe", tenant: "tenant-a")
            let path = stack.ingressURL + "/v1/connections/\(stripe.uuidString.lowercased())/syncs"
            func post(_ body: String, key: String, tenant: String = "tenant-a") async throws -> OutboundResponse {
                try await stack.http.send(OutboundRequest(method: "POST", url: path, headers: (Self.bearer(tenant) + [("Idempotency-Key", key), ("Content-Type", "application/json")])
                    .map { (name: $0.0, value: $0.1) }, body: Array(body.utf8)))
            }
            let first = try await post(#"{"resource":"customers"}"#, key: "retry-1")
            #expect(first.status == 202 && first.header("Idempotent-Replayed") == nil, "\(first.status) \(first.text)")
            let again = try await post(#"{"resource":"customers"}"#, key: "retry-1")
            #expect(again.status == 202 && again.header("Idempotent-Replayed") == "true" && again.text == first.text, "\(again.status) \(again.text)")
            let other = try await post(#"{"resource":"products"}"#, key: "retry-1")
            #expect(other.status == 422 && other.text.contains("idempotency-key-reused"), "\(other.status) \(other.text)")
            let bad = try await post(#"{"resource":"customers"}"#, key: "has spaces in it")
            #expect(bad.status == 422 && bad.text.contains("Idempotency-Key"), "\(bad.status) \(bad.text)")
            // Keys are per tenant: tenant B's same key is its own (and its request finds no connection).
            let theirs = try await post(#"{"resource":"customers"}"#, key: "retry-1", tenant: "tenant-b")
            #expect(theirs.status == 404 && theirs.header("Idempotent-Replayed") == nil)
            try await QueueKit.eventually("the one sync ran") {
                try await SyncRunTests.runs(stack, stripe, "customers").contains { $0.status == "succeeded" }
            }
            try await Task.sleep(for: .seconds(1))
            #expect(try await SyncRunTests.runs(stack, stripe, "customers").count == 1, "one run for the request and its retry")
            #expect(try await SyncRunTests.runs(stack, stripe, "products").isEmpty)
        }
    }

    /// A tenant connects Stripe with an API key and Square through OAuth, refreshes Square's token
    /// now, and retries a sync that failed; every one of these calls is in the audit log, and no
    /// read is.
    @Test func aTenantConnectsRefreshesAndRetriesAndEachCallIsAudited() async throws {
        try await ConnectStack.with(seed: 20) { stack in
            let created = try await Self.call(stack, "POST", "/v1/connections", tenant: "tenant-a", body: #"{"provider":"stripe","api_key":"sk_test_api_walkthrough"}"#)
            #expect(created.status == 202, "\(created.status) \(created.text)")
            let connection = try #require(try Self.object(created)["connection"] as? [String: Any])
            let stripe = try #require(UUID(uuidString: connection["id"] as? String ?? ""))
            #expect(connection["status"] as? String == "pending" && connection["auth"] as? String == "api_key" && !created.text.contains("sk_test_api"))
            try await QueueKit.eventually("the key was checked") {
                (try Self.object(try await Self.call(stack, "GET", "/v1/connections/\(stripe.uuidString.lowercased())", tenant: "tenant-a"))["status"] as? String) == "active"
            }
            #expect(try await stack.credential(stripe)?.tokens.access == "sk_test_api_walkthrough", "the key is in the vault")

            // OAuth: the answer is the URL to send the tenant to; the tenant's consent completes it.
            let started = try await Self.call(stack, "POST", "/v1/connections", tenant: "tenant-a", body: #"{"provider":"square"}"#)
            #expect(started.status == 201, "\(started.status) \(started.text)")
            let body = try Self.object(started)
            let square = try #require(UUID(uuidString: (body["connection"] as? [String: Any])?["id"] as? String ?? ""))
            let done = try await stack.callback(try await stack.authorize(try #require(body["authorize_url"] as? String)))
            #expect(done.status == 200 || done.status == 302, "\(done.status) \(done.text)")
            #expect(try await stack.connection(square)?.status == .active)

            let before = try await stack.tokenCalls("square", grant: "refresh_token").count
            let refresh = try await Self.call(stack, "POST", "/v1/connections/\(square.uuidString.lowercased())/refresh", tenant: "tenant-a")
            #expect(refresh.status == 202, "\(refresh.status) \(refresh.text)")
            try await QueueKit.eventually("the token was refreshed") { try await stack.tokenCalls("square", grant: "refresh_token").count > before }
            let notOAuth = try await Self.call(stack, "POST", "/v1/connections/\(stripe.uuidString.lowercased())/refresh", tenant: "tenant-a")
            #expect(notOAuth.status == 409 && notOAuth.text.contains("not-refreshable"))

            // A run that failed (every page answered 503, one attempt) is retried from its checkpoint.
            try await stack.sandbox.fault("stripe", ["error_rate": 1, "error_status": 503])
            try await stack.enqueue([JobRequest(type: "sync.run", payload: ["connection": .string(stripe.uuidString.lowercased()), "resource": "customers"],
                                                priority: .high, connection: stripe.uuidString.lowercased(), maxAttempts: 1)])
            try await QueueKit.eventually("the run failed", limit: .seconds(30)) {
                try await SyncRunTests.runs(stack, stripe, "customers").first?.status == "failed"
            }
            try await stack.sandbox.clearFaults()
            let failed = try #require(try await SyncRunTests.runs(stack, stripe, "customers").first)
            let succeededRun = "/v1/connections/\(stripe.uuidString.lowercased())/syncs/runs/\(failed.id)/retry"
            let retried = try await Self.call(stack, "POST", succeededRun, tenant: "tenant-a")
            #expect(retried.status == 202 && retried.text.contains("\"resource\":\"customers\""), "\(retried.status) \(retried.text)")
            try await QueueKit.eventually("the retry succeeded") {
                try await SyncRunTests.runs(stack, stripe, "customers").first.map { $0.status == "succeeded" && $0.trigger == "retry" } == true
            }
            let again = try await Self.call(stack, "POST", "/v1/connections/\(stripe.uuidString.lowercased())/syncs/runs/\(try await SyncRunTests.runs(stack, stripe, "customers").first!.id)/retry",
                                            tenant: "tenant-a")
            #expect(again.status == 409 && again.text.contains("run-not-failed"))
            #expect(try await Self.call(stack, "POST", "/v1/connections", tenant: "tenant-a", roles: ["viewer"], body: #"{"provider":"stripe","api_key":"x"}"#).status == 403)

            let audit = try await stack.onDatabase { database in
                try database.query("SELECT actor, method, path, status, outcome FROM api_audit WHERE tenant = 'tenant-a' ORDER BY id").rows.map {
                    "\(try $0.decode("method", as: String.self)) \(try $0.decode("path", as: String.self)) \(try $0.decode("status", as: Int.self)) \(try $0.decode("outcome", as: String.self)) \(try $0.decode("actor", as: String.self))"
                }
            }
            let actor = "tenant:tenant-a:user-1"
            #expect(audit == [
                "POST /v1/connections 202 ok \(actor)",
                "POST /v1/connections 201 ok \(actor)",
                "POST /v1/connections/\(square.uuidString.lowercased())/refresh 202 ok \(actor)",
                "POST /v1/connections/\(stripe.uuidString.lowercased())/refresh 409 urn:junction:problem:not-refreshable \(actor)",
                "POST \(succeededRun) 202 ok \(actor)",
                "POST /v1/connections/\(stripe.uuidString.lowercased())/syncs/runs/\(try await SyncRunTests.runs(stack, stripe, "customers").first!.id)/retry 409 urn:junction:problem:run-not-failed \(actor)",
                "POST /v1/connections 403 urn:junction:problem:forbidden \(actor)",
            ], "\(audit.joined(separator: "\n"))")
        }
    }

    /// Ops clear a connection's sync queue: its queued sync runs (of one resource, or all) leave
    /// the queue with their dedupe keys, another connection's stay, a reader may not, and a
    /// resource the provider does not sync is named.
    @Test func anInternalServiceClearsAConnectionsSyncQueue() async throws {
        let extra = ["JUNCTION_ADMIN_SERVICES": "ops:*,reader:read", "JUNCTION_ADMIN_KEY_OPS": Self.adminKeys["ops"]!, "JUNCTION_ADMIN_KEY_READER": Self.adminKeys["reader"]!]
        try await ConnectStack.with(seed: 11, extra: extra) { stack in
            let stripe = try await stack.connect("stripe", tenant: "tenant-a")
            let other = try await stack.connect("stripe", tenant: "tenant-b")
            // No worker takes them meanwhile: the queue holds what is enqueued.
            for worker in stack.workers { #expect(try await worker.stop() == 0) }
            func sync(_ connection: UUID, _ resource: String, dedupe: String? = nil, delay: Duration = .zero) -> JobRequest {
                JobRequest(type: "sync.run", payload: ["connection": .string(connection.uuidString.lowercased()), "resource": .string(resource)],
                           priority: .normal, connection: connection.uuidString.lowercased(), dedupeKey: dedupe, dedupeTTL: .seconds(600), delay: delay)
            }
            let (queue, redis) = (stack.queue, stack.stack.redis)
            @Sendable func enqueue(_ requests: [JobRequest]) async throws -> [EnqueueOutcome] {
                try await TestStack.onThread { try queue.enqueue(requests, on: try RedisConnection(redis)) }
            }
            _ = try await enqueue([sync(stripe, "customers", dedupe: "test-sync:customers"), sync(stripe, "customers", delay: .seconds(300)),
                                   sync(stripe, "products"), sync(other, "customers"),
                                   JobRequest(type: "system.noop", payload: [:], priority: .normal, connection: stripe.uuidString.lowercased())])
            let path = "/v1/admin/connections/\(stripe.uuidString.lowercased())/syncs"
            #expect(try await Self.admin(stack, "DELETE", path + "?resource=customers", service: "reader").status == 403)
            let unknown = try await Self.admin(stack, "DELETE", path + "?resource=planets")
            #expect(unknown.status == 422 && unknown.text.contains("resource"), "\(unknown.text)")

            let customers = try Self.object(try await Self.admin(stack, "DELETE", path + "?resource=customers"))
            #expect(customers["removed"] as? Int == 2 && customers["resource"] as? String == "customers", "the ready one and the delayed one: \(customers)")
            // Its dedupe key went with it: the same sync can be queued again at once.
            #expect(try await enqueue([sync(stripe, "customers", dedupe: "test-sync:customers")]).first.map { if case .enqueued = $0 { true } else { false } } == true)
            let rest = try Self.object(try await Self.admin(stack, "DELETE", path))
            #expect(rest["removed"] as? Int == 2, "products and the customers queued again: \(rest)")
            let stats = try await TestStack.onThread { try queue.stats(on: try RedisConnection(redis)) }
            #expect(stats.ready[.normal] == 2, "the other connection's sync and the no-op stay: \(stats.ready)")
            #expect(try await Self.admin(stack, "DELETE", "/v1/admin/connections/\(UUID().uuidString.lowercased())/syncs").status == 404)
        }
    }

    static let adminKeys = ["ops": "ops-key-0123456789abcdef0123456789abcdef", "reader": "reader-key-0123456789abcdef0123456789abcd"]

    static func admin(_ stack: ConnectStack, _ method: String, _ target: String, service: String = "ops", key: String? = nil, body: String = "",
                      timestamp: Date = Date(), nonce: String? = nil) async throws -> OutboundResponse {
        var headers = AdminServices.sign(service: service, key: key ?? adminKeys[service] ?? "unknown-service-key-000000000000000", method: method, target: target,
                                         body: Array(body.utf8), timestamp: timestamp, nonce: nonce ?? UUID().uuidString.replacingOccurrences(of: "-", with: ""))
        if !body.isEmpty { headers.append(("Content-Type", "application/json")) }
        return try await stack.http.send(OutboundRequest(method: method, url: stack.ingressURL + target, headers: headers.map { (name: $0.0, value: $0.1) },
                                                         body: Array(body.utf8)))
    }

    /// An internal service signs its requests: it sees the fleet's health and every tenant's
    /// connections, forces a sync, and reads, replays and purges the dead letters. A request that is
    /// unsigned, stale, replayed, signed wrong or by an unknown service gets 401; a service without
    /// the permission 403; and every mutating call is audited under the service's name.
    @Test func anInternalServiceSignsItsWayThroughTheAdminOperations() async throws {
        let extra = ["JUNCTION_ADMIN_SERVICES": "ops:*,reader:read", "JUNCTION_ADMIN_KEY_OPS": Self.adminKeys["ops"]!, "JUNCTION_ADMIN_KEY_READER": Self.adminKeys["reader"]!]
        try await ConnectStack.with(seed: 10, extra: extra) { stack in
            let stripe = try await stack.connect("stripe", tenant: "tenant-a")
            let health = try await Self.admin(stack, "GET", "/v1/admin/health", service: "reader")
            #expect(health.status == 200, "\(health.status) \(health.text)")
            let summary = try Self.object(health)
            #expect((summary["connections"] as? [[String: Any]])?.contains { $0["provider"] as? String == "stripe" && $0["status"] as? String == "active" && $0["count"] as? Int == 1 } == true,
                    "\(summary)")
            #expect((summary["queue"] as? [String: Any])?["ready"] is [String: Any])
            let all = try Self.object(try await Self.admin(stack, "GET", "/v1/admin/connections?tenant=tenant-a"))
            #expect((all["data"] as? [[String: Any]])?.map { $0["id"] as? String } == [stripe.uuidString.lowercased()])
            #expect(((all["data"] as? [[String: Any]])?.first?["tenant"] as? String) == "tenant-a")

            // Refused: unsigned, a wrong key, an unknown service, a stale timestamp, a nonce used twice.
            let unsigned = try await stack.http.send(OutboundRequest(url: stack.ingressURL + "/v1/admin/health"))
            #expect(unsigned.status == 401 && unsigned.header("Content-Type") == "application/problem+json")
            #expect(try await Self.admin(stack, "GET", "/v1/admin/health", key: "not-the-ops-key-0123456789abcdef0123").status == 401)
            #expect(try await Self.admin(stack, "GET", "/v1/admin/health", service: "intruder").status == 401)
            let stale = try await Self.admin(stack, "GET", "/v1/admin/health", timestamp: Date() - 120)
            #expect(stale.status == 401 && stale.text.contains("timestamp"))
            let nonce = "replayed-nonce-0123456789"
            #expect(try await Self.admin(stack, "GET", "/v1/admin/health", nonce: nonce).status == 200)
            let replayed = try await Self.admin(stack, "GET", "/v1/admin/health", nonce: nonce)
            #expect(replayed.status == 401 && replayed.text.contains("nonce was used"), "\(replayed.status) \(replayed.text)")
            // A signature over another path or body does not carry over.
            var moved = AdminServices.sign(service: "ops", key: Self.adminKeys["ops"]!, method: "GET", target: "/v1/admin/health", body: [])
            moved.append(("Content-Type", "application/json"))
            let tampered = try await stack.http.send(OutboundRequest(method: "GET", url: stack.ingressURL + "/v1/admin/connections", headers: moved.map { (name: $0.0, value: $0.1) }))
            #expect(tampered.status == 401 && tampered.text.contains("signature"))

            // The reader may not force a sync; ops may, for any tenant.
            let path = "/v1/admin/connections/\(stripe.uuidString.lowercased())/syncs"
            let forbidden = try await Self.admin(stack, "POST", path, service: "reader", body: #"{"resource":"customers"}"#)
            #expect(forbidden.status == 403 && forbidden.text.contains("sync"), "\(forbidden.status) \(forbidden.text)")
            let forced = try await Self.admin(stack, "POST", path, body: #"{"resource":"customers"}"#)
            #expect(forced.status == 202, "\(forced.status) \(forced.text)")
            try await QueueKit.eventually("the forced sync ran") {
                try await SyncRunTests.runs(stack, stripe, "customers").first?.status == "succeeded"
            }

            // A job that fails for good: listed, shown with its errors, replayed, purged.
            try await stack.enqueue([JobRequest(type: "system.noop", payload: ["fail": true], priority: .high, maxAttempts: 1)])
            try await QueueKit.eventually("the job died") {
                ((try Self.object(try await Self.admin(stack, "GET", "/v1/admin/dead-letters?type=system.noop"))["data"] as? [[String: Any]]) ?? []).count == 1
            }
            let dead = (try Self.object(try await Self.admin(stack, "GET", "/v1/admin/dead-letters?type=system.noop"))["data"] as? [[String: Any]]) ?? []
            let id = try #require(dead.first?["id"] as? String)
            let shown = try Self.object(try await Self.admin(stack, "GET", "/v1/admin/dead-letters/\(id)", service: "reader"))
            #expect(shown["type"] as? String == "system.noop" && (shown["errors"] as? [Any])?.count == 1 && (shown["payload"] as? [String: Any])?["fail"] as? Bool == true,
                    "\(shown)")
            #expect(try await Self.admin(stack, "POST", "/v1/admin/dead-letters/\(id)/replay", service: "reader").status == 403)
            #expect(try await Self.admin(stack, "POST", "/v1/admin/dead-letters/\(id)/replay").status == 202)
            try await QueueKit.eventually("the replayed job died again") {
                let again = try Self.object(try await Self.admin(stack, "GET", "/v1/admin/dead-letters/\(id)"))
                return (again["errors"] as? [Any])?.count == 2
            }
            #expect(try await Self.admin(stack, "DELETE", "/v1/admin/dead-letters").status == 422, "a purge names what it purges")
            let purged = try Self.object(try await Self.admin(stack, "DELETE", "/v1/admin/dead-letters?all=true"))
            #expect(purged["purged"] as? Int ?? 0 >= 1)
            #expect(try await Self.admin(stack, "GET", "/v1/admin/dead-letters/\(id)").status == 404)

            let audit = try await stack.onDatabase { database in
                try database.query("SELECT actor, method, status FROM api_audit WHERE tenant = '*' ORDER BY id").rows.map {
                    "\(try $0.decode("actor", as: String.self)) \(try $0.decode("method", as: String.self)) \(try $0.decode("status", as: Int.self))"
                }
            }
            #expect(audit == ["service:reader POST 403", "service:ops POST 202", "service:reader POST 403", "service:ops POST 202", "service:ops DELETE 422", "service:ops DELETE 200"],
                    "\(audit)")
        }
    }

    /// Each tenant has its own allowance: every answer says what is left, a request over it gets
    /// 429 with `Retry-After` and changes nothing, and another tenant is not held back.
    @Test func aTenantOverItsAllowanceGets429AndAnotherTenantDoesNot() async throws {
        try await ConnectStack.with(seed: 10, extra: ["JUNCTION_API_RATE_LIMIT": "3/1m,burst=3"]) { stack in
            let first = try await Self.call(stack, "GET", "/v1/connections", tenant: "tenant-a")
            #expect(first.status == 200 && first.header("RateLimit-Limit") == "3" && first.header("RateLimit-Remaining") == "2", "\(first.headers)")
            #expect(Int(first.header("RateLimit-Reset") ?? "") ?? 0 > 0)
            _ = try await Self.call(stack, "GET", "/v1/connections", tenant: "tenant-a")
            let third = try await Self.call(stack, "GET", "/v1/connections", tenant: "tenant-a")
            #expect(third.status == 200 && third.header("RateLimit-Remaining") == "0")
            let over = try await Self.call(stack, "POST", "/v1/connections", tenant: "tenant-a", body: #"{"provider":"stripe","api_key":"sk_test_over"}"#)
            #expect(over.status == 429 && over.header("Content-Type") == "application/problem+json" && over.text.contains("rate-limited"), "\(over.status) \(over.text)")
            let retryAfter = Int(over.header("Retry-After") ?? "") ?? 0
            #expect(retryAfter >= 1 && retryAfter <= 20, "one request in 20 s: \(over.header("Retry-After") ?? "none")")
            #expect(over.header("RateLimit-Remaining") == "0")
            let others = try await Self.call(stack, "GET", "/v1/connections", tenant: "tenant-b")
            #expect(others.status == 200 && others.header("RateLimit-Remaining") == "2", "tenant B has its own allowance")
            let created = try await stack.onDatabase { try ConnectionStore().list(tenant: "tenant-a", on: $0).count }
            #expect(created == 0, "the refused request created nothing")
        }
    }

    /// Requests without a valid token, and requests with bad parameters, get precise problem
    /// documents and change nothing.
    @Test func badRequestsGetProblemDocumentsNamingWhatIsWrong() async throws {
        try await ConnectStack.with(seed: 10) { stack in
            let stripe = try await stack.connect("stripe", tenant: "tenant-a")
            let id = stripe.uuidString.lowercased()
            // Every operation of the spec but the document itself refuses a request without a token.
            for operation in try Self.specOperations() where !operation.hasSuffix("/openapi.json") && !operation.contains("/v1/admin/") {
                let parts = operation.split(separator: " ")
                let path = String(parts[1]).replacingOccurrences(of: "{id}", with: id)
                let answer = try await Self.call(stack, String(parts[0]), path, tenant: nil)
                #expect(answer.status == 401 && answer.header("Content-Type") == "application/problem+json" && answer.header("WWW-Authenticate") == "Bearer",
                        "\(operation): \(answer.status) \(answer.text)")
            }
            let expired = try await stack.http.send(OutboundRequest(url: stack.ingressURL + "/v1/connections", headers: [
                (name: "Authorization", value: "Bearer \(ConnectStack.token(tenant: "tenant-a", expires: Date() - 120))"),
            ]))
            #expect(expired.status == 401 && expired.text.contains("unauthenticated"))
            let spec = try await Self.call(stack, "GET", "/v1/openapi.json", tenant: nil)
            let document = try Self.object(spec)
            #expect(spec.status == 200 && document["openapi"] as? String == "3.1.0")

            func fields(_ response: OutboundResponse) throws -> [String] {
                #expect(response.status == 422 && response.header("Content-Type") == "application/problem+json", "\(response.status) \(response.text)")
                return ((try Self.object(response)["errors"] as? [[String: Any]]) ?? []).compactMap { $0["field"] as? String }
            }
            #expect(try fields(try await Self.call(stack, "GET", "/v1/connections?limit=0&status=sleeping&cursor=x", tenant: "tenant-a")).sorted() == ["cursor", "limit", "status"])
            #expect(try fields(try await Self.call(stack, "GET", "/v1/records?resource=customers&limit=5000", tenant: "tenant-a")).sorted() == ["connection", "limit"])
            #expect(try fields(try await Self.call(stack, "GET", "/v1/records?connection=\(id)&resource=customers&cursor=12&modified_after=yesterday&include_deleted=yes",
                                                   tenant: "tenant-a")).sorted() == ["cursor", "include_deleted", "modified_after"])
            #expect(try fields(try await Self.call(stack, "GET", "/v1/records?connection=\(id)&resource=nonsense", tenant: "tenant-a")) == ["resource"])
            #expect(try fields(try await Self.call(stack, "POST", "/v1/connections/\(id)/syncs", tenant: "tenant-a", body: #"{"resource":"planets","mode":"fast","force":1}"#)).sorted()
                    == ["force", "mode", "resource"])
            #expect(try fields(try await Self.call(stack, "POST", "/v1/connections/\(id)/syncs", tenant: "tenant-a", body: "[1, 2")) == ["body"])
            #expect(try fields(try await Self.call(stack, "GET", "/v1/connections/not-a-uuid", tenant: "tenant-a")) == ["id"])
            #expect(try fields(try await Self.call(stack, "POST", "/v1/connections", tenant: "tenant-a", body: "{}")) == ["provider"])
            #expect(try fields(try await Self.call(stack, "POST", "/v1/connections", tenant: "tenant-a", body: #"{"provider":"mars","color":"red"}"#)).sorted() == ["color", "provider"])
            #expect(try fields(try await Self.call(stack, "POST", "/v1/connections", tenant: "tenant-a", body: #"{"provider":"square","api_key":"k"}"#)) == ["api_key"])
            #expect(try fields(try await Self.call(stack, "POST", "/v1/connections", tenant: "tenant-a", body: #"{"provider":"stripe","api_key":""}"#)) == ["api_key"])
            #expect(try fields(try await Self.call(stack, "POST", "/v1/connections/\(id)/syncs/runs/x/retry", tenant: "tenant-a")) == ["run"])
            let connections = try Self.object(try await Self.call(stack, "GET", "/v1/connections", tenant: "tenant-a"))
            #expect((connections["data"] as? [Any])?.count == 1, "no bad request created a connection")
            // A method a path does not take: 405 naming the ones it does; a path that is no operation: 404.
            let put = try await Self.call(stack, "PUT", "/v1/connections/\(id)", tenant: "tenant-a", body: "{}")
            #expect(put.status == 405 && put.header("Allow") == "DELETE, GET, PATCH" && put.header("Content-Type") == "application/problem+json", "\(put.status) \(put.text)")
            let patch = try await Self.call(stack, "PATCH", "/v1/connections", tenant: "tenant-a", body: "{}")
            #expect(patch.status == 405 && patch.header("Allow") == "GET, POST")
            let nothing = try await Self.call(stack, "GET", "/v1/nothing/here", tenant: "tenant-a")
            #expect(nothing.status == 404 && nothing.text.contains("no-such-operation"), "\(nothing.status) \(nothing.text)")
            #expect(try await SyncRunTests.runs(stack, stripe, "customers").isEmpty, "no bad request started a sync")
        }
    }
}
