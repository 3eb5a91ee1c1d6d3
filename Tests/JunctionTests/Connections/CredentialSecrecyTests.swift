import Foundation
import JunctionCore
import JunctionProviders
import JunctionQueue
import JunctionStores
import Testing

/// Secrets stay secret: sealed in PostgreSQL, absent from Redis and from every log line, and still
/// readable after the encryption key is rotated under a running system. API keys become active
/// only once the provider accepts them.
@Suite("Credential secrecy", .serialized)
struct CredentialSecrecyTests {
    /// Runs `junction` with the stack's environment.
    static func cli(_ stack: ConnectStack, _ arguments: [String], input: String? = nil, environment extra: [String: String] = [:]) async throws -> ChildProcess {
        let process = try ChildProcess(junction: "junction", arguments: arguments, environment: stack.environment.merging(extra) { $1 }, input: input)
        _ = try await process.exitStatus()
        return process
    }

    static func redisDump(_ stack: ConnectStack) async throws -> String {
        let redis = stack.stack.redis
        let pattern = "{\(stack.queue.settings.keys.namespace)}*"
        return try await TestStack.onThread {
            let connection = try RedisConnection(redis)
            var text = ""
            for key in try connection.command("KEYS", RedisArgument(pattern)).array().compactMap({ try $0.string() }) {
                text += key + "\n"
                switch try connection.command("TYPE", RedisArgument(key)).string() {
                case "string": text += (try connection.command("GET", RedisArgument(key)).string() ?? "") + "\n"
                case "hash": text += try connection.command("HGETALL", RedisArgument(key)).array().compactMap { try $0.string() }.joined(separator: "\n")
                case "list": text += try connection.command("LRANGE", RedisArgument(key), "0", "-1").array().compactMap { try $0.string() }.joined(separator: "\n")
                case "zset": text += try connection.command("ZRANGE", RedisArgument(key), "0", "-1").array().compactMap { try $0.string() }.joined(separator: "\n")
                case "set": text += try connection.command("SMEMBERS", RedisArgument(key)).array().compactMap { try $0.string() }.joined(separator: "\n")
                default: break
                }
                text += "\n"
            }
            return text
        }
    }

    @Test func noTokenRefreshTokenOrAPIKeyAppearsInTheDatabaseRedisOrTheLogs() async throws {
        try await ConnectStack.with { stack in
            var secrets: [String] = [ConnectStack.jwtSecret, SandboxClient.clientSecret]
            var connections: [UUID] = []
            for provider in ConnectStack.providers {
                connections.append(try await stack.connect(provider, tenant: "tenant-a"))
            }
            for id in connections {
                let credential = try #require(try await stack.credential(id))
                secrets += [credential.tokens.access] + (credential.tokens.refresh.map { [$0] } ?? [])
            }
            // Rotate two (their old and new values are both secrets), and connect two API keys.
            for id in connections.prefix(3).suffix(2) {
                try await stack.enqueue([JobRequest(type: "token.refresh", payload: ["connection": .string(id.uuidString.lowercased()), "force": true], priority: .high)])
                _ = try await stack.waitFor(id, "refreshed") { $0.health["last_refresh_at"] != nil }
                let credential = try #require(try await stack.credential(id))
                secrets += [credential.tokens.access] + (credential.tokens.refresh.map { [$0] } ?? [])
            }
            let stripeKey = "sk_test_" + UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "")
            let added = try await Self.cli(stack, ["connections", "add-key", "--tenant", "tenant-a", "--provider", "stripe"], input: stripeKey + "\n")
            #expect(added.standardOutput.contains("  active  "), "\(added.standardOutput) \(added.standardError)")
            let mailchimpKey = "sandboxkey" + UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "") + "-us6"
            let mailchimp = try await Self.cli(stack, ["connections", "add-key", "--tenant", "tenant-a", "--provider", "mailchimp"], input: mailchimpKey + "\n")
            #expect(mailchimp.standardOutput.contains("  active  "), "\(mailchimp.standardOutput) \(mailchimp.standardError)")
            secrets += [stripeKey, mailchimpKey]
            #expect(secrets.allSatisfy { $0.count >= 16 }, "every secret is long enough that finding it is no accident")

            // What ops see: the list and a connection's page name no secret either.
            let listed = try await Self.cli(stack, ["connections", "list", "--tenant", "tenant-a"])
            #expect(listed.standardOutput.split(separator: "\n").count == 6)
            let shown = try await Self.cli(stack, ["connections", "show", connections[2].uuidString.lowercased()])
            #expect(shown.standardOutput.contains("refresh token stored") && shown.standardOutput.contains("under key test1"))

