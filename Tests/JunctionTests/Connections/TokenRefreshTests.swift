import Foundation
import JunctionCore
import JunctionQueue
import JunctionStores
import Testing

/// Refreshing tokens across a fleet: real worker processes, the sandbox's token endpoints with
/// their real rotation rules, Redis locks and PostgreSQL compare-and-set.
@Suite("Token refresh", .serialized)
struct TokenRefreshTests {
    static func expire(_ stack: ConnectStack, _ id: UUID) async throws {
        _ = try await stack.onDatabase { try $0.query("UPDATE credentials SET expires_at = now() - interval '1 minute' WHERE connection_id = \(id)") }
    }

    /// Attempts of `type` that failed (`job_runs` records failed attempts).
    static func failed(_ stack: ConnectStack, _ type: String) async throws -> Int {
        try await stack.onDatabase { database in
            try database.query("SELECT count(*)::bigint AS n FROM job_runs WHERE job_type = \(type)").first!.decode("n", as: Int.self)
        }
    }

    /// Checks the workers logged as done.
    static func checked(_ stack: ConnectStack) -> Int {
        stack.workers.map { $0.lines.filter { $0.contains("\"msg\":\"connection checked\"") }.count }.reduce(0, +)
    }

    /// Sixteen jobs in two worker processes need one connection whose single-use refresh token
    /// must be used: exactly one reaches the token endpoint, all sixteen run with the new token.
    @Test func sixteenJobsInTwoWorkersRefreshASingleUseTokenExactlyOnce() async throws {
        try await ConnectStack.with(workers: 2, extra: ["JUNCTION_WORKER_CONCURRENCY": "8"]) { stack in
            let id = try await stack.connect("square", tenant: "tenant-a")
            let before = try #require(try await stack.credential(id))
            // The old access token stops working at the provider, and Junction sees it expired.
            let revoked = try await stack.sandbox.send("POST", "/square/oauth2/revoke", headers: [("Content-Type", "application/json")],
                                                       body: #"{"access_token":"\#(before.tokens.access)"}"#)
            #expect(revoked.status == 200 && revoked.text.contains("true"))
            try await Self.expire(stack, id)
            #expect(try await stack.sandbox.send("DELETE", "/_sandbox/requests").status == 204)

            try await stack.enqueue((0..<16).map { index in
                JobRequest(type: "connection.check", payload: ["connection": .string(id.uuidString.lowercased()), "n": .integer(Int64(index))], priority: .high)
            })
            try await QueueKit.eventually("all sixteen checks succeeded", limit: .seconds(60)) { Self.checked(stack) == 16 }
            #expect(try await Self.failed(stack, "connection.check") == 0, "no attempt failed")
            #expect(stack.workers.allSatisfy { $0.lines.contains { $0.contains("\"msg\":\"connection checked\"") } }, "both workers ran checks")

            let refreshes = try await stack.tokenCalls("square", grant: "refresh_token")
            #expect(refreshes.count == 1, "exactly one refresh reached the token endpoint, not \(refreshes.count)")
            let calls = try await stack.sandbox.requests("square").filter { ($0["path"] as? String) == "/v2/merchants/me" }
            #expect(calls.count == 16, "each job called once, with a token the provider accepted (a 401 would have meant a second call): \(calls.count)")
            let after = try #require(try await stack.credential(id))
            #expect(after.version == before.version + 1 && after.tokens.access != before.tokens.access && after.tokens.refresh != before.tokens.refresh)
            #expect(try await stack.connection(id)?.status == .active)
            #expect(try await stack.onDatabase { try CredentialVault(keys: try KeyRing(parsing: TestStack.encryptionKeys)).interruptedRefresh(id, on: $0) } == nil)
        }
    }

    /// The refresher is SIGKILLed after the provider rotated the single-use token and before the
    /// answer is stored. The next refresh finds the marker and does not present the dead token: the
    /// connection needs the tenant, and says why.
    @Test func aRefresherKilledBetweenTheAnswerAndTheWriteLeavesAMarkerAndTheDeadTokenIsNotSentAgain() async throws {
        // A short provider timeout makes the connection lock short (2 × 2 s + 5 s).
        try await ConnectStack.with(workers: 1, extra: ["JUNCTION_PROVIDER_TIMEOUT": "2s", "JUNCTION_WORKER_LEASE": "5s"]) { stack in
            let id = try await stack.connect("square", tenant: "tenant-a")
            let before = try #require(try await stack.credential(id))
            try await Self.expire(stack, id)

            // Hold the credential row, so the worker's write waits after the provider answered.
            let holder = try await RowHolder.hold(stack.database, id: id)
            try await stack.enqueue([JobRequest(type: "token.refresh", payload: ["connection": .string(id.uuidString.lowercased()), "force": true], priority: .high)])
            try await QueueKit.eventually("the refresh reached the provider", limit: .seconds(30)) {
                try await stack.tokenCalls("square", grant: "refresh_token").count == 1
            }
            try await QueueKit.eventually("the worker waits to write the answer", limit: .seconds(30)) { try await holder.someoneWaits() }
            _ = try await stack.workers[0].stop(signal: SIGKILL)
            try await holder.release()

            // The provider rotated the token; Junction never stored the answer.
            #expect(try await stack.credential(id)?.version == before.version)
            let marker = try await stack.onDatabase { try CredentialVault(keys: try KeyRing(parsing: TestStack.encryptionKeys)).interruptedRefresh(id, on: $0) }
            #expect(marker != nil, "the marker shows the refresh that never finished")

            // The next refresh (a new worker; the dead one's lock expires) reads the marker.
            try await stack.startWorker()
            try await stack.enqueue([JobRequest(type: "token.refresh", payload: ["connection": .string(id.uuidString.lowercased()), "force": true], priority: .high)])
            let stuck = try await stack.waitFor(id, "the connection needs the tenant", limit: .seconds(60)) { $0.status == .needsReauth }
            #expect(stuck.reason?.hasPrefix("refresh_interrupted") == true, "\(stuck.reason ?? "")")
            #expect(try await stack.tokenCalls("square", grant: "refresh_token").count == 1, "the dead single-use token was not presented again")

            // What presenting it would have met: the provider refuses the rotated token.
            let dead = try await stack.sandbox.send("POST", "/square/oauth2/token", headers: [("Content-Type", "application/json")],
                                                    body: #"{"client_id":"\#(SandboxClient.clientID)","grant_type":"refresh_token","refresh_token":"\#(before.tokens.refresh ?? "")"}"#)
            #expect(dead.status == 400 && dead.text.contains("invalid_grant"))
            let events = try await stack.onDatabase { try ConnectionStore().events(id, on: $0) }
            #expect(events.last?.toStatus == "needs_reauth" && events.last?.reason?.contains("refresh_interrupted") == true)
        }
    }

    /// A rotating refresh token refused (`invalid_grant`) makes the connection `needs_reauth`
    /// with the provider's reason; jobs that need it stop with `unauthorized`.
    @Test func aRefusedRefreshTokenMakesTheConnectionNeedTheTenantUntilTheyReconnectIt() async throws {
        try await ConnectStack.with { stack in
            let id = try await stack.connect("quickbooks", tenant: "tenant-a")
            let before = try #require(try await stack.credential(id))
            // The tenant revoked the app: the refresh token is dead at the provider.
            _ = try await stack.sandbox.send("POST", "/quickbooks/v2/oauth2/tokens/revoke", headers: [("Content-Type", "application/x-www-form-urlencoded")],
                                             body: "token=\(before.tokens.refresh ?? "")")
            try await Self.expire(stack, id)
            try await stack.enqueue([JobRequest(type: "connection.check", payload: ["connection": .string(id.uuidString.lowercased())], priority: .high)])
            let stuck = try await stack.waitFor(id, "needs the tenant") { $0.status == .needsReauth }
            #expect(stuck.reason?.contains("invalid_grant") == true, "\(stuck.reason ?? "")")
            #expect(try await stack.credential(id)?.version == before.version, "nothing was stored")

            // The tenant is sent through the flow again for the same connection: a denial leaves it
            // needing them, an approval makes it active again, same id.
            let reconnect = "return_url=\(ConnectStack.returnURL)&connection=\(id.uuidString.lowercased())"
            let denied = try stack.sandbox.json(try await stack.initiate("quickbooks", tenant: "tenant-a", query: reconnect))
            #expect(try ConnectStack.connectionID(denied) == id)
            let deniedState = try #require(ConnectStack.query(try ConnectStack.authorizeURL(denied))["state"])
            let answer = try await stack.get("\(stack.ingressURL)/oauth/quickbooks/callback?error=access_denied&state=\(deniedState)")
            #expect(ConnectStack.query(answer.header("Location"))["reason"] == "access_denied")
            #expect(try await stack.connection(id)?.status == .needsReauth)
            let approved = try stack.sandbox.json(try await stack.initiate("quickbooks", tenant: "tenant-a", query: reconnect))
            let done = try await stack.callback(try await stack.authorize(try ConnectStack.authorizeURL(approved)))
            #expect(ConnectStack.query(done.header("Location"))["status"] == "connected", "\(done.header("Location") ?? done.text)")
            let back = try #require(try await stack.connection(id))
            #expect(back.status == .active && back.externalAccountID == SandboxClient.quickBooksRealm)
            #expect(try await stack.credential(id)?.version == before.version + 1)
            let events = try await stack.onDatabase { try ConnectionStore().events(id, on: $0) }
            #expect(events.suffix(2).map { "\($0.fromStatus ?? "-")->\($0.toStatus ?? "-")" } == ["active->needs_reauth", "needs_reauth->active"])
        }
    }

    /// A token endpoint that keeps failing (5xx) is retried with back-off; once refreshes have
    /// failed for `JUNCTION_TOKEN_REFRESH_GIVE_UP` the connection needs the tenant.
    @Test func refreshesFailingLongerThanTheGiveUpMakeTheConnectionNeedTheTenant() async throws {
        try await ConnectStack.with(extra: ["JUNCTION_TOKEN_REFRESH_GIVE_UP": "1500ms"]) { stack in
            let id = try await stack.connect("quickbooks", tenant: "tenant-a")
            try await stack.sandbox.fault("quickbooks", ["error_rate": 1, "error_status": 503])
            // Attempts enough for the back-off to outlast the give-up (0.25 s, 0.5 s, 1 s, … on `high`).
            try await stack.enqueue([JobRequest(type: "token.refresh", payload: ["connection": .string(id.uuidString.lowercased()), "force": true],
                                                priority: .high, maxAttempts: 12)])
            let stuck = try await stack.waitFor(id, "given up", limit: .seconds(60)) { $0.status == .needsReauth }
            #expect(stuck.reason?.contains("refreshes have failed since") == true && stuck.reason?.contains("503") == true, "\(stuck.reason ?? "")")
            let calls = try await stack.tokenCalls("quickbooks", grant: "refresh_token").count
            #expect(calls >= 2, "retried before giving up: \(calls) calls")
            let credential = try #require(try await stack.credential(id))
            #expect(credential.refreshFailures == calls && credential.failingSince != nil)
        }
    }

    /// A token the provider refuses before it expires (revoked at the provider): the job's 401
    /// gets one refresh and one retry, which succeeds.
    @Test func aRefusedAccessTokenIsRefreshedOnceAndTheCallRetriedOnce() async throws {
        try await ConnectStack.with { stack in
            let id = try await stack.connect("quickbooks", tenant: "tenant-a")
            let before = try #require(try await stack.credential(id))
            let revoked = try await stack.sandbox.send("POST", "/quickbooks/v2/oauth2/tokens/revoke", headers: [("Content-Type", "application/x-www-form-urlencoded")],
                                                       body: "token=\(before.tokens.access)")
            #expect(revoked.status == 200)
            try await stack.enqueue([JobRequest(type: "connection.check", payload: ["connection": .string(id.uuidString.lowercased())], priority: .high)])
            let checked = try await stack.waitFor(id, "checked") { $0.health["last_check"] != nil }
            #expect(checked.health["last_check"]?["status"]?.intValue == 200 && checked.status == .active)
            #expect(try await stack.tokenCalls("quickbooks", grant: "refresh_token").count == 1)
            let calls = try await stack.sandbox.requests("quickbooks").filter { ($0["path"] as? String)?.contains("/companyinfo/") == true }
            #expect(calls.count == 2, "the refused call and its one retry")
            #expect(try await stack.credential(id)?.version == before.version + 1)
        }
    }

    /// The scheduler enqueues one refresh per connection and expiry (two schedulers, one
    /// refresh); the refresh keeps the rotating token's newest value. Flows nobody finished are
    /// given up once their state expired, and tokens that never expire are checked now and then.
    @Test func theSchedulerRefreshesTokensBeforeTheyExpireOnceAndGivesUpAbandonedFlows() async throws {
        try await ConnectStack.with(extra: ["JUNCTION_CONNECTION_CHECK_INTERVAL": "2s"]) { stack in
            let id = try await stack.connect("quickbooks", tenant: "tenant-a")
            let before = try #require(try await stack.credential(id))
            // Stripe's Connect token never expires: it gets the periodic check instead.
            let lasting = try await stack.connect("stripe", tenant: "tenant-a")
            _ = try await stack.onDatabase { try $0.query("UPDATE credentials SET expires_at = now() + interval '5 minutes' WHERE connection_id = \(id)") }
            // A flow the tenant never finished, started 16 minutes ago, and one started just now.
            let abandoned = try ConnectStack.connectionID(try stack.sandbox.json(try await stack.initiate("square", tenant: "tenant-a")))
            let fresh = try ConnectStack.connectionID(try stack.sandbox.json(try await stack.initiate("square", tenant: "tenant-a")))
            _ = try await stack.onDatabase { try $0.query("UPDATE connections SET created_at = now() - interval '16 minutes' WHERE id = \(abandoned)") }
            let schedulers = try await [0, 1].asyncMap { _ in
                let scheduler = try ChildProcess(junction: "junction-scheduler", environment: stack.environment)
                try await scheduler.waitForLine(containing: "\"msg\":\"scheduler started\"")
                return scheduler
            }
            try await QueueKit.eventually("refreshed", limit: .seconds(30)) { try await stack.credential(id)?.version == before.version + 1 }
            let after = try #require(try await stack.credential(id))
            #expect(after.tokens.refresh != before.tokens.refresh, "QuickBooks rotated the refresh token, and the newest is stored")
            #expect(after.tokens.expiresAt.map { $0 > Date() + 1800 } == true, "the new token lives an hour")
            try await Task.sleep(for: .seconds(1))
            #expect(try await stack.tokenCalls("quickbooks", grant: "refresh_token").count == 1, "two schedulers, one refresh")
            let checked = try await stack.waitFor(lasting, "the never-expiring token was checked") { $0.health["last_check"] != nil }
            #expect(checked.health["last_check"]?["status"]?.intValue == 200)
            let given = try await stack.waitFor(abandoned, "the abandoned flow is given up") { $0.status == .error }
            #expect(given.reason?.hasPrefix("abandoned") == true)
            #expect(try await stack.connection(fresh)?.status == .pending, "a flow in progress is left alone")
            for scheduler in schedulers { _ = try await scheduler.stop() }
        }
    }
}

/// Holds a `credentials` row lock in a transaction of its own until released, and tells whether
/// another session waits for it. Its connection is used from one test thread at a time.
final class RowHolder: @unchecked Sendable {
    private let connection: PostgresConnection

    private init(connection: PostgresConnection) {
        self.connection = connection
    }

    static func hold(_ configuration: PostgresConfiguration, id: UUID) async throws -> RowHolder {
        let holder = try await TestStack.onThread { RowHolder(connection: try PostgresConnection(configuration)) }
        _ = try await TestStack.onThread {
            try holder.connection.query("BEGIN")
            return try holder.connection.query("SELECT 1 FROM credentials WHERE connection_id = \(id) FOR UPDATE").rows.count
        }
        return holder
    }

    func someoneWaits() async throws -> Bool {
        try await TestStack.onThread {
            try self.connection.query("""
                SELECT count(*)::bigint AS n FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock' AND pid <> pg_backend_pid()
                """).first!.decode("n", as: Int.self) > 0
        }
    }

    func release() async throws {
        _ = try await TestStack.onThread {
            try self.connection.query("ROLLBACK")
            self.connection.close()
        }
    }
}

extension Array {
    func asyncMap<T>(_ transform: (Element) async throws -> T) async rethrows -> [T] {
        var results: [T] = []
        for element in self { results.append(try await transform(element)) }
        return results
    }
}
