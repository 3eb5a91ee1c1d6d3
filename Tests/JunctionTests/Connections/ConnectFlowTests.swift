import Foundation
import JunctionCore
import JunctionProviders
import JunctionQueue
import JunctionStores
import Testing

/// The connect flow end to end: the real ingress and worker processes, the sandbox as each
/// provider, Redis and PostgreSQL.
@Suite("Connect flow", .serialized)
struct ConnectFlowTests {
    @Test func eachProviderConnectsToAnActiveConnectionWithEncryptedCredentialsAndItsAccount() async throws {
        try await ConnectStack.with { stack in
            let expected = ["stripe": "acct_1SandboxJunction", "square": "ML8M1AQ1GQG2K", "quickbooks": SandboxClient.quickBooksRealm, "mailchimp": "us6"]
            for provider in ConnectStack.providers {
                let id = try await stack.connect(provider, tenant: "tenant-a")
                let connection = try #require(try await stack.connection(id))
                #expect(connection.status == .active && connection.tenant == "tenant-a" && connection.provider == provider)
                #expect(connection.externalAccountID == expected[provider], "\(provider): \(connection.externalAccountID ?? "none")")
                let credential = try #require(try await stack.credential(id), "\(provider) has credentials")
                #expect(!credential.tokens.access.isEmpty && credential.keyID == "test1")
                switch provider {
                case "square", "quickbooks":
                    #expect(credential.tokens.refresh != nil && credential.tokens.expiresAt != nil, "\(provider) tokens expire and refresh")
                case "mailchimp":
                    #expect(credential.tokens.expiresAt == nil && connection.metadata["api_endpoint"]?.stringValue == stack.sandbox.url)
                default:
                    #expect(credential.tokens.expiresAt == nil)
                }
                // The token works: the worker's health check with it passes.
                try await stack.enqueue([JobRequest(type: "connection.check", payload: ["connection": .string(id.uuidString.lowercased())], priority: .high)])
                let checked = try await stack.waitFor(id, "\(provider) checked") { $0.health["last_check"]?["status"]?.intValue != nil }
                #expect(checked.health["last_check"]?["status"]?.intValue == 200, "\(provider): \(checked.health)")
                let events = try await stack.onDatabase { try ConnectionStore().events(id, on: $0) }
                #expect(events.map(\.event) == ["created", "status"] && events.last?.toStatus == "active" && events.last?.actor.hasPrefix("worker:") == true)
            }
            // Square's flow is PKCE: the exchange carried the verifier, and no client secret.
            let exchange = try #require(try await stack.tokenCalls("square", grant: "authorization_code").first?["body"] as? String)
            #expect(exchange.contains("code_verifier") && !exchange.contains("client_secret"))
            let codes = try await stack.tokenCalls("quickbooks", grant: "authorization_code")
            #expect(codes.count == 1 && ((codes[0]["body"] as? String) ?? "").contains("redirect_uri=http%3A%2F%2Fjunction.test%2Foauth%2Fquickbooks%2Fcallback"))
        }
    }

