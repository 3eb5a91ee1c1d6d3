import Foundation
import Hummingbird
import JunctionCore
import JunctionProviders
import JunctionQueue
import JunctionStores
import Logging

/// The OAuth connect flow's two ends (docs/connections.md):
///
/// - `GET /oauth/{provider}/initiate` (tenant JWT; `return_url`, `connection` to reconnect one,
///   `shop` for Shopify): creates a `pending` connection, stores the `state` in Redis for 10
///   minutes, and answers the provider's authorize URL as a 302, or as JSON when asked
///   (`Accept: application/json` or `mode=json`) for an app that redirects itself.
/// - `GET /oauth/{provider}/callback`: consumes the state once, hands the code to a worker as an
///   `oauth.exchange` job on `critical` (the ingress never calls a provider), waits up to
///   `JUNCTION_OAUTH_EXCHANGE_WAIT` for the connection to change, and redirects to the return URL
///   with `connection`, `status` (`connected`, `error`, `pending`) and, on error, `reason`; without
///   a return URL it answers a short page. No code or token appears in a URL, a log or an error.
package struct ConnectRoutes: Sendable {
    /// What the process reads for the flow; the rest comes from the ingress's own clients.
    package struct Configuration: Sendable {
        let tenants: TenantAuthenticator?
        let oauth: OAuthClients
        let settings: ConnectSettings

        package init(tenants: TenantAuthenticator?, oauth: OAuthClients, settings: ConnectSettings) {
            self.tenants = tenants
            self.oauth = oauth
            self.settings = settings
        }
    }

    let tenants: TenantAuthenticator?
    let oauth: OAuthClients
    let settings: ConnectSettings
    let keys: KeyRing
    let queue: Queue
    let redis: RedisClient
    let database: PostgresClient
    let logger: Logger
    var namespace: RedisNamespace { RedisNamespace(queue.settings.keys.namespace) }
    let store = ConnectionStore()

    func register(on router: Router<some RequestContext>) {
        router.get("/oauth/:provider/initiate") { request, context in
            await initiate(request, provider: context.parameters.get("provider") ?? "")
        }
        router.get("/oauth/:provider/callback") { request, context in
            await callback(request, provider: context.parameters.get("provider") ?? "")
        }
    }

    // MARK: - initiate

    func initiate(_ request: Request, provider providerID: String) async -> Response {
        do {
            return try await initiating(request, provider: providerID)
        } catch let problem as Problem {
            return problem.response
        } catch {
            logger.error("connect initiate failed", metadata: ["provider": .string(providerID), "error": .string("\(error)")])
            return Problem(status: .serviceUnavailable, slug: "unavailable", title: "Try again",
                           detail: "Redis or PostgreSQL did not answer; nothing was started", headers: [.retryAfter: "1"]).response
        }
    }

    private func initiating(_ request: Request, provider providerID: String) async throws -> Response {
        let tenant = try await TenantAuthenticator.tenant(of: request, using: tenants, documentation: "docs/connections.md")
        guard let provider = Providers.named(providerID) else {
            throw Problem(status: .notFound, slug: "unknown-provider", title: "Unknown provider", detail: "no provider is named \(providerID)")
        }
        let query = request.uri.queryParameters
        var reconnect: UUID?
        if let text = query["connection"] {
            guard let id = UUID(uuidString: String(text)) else {
                throw Problem(status: .badRequest, slug: "invalid-connection", title: "Invalid connection id", detail: "connection must be a UUID")
            }
            reconnect = id
        }
        let (connection, url, expiresAt) = try await start(tenant: tenant, provider: provider, returnURL: query["return_url"].map(String.init),
                                                           shop: query["shop"].map(String.init), reconnect: reconnect)
        let wantsJSON = query["mode"] == "json" || (request.headers[.accept] ?? "").contains("application/json")
        guard wantsJSON else { return Response(status: .found, headers: [.location: url, .cacheControl: "no-store"]) }
        var body = #"{"connection":"# + "\"\(connection.id.uuidString.lowercased())\""
        body += #","authorize_url":"#
        JSONText.appendString(url, to: &body)
        body += #","expires_at":"\#(Timestamp.format(expiresAt))"}"#
        return Response(status: .ok, headers: [.contentType: "application/json", .cacheControl: "no-store"], body: .init(byteBuffer: ByteBuffer(string: body)))
    }

    /// Starts connecting `provider` for `tenant` (or reconnecting `reconnect`): a `pending`
    /// connection, the state in Redis, and the provider's authorize URL to send the tenant to.
    /// Shared by `GET /oauth/{provider}/initiate` and the API's `POST /v1/connections`.
    func start(tenant: TenantAuthenticator.Tenant, provider: Provider, returnURL: String?, shop given: String?,
               reconnect: UUID?) async throws -> (connection: Connection, url: String, expiresAt: Date) {
        guard let client = oauth.client(for: provider.id), let redirectURI = settings.redirectURI(provider.id) else {
            let detail: String
            switch oauth.status(of: provider) {
            case .noOAuth: detail = "\(provider.displayName) connects without OAuth (\(provider.auth.map(\.rawValue).sorted().joined(separator: ", ")))"
            case .notConfigured(let missing): detail = "\(provider.displayName) has no OAuth client configured here (\(missing.joined(separator: ", ")))"
            case .configured: detail = "JUNCTION_PUBLIC_URL is not set"
            }
            throw Problem(status: .conflict, slug: "oauth-not-configured", title: "\(provider.displayName) cannot be connected through OAuth here", detail: detail)
        }
        if let returnURL, !settings.allowsReturn(to: returnURL) {
            throw Problem(status: .badRequest, slug: "return-url-not-allowed", title: "Return URL not allowed",
                          detail: "return_url must be under one of JUNCTION_OAUTH_RETURN_URLS")
        }
        var shop: String?
        if client.authorizeURL.contains("{shop}") {
            guard let given, OAuthRequests.isValidShop(given) else {
                throw Problem(status: .badRequest, slug: "invalid-shop", title: "Shop required",
                              detail: "\(provider.displayName) needs shop=<name>.myshopify.com")
            }
            shop = given
        }
        let tenantID = tenant.id
        let connectionStore = store
        let connection: Connection = try await database.asTenant(tenantID) { database in
            if let reconnect {
                guard let existing = try connectionStore.find(reconnect, tenant: tenantID, on: database), existing.provider == provider.id else {
                    throw Problem(status: .notFound, slug: "connection-not-found", title: "No such connection", detail: "no \(provider.id) connection \(reconnect.uuidString.lowercased())")
                }
                guard existing.status != .disconnected else {
                    throw Problem(status: .conflict, slug: "connection-disconnected", title: "Connection disconnected",
                                  detail: "a disconnected connection is not reconnected; start a new one")
                }
                return existing
            }
            return try connectionStore.create(tenant: tenantID, provider: provider.id, actor: "tenant:\(tenantID)", on: database)
        }

        let state = OAuthStateRecord.newState()
        let verifier = client.flow.pkce ? PKCE.newVerifier() : nil
        let record = OAuthStateRecord(tenant: tenant.id, provider: provider.id, connection: connection.id, verifier: verifier, returnURL: returnURL, shop: shop)
        let stored = try await redis.command("SET", RedisArgument(OAuthStateRecord.key(state, namespace: namespace)), RedisArgument(record.sealed(state: state, keys: keys)),
                                             "EX", RedisArgument(Int(OAuthStateRecord.lifetime / .seconds(1))), "NX")
        guard case .status = stored else { throw StackFailure("the state was not stored") }
        let url = OAuthRequests(client).authorizeURL(state: state, redirectURI: redirectURI, challenge: verifier.map(PKCE.challenge(for:)), shop: shop)
        logger.info("connect started", metadata: [
            "tenant": .string(tenant.id), "provider": .string(provider.id), "connection": .string(connection.id.uuidString.lowercased()),
            "reconnect": .stringConvertible(reconnect != nil),
        ])
        return (connection, url, Date() + OAuthStateRecord.lifetime / .seconds(1))
    }

    struct StackFailure: Error, CustomStringConvertible {
        let description: String
        init(_ description: String) { self.description = description }
    }

    // MARK: - callback

    /// How a callback ended, for the redirect and the page.
    struct Outcome {
        var connection: UUID?
        var status: String
        var reason: String?
        var returnURL: String?
    }

    func callback(_ request: Request, provider providerID: String) async -> Response {
        let outcome: Outcome
        do {
            outcome = try await callingBack(request, provider: providerID)
        } catch {
            logger.error("connect callback failed", metadata: ["provider": .string(providerID), "error": .string("\(error)")])
            return page(.serviceUnavailable, "Junction could not finish connecting right now. Please try again.", headers: [.retryAfter: "1"])
        }
        logger.info("connect callback", metadata: [
            "provider": .string(providerID), "connection": .string(outcome.connection?.uuidString.lowercased() ?? "none"),
            "status": .string(outcome.status), "reason": .string(outcome.reason ?? ""),
        ])
        guard let returnURL = outcome.returnURL, var components = URLComponents(string: returnURL) else {
            switch outcome.status {
            case "connected": return page(.ok, "Connected. You can close this window.")
            case "pending": return page(.accepted, "Almost done: the connection is being completed. You can close this window.")
            default: return page(outcome.connection == nil ? .badRequest : .ok, "The connection did not complete (\(outcome.reason ?? "error")).")
            }
        }
        var items = components.queryItems ?? []
        if let connection = outcome.connection { items.append(URLQueryItem(name: "connection", value: connection.uuidString.lowercased())) }
        items.append(URLQueryItem(name: "status", value: outcome.status))
        if let reason = outcome.reason { items.append(URLQueryItem(name: "reason", value: reason)) }
        components.queryItems = items
        return Response(status: .found, headers: [.location: components.string ?? returnURL, .cacheControl: "no-store"])
    }

    private func callingBack(_ request: Request, provider providerID: String) async throws -> Outcome {
        let query = request.uri.queryParameters
        guard let state = query["state"].map(String.init), !state.isEmpty, state.utf8.count <= 256 else {
            return Outcome(status: "error", reason: "missing_state")
        }
        let reply = try await redis.command("GETDEL", RedisArgument(OAuthStateRecord.key(state, namespace: namespace)))
        guard let sealed = try reply.string() else {
            // Never issued, expired, or used already: nothing to attach an outcome to.
            return Outcome(status: "error", reason: "invalid_state")
        }
        guard let record = OAuthStateRecord(sealed: sealed, state: state, keys: keys) else {
            return Outcome(status: "error", reason: "invalid_state")
        }
        var outcome = Outcome(connection: record.connection, status: "error", returnURL: record.returnURL)
        let connectionStore = store
        // A first connect that fails leaves its connection in `error`; a reconnect that fails
        // leaves the connection as it was (still active, or still needing the tenant).
        func fail(_ reason: String, _ detail: String) async throws -> Outcome {
            let id = record.connection
            _ = try await database.withConnection { database in
                guard let current = try connectionStore.find(id, on: database), [.pending, .error].contains(current.status) else { return }
                try connectionStore.transition(id, to: .error, reason: detail, actor: "ingress", from: [.pending, .error], on: database)
            }
            outcome.reason = reason
            return outcome
        }
        guard record.provider == providerID else {
            return try await fail("provider_mismatch", "the callback arrived for \(providerID), the flow was started for \(record.provider)")
        }
        if let error = query["error"].map(String.init) {
            let code = String(error.prefix(64).filter { $0.isLetter || $0.isNumber || $0 == "_" })
            let description = query["error_description"].map { String($0.prefix(200)) }
            return try await fail(code.isEmpty ? "provider_error" : code, "the provider answered \(code)\(description.map { ": \($0)" } ?? "")")
        }
        guard let code = query["code"].map(String.init), !code.isEmpty, code.utf8.count <= 2048 else {
            return try await fail("missing_code", "the callback carried no code")
        }
        guard let client = oauth.client(for: providerID), let redirectURI = settings.redirectURI(providerID) else {
            return try await fail("not_configured", "\(providerID) is no longer configured for OAuth")
        }
        var account: String?
        if case .callback(let name)? = client.flow.accountID {
            account = query[Substring(name)].map(String.init) ?? record.shop
            if name == "shop" {
                guard let shop = account, OAuthRequests.isValidShop(shop), shop == record.shop || record.shop == nil else {
                    return try await fail("invalid_shop", "the callback's shop is not the one the flow was started for")
                }
            }
            guard let given = account, !given.isEmpty, given.utf8.count <= 128 else {
                return try await fail("missing_account", "the callback carried no \(name)")
            }
        }
        let exchange = OAuthExchangeRequest(connection: record.connection, tenant: record.tenant, provider: providerID, code: code,
                                            verifier: record.verifier, redirectURI: redirectURI, account: account)
        let job = JobRequest(type: OAuthExchangeRequest.jobType, payload: exchange.payload(keys: keys), priority: .critical, tenant: record.tenant,
                             provider: providerID, connection: record.connection.uuidString.lowercased())
        let queue = self.queue
        let outcomes = try await redis.withConnection { connection in try queue.enqueue([job], on: connection) }
        guard case .enqueued(let jobID)? = outcomes.first else { throw StackFailure("the exchange job was not enqueued") }

        // Wait for the worker: the connection's health names the job that activated it, or the
        // job that failed.
        let deadline = ContinuousClock.now + settings.exchangeWait
        let id = record.connection
        while ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(100))
            let current = try await database.withConnection { database in try connectionStore.find(id, on: database) }
            guard let current else { return try await fail("deleted", "the connection was deleted while connecting") }
            if current.health["exchange_job"]?.stringValue == jobID && current.status == ConnectionStatus.active {
                outcome.status = "connected"
                return outcome
            }
            if current.health["exchange_failed_job"]?.stringValue == jobID {
                outcome.reason = "exchange_failed"
                return outcome
            }
        }
        outcome.status = "pending"
        return outcome
    }

    private func page(_ status: HTTPResponse.Status, _ message: String, headers: HTTPFields = [:]) -> Response {
        var fields = headers
        fields[.contentType] = "text/html; charset=utf-8"
        fields[.cacheControl] = "no-store"
        let escaped = message.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;").replacingOccurrences(of: ">", with: "&gt;")
        let html = "<!doctype html><html><head><meta charset=\"utf-8\"><title>Junction</title></head><body><p>\(escaped)</p></body></html>\n"
        return Response(status: status, headers: fields, body: .init(byteBuffer: ByteBuffer(string: html)))
    }
}