            // One flow left at the provider (its state, with a PKCE verifier, waits in Redis), and one
            // whose code the provider refuses (its exchange job, code sealed, waits in the dead letters).
            let waiting = try stack.sandbox.json(try await stack.initiate("square", tenant: "tenant-a"))
            let verifierState = try #require(ConnectStack.query(try ConnectStack.authorizeURL(waiting))["state"])
            let refusedFlow = try stack.sandbox.json(try await stack.initiate("square", tenant: "tenant-a"))
            let refusedState = try #require(ConnectStack.query(try ConnectStack.authorizeURL(refusedFlow))["state"])
            let forgedCode = "code_forged_" + UUID().uuidString.lowercased()
            _ = try await stack.get("\(stack.ingressURL)/oauth/square/callback?code=\(forgedCode)&state=\(refusedState)")
            secrets += [verifierState, refusedState, forgedCode]

            let dump = try ChildProcess("/usr/bin/pg_dump", arguments: ["--no-owner", stack.database.url], environment: ["PATH": "/usr/bin:/bin"])
            #expect(try await dump.exitStatus() == 0, "\(dump.standardError)")
            #expect(dump.standardOutput.contains("COPY public.credentials"), "the dump holds the credentials table")
            let redis = try await Self.redisDump(stack)
            #expect(redis.contains(":oauth:state:") && redis.contains("oauth.exchange"), "Redis holds a flow's state and a dead exchange job")
            let logs = ([stack.ingress] + stack.workers + [added, mailchimp, listed, shown]).map { $0.standardOutput + $0.standardError }.joined(separator: "\n")
            #expect(logs.contains("\"level\":\"debug\""), "the logs are at debug level")
            for secret in secrets {
                #expect(!dump.standardOutput.contains(secret), "a secret (\(secret.prefix(6))…) is in pg_dump")
                #expect(!redis.contains(secret), "a secret (\(secret.prefix(6))…) is in Redis")
                #expect(!logs.contains(secret), "a secret (\(secret.prefix(6))…) is in a log")
            }
            // The authorization codes the sandbox issued passed through Redis and the logs too.
            let codes = try await stack.sandbox.requests("square").compactMap { ($0["body"] as? String)?.split(separator: "\"").first { $0.hasPrefix("code_") } }
            #expect(!codes.isEmpty)
            for code in codes {
                #expect(!redis.contains(String(code)) && !logs.contains(String(code)) && !dump.standardOutput.contains(String(code)))
            }
        }
    }

    @Test func anAPIKeyTheProviderRefusesLeavesTheConnectionInError() async throws {
        try await ConnectStack.with { stack in
            let refused = try await Self.cli(stack, ["connections", "add-key", "--tenant", "tenant-a", "--provider", "stripe"], input: "rk_live_not_a_sandbox_key\n")
            #expect(refused.standardOutput.contains("  error  ") && refused.standardOutput.contains("refused the API key (401)"), "\(refused.standardOutput)")
            #expect(try await refused.exitStatus() == 65)
            let wrong = try await Self.cli(stack, ["connections", "add-key", "--tenant", "tenant-a", "--provider", "square"], input: "key\n")
            #expect(wrong.standardError.contains("square does not take API keys"))
        }
    }

    /// A new key first in JUNCTION_ENCRYPTION_KEYS, `junction keys reencrypt` while refreshes run,
    /// the old key removed: every credential still decrypts, and the refreshed ones kept their new pair.
    @Test func rotatingTheEncryptionKeyUnderRunningRefreshesLosesNothing() async throws {
        try await ConnectStack.with { stack in
            var connections: [UUID] = []
            for provider in ConnectStack.providers { connections.append(try await stack.connect(provider, tenant: "tenant-a")) }
            let newKey = KeyRing.generateEntry(id: "k2")
            let rotated = ["JUNCTION_ENCRYPTION_KEYS": "\(newKey),\(TestStack.encryptionKeys)"]
            try await stack.startWorker(rotated)
            _ = try await stack.workers[0].stop()
            let refreshing = [connections[1], connections[2]]
            let before = try await refreshing.asyncMap { try #require(try await stack.credential($0)).version }
            try await stack.enqueue(refreshing.map { JobRequest(type: "token.refresh", payload: ["connection": .string($0.uuidString.lowercased()), "force": true], priority: .high) })
            let first = try await Self.cli(stack, ["keys", "reencrypt"], environment: rotated)
            #expect(try await first.exitStatus() == 0, "\(first.standardError)")
            for (id, version) in zip(refreshing, before) {
                _ = try await stack.waitFor(id, "refreshed") { _ in true }
                try await QueueKit.eventually("refreshed") {
                    let ring = try KeyRing(parsing: rotated["JUNCTION_ENCRYPTION_KEYS"]!)
                    return try await stack.onDatabase { try CredentialVault(keys: ring).read(id, on: $0)?.version } == version + 1
                }
            }
            // Whatever a refresh sealed meanwhile is under the new key already; a second pass finds nothing left.
            _ = try await Self.cli(stack, ["keys", "reencrypt"], environment: rotated)
            let status = try await Self.cli(stack, ["keys", "status"], environment: rotated)
            #expect(status.standardOutput.contains("k2 (active)  0 webhook endpoints, 4 credentials"), "\(status.standardOutput)")
            #expect(status.standardOutput.contains("test1  0 webhook endpoints, 0 credentials"), "\(status.standardOutput)")

            // The old key removed: a worker with only the new one checks every connection.
            let onlyNew = ["JUNCTION_ENCRYPTION_KEYS": newKey]
            try await stack.startWorker(onlyNew)
            _ = try await stack.workers[1].stop()
            try await stack.enqueue(connections.map { JobRequest(type: "connection.check", payload: ["connection": .string($0.uuidString.lowercased())], priority: .high) })
            for id in connections {
                let checked = try await stack.waitFor(id, "checked with the new key") { $0.health["last_check"]?["status"]?.intValue != nil }
                #expect(checked.health["last_check"]?["status"]?.intValue == 200 && checked.status == .active)
            }
        }
    }

    /// Tenants moved over from another service keep their OAuth tokens: an imported connection is
    /// active with its account and schedules, its tokens sealed like any others and checked, and it
    /// syncs.
    @Test func anImportedConnectionIsActiveSealedCheckedAndSyncs() async throws {
        try await ConnectStack.with(seed: 20) { stack in
            let imported = try await Self.cli(stack, ["connections", "import", "--tenant", "tenant-m", "--provider", "quickbooks",
                                                      "--account", SandboxClient.quickBooksRealm, "--expires-in", "3600", "--scopes", "com.intuit.quickbooks.accounting"],
                                              input: SandboxClient.quickBooksToken + "\nsandbox-qb-refresh-imported\n")
            #expect(imported.standardOutput.contains("(active, imported)"), "\(imported.standardOutput)\(imported.standardError)")
            let id = try #require(imported.standardOutput.split(separator: " ").dropFirst().first.flatMap { UUID(uuidString: String($0)) })
            let connection = try #require(try await stack.connection(id))
            #expect(connection.status == .active && connection.externalAccountID == SandboxClient.quickBooksRealm && connection.scopes == ["com.intuit.quickbooks.accounting"])
            #expect(connection.health["last_check"] != nil, "the provider accepted the imported token: \(connection.health)")
            let credential = try #require(try await stack.credential(id))
            #expect(credential.tokens.access == SandboxClient.quickBooksToken && credential.tokens.refresh == "sandbox-qb-refresh-imported" && credential.tokens.expiresAt != nil)
            let stored = try await stack.onDatabase { database in
                try database.query("SELECT row_to_json(c)::text AS row FROM credentials c WHERE connection_id = \(id)").rows.map { try $0.decode("row", as: String.self) }
            }
            #expect(stored.count == 1 && !stored[0].contains(SandboxClient.quickBooksToken) && !stored[0].contains("sandbox-qb-refresh-imported"), "sealed")
            let schedules = try await stack.onDatabase { database in try ScheduleStore().list(on: database).filter { $0.connection == id }.count }
            #expect(schedules == 2 * (Providers.named("quickbooks")?.sync.count ?? 0))
            let run = try await SyncRunTests.sync(stack, id, "customers")
            #expect(run.status == "succeeded" && run.counts.added == 20, "\(run.counts) \(run.error ?? "")")

            let realmless = try await Self.cli(stack, ["connections", "import", "--tenant", "tenant-m", "--provider", "quickbooks"], input: "token\n")
            #expect(try await realmless.exitStatus() == 65 && realmless.standardError.contains("--account"))
            let keyOnly = try await Self.cli(stack, ["connections", "import", "--tenant", "tenant-m", "--provider", "twilio"], input: "token\n")
            #expect(try await keyOnly.exitStatus() == 65 && keyOnly.standardError.contains("does not connect through OAuth"))
            let again = try await Self.cli(stack, ["connections", "import", "--tenant", "tenant-m", "--provider", "quickbooks", "--account", SandboxClient.quickBooksRealm],
                                           input: SandboxClient.quickBooksToken + "\n")
            #expect(try await again.exitStatus() != 0 && again.standardError.contains("already"), "one account, one connection per tenant: \(again.standardError)")
        }
    }
}