    /// The seven providers the sandbox plays from their descriptions: each connects, refreshes by
    /// its own rule (reusable, rotating, single use), and is revoked where it has a revoke endpoint.
    @Test func everyOtherProvidersFlowRunsEndToEndByItsOwnRules() async throws {
        try await ConnectStack.with { stack in
            let clients = try OAuthClients(environment: EnvironmentVariables(stack.environment))
            let http = OutboundHTTPClient(connections: 1)
            defer { Task { await http.shutdown() } }
            let others = Providers.all.filter { $0.oauth != nil && !ConnectStack.providers.contains($0.id) }
            #expect(others.map(\.id).sorted() == ["box", "dropbox", "gohighlevel", "google", "hubspot", "keap", "shopify"])
            for provider in others {
                let flow = try #require(provider.oauth)
                let id = try await stack.connect(provider.id, tenant: "tenant-g")
                let connection = try #require(try await stack.connection(id))
                #expect(connection.status == .active, "\(provider.id)")
                if case .callback("shop")? = flow.accountID { #expect(connection.externalAccountID == "venue-42.myshopify.com") }
                let first = try #require(try await stack.credential(id))
                #expect((first.tokens.expiresAt != nil) == (flow.accessTokenLifetime != nil), "\(provider.id)'s token lifetime")
                #expect((first.tokens.refresh != nil) == (flow.refresh != .none), "\(provider.id) gives a refresh token (offline access asked for)")
                let exchange = try #require(try await stack.tokenCalls(provider.id, grant: "authorization_code").first?["body"] as? String)
                #expect(exchange.contains("code_verifier") == flow.pkce, "\(provider.id) PKCE")
                guard flow.refresh != .none, let client = clients.client(for: provider.id) else { continue }

                try await stack.enqueue([JobRequest(type: "token.refresh", payload: ["connection": .string(id.uuidString.lowercased()), "force": true], priority: .high)])
                try await QueueKit.eventually("\(provider.id) refreshed") { try await stack.credential(id)?.version == first.version + 1 }
                let second = try #require(try await stack.credential(id))
                #expect(second.tokens.access != first.tokens.access)
                // The old refresh token, presented again: only a single-use one is dead.
                let old = try await http.send(OAuthRequests(client).refresh(try #require(first.tokens.refresh), shop: connection.externalAccountID))
                switch flow.refresh {
                case .reusable:
                    #expect(second.tokens.refresh == first.tokens.refresh, "\(provider.id) keeps its refresh token")
                    #expect(old.status == 200)
                case .rotating:
                    #expect(second.tokens.refresh != first.tokens.refresh, "\(provider.id) rotates, and the newest is stored")
                    #expect(old.status == 200, "\(provider.id)'s old refresh token still works for a while")
                case .singleUse:
                    #expect(second.tokens.refresh != first.tokens.refresh, "\(provider.id) rotates")
                    #expect(old.status == 400 && old.text.contains("invalid_grant"), "\(provider.id)'s old refresh token is dead")
                case .none: break
                }
                guard flow.revokeURL != nil else { continue }
                let revoked = try await CredentialSecrecyTests.cli(stack, ["connections", "revoke", id.uuidString.lowercased()])
                #expect(revoked.standardOutput.contains("disconnected") && revoked.standardOutput.contains("revoked at the provider"),
                        "\(provider.id): \(revoked.standardOutput) \(revoked.standardError)")
                let refused = try await http.send(OAuthRequests(client).refresh(try #require(second.tokens.refresh), shop: connection.externalAccountID))
                #expect(refused.status == 400, "\(provider.id): the revoked refresh token is refused")
            }
        }
    }

    /// Deleting a connection revokes its tokens at the provider, erases its credentials and its
    /// schedules, and keeps its audit trail.
    @Test func deletingAConnectionRevokesErasesAndKeepsTheAuditTrail() async throws {
        try await ConnectStack.with { stack in
            let id = try await stack.connect("square", tenant: "tenant-a")
            let tokens = try #require(try await stack.credential(id)).tokens
            let name = "square-sync-\(id.uuidString.lowercased())"
            _ = try await stack.onDatabase { database in
                try ScheduleStore().add(name: name, jobType: "system.noop", payload: [:], priority: .normal, tenant: "tenant-a",
                                        provider: "square", connection: id, rule: .every(.seconds(3600)), on: database)
            }
            let deleted = try await CredentialSecrecyTests.cli(stack, ["connections", "delete", id.uuidString.lowercased()])
            #expect(deleted.standardOutput.contains("deleted \(id.uuidString.lowercased())"), "\(deleted.standardOutput) \(deleted.standardError)")
            #expect(try await stack.connection(id) == nil)
            #expect(try await stack.credential(id) == nil)
            let left = try await stack.onDatabase { database in
                try database.query("SELECT count(*)::bigint AS n FROM schedules WHERE name = \(name)").first!.decode("n", as: Int.self)
            }
            #expect(left == 0, "its schedules are gone")
            let events = try await stack.onDatabase { try ConnectionStore().events(id, on: $0) }
            #expect(events.last?.event == "deleted" && events.last?.actor == "cli" && events.last?.reason?.contains("revoked at the provider") == true)
            // The provider no longer accepts the token.
            let call = try await stack.sandbox.send("GET", "/v2/merchants/me", headers: [("Authorization", "Bearer \(tokens.access)")])
            #expect(call.status == 401)
        }
    }

    /// Reconnecting a connection to another account than its own is refused: its synced data
    /// belongs to the first; the connection keeps working.
    @Test func aReconnectToAnotherAccountIsRefusedAndTheConnectionKeepsWorking() async throws {
        try await ConnectStack.with { stack in
            let id = try await stack.connect("shopify", tenant: "tenant-a")
            let query = "return_url=\(ConnectStack.returnURL)&connection=\(id.uuidString.lowercased())&shop=elsewhere.myshopify.com"
            let started = try stack.sandbox.json(try await stack.initiate("shopify", tenant: "tenant-a", query: query))
            let answer = try await stack.callback(try await stack.authorize(try ConnectStack.authorizeURL(started)))
            #expect(ConnectStack.query(answer.header("Location"))["reason"] == "exchange_failed", "\(answer.header("Location") ?? answer.text)")
            let connection = try #require(try await stack.connection(id))
            #expect(connection.status == .active && connection.externalAccountID == "venue-42.myshopify.com")
            #expect(connection.health["exchange_error"]?.stringValue?.contains("is for account venue-42.myshopify.com") == true)
        }
    }

    @Test func refusalsEndCleanlyAndStoreNothing() async throws {
        try await ConnectStack.with { stack in

            // Without mode=json the answer is the redirect itself.
            let straight = try await stack.get("\(stack.ingressURL)/oauth/square/initiate", headers: [("Authorization", "Bearer \(ConnectStack.token(tenant: "t"))")])
            #expect(straight.status == 302 && straight.header("Location")?.hasPrefix(stack.sandbox.url + "/square/oauth2/authorize?") == true)
            #expect(ConnectStack.query(straight.header("Location"))["code_challenge_method"] == "S256")

            // A return URL outside the allow-list, an unknown provider, no or a bad token.
            let open = try await stack.initiate("square", tenant: "t", query: "return_url=https://evil.example/steal")
            #expect(open.status == 400 && open.text.contains("return-url-not-allowed"))
            #expect(try await stack.initiate("nosuch", tenant: "t").status == 404)
            let anonymous = try await stack.get("\(stack.ingressURL)/oauth/square/initiate?mode=json")
            #expect(anonymous.status == 401 && anonymous.header("Content-Type") == "application/problem+json")
            for bad in [ConnectStack.token(tenant: "t", algorithm: "none"), ConnectStack.token(tenant: "t", issuer: "https://other/"),
                        ConnectStack.token(tenant: "t", audience: "someone-else"), ConnectStack.token(tenant: "t", expires: Date() - 120),
                        ConnectStack.token(tenant: "t", secret: "another-secret-that-is-long-enough-000000")] {
                let refused = try await stack.get("\(stack.ingressURL)/oauth/square/initiate?mode=json", headers: [("Authorization", "Bearer \(bad)")])
                #expect(refused.status == 401, "\(refused.status) \(refused.text)")
            }
            // Another tenant's connection cannot be reconnected: it reads as absent.
            let theirs = try await stack.connect("square", tenant: "tenant-b")
            let stolen = try await stack.initiate("square", tenant: "tenant-a", query: "connection=\(theirs.uuidString.lowercased())")
            #expect(stolen.status == 404)

            // A state never issued, and one used twice.
            let forged = try await stack.get("\(stack.ingressURL)/oauth/square/callback?code=abc&state=\(OAuthStateRecord.newState())")
            #expect(forged.status == 400 && forged.text.contains("invalid_state"))
            let started = try stack.sandbox.json(try await stack.initiate("quickbooks", tenant: "tenant-a"))
            let id = try ConnectStack.connectionID(started)
            let location = try await stack.authorize(try ConnectStack.authorizeURL(started))
            #expect(ConnectStack.query((try await stack.callback(location)).header("Location"))["status"] == "connected")
            let reused = try await stack.callback(location)
            #expect(reused.status == 400 && reused.text.contains("invalid_state"), "a state is consumed once")
            #expect(try await stack.connection(id)?.status == .active, "the reuse changed nothing")

            // A stored state copied under another state's key (a Redis writer's tampering): it is
            // sealed for its own state, so it opens for no other.
            let original = try stack.sandbox.json(try await stack.initiate("square", tenant: "tenant-a"))
            let originalState = try #require(ConnectStack.query(try ConnectStack.authorizeURL(original))["state"])
            let forgedState = OAuthStateRecord.newState()
            let space = RedisNamespace(stack.queue.settings.keys.namespace)
            let server = stack.stack.redis
            _ = try await TestStack.onThread {
                let connection = try RedisConnection(server)
                let value = try connection.command("GET", RedisArgument(OAuthStateRecord.key(originalState, namespace: space))).string() ?? ""
                return try connection.command("SET", RedisArgument(OAuthStateRecord.key(forgedState, namespace: space)), RedisArgument(value), "EX", "60")
            }
            let copied = try await stack.get("\(stack.ingressURL)/oauth/square/callback?code=abc&state=\(forgedState)")
            #expect(copied.status == 400 && copied.text.contains("invalid_state"))
            #expect(try await stack.connection(try ConnectStack.connectionID(original))?.status == .pending, "the original flow is untouched")

            // The provider's denial: the connection is in error, the tenant is told.
            let denied = try stack.sandbox.json(try await stack.initiate("square", tenant: "tenant-a"))
            let deniedID = try ConnectStack.connectionID(denied)
            let deniedState = try #require(ConnectStack.query(denied["authorize_url"] as? String)["state"])
            let answer = try await stack.get("\(stack.ingressURL)/oauth/square/callback?error=access_denied&error_description=user+said+no&state=\(deniedState)")
            let redirect = ConnectStack.query(answer.header("Location"))
            #expect(answer.status == 302 && answer.header("Location")?.hasPrefix(ConnectStack.returnURL) == true)
            #expect(redirect["status"] == "error" && redirect["reason"] == "access_denied" && redirect["connection"] == deniedID.uuidString.lowercased())
            let deniedConnection = try #require(try await stack.connection(deniedID))
            #expect(deniedConnection.status == .error && deniedConnection.reason?.contains("access_denied") == true)
            #expect(try await stack.credential(deniedID) == nil)

            // An expired state (Redis dropped it): refused like a forged one.
            let expiring = try stack.sandbox.json(try await stack.initiate("square", tenant: "tenant-a"))
            let expiringLocation = try await stack.authorize(try ConnectStack.authorizeURL(expiring))
            let expiringState = try #require(ConnectStack.query(expiringLocation)["state"])
            let namespace = RedisNamespace(stack.queue.settings.keys.namespace)
            let redis = stack.stack.redis
            _ = try await TestStack.onThread { try RedisConnection(redis).command("PEXPIRE", RedisArgument(OAuthStateRecord.key(expiringState, namespace: namespace)), "1") }
            try await Task.sleep(for: .milliseconds(20))
            #expect(try await stack.callback(expiringLocation).status == 400)

            // A code the provider refuses (forged, or its PKCE verifier wrong): the worker's exchange
            // fails, the connection is in error, nothing is stored, the tenant is redirected with the reason.
            let bad = try stack.sandbox.json(try await stack.initiate("square", tenant: "tenant-a"))
            let badID = try ConnectStack.connectionID(bad)
            let badState = try #require(ConnectStack.query(bad["authorize_url"] as? String)["state"])
            let failed = try await stack.get("\(stack.ingressURL)/oauth/square/callback?code=code_forged&state=\(badState)")
            let failure = ConnectStack.query(failed.header("Location"))
            #expect(failure["status"] == "error" && failure["reason"] == "exchange_failed", "\(failed.header("Location") ?? failed.text)")
            let badConnection = try #require(try await stack.connection(badID))
            #expect(badConnection.status == .error && badConnection.reason?.contains("invalid_grant") == true, "\(badConnection.reason ?? "")")
            #expect(try await stack.credential(badID) == nil)
        }
    }

    /// The callback's wait runs out while the provider is slow: the tenant is told `pending`, and
    /// the exchange still completes.
    @Test func aSlowExchangeRedirectsAsPendingAndStillCompletes() async throws {
        try await ConnectStack.with(extra: ["JUNCTION_OAUTH_EXCHANGE_WAIT": "300ms"]) { stack in
            try await stack.sandbox.fault("quickbooks", ["latency_ms": 1500])
            let started = try stack.sandbox.json(try await stack.initiate("quickbooks", tenant: "tenant-a"))
            let id = try ConnectStack.connectionID(started)
            let location = try await stack.authorize(try ConnectStack.authorizeURL(started))
            let answer = try await stack.callback(location)
            #expect(ConnectStack.query(answer.header("Location"))["status"] == "pending", "\(answer.header("Location") ?? answer.text)")
            let done = try await stack.waitFor(id, "the exchange completed") { $0.status == .active }
            #expect(done.externalAccountID == SandboxClient.quickBooksRealm)
        }
    }

    @Test func aWrongOrMissingPKCEVerifierIsRefusedByTheProviderAndStoresNothing() async throws {
        try await ConnectStack.with { stack in
            let started = try stack.sandbox.json(try await stack.initiate("square", tenant: "tenant-a"))
            let id = try ConnectStack.connectionID(started)
            let location = try await stack.authorize(try ConnectStack.authorizeURL(started))
            let code = try #require(ConnectStack.query(location)["code"])
            // The exchange a callback would enqueue, with another verifier than the challenge's.
            let keys = try KeyRing(parsing: TestStack.encryptionKeys)
            let exchange = OAuthExchangeRequest(connection: id, tenant: "tenant-a", provider: "square", code: code, verifier: PKCE.newVerifier(),
                                                redirectURI: "\(ConnectStack.publicURL)/oauth/square/callback", account: nil)
            try await stack.enqueue([JobRequest(type: OAuthExchangeRequest.jobType, payload: exchange.payload(keys: keys), priority: .critical,
                                                connection: id.uuidString.lowercased())])
            let failed = try await stack.waitFor(id, "the exchange failed") { $0.status == .error }
            #expect(failed.reason?.contains("code_verifier does not match") == true, "\(failed.reason ?? "")")
            #expect(try await stack.credential(id) == nil)

            // And with none at all.
            let again = try stack.sandbox.json(try await stack.initiate("square", tenant: "tenant-a"))
            let againID = try ConnectStack.connectionID(again)
            let againCode = try #require(ConnectStack.query(try await stack.authorize(try ConnectStack.authorizeURL(again)))["code"])
            let missing = OAuthExchangeRequest(connection: againID, tenant: "tenant-a", provider: "square", code: againCode, verifier: nil,
                                               redirectURI: "\(ConnectStack.publicURL)/oauth/square/callback", account: nil)
            try await stack.enqueue([JobRequest(type: OAuthExchangeRequest.jobType, payload: missing.payload(keys: keys), priority: .critical,
                                                connection: againID.uuidString.lowercased())])
            let refused = try await stack.waitFor(againID, "the exchange without a verifier failed") { $0.status == .error }
            #expect(refused.reason?.contains("code_verifier is required") == true, "\(refused.reason ?? "")")
        }
    }
}
