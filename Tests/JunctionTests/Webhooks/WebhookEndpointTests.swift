import Crypto
import Foundation
import JunctionCore
import JunctionIngress
import JunctionProviders
import JunctionQueue
import JunctionStores
import Testing

@Suite("Key ring")
struct KeyRingTests {
    static let ring = try! KeyRing(parsing: KeyRing.generateEntry(id: "new") + "," + KeyRing.generateEntry(id: "old"))

    @Test func sealedValuesOpenOnlyWithTheirContext() throws {
        let secret = Array("whsec_tenant_secret".utf8)
        let sealed = Self.ring.seal(secret, context: SealContext("webhook_endpoints", "stripe", "venue-1", "secrets"))
        #expect(sealed.keyID == "new", "the first entry is the active key")
        #expect(sealed.bytes.count == 12 + secret.count + 16, "nonce, ciphertext, tag")
        #expect(!String(decoding: sealed.bytes, as: UTF8.self).contains("whsec"))
        #expect(try Self.ring.open(sealed, context: SealContext("webhook_endpoints", "stripe", "venue-1", "secrets")) == secret)
        // Copied to another endpoint's row, it does not decrypt.
        #expect(throws: SealError.authenticationFailed(keyID: "new")) {
            try Self.ring.open(sealed, context: SealContext("webhook_endpoints", "stripe", "venue-2", "secrets"))
        }
        // Context parts are length-prefixed: moving a separator changes the context.
        #expect(throws: SealError.self) {
            try Self.ring.open(sealed, context: SealContext("webhook_endpoints", "stripe", "venue", "-1", "secrets"))
        }
        var altered = sealed
        altered.bytes[14] ^= 1
        #expect(throws: SealError.authenticationFailed(keyID: "new")) {
            try Self.ring.open(altered, context: SealContext("webhook_endpoints", "stripe", "venue-1", "secrets"))
        }
    }

    @Test func rotationKeepsOldCiphertextsReadableUntilTheKeyIsRemoved() throws {
        let oldEntry = KeyRing.generateEntry(id: "k1")
        let before = try KeyRing(parsing: oldEntry)
        let sealed = before.seal(Array("s".utf8), context: SealContext("x"))
        let rotated = try KeyRing(parsing: KeyRing.generateEntry(id: "k2") + "," + oldEntry)
        #expect(rotated.activeID == "k2" && rotated.ids == ["k2", "k1"])
        #expect(try rotated.open(sealed, context: SealContext("x")) == Array("s".utf8))
        let withoutOld = try KeyRing(parsing: KeyRing.generateEntry(id: "k2"))
        #expect(throws: SealError.unknownKey("k1")) { try withoutOld.open(sealed, context: SealContext("x")) }
    }

    @Test func aMissingOrMalformedKeyRingNamesTheVariableAndNeverEchoesAKey() {
        let missing = #expect(throws: ConfigurationError.self) { try KeyRing(environment: EnvironmentVariables([:])) }
        #expect(missing?.description.contains("JUNCTION_ENCRYPTION_KEYS is not set") == true)
        let shortKey = Data(repeating: 7, count: 16).base64EncodedString()
        let cases = [("k1:\(shortKey)", "not 32 bytes"), ("no-colon", "not id:base64key"), ("bad id!:\(shortKey)", "must be 1 to 32"),
                     (KeyRing.generateEntry(id: "a") + "," + KeyRing.generateEntry(id: "a"), "appears twice")]
        for (value, reason) in cases {
            let error = #expect(throws: ConfigurationError.self) { try KeyRing(environment: EnvironmentVariables(["JUNCTION_ENCRYPTION_KEYS": value])) }
            #expect(error?.description.contains(reason) == true, "\(value): \(error?.description ?? "")")
            #expect(error?.description.contains(shortKey) == false)
        }
    }
}

