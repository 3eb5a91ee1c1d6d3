import Foundation
import HTTPTypes
import Hummingbird
import JunctionCoordination
import JunctionCore
import JunctionProviders
import JunctionQueue
import JunctionStores
import Logging

/// The management API's tenant operations under `/v1` (docs/api.md; the contract is
/// `API/openapi.json`, served at `GET /v1/openapi.json`, and a test holds these routes to it).
///
/// Every route but the document itself takes a tenant JWT (``TenantAuthenticator``); every query
/// is scoped to the token's tenant, so another tenant's id answers 404, exactly as an id that does
/// not exist (no existence oracle). `viewer` reads; `admin` also deletes and triggers. Errors are
/// `application/problem+json` (``Problem``), a bad parameter naming itself in `errors`.
package struct APIRoutes: Sendable {
    let tenants: TenantAuthenticator?
    /// The internal services allowed on `/v1/admin`; nil: those answer 503.
    let admin: AdminServices?
    /// Each tenant's allowance on the API (`JUNCTION_API_RATE_LIMIT`); nil: none.
    let rateLimit: (limiter: RateLimiter, limit: RateLimit)?
    /// The OAuth connect flow, which `POST /v1/connections` starts for OAuth providers; nil where
    /// the process has none (then those answer 503).
    let connect: ConnectRoutes?
    let vault: CredentialVault
    let queue: Queue
    let redis: RedisClient
    let database: PostgresClient
    let logger: Logger

    package init(tenants: TenantAuthenticator?, admin: AdminServices? = nil, rateLimit: (limiter: RateLimiter, limit: RateLimit)? = nil,
                 connect: ConnectRoutes? = nil, keys: KeyRing, queue: Queue, redis: RedisClient, database: PostgresClient, logger: Logger) {
        self.tenants = tenants
        self.admin = admin
        self.rateLimit = rateLimit
        self.connect = connect
        self.vault = CredentialVault(keys: keys)
        self.queue = queue
        self.redis = redis
        self.database = database
        self.logger = logger
    }

    /// The most a list answers at once, and what it answers when `limit` is not given.
    static let maximumLimit = 1000
    static let defaultLimit = 100

    package func register(on router: Router<some RequestContext>) {
        router.get("/v1/openapi.json") { _, _ in Self.document }
        router.get("/v1/connections") { request, _ in await answer(request) { try await listConnections(request, tenant: $0) } }
        router.post("/v1/connections") { request, _ in
            let body = try? await request.body.collect(upTo: 64 * 1024)
            return await answer(request, admin: true, requestBody: body) { try await createConnection(body, tenant: $0) }
        }
        router.post("/v1/connections/:id/refresh") { request, context in
            await answer(request, admin: true) { try await refreshConnection(try Self.id(context.parameters.get("id")), tenant: $0) }
        }
        router.post("/v1/connections/:id/syncs/runs/:run/retry") { request, context in
            let run = context.parameters.get("run")
            return await answer(request, admin: true) { try await retrySync(try Self.id(context.parameters.get("id")), run: run, tenant: $0) }
        }
        router.get("/v1/connections/:id") { request, context in
            await answer(request) { try await showConnection(try Self.id(context.parameters.get("id")), tenant: $0) }
        }
        router.patch("/v1/connections/:id") { request, context in
            let id = context.parameters.get("id")
            let body = try? await request.body.collect(upTo: 64 * 1024)
            return await answer(request, admin: true, requestBody: body) { try await updateConnection(try Self.id(id), body: body, tenant: $0) }
        }
        router.delete("/v1/connections/:id") { request, context in
            await answer(request, admin: true) { try await deleteConnection(try Self.id(context.parameters.get("id")), tenant: $0) }
        }
        router.get("/v1/connections/:id/syncs") { request, context in
            await answer(request) { try await syncStatus(try Self.id(context.parameters.get("id")), tenant: $0) }
        }
        router.post("/v1/connections/:id/syncs") { request, context in
            let id = context.parameters.get("id")
            let body = try? await request.body.collect(upTo: 64 * 1024)
            return await answer(request, admin: true, requestBody: body) { try await triggerSync(try Self.id(id), body: body, tenant: $0) }
        }
        router.get("/v1/connections/:id/syncs/runs") { request, context in
            await answer(request) { try await syncRuns(try Self.id(context.parameters.get("id")), request, tenant: $0) }
        }
        router.get("/v1/records") { request, _ in await answer(request) { try await records(request, tenant: $0) } }
        registerWebhookEvents(on: router)
        registerMappings(on: router)
        registerPushes(on: router)
        registerAdmin(on: router)
        // Last: it sees only what no route took.
        router.add(middleware: APIMethodNotAllowed(routes: router.routes.map { (path: $0.path.description, method: $0.method.rawValue) }))
    }

    // MARK: - the spec

    /// `API/openapi.json`, read once.
    static let document: Response = {
        guard let url = Bundle.module.url(forResource: "openapi", withExtension: "json"), let bytes = try? Data(contentsOf: url) else {
            return Problem(status: .internalServerError, slug: "spec-missing", title: "The API document is missing",
                           detail: "openapi.json is not in this build's resources").response
        }
        return Response(status: .ok, headers: [.contentType: "application/json", .cacheControl: "public, max-age=300"],
                        body: .init(byteBuffer: ByteBuffer(bytes: bytes)))
    }()

    // MARK: - authentication and answers

    /// Authenticates the request's tenant and runs `body`; turns every failure into problem+json:
    /// a ``Problem`` as it is, anything else (Redis or PostgreSQL not answering) as 503 with
    /// `Retry-After` (``unavailable(_:_:)``). A POST with `Idempotency-Key` goes through
    /// ``idempotent(_:key:tenant:requestBody:_:)``: its first answer is kept for 24 hours and
    /// replayed.
    func answer(_ request: Request, admin: Bool = false, requestBody: ByteBuffer? = nil,
                _ body: @escaping (TenantAuthenticator.Tenant) async throws -> WebhookAnswer) async -> Response {
        await respond(request) {
            let tenant = try await TenantAuthenticator.tenant(of: request, using: tenants, documentation: "docs/api.md")
            let allowance = try await allowance(for: tenant)
            var answered = try await Self.answering {
                if admin, !tenant.isAdmin {
                    throw Problem(status: .forbidden, slug: "forbidden", title: "Not allowed",
                                  detail: "this operation needs the admin role; the token has \(tenant.roles.sorted().joined(separator: ", ").nonEmpty ?? "none")")
                }
                if request.method == .post, let key = request.headers[HTTPField.Name("Idempotency-Key")!] {
                    return try await idempotent(request, key: key, tenant: tenant, requestBody: requestBody) { try await body(tenant) }
                }
                return try await body(tenant)
            }
            if let allowance, let rateLimit {
                answered.headers += Self.rateLimitHeaders(allowance, limit: rateLimit.limit)
            }
            if Self.isMutating(request) {
                try await audit(request, tenant: tenant, answer: answered)
            }
            return answered
        }
    }

    /// Runs `work` and answers what it answers; a ``Problem`` thrown is answered as it is, any
    /// other failure as 503 (``unavailable(_:_:)``).
    func respond(_ request: Request, _ work: () async throws -> WebhookAnswer) async -> Response {
        do {
            return Self.response(try await work())
        } catch let problem as Problem {
            return Self.response(problem.answer)
        } catch {
            return Self.response(unavailable(error, request))
        }
    }

    /// `work`'s answer, a ``Problem`` it throws as its answer (so the call is still audited); any
    /// other failure goes on.
    static func answering(_ work: () async throws -> WebhookAnswer) async throws -> WebhookAnswer {
        do {
            return try await work()
        } catch let problem as Problem {
            return problem.answer
        }
    }

    /// A call the audit log records: anything but a read.
    static func isMutating(_ request: Request) -> Bool { request.method != .get && request.method != .head }

    /// The tenant's allowance for this request; a request over it is answered 429 with
    /// `Retry-After`, and changes nothing.
    func allowance(for tenant: TenantAuthenticator.Tenant) async throws -> RateLimiter.Allowance? {
        guard let rateLimit else { return nil }
        let scope = "api:" + tenant.id
        let allowance = try await redis.withConnection { try rateLimit.limiter.take(scope: scope, limit: rateLimit.limit, on: $0) }
        guard allowance.granted else {
            let seconds = Int((Double(Milliseconds.of(allowance.resetAfter)) / 1000).rounded(.up))
            var problem = Problem(status: .tooManyRequests, slug: "rate-limited", title: "Too many requests",
                                  detail: "this tenant may make \(rateLimit.limit.count) requests per \(rateLimit.limit.period) (bursts of \(rateLimit.limit.burst)); try again in \(max(1, seconds)) s")
            problem.headers[.retryAfter] = String(max(1, seconds))
            for (name, value) in Self.rateLimitHeaders(allowance, limit: rateLimit.limit) { problem.headers[HTTPField.Name(name)!] = value }
            throw problem
        }
        return allowance
    }

    /// `RateLimit-Limit` (the burst), `RateLimit-Remaining`, `RateLimit-Reset` (seconds until the
    /// burst is whole again, or until the next request is allowed).
    static func rateLimitHeaders(_ allowance: RateLimiter.Allowance, limit: RateLimit) -> [(name: String, value: String)] {
        let reset = Int((Double(Milliseconds.of(allowance.resetAfter)) / 1000).rounded(.up))
        return [("RateLimit-Limit", String(max(1, limit.burst))), ("RateLimit-Remaining", String(allowance.remaining)), ("RateLimit-Reset", String(reset))]
    }

    /// 503 for a failure of Redis or PostgreSQL. A request that failed before it enqueued or wrote
    /// anything changed nothing; one that failed while being audited did its work, so the detail
    /// points to the idempotent retry.
    func unavailable(_ error: any Error, _ request: Request) -> WebhookAnswer {
        logger.error("API request failed", metadata: ["path": .string(request.uri.path), "error": .string("\(error)")])
        return Problem(status: .serviceUnavailable, slug: "unavailable", title: "Try again",
                       detail: "Redis or PostgreSQL did not answer; retry (a POST with the same Idempotency-Key)", headers: [.retryAfter: "1"]).answer
    }

    static func response(_ answer: WebhookAnswer) -> Response {
        Response(status: answer.status, headers: answer.fields, body: .init(byteBuffer: ByteBuffer(string: answer.body)))
    }

    static func json(_ value: JSONValue, status: HTTPResponse.Status = .ok) -> WebhookAnswer {
        WebhookAnswer(status: status, contentType: "application/json", headers: [("Cache-Control", "no-store")], body: value.serialized)
    }

    static func id(_ text: String?) throws -> UUID {
        guard let text, let id = UUID(uuidString: text) else {
            throw Problem.invalid([("id", "must be a UUID")])
        }
        return id
    }

    /// The connection, if it is the tenant's; 404 otherwise (also for another tenant's).
    func connection(_ id: UUID, tenant: String) async throws -> Connection {
        let found = try await scoped(tenant) { try ConnectionStore().find(id, tenant: tenant, on: $0) }
        guard let found else { throw Problem.notFound("connection", id.uuidString.lowercased()) }
        return found
    }

    /// Runs `body` on a pooled connection. A tenant's call (a tenant id) runs it in a transaction
    /// that row-level security limits to that tenant's rows (migration 0012): the second wall,
    /// behind each query's own `tenant` filter. The admin API's (nil) runs unscoped.
    func scoped<T: Sendable>(_ tenant: String?, _ body: @escaping @Sendable (PostgresConnection) throws -> T) async throws -> T {
        if let tenant { return try await database.asTenant(tenant, body) }
        return try await database.withConnection(body)
    }

    // MARK: - connections

    func listConnections(_ request: Request, tenant: TenantAuthenticator.Tenant) async throws -> WebhookAnswer {
        try await listConnections(request, tenantID: tenant.id)
    }

    /// One tenant's connections, or (nil: the admin API) every tenant's, `tenant` filtering then.
    func listConnections(_ request: Request, tenantID: String?) async throws -> WebhookAnswer {
        let query = request.uri.queryParameters
        var errors: [(String, String)] = []
        let limit = Self.limit(query["limit"], errors: &errors)
        let provider = query["provider"].map(String.init)
        if let provider, Providers.named(provider) == nil { errors.append(("provider", "no provider is named \(provider)")) }
        var status: ConnectionStatus?
        if let text = query["status"] {
            status = ConnectionStatus(rawValue: String(text))
            if status == nil { errors.append(("status", "one of \(ConnectionStatus.allCases.map(\.rawValue).joined(separator: ", "))")) }
        }
        var after: UUID?
        if let text = query["cursor"] {
            after = UUID(uuidString: String(text))
            if after == nil { errors.append(("cursor", "not a cursor this API handed out")) }
        }
        guard errors.isEmpty else { throw Problem.invalid(errors) }
        let only = tenantID ?? query["tenant"].map(String.init)
        let (wanted, from) = (status, after)
        let rows = try await scoped(tenantID) { database in
            try ConnectionStore().list(tenant: only, provider: provider, status: wanted, after: from, limit: limit + 1, on: database)
        }
        let page = rows.prefix(limit)
        var body: [String: JSONValue] = ["data": .array(page.map(Self.representation))]
        body["next_cursor"] = rows.count > limit ? page.last.map { .string($0.id.uuidString.lowercased()) } ?? nil : nil
        return Self.json(.object(body))
    }

    func showConnection(_ id: UUID, tenant: TenantAuthenticator.Tenant) async throws -> WebhookAnswer {
        Self.json(Self.representation(try await connection(id, tenant: tenant.id)))
    }

    /// Changes what a tenant may change of a connection: its `conflict_policy` (who wins when a
    /// push meets a provider object changed since the version it was made against).
    func updateConnection(_ id: UUID, body: ByteBuffer?, tenant: TenantAuthenticator.Tenant) async throws -> WebhookAnswer {
        let choices = ConflictPolicy.allCases.map(\.rawValue).joined(separator: ", ")
        guard let body, body.readableBytes > 0, case .object(let object)? = try? JSONValue(parsing: Array(body.readableBytesView)) else {
            throw Problem.invalid([("body", #"a JSON object: {"conflict_policy": "provider_wins"}"#)])
        }
        var errors: [(String, String)] = object.keys.sorted().filter { $0 != "conflict_policy" }.map { ($0, "not a field a connection can change (conflict_policy)") }
        let policy = object["conflict_policy"]?.stringValue.flatMap(ConflictPolicy.init(rawValue:))
        if policy == nil { errors.append(("conflict_policy", "one of \(choices)")) }
        guard errors.isEmpty, let policy else { throw Problem.invalid(errors) }
        let (tenantID, actor) = (tenant.id, Self.actor(tenant))
        guard let changed = try await scoped(tenantID, { try ConnectionStore().setConflictPolicy(id, to: policy, tenant: tenantID, actor: actor, on: $0) }) else {
            throw Problem.notFound("connection", id.uuidString.lowercased())
        }
        logger.info("API: connection conflict policy set", metadata: ["connection": .string(id.uuidString.lowercased()), "policy": .string(policy.rawValue)])
        return Self.json(Self.representation(changed))
    }

    /// Revokes the connection's tokens at the provider, erases them and deletes the connection,
    /// on a worker (`connection.revoke`); answers 202 with the job.
    func deleteConnection(_ id: UUID, tenant: TenantAuthenticator.Tenant) async throws -> WebhookAnswer {
        let found = try await connection(id, tenant: tenant.id)
        let idText = id.uuidString.lowercased()
        let job = JobRequest(type: "connection.revoke", payload: ["connection": .string(idText), "delete": true, "actor": .string(Self.actor(tenant))],
                             priority: .high, tenant: found.tenant, provider: found.provider, connection: idText,
                             dedupeKey: "api-delete:\(idText)", dedupeTTL: .seconds(60))
        let queue = self.queue
        let outcome = try await redis.withConnection { try queue.enqueue([job], on: $0) }.first
        logger.info("API: connection delete requested", metadata: ["connection": .string(idText), "tenant": .string(tenant.id)])
        var body: [String: JSONValue] = ["connection": .string(idText), "status": "deleting"]
        if case .enqueued(let jobID)? = outcome { body["job_id"] = .string(jobID) }
        return Self.json(.object(body), status: .accepted)
    }

    static func actor(_ tenant: TenantAuthenticator.Tenant) -> String { "tenant:\(tenant.id):\(tenant.subject ?? "unknown")" }

    static func representation(_ connection: Connection) -> JSONValue {
        var fields: [String: JSONValue] = [
            "id": .string(connection.id.uuidString.lowercased()), "tenant": .string(connection.tenant), "provider": .string(connection.provider),
            "status": .string(connection.status.rawValue), "auth": .string(connection.auth.rawValue), "conflict_policy": .string(connection.conflictPolicy.rawValue),
            "scopes": .array(connection.scopes.map { .string($0) }), "metadata": connection.metadata,
            "created_at": .string(Timestamp.format(connection.createdAt)), "updated_at": .string(Timestamp.format(connection.updatedAt)),
        ]
        fields["account"] = connection.externalAccountID.map { .string($0) } ?? nil
        fields["reason"] = connection.reason.map { .string($0) } ?? nil
        fields["status_changed_at"] = connection.statusChangedAt.map { .string(Timestamp.format($0)) } ?? nil
        return .object(fields)
    }

    // MARK: - syncs

    /// Each of the provider's synced resources: where it stands and its last run.
    func syncStatus(_ id: UUID, tenant: TenantAuthenticator.Tenant) async throws -> WebhookAnswer {
        let found = try await connection(id, tenant: tenant.id)
        let resources = Providers.named(found.provider)?.sync.map(\.name) ?? []
        let rows: [JSONValue] = try await scoped(tenant.id) { database in
            try resources.map { resource in
                let state = try SyncStateStore().load(tenant: found.tenant, provider: found.provider, resource: resource, connection: id, on: database)
                let last = try SyncRunStore().list(connection: id, resource: resource, limit: 1, on: database).first
                var fields: [String: JSONValue] = [
                    "resource": .string(resource),
                    "state": .string(state?.details["status"]?.stringValue ?? "never_synced"),
                    "records": .integer(Int64(try RecordStore().count(connection: id, resource: resource, on: database))),
                ]
                fields["checkpoint"] = state?.cursor.map { .string($0) } ?? nil
                fields["synced_since"] = state?.details["since"] ?? nil
                fields["last_run"] = last.map(Self.representation) ?? nil
                return .object(fields)
            }
        }
        return Self.json(["connection": .string(id.uuidString.lowercased()), "data": .array(rows)])
    }

    /// Enqueues `sync.run` on `high` for one resource (`resource`) or all, in `mode` (`auto`).
    func triggerSync(_ id: UUID, body: ByteBuffer?, tenant: TenantAuthenticator.Tenant) async throws -> WebhookAnswer {
        try await triggerSync(try await connection(id, tenant: tenant.id), body: body)
    }

    /// Enqueues the syncs `body` asks for of `found` (any tenant's: the admin API forces syncs).
    func triggerSync(_ found: Connection, body: ByteBuffer?) async throws -> WebhookAnswer {
        let id = found.id
        let known = Providers.named(found.provider)?.sync.map(\.name) ?? []
        var fields: [String: JSONValue] = [:]
        if let body, body.readableBytes > 0 {
            guard case .object(let object)? = try? JSONValue(parsing: Array(body.readableBytesView)) else {
                throw Problem.invalid([("body", "a JSON object: {\"resource\": \"customers\", \"mode\": \"auto\"}, both optional")])
            }
            fields = object
        }
        var errors: [(String, String)] = []
        for key in fields.keys where !["resource", "mode"].contains(key) { errors.append((key, "not a field of this request (resource, mode)")) }
        var resources = known
        if let value = fields["resource"] {
            if let name = value.stringValue, known.contains(name) {
                resources = [name]
            } else {
                errors.append(("resource", known.isEmpty ? "\(found.provider) has no synced resources" : "one of \(known.joined(separator: ", "))"))
            }
        }
        let mode = fields["mode"].map { $0.stringValue ?? "" } ?? "auto"
        if !["auto", "full", "incremental", "reconcile"].contains(mode) { errors.append(("mode", "one of auto, full, incremental, reconcile")) }
        guard errors.isEmpty else { throw Problem.invalid(errors) }
        guard !resources.isEmpty else {
            throw Problem(status: .conflict, slug: "nothing-to-sync", title: "Nothing to sync", detail: "\(found.provider) has no synced resources yet")
        }
        guard found.status == .active else {
            throw Problem(status: .conflict, slug: "connection-not-active", title: "The connection is not active",
                          detail: "connection \(id.uuidString.lowercased()) is \(found.status.rawValue); only an active connection syncs")
        }
        let idText = id.uuidString.lowercased()
        let jobs = resources.map { resource in
            JobRequest(type: "sync.run", payload: ["connection": .string(idText), "resource": .string(resource), "trigger": "manual", "mode": .string(mode)],
                       priority: .high, tenant: found.tenant, provider: found.provider, connection: idText)
        }
        let queue = self.queue
        let outcomes = try await redis.withConnection { try queue.enqueue(jobs, on: $0) }
        let data: [JSONValue] = zip(resources, outcomes).map { resource, outcome in
            var row: [String: JSONValue] = ["resource": .string(resource), "mode": .string(mode)]
            if case .enqueued(let jobID) = outcome { row["job_id"] = .string(jobID) }
            return .object(row)
        }
        logger.info("API: sync triggered", metadata: ["connection": .string(idText), "resources": .stringConvertible(resources.count), "mode": .string(mode)])
        return Self.json(["connection": .string(idText), "data": .array(data)], status: .accepted)
    }

    /// The connection's sync runs, newest first, `cursor` being the last run of the page before.
    func syncRuns(_ id: UUID, _ request: Request, tenant: TenantAuthenticator.Tenant) async throws -> WebhookAnswer {
        let query = request.uri.queryParameters
        var errors: [(String, String)] = []
        let limit = Self.limit(query["limit"], errors: &errors)
        let before = Self.idCursor(query["cursor"], errors: &errors)
        let resource = query["resource"].map(String.init)
        guard errors.isEmpty else { throw Problem.invalid(errors) }
        let found = try await connection(id, tenant: tenant.id)
        if let resource, Providers.named(found.provider)?.syncResource(resource) == nil {
            throw Problem.invalid([("resource", "\(found.provider) syncs no resource named \(resource)")])
        }
        let older = before
        let rows = try await scoped(tenant.id) { try SyncRunStore().list(connection: id, resource: resource, before: older, limit: limit + 1, on: $0) }
        let page = rows.prefix(limit)
        var body: [String: JSONValue] = ["data": .array(page.map(Self.representation))]
        body["next_cursor"] = rows.count > limit ? page.last.map { .string(String($0.id)) } ?? nil : nil
        return Self.json(.object(body))
    }

    static func representation(_ run: SyncRun) -> JSONValue {
        var fields: [String: JSONValue] = [
            "id": .string(String(run.id)), "resource": .string(run.resource), "trigger": .string(run.trigger), "mode": .string(run.mode),
            "status": .string(run.status), "pages": .integer(Int64(run.pages)), "added": .integer(Int64(run.counts.added)),
            "updated": .integer(Int64(run.counts.updated)), "unchanged": .integer(Int64(run.counts.unchanged)),
            "deleted": .integer(Int64(run.deleted)), "started_at": .string(Timestamp.format(run.startedAt)), "job_id": .string(run.jobID),
        ]
        fields["finished_at"] = run.finishedAt.map { .string(Timestamp.format($0)) } ?? nil
        fields["checkpoint_from"] = run.checkpointFrom.map { .string($0) } ?? nil
        fields["checkpoint_to"] = run.checkpointTo.map { .string($0) } ?? nil
        fields["error"] = run.error.map { .string($0) } ?? nil
        return .object(fields)
    }

    // MARK: - records

    /// The change feed of one connection's resource (``RecordStore/feed(connection:tenant:resource:after:limit:modifiedAfter:includeDeleted:on:)``).
    func records(_ request: Request, tenant: TenantAuthenticator.Tenant) async throws -> WebhookAnswer {
        let query = request.uri.queryParameters
        var errors: [(String, String)] = []
        let limit = Self.limit(query["limit"], errors: &errors)
        var id: UUID?
        if let text = query["connection"] {
            id = UUID(uuidString: String(text))
            if id == nil { errors.append(("connection", "must be a UUID")) }
        } else {
            errors.append(("connection", "required: the connection whose records to read"))
        }
        let resource = query["resource"].map(String.init)
        if resource == nil { errors.append(("resource", "required: the resource to read (customers, invoices, …)")) }
        var cursor: FeedCursor?
        if let text = query["cursor"] {
            cursor = FeedCursor(String(text))
            if cursor == nil { errors.append(("cursor", "not a cursor this API handed out (next_cursor of an earlier page)")) }
        }
        var modifiedAfter: Date?
        if let text = query["modified_after"] {
            modifiedAfter = Timestamp.parse(String(text))
            if modifiedAfter == nil { errors.append(("modified_after", "an RFC 3339 time, such as 2026-12-01T00:00:00Z")) }
        }
        var includeDeleted = false
        if let text = query["include_deleted"] {
            switch text {
            case "true": includeDeleted = true
            case "false": includeDeleted = false
            default: errors.append(("include_deleted", "true or false"))
            }
        }
        var mapped = false
        if let text = query["form"] {
            switch text {
            case "raw": mapped = false
            case "mapped": mapped = true
            default: errors.append(("form", "raw (the provider's object, the default) or mapped (the tenant's mapping of it)"))
            }
        }
        guard errors.isEmpty, let id, let resource else { throw Problem.invalid(errors) }
        let found = try await connection(id, tenant: tenant.id)
        if Providers.named(found.provider)?.syncResource(resource) == nil {
            throw Problem.invalid([("resource", "\(found.provider) syncs no resource named \(resource)")])
        }
        let (tenantID, from, since, deleted) = (tenant.id, cursor, modifiedAfter, includeDeleted)
        let (provider, wantsMapped) = (found.provider, mapped)
        let (page, mapping) = try await scoped(tenantID) { database in
            let page = try RecordStore().feed(connection: id, tenant: tenantID, resource: resource, after: from, limit: limit,
                                              modifiedAfter: since, includeDeleted: deleted, on: database)
            // Records stored before their resource had a mapping are mapped as they are read.
            let unmapped = wantsMapped && page.records.contains { $0.mapped == nil }
            return (page, unmapped ? try MappingStore().current(tenant: tenantID, provider: provider, resource: resource, on: database) : nil)
        }
        let data: [JSONValue] = page.records.map { record in
            var fields: [String: JSONValue] = [
                "id": .string(record.externalID), "resource": .string(resource), "deleted": .bool(record.deletedAt != nil),
                "first_seen_at": .string(Timestamp.format(record.firstSeenAt)), "last_seen_at": .string(Timestamp.format(record.lastSeenAt)),
                "changed_at": .string(Timestamp.format(record.changedAt)), "cursor": .string(record.cursor.description),
                "last_conflict": record.lastConflict ?? .null,
            ]
            if mapped {
                if let stored = record.mapped {
                    fields["mapped"] = stored
                    fields["mapping_version"] = record.mappingVersion.map { .integer(Int64($0)) } ?? .null
                } else {
                    fields["mapped"] = mapping.map { $0.mapping.apply(to: record.data).record } ?? .null
                    fields["mapping_version"] = mapping.map { .integer(Int64($0.version)) } ?? .null
                }
            } else {
                fields["data"] = record.data
            }
            fields["version"] = record.version.map { .integer($0) } ?? nil
            fields["deleted_at"] = record.deletedAt.map { .string(Timestamp.format($0)) } ?? nil
            return .object(fields)
        }
        return Self.json(["data": .array(data), "next_cursor": .string(page.next.description), "has_more": .bool(page.hasMore)])
    }

    // MARK: - parameters

    /// A list's cursor that is the id of the page's last row (runs, webhook events: newest first).
    static func idCursor(_ text: Substring?, errors: inout [(String, String)]) -> Int64? {
        guard let text else { return nil }
        guard let id = Int64(text), id > 0 else {
            errors.append(("cursor", "not a cursor this API handed out"))
            return nil
        }
        return id
    }

    static func limit(_ text: Substring?, errors: inout [(String, String)]) -> Int {
        guard let text else { return defaultLimit }
        guard let limit = Int(text), (1...maximumLimit).contains(limit) else {
            errors.append(("limit", "a whole number from 1 to \(maximumLimit)"))
            return defaultLimit
        }
        return limit
    }
}

extension String {
    fileprivate var nonEmpty: String? { isEmpty ? nil : self }
}
