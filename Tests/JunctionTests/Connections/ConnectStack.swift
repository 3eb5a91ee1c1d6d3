import Crypto
import Foundation
import JunctionCore
import JunctionQueue
import JunctionStores
import Testing

/// Everything a connection needs, real: Redis and PostgreSQL (a fresh database), the sandbox as
/// the four providers it speaks (their OAuth endpoints configured as Junction's through the
/// `_AUTHORIZE_URL`/`_TOKEN_URL`/… overrides), `junction-ingress` and any number of
/// `junction-worker` processes, all logging at debug level so tests can grep their output.
final class ConnectStack: @unchecked Sendable {
    static let providers = ["stripe", "square", "quickbooks", "mailchimp"]
    static let jwtSecret = "test-jwt-secret-that-is-long-enough-0123456789"
    static let issuer = "https://auth.test/"
    static let audience = "junction"
    static let returnURL = "https://app.example.com/integrations/done"
    static let publicURL = "http://junction.test"

    let stack: TestStack
    let database: PostgresConfiguration
    let queue: Queue
    let sandbox: SandboxClient
    let environment: [String: String]
    let ingress: ChildProcess
    let ingressURL: String
    var workers: [ChildProcess] = []
    let http = OutboundHTTPClient(connections: 4)

    /// The path of `provider`'s token endpoint on the sandbox.
    func tokenPath(_ provider: String) -> String {
        URLComponents(string: environment["JUNCTION_OAUTH_\(provider.uppercased())_TOKEN_URL"] ?? "")?.path ?? ""
    }

    init(workers count: Int = 1, seed: Int = 0, sandboxArguments: [String] = [], extra: [String: String] = [:]) async throws {
        stack = try await TestStack.shared()
        database = try await stack.migratedDatabase()
        queue = QueueKit.queue()
        sandbox = try await SandboxClient.start(seed: seed, arguments: sandboxArguments)
        var environment = QueueKit.environment(stack, queue: queue, database: database, [
            "JUNCTION_LOG_LEVEL": "debug",
            "JUNCTION_JWT_ALGORITHM": "HS256", "JUNCTION_JWT_SECRET": Self.jwtSecret,
            "JUNCTION_JWT_ISSUER": Self.issuer, "JUNCTION_JWT_AUDIENCE": Self.audience,
            "JUNCTION_PUBLIC_URL": Self.publicURL, "JUNCTION_OAUTH_RETURN_URLS": "https://app.example.com/integrations",
            "JUNCTION_WORKER_FETCH_BATCH": "1",
            // The tests poll the API as fast as they like; the per-tenant limit has a test of its own.
            "JUNCTION_API_RATE_LIMIT": "off",
        ])
        // Every provider's OAuth endpoints, as the sandbox publishes them.
        let endpoints = try sandbox.json(try await sandbox.send("GET", "/_sandbox/oauth"))
        for (provider, entry) in endpoints {
            let prefix = "JUNCTION_OAUTH_\(provider.uppercased())"
            environment["\(prefix)_CLIENT_ID"] = SandboxClient.clientID
            environment["\(prefix)_CLIENT_SECRET"] = SandboxClient.clientSecret
            for (key, suffix) in [("authorize_url", "AUTHORIZE_URL"), ("token_url", "TOKEN_URL"), ("revoke_url", "REVOKE_URL"), ("metadata_url", "METADATA_URL")] {
                if let url = (entry as? [String: Any])?[key] as? String { environment["\(prefix)_\(suffix)"] = url }
            }
        }
        for provider in Self.providers { environment["JUNCTION_PROVIDER_URL_\(provider.uppercased())"] = sandbox.url }
        // The sandbox signs its webhooks with these; the ingress checks them.
        let secrets = (try sandbox.json(try await sandbox.send("GET", "/_sandbox/credentials"))["webhook_secrets"] as? [String: String]) ?? [:]
        for (provider, secret) in secrets { environment["JUNCTION_WEBHOOK_SECRETS_\(provider.uppercased())"] = secret }
        environment.merge(extra) { $1 }
        self.environment = environment
        let (ingress, port) = try await ChildProcess.ingress(environment: environment)
        self.ingress = ingress
        ingressURL = "http://127.0.0.1:\(port)"
        try await pointWebhooksAtTheIngress()
        for _ in 0..<count { try await startWorker() }
    }