@Suite("Webhook priorities")
struct WebhookPrioritiesTests {
    @Test func exactTypesBeatPrefixesAndLongerPrefixesBeatShorterOnes() throws {
        var priorities = WebhookPriorities()
        try priorities.set(provider: "stripe", rules: "invoice.*=high, invoice.payment_failed=critical, invoice.payment*=normal, *=low")
        try priorities.set(provider: "github", rules: "normal")
        #expect(priorities.priority(provider: "stripe", eventType: "invoice.payment_failed") == .critical)
        #expect(priorities.priority(provider: "stripe", eventType: "invoice.payment_succeeded") == .normal)
        #expect(priorities.priority(provider: "stripe", eventType: "invoice.paid") == .high)
        #expect(priorities.priority(provider: "stripe", eventType: "customer.updated") == .low)
        #expect(priorities.priority(provider: "stripe", eventType: nil) == .low)
        #expect(priorities.priority(provider: "github", eventType: "push") == .normal)
        #expect(priorities.priority(provider: "slack", eventType: "message") == .critical, "unconfigured providers default to critical")
        var withoutFallback = WebhookPriorities()
        try withoutFallback.set(provider: "square", rules: "payment.*=high")
        #expect(withoutFallback.priority(provider: "square", eventType: "customer.created") == .critical)
    }

    @Test func malformedRulesAreRefusedWithTheReason() {
        var priorities = WebhookPriorities()
        for (rules, reason) in [("urgent", "not pattern=priority"), ("invoice.*=urgent", "must be critical"), ("in*voice=high", "may only end")] {
            let error = #expect(throws: InvalidValue.self) { try priorities.set(provider: "stripe", rules: rules) }
            #expect(error?.reason.contains(reason) == true, "\(rules): \(error?.reason ?? "")")
        }
        let settings = #expect(throws: ConfigurationError.self) {
            try WebhookSettings(environment: EnvironmentVariables(["JUNCTION_WEBHOOK_PRIORITY_STRIPE": "invoice.*=soon"]), ingress: IngressSettings(environment: EnvironmentVariables([:])))
        }
        #expect(settings?.description.contains("JUNCTION_WEBHOOK_PRIORITY_STRIPE") == true)
    }
}

@Suite("Webhook endpoint store")
struct WebhookEndpointStoreTests {
    @Test func secretsAreStoredOnlyEncryptedAndReEncryptedAfterRotation() async throws {
        let database = try await TestStack.shared().migratedDatabase()
        let oldEntry = KeyRing.generateEntry(id: "old")
        try await TestStack.onThread {
            let connection = try PostgresConnection(database)
            let store = WebhookEndpointStore(keys: try KeyRing(parsing: oldEntry))
            let added = try store.add(provider: "stripe", endpoint: "venue-1", secrets: ["whsec_one", "whsec_two"], tenant: "venue-1", on: connection)
            #expect(added.secrets == ["whsec_one", "whsec_two"] && added.version == 1 && added.keyID == "old")
            let raw = try connection.query("SELECT secrets_sealed::text FROM webhook_endpoints").rows.map { try $0.decode(0, as: String.self) }
            #expect(raw.count == 1 && !raw[0].contains(Signatures_hex("whsec_one")), "the secret is not in the row")
            #expect(throws: WebhookEndpointError.exists(provider: "stripe", endpoint: "venue-1")) {
                try store.add(provider: "stripe", endpoint: "venue-1", secrets: ["x"], on: connection)
            }
            #expect(throws: WebhookEndpointError.self) { try store.add(provider: "stripe", endpoint: "bad/id", secrets: ["x"], on: connection) }
            #expect(throws: WebhookEndpointError.self) { try store.add(provider: "nosuch", endpoint: "a", secrets: ["x"], on: connection) }
            #expect(throws: WebhookEndpointError.self) { try store.add(provider: "stripe", endpoint: "a", secrets: [], on: connection) }
            #expect(throws: WebhookEndpointError.self) { try store.add(provider: "mailchimp", endpoint: "tok", secrets: ["other"], on: connection) }

            // Rotate the key ring: the row still reads, and re-encryption moves it to the new key.
            let rotated = WebhookEndpointStore(keys: try KeyRing(parsing: KeyRing.generateEntry(id: "new") + "," + oldEntry))
            #expect(try rotated.countByKey(on: connection) == ["old": 1])
            #expect(try rotated.reencrypt(limit: 10, on: connection) == 1)
            #expect(try rotated.reencrypt(limit: 10, on: connection) == 0, "nothing left under the old key")
            let moved = try #require(try rotated.find(provider: "stripe", endpoint: "venue-1", on: connection))
            #expect(moved.keyID == "new" && moved.secrets == ["whsec_one", "whsec_two"] && moved.version == 1)
            // The old key alone can no longer read it: the row really was re-sealed.
            #expect(throws: WebhookEndpointError.self) { try store.list(on: connection) }

            let changed = try rotated.setSecrets(provider: "stripe", endpoint: "venue-1", secrets: ["whsec_three"], on: connection)
            #expect(changed.version == 2 && changed.secrets == ["whsec_three"])
            #expect(throws: WebhookEndpointError.notFound(provider: "stripe", endpoint: "nope")) {
                try rotated.setSecrets(provider: "stripe", endpoint: "nope", secrets: ["x"], on: connection)
            }
        }
    }
}

/// The hex a `bytea::text` cast shows for `text`'s bytes.
private func Signatures_hex(_ text: String) -> String {
    text.utf8.map { String(format: "%02x", $0) }.joined()
}

@Suite("Webhook endpoints through the ingress")
struct IngressEndpointTests {
    static let envSecret = "whsec_platform"

    static func stripeHeaders(_ body: String, secret: String) -> [(String, String)] {
        let time = Int(Date().timeIntervalSince1970)
        let mac = HMAC<SHA256>.authenticationCode(for: Array("\(time).\(body)".utf8), using: SymmetricKey(data: Array(secret.utf8)))
        return [("Content-Type", "application/json"), ("Stripe-Signature", "t=\(time),v1=\(IngressWebhookTests.hex(mac))")]
    }

    /// Event ids the ingress answered 200.
    final class Accepted: @unchecked Sendable {
        var ids: Set<String> = []
    }

    /// Posts until the answer's status is `status` (the ingress refreshes every 200 ms here).
    static func eventually(_ status: Int, _ running: IngressWebhookTests.Running, path: String, secret: String, event: String, accepted: Accepted) async throws -> OutboundResponse {
        var last: OutboundResponse?
        for attempt in 0..<100 {
            let id = "\(event)-\(attempt)"
            let body = #"{"id":"\#(id)","type":"customer.updated"}"#
            let response = try await running.post(path, headers: stripeHeaders(body, secret: secret), body: body)
            if response.status == 200 { accepted.ids.insert(id) }
            if response.status == status { return response }
            last = response
            try await Task.sleep(for: .milliseconds(50))
        }
        Issue.record("\(path) never answered \(status); last \(last?.status ?? 0) \(last?.text ?? "")")
        return try #require(last)
    }

    @Test func anEndpointVerifiesAgainstItsOwnSecretsWhichTheIngressPicksUpWithoutARestart() async throws {
        let stack = try await TestStack.shared()
        let database = try await stack.migratedDatabase()
        let running = try await IngressWebhookTests.start(stack, database: database, extra: [
            "JUNCTION_WEBHOOK_SECRETS_STRIPE": Self.envSecret, "JUNCTION_WEBHOOK_ENDPOINT_REFRESH": "200ms",
        ])
        let store = WebhookEndpointStore(keys: try KeyRing(parsing: TestStack.encryptionKeys))
        let path = "/webhooks/stripe/venue-7"
        let accepted = Accepted()
        // Unregistered: the provider-wide secret applies.
        #expect(try await Self.eventually(200, running, path: path, secret: Self.envSecret, event: "a", accepted: accepted).status == 200)

        try await TestStack.onThread {
            _ = try store.add(provider: "stripe", endpoint: "venue-7", secrets: ["whsec_tenant_A"], tenant: "venue-7", on: try PostgresConnection(database))
        }
        let refused = try await Self.eventually(401, running, path: path, secret: Self.envSecret, event: "b", accepted: accepted)
        #expect(refused.text.contains("invalid-signature"), "once registered, the provider-wide secret no longer opens this endpoint")
        #expect(try await Self.eventually(200, running, path: path, secret: "whsec_tenant_A", event: "c", accepted: accepted).status == 200)
        let elsewhere = #"{"id":"evt_x","type":"customer.updated"}"#
        #expect(try await running.post("/webhooks/stripe", headers: Self.stripeHeaders(elsewhere, secret: "whsec_tenant_A"), body: elsewhere).status == 401,
                "an endpoint's secret opens only that endpoint")