    /// Sends the sandbox's webhooks to this stack's ingress (again, after `muteWebhooks`).
    func pointWebhooksAtTheIngress() async throws {
        let answer = try await sandbox.send("PUT", "/_sandbox/webhook-url", body: #"{"url":"\#(ingressURL)/webhooks","signed_url":"\#(Self.publicURL)/webhooks"}"#)
        guard answer.status == 200 else { throw StackError("the webhook URL was not set: \(answer.status) \(answer.text)") }
    }

    /// Runs `body` with a new stack, and stops its processes afterwards.
    static func with(workers: Int = 1, seed: Int = 0, sandboxArguments: [String] = [], extra: [String: String] = [:],
                     _ body: (ConnectStack) async throws -> Void) async throws {
        let stack = try await ConnectStack(workers: workers, seed: seed, sandboxArguments: sandboxArguments, extra: extra)
        do {
            try await body(stack)
        } catch {
            print(stack.logs())
            try? await stack.stop()
            throw error
        }
        if ProcessInfo.processInfo.environment["JUNCTION_TEST_LOGS"] != nil { print(stack.logs()) }
        try await stack.stop()
    }

    /// The processes' warnings and errors, for a failing test's report.
    func logs() -> String {
        ([("ingress", ingress)] + workers.map { ("worker", $0) }).map { name, process in
            let lines = process.lines.filter { $0.contains("\"level\":\"warning\"") || $0.contains("\"level\":\"error\"") || $0.contains("token") || $0.contains("refresh") || $0.contains("webhook") || $0.contains("\"msg\":\"sync") }
            return "--- \(name)\n" + lines.suffix(40).joined(separator: "\n") + "\n" + process.standardError.suffix(2000)
        }.joined(separator: "\n")
    }

    func startWorker(_ extra: [String: String] = [:]) async throws {
        let worker = try ChildProcess(junction: "junction-worker", environment: environment.merging(extra) { $1 })
        try await worker.waitForLine(containing: "\"msg\":\"worker started\"")
        workers.append(worker)
    }

    func stop() async throws {
        for worker in workers where worker.isRunning { _ = try await worker.stop() }
        if ingress.isRunning { _ = try await ingress.stop() }
        try await sandbox.stop()
        await http.shutdown()
    }

    // MARK: - Tenants

    /// An HS256 tenant JWT, made the way a platform's auth server makes one.
    static func token(tenant: String, roles: [String] = ["admin"], issuer: String = issuer, audience: String = audience,
                      expires: Date = Date() + 300, algorithm: String = "HS256", secret: String = jwtSecret) -> String {
        func encode(_ object: [String: Any]) -> String {
            Base64URL.encode(Array(try! JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])))
        }
        let header = encode(["alg": algorithm, "typ": "JWT"])
        let claims = encode(["tenant": tenant, "roles": roles, "iss": issuer, "aud": audience, "sub": "user-1",
                             "exp": Int(expires.timeIntervalSince1970), "iat": Int(Date().timeIntervalSince1970)])
        let input = "\(header).\(claims)"
        guard algorithm == "HS256" else { return input + "." }
        let signature = HMAC<SHA256>.authenticationCode(for: Array(input.utf8), using: SymmetricKey(data: Array(secret.utf8)))
        return input + "." + Base64URL.encode(Array(signature))
    }

    func get(_ url: String, headers: [(String, String)] = []) async throws -> OutboundResponse {
        try await http.send(OutboundRequest(url: url, headers: headers.map { (name: $0.0, value: $0.1) }, timeout: .seconds(30)))
    }

    /// POSTs a Stripe event to the ingress, signed as Stripe signs it with the stack's Stripe
    /// secret (or with a forged signature).
    func deliverStripe(_ body: String, forged: Bool = false) async throws -> OutboundResponse {
        let secret = try #require(environment["JUNCTION_WEBHOOK_SECRETS_STRIPE"]?.split(separator: ",").first.map(String.init))
        let time = Int(Date().timeIntervalSince1970)
        let mac = forged ? String(repeating: "0", count: 64)
            : IngressWebhookTests.hex(HMAC<SHA256>.authenticationCode(for: Array("\(time).\(body)".utf8), using: SymmetricKey(data: Array(secret.utf8))))
        return try await http.send(OutboundRequest(method: "POST", url: "\(ingressURL)/webhooks/stripe", headers: [
            ("Content-Type", "application/json"), ("Stripe-Signature", "t=\(time),v1=\(mac)"),
        ], body: Array(body.utf8)))
    }

    /// `GET /oauth/{provider}/initiate` as JSON.
    func initiate(_ provider: String, tenant: String, query: String = "return_url=\(returnURL)") async throws -> OutboundResponse {
        let query = provider == "shopify" && !query.contains("shop=") ? query + "&shop=venue-42.myshopify.com" : query
        return try await get("\(ingressURL)/oauth/\(provider)/initiate?mode=json&\(query)", headers: [("Authorization", "Bearer \(Self.token(tenant: tenant))")])
    }

    /// What the sandbox's authorize page redirects to: our callback, with code and state.
    func authorize(_ authorizeURL: String) async throws -> String {
        let response = try await get(authorizeURL)
        let location = try #require(response.header("Location"), "the sandbox's authorize answered \(response.status) \(response.text)")
        #expect(location.hasPrefix(Self.publicURL + "/oauth/"), "redirected to the configured redirect URI: \(location)")
        return location
    }

    /// Follows the callback on the real ingress (the browser's last step).
    func callback(_ location: String) async throws -> OutboundResponse {
        try await get(location.replacingOccurrences(of: Self.publicURL, with: ingressURL))
    }

    /// The connection id an initiate answered.
    static func connectionID(_ body: [String: Any]) throws -> UUID {
        guard let text = body["connection"] as? String, let id = UUID(uuidString: text) else { throw StackError("no connection in \(body)") }
        return id
    }

    static func authorizeURL(_ body: [String: Any]) throws -> String {
        guard let url = body["authorize_url"] as? String else { throw StackError("no authorize_url in \(body)") }
        return url
    }

    /// The query items of a redirect.
    static func query(_ location: String?) -> [String: String] {
        var items: [String: String] = [:]
        for item in URLComponents(string: location ?? "")?.queryItems ?? [] { items[item.name] = item.value ?? "" }
        return items
    }

    /// Connects `provider` for `tenant` end to end and answers the connection id.
    func connect(_ provider: String, tenant: String) async throws -> UUID {
        let started = try await initiate(provider, tenant: tenant)
        #expect(started.status == 200, "\(started.status) \(started.text)")
        let body = try sandbox.json(started)
        let done = try await callback(try await authorize(try Self.authorizeURL(body)))
        let query = Self.query(done.header("Location"))
        #expect(done.status == 302 && query["status"] == "connected", "\(done.status) \(done.header("Location") ?? done.text)")
        return try Self.connectionID(body)
    }

    // MARK: - Reading what was stored

    func onDatabase<T: Sendable>(_ body: @escaping @Sendable (PostgresConnection) throws -> T) async throws -> T {
        let configuration = database
        return try await TestStack.onThread { try body(try PostgresConnection(configuration)) }
    }

    func connection(_ id: UUID) async throws -> Connection? {
        try await onDatabase { try ConnectionStore().find(id, on: $0) }
    }

    func credential(_ id: UUID) async throws -> Credential? {
        let keys = try KeyRing(parsing: TestStack.encryptionKeys)
        return try await onDatabase { try CredentialVault(keys: keys).read(id, on: $0) }
    }

    func enqueue(_ requests: [JobRequest]) async throws {
        let queue = self.queue
        let redis = stack.redis
        _ = try await TestStack.onThread { try queue.enqueue(requests, on: try RedisConnection(redis)) }
    }

    /// The token-endpoint calls the sandbox received for `provider`, refreshes or exchanges.
    func tokenCalls(_ provider: String, grant: String) async throws -> [[String: Any]] {
        let path = tokenPath(provider)
        return try await sandbox.requests(provider).filter { ($0["path"] as? String) == path && (($0["body"] as? String) ?? "").contains(grant) }
    }

    /// Waits until the connection satisfies `condition`.
    func waitFor(_ id: UUID, _ what: String, limit: Duration = .seconds(30), _ condition: @escaping @Sendable (Connection) -> Bool) async throws -> Connection {
        try await QueueKit.eventually(what, limit: limit) {
            guard let connection = try await self.connection(id) else { return false }
            return condition(connection)
        }
        return try #require(try await connection(id))
    }
}