        // Rotation: both secrets verify while the provider switches over.
        try await TestStack.onThread {
            _ = try store.setSecrets(provider: "stripe", endpoint: "venue-7", secrets: ["whsec_tenant_B", "whsec_tenant_A"], on: try PostgresConnection(database))
        }
        #expect(try await Self.eventually(200, running, path: path, secret: "whsec_tenant_B", event: "d", accepted: accepted).status == 200)
        #expect(try await Self.eventually(200, running, path: path, secret: "whsec_tenant_A", event: "e", accepted: accepted).status == 200)

        try await TestStack.onThread { try store.setEnabled(provider: "stripe", endpoint: "venue-7", false, on: try PostgresConnection(database)) }
        let disabled = try await Self.eventually(404, running, path: path, secret: "whsec_tenant_B", event: "f", accepted: accepted)
        #expect(disabled.text.contains("urn:junction:problem:endpoint-disabled"))

        try await TestStack.onThread { try store.remove(provider: "stripe", endpoint: "venue-7", on: try PostgresConnection(database)) }
        #expect(try await Self.eventually(200, running, path: path, secret: Self.envSecret, event: "g", accepted: accepted).status == 200)

        let jobs = try await running.jobs()
        #expect(Set(jobs.compactMap { $0.payload["endpoint"]?.stringValue }) == ["venue-7"])
        #expect(Set(jobs.compactMap { $0.payload["event_id"]?.stringValue }) == accepted.ids, "exactly the accepted deliveries were enqueued")
        #expect(!running.ingress.lines.contains { $0.contains("whsec_tenant") }, "secrets never reach the logs")
        try await running.stop()
    }

    @Test func aRegisteredEndpointsTenantAndConnectionReachEveryEventItReceives() async throws {
        let stack = try await TestStack.shared()
        let database = try await stack.migratedDatabase()
        let store = WebhookEndpointStore(keys: try KeyRing(parsing: TestStack.encryptionKeys))
        let token = "mc" + Identifiers.uuid().replacingOccurrences(of: "-", with: "")
        let connection = try await TestStack.onThread {
            let db = try PostgresConnection(database)
            let id = try #require(try db.query("INSERT INTO connections (tenant, provider) VALUES ('venue-9', 'stripe') RETURNING id").rows.first)
                .decode("id", as: UUID.self)
            _ = try store.add(provider: "stripe", endpoint: "venue-9", secrets: ["whsec_tenant_9"], tenant: "venue-9", connection: id, on: db)
            _ = try store.add(provider: "mailchimp", endpoint: token, secrets: [token], tenant: "list-owner", on: db)
            return id
        }
        let running = try await IngressWebhookTests.start(stack, database: database, extra: ["JUNCTION_WEBHOOK_SECRETS_STRIPE": Self.envSecret])
        let registered = #"{"id":"evt_owned","type":"customer.updated"}"#
        #expect(try await running.post("/webhooks/stripe/venue-9", headers: Self.stripeHeaders(registered, secret: "whsec_tenant_9"), body: registered).status == 200)
        let unowned = #"{"id":"evt_unowned","type":"customer.updated"}"#
        #expect(try await running.post("/webhooks/stripe", headers: Self.stripeHeaders(unowned, secret: Self.envSecret), body: unowned).status == 200)
        let sample = MailchimpWebhookScheme().sample(url: "http://127.0.0.1:\(running.port)/webhooks/mailchimp/\(token)", secret: token, eventType: nil, now: Date())
        let answer = try await running.http.send(OutboundRequest(method: "POST", url: sample.url, headers: sample.headers.map { (name: $0.key, value: $0.value) }, body: sample.body))
        #expect(answer.status == 200, "\(answer.text)")

        let jobs = Dictionary(uniqueKeysWithValues: try await running.jobs().map { ($0.payload["provider"]?.stringValue == "mailchimp" ? "mailchimp" : $0.payload["event_id"]?.stringValue ?? "", $0) })
        let owned = try #require(jobs["evt_owned"])
        #expect(owned.tenant == "venue-9" && owned.connection == connection.uuidString.lowercased() && owned.provider == "stripe")
        #expect(owned.payload["tenant"] == "venue-9" && owned.payload["connection"]?.stringValue == connection.uuidString.lowercased())
        let plain = try #require(jobs["evt_unowned"])
        #expect(plain.tenant == nil && plain.payload["tenant"] == nil && plain.payload["connection"] == nil)
        let mailchimp = try #require(jobs["mailchimp"])
        #expect(mailchimp.tenant == "list-owner" && mailchimp.payload["endpoint"]?.stringValue == String(token.prefix(4)) + "…")
        #expect(!(try await running.rawJobs()).contains { $0.contains(token) }, "no stored job holds the Mailchimp URL token")

        // The worker stores each event under the endpoint's tenant and connection.
        let worker = try await WorkerProcessTests.startWorker(stack, queue: running.queue, database: database)
        try await QueueKit.eventually("the three events are stored") { try await WorkerProcessTests.stats(stack, running.queue).counters["processed"] == 3 }
        let rows = try await TestStack.onThread {
            try PostgresConnection(database).query("SELECT provider, event_id, tenant, connection_id FROM webhook_events").rows.map {
                (try $0.decode("provider", as: String.self), try $0.decode("event_id", as: String.self),
                 try $0.decode("tenant", as: String?.self), try $0.decode("connection_id", as: UUID?.self))
            }
        }
        #expect(rows.count == 3)
        #expect(rows.contains { $0.1 == "evt_owned" && $0.2 == "venue-9" && $0.3 == connection })
        #expect(rows.contains { $0.1 == "evt_unowned" && $0.2 == nil && $0.3 == nil })
        #expect(rows.contains { $0.0 == "mailchimp" && $0.2 == "list-owner" && $0.3 == nil })
        #expect(try await worker.stop() == 0)
        try await running.stop()
        #expect(!running.ingress.lines.contains { $0.contains(token) } && !worker.lines.contains { $0.contains(token) }, "the token never reaches the logs")
    }

    @Test func endpointDeliveriesWaitFor503UntilTheSecretsCanBeRead() async throws {
        // A database without the table stands for PostgreSQL being unreadable at start-up.
        let stack = try await TestStack.shared()
        let running = try await IngressWebhookTests.startUnready(stack, database: try await stack.freshDatabase())
        let body = #"{"id":"evt_wait","type":"customer.updated"}"#
        let response = try await running.post("/webhooks/stripe/venue-8", headers: Self.stripeHeaders(body, secret: IngressWebhookTests.stripeSecret), body: body)
        #expect(response.status == 503 && response.header("Retry-After") == "5")
        #expect(response.text.contains("endpoint-unavailable"))
        let ready = try await running.http.send(OutboundRequest(url: "http://127.0.0.1:\(running.port)/health/ready"))
        #expect(ready.status == 503 && ready.text.contains("webhook_endpoints"))
        let token = "Zt4kWq9PpL2mYx8s"
        let form = "type=subscribe&fired_at=2026-11-21+17%3A01%3A43&data%5Bemail%5D=zoe%40example.com"
        #expect(try await running.post("/webhooks/mailchimp/\(token)", headers: [("Content-Type", "application/x-www-form-urlencoded")], body: form).status == 503)
        try await running.ingress.waitForLine(containing: #""endpoint":"Zt4k…""#)
        #expect(!running.ingress.lines.contains { $0.contains(token) }, "the log names a Mailchimp endpoint without its URL token")
        // The provider-wide path does not depend on the store.
        #expect(try await running.post("/webhooks/stripe", headers: Self.stripeHeaders(body, secret: IngressWebhookTests.stripeSecret), body: body).status == 200)
        #expect(try await running.jobs().count == 1)
        try await running.stop()
    }

    @Test func eventTypesGoToTheirConfiguredPriorityLists() async throws {
        let running = try await IngressWebhookTests.start(try await TestStack.shared(), extra: [
            "JUNCTION_WEBHOOK_SECRETS_STRIPE": Self.envSecret,
            "JUNCTION_WEBHOOK_PRIORITY_STRIPE": "invoice.payment_failed=critical,invoice.*=high,*=low",
        ])
        for (id, type) in [("evt_p1", "invoice.payment_failed"), ("evt_p2", "invoice.paid"), ("evt_p3", "customer.updated")] {
            let body = #"{"id":"\#(id)","type":"\#(type)"}"#
            #expect(try await running.post("/webhooks/stripe", headers: Self.stripeHeaders(body, secret: Self.envSecret), body: body).status == 200)
        }
        let byEvent = Dictionary(uniqueKeysWithValues: try await running.jobs().map { ($0.payload["event_id"]?.stringValue ?? "", $0.priority) })
        #expect(byEvent == ["evt_p1": .critical, "evt_p2": .high, "evt_p3": .low])
        // And the job ids sit in those lists.
        let lengths = try await TestStack.onThread { [queue = running.queue, redis = running.stack.redis] in
            let connection = try RedisConnection(redis)
            return try JobPriority.allCases.map { try connection.command("LLEN", RedisArgument(queue.settings.keys.queue($0))).int() }
        }
        #expect(lengths == [1, 1, 0, 1])
        try await running.stop()
    }

    @Test func endpointsAreManagedFromTheCommandLineWithSecretsOnStandardInput() async throws {
        let stack = try await TestStack.shared()
        let database = try await stack.migratedDatabase()
        let environment = stack.environment(database: database)
        let add = try ChildProcess(junction: "junction", arguments: ["endpoints", "add", "github", "org-1", "--tenant", "acme"],
                                   environment: environment, input: "gh-secret-1\n")
        #expect(try await add.exitStatus() == 0, "\(add.standardError)")
        let rotate = try ChildProcess(junction: "junction", arguments: ["endpoints", "rotate", "github", "org-1"], environment: environment, input: "gh-secret-2\n")
        #expect(try await rotate.exitStatus() == 0, "\(rotate.standardError)")
        #expect(rotate.lines == ["github/org-1 now has 2 secrets"])
        let mailchimp = try ChildProcess(junction: "junction", arguments: ["endpoints", "add", "mailchimp", "--generate"], environment: environment)
        #expect(try await mailchimp.exitStatus() == 0, "\(mailchimp.standardError)")
        let token = try #require(mailchimp.lines.first { $0.hasPrefix("secret: ") }).dropFirst(8)
        #expect(token.count == 43)
        let list = try ChildProcess(junction: "junction", arguments: ["endpoints", "list"], environment: environment)
        #expect(try await list.exitStatus() == 0)
        #expect(list.lines.count == 2)
        #expect(list.lines.contains { $0.hasPrefix("github/org-1  enabled  2 secrets  key test1") && $0.hasSuffix("tenant acme") })
        #expect(!list.standardOutput.contains("gh-secret") && !list.standardOutput.contains(token), "list never shows secrets")
        let stored = try await TestStack.onThread {
            try WebhookEndpointStore(keys: try KeyRing(parsing: TestStack.encryptionKeys)).find(provider: "github", endpoint: "org-1", on: try PostgresConnection(database))
        }
        #expect(stored?.secrets == ["gh-secret-2", "gh-secret-1"])
        let status = try ChildProcess(junction: "junction", arguments: ["keys", "status"], environment: environment)
        #expect(try await status.exitStatus() == 0)
        #expect(status.lines == ["test1 (active)  2 webhook endpoints, 0 credentials"])
        let missing = try ChildProcess(junction: "junction", arguments: ["endpoints", "remove", "github", "nope"], environment: environment)
        #expect(try await missing.exitStatus() == 66)
        #expect(missing.standardError.contains("no github endpoint is named nope"))
        let noKeys = try ChildProcess(junction: "junction", arguments: ["endpoints", "list"], environment: environment.filter { $0.key != "JUNCTION_ENCRYPTION_KEYS" })
        #expect(try await noKeys.exitStatus() == 78)
        #expect(noKeys.standardError.contains("JUNCTION_ENCRYPTION_KEYS is not set"))
    }
}
