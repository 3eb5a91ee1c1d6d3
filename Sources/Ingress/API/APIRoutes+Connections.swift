import Foundation
import Hummingbird
import JunctionCore
import JunctionProviders
import JunctionQueue
import JunctionStores

/// Creating connections, refreshing a token now, retrying a sync, and the audit log of every
/// mutating call.
extension APIRoutes {
    /// `POST /v1/connections`: `{"provider": "stripe", "api_key": "sk_…"}` stores the key sealed and
    /// asks a worker to check it (`connection.check`; the connection is `pending` until the
    /// provider accepts it: 202); `{"provider": "square", "return_url": …, "shop": …}` starts the
    /// OAuth flow and answers the URL to send the tenant to (201).
    func createConnection(_ body: ByteBuffer?, tenant: TenantAuthenticator.Tenant) async throws -> WebhookAnswer {
        guard let body, body.readableBytes > 0, case .object(let fields)? = try? JSONValue(parsing: Array(body.readableBytesView)) else {
            throw Problem.invalid([("body", "a JSON object: {\"provider\": \"stripe\", \"api_key\": \"sk_…\"} or {\"provider\": \"square\", \"return_url\": \"…\"}")])
        }
        var errors: [(String, String)] = []
        for key in fields.keys.sorted() where !["provider", "api_key", "return_url", "shop"].contains(key) {
            errors.append((key, "not a field of this request (provider, api_key, return_url, shop)"))
        }
        let provider = fields["provider"]?.stringValue.flatMap(Providers.named)
        if provider == nil { errors.append(("provider", fields["provider"] == nil ? "required" : "one of \(Providers.all.map(\.id).joined(separator: ", "))")) }
        let apiKey = fields["api_key"].map { $0.stringValue?.trimmingCharacters(in: .whitespaces) ?? "" }
        for name in ["return_url", "shop"] where fields[name] != nil && fields[name]?.stringValue == nil { errors.append((name, "a string")) }
        if let provider, let apiKey {
            if !provider.auth.contains(.apiKey) {
                errors.append(("api_key", "\(provider.displayName) does not take API keys; those that do: \(Providers.all.filter { $0.auth.contains(.apiKey) }.map(\.id).joined(separator: ", "))"))
            } else if apiKey.isEmpty || apiKey.utf8.count > 512 {
                errors.append(("api_key", "1 to 512 characters"))
            }
        } else if let provider, !provider.auth.contains(.oauth2) {
            if provider.auth.contains(.apiKey) {
                errors.append(("api_key", "required: \(provider.displayName) connects with an API key"))
            } else {
                errors.append(("provider", "\(provider.displayName) connects with \(provider.auth.map(\.rawValue).sorted().joined(separator: ", ")), which this API does not take yet"))
            }
        }
        guard errors.isEmpty, let provider else { throw Problem.invalid(errors) }

        guard let apiKey else {
            guard let connect else {
                throw Problem(status: .serviceUnavailable, slug: "oauth-not-configured", title: "OAuth is not configured here",
                              detail: "this ingress has no OAuth connect flow configured (docs/connections.md)")
            }
            let started: (connection: Connection, url: String, expiresAt: Date)
            do {
                started = try await connect.start(tenant: tenant, provider: provider, returnURL: fields["return_url"]?.stringValue,
                                                  shop: fields["shop"]?.stringValue, reconnect: nil)
            } catch let problem as Problem where problem.status == .badRequest {
                // The connect flow's 400s are fields of this request.
                throw Problem.invalid([(problem.slug == "invalid-shop" ? "shop" : "return_url", problem.detail)])
            }
            let (connection, url, expiresAt) = started
            return Self.json(["connection": Self.representation(connection), "authorize_url": .string(url), "expires_at": .string(Timestamp.format(expiresAt))],
                             status: .created)
        }
        let (tenantID, store, vault, actor) = (tenant.id, ConnectionStore(), self.vault, Self.actor(tenant))
        let connection = try await scoped(tenantID) { database in
            try database.transaction { database in
                let connection = try store.create(tenant: tenantID, provider: provider.id, auth: .apiKey, actor: actor, on: database)
                try vault.put(connection.id, tenant: tenantID, TokenPair(access: apiKey), on: database)
                return connection
            }
        }
        let idText = connection.id.uuidString.lowercased()
        let job = JobRequest(type: "connection.check", payload: ["connection": .string(idText)], priority: .critical, tenant: tenantID,
                             provider: provider.id, connection: idText)
        let queue = self.queue
        // Enqueued after the commit. If Redis fails now, the connection is deleted again and the
        // caller gets 503 to retry: a pending key connection nothing will check must not stay.
        let outcome: EnqueueOutcome?
        do {
            outcome = try await redis.withConnection { try queue.enqueue([job], on: $0) }.first
        } catch {
            let id = connection.id
            try? await scoped(tenantID) { try store.delete(id, reason: "its check could not be enqueued", actor: actor, on: $0) }
            throw error
        }
        logger.info("API: connection created with an API key", metadata: ["connection": .string(idText), "tenant": .string(tenantID), "provider": .string(provider.id)])
        var answer: [String: JSONValue] = ["connection": Self.representation(connection)]
        if case .enqueued(let jobID)? = outcome { answer["check_job_id"] = .string(jobID) }
        return Self.json(.object(answer), status: .accepted)
    }

    /// `POST /v1/connections/{id}/refresh`: refreshes an OAuth connection's token now, on a worker.
    func refreshConnection(_ id: UUID, tenant: TenantAuthenticator.Tenant) async throws -> WebhookAnswer {
        let found = try await connection(id, tenant: tenant.id)
        guard found.auth == .oauth2 else {
            throw Problem(status: .conflict, slug: "not-refreshable", title: "Nothing to refresh", detail: "an API key connection has no token to refresh")
        }
        guard found.status == .active else {
            throw Problem(status: .conflict, slug: "connection-not-active", title: "The connection is not active",
                          detail: "connection \(id.uuidString.lowercased()) is \(found.status.rawValue)\(found.status == .needsReauth ? ": the tenant must connect again" : "")")
        }
        let idText = id.uuidString.lowercased()
        let job = JobRequest(type: "token.refresh", payload: ["connection": .string(idText), "force": true], priority: .high, tenant: found.tenant,
                             provider: found.provider, connection: idText)
        let queue = self.queue
        let outcome = try await redis.withConnection { try queue.enqueue([job], on: $0) }.first
        var answer: [String: JSONValue] = ["connection": .string(idText), "status": "refreshing"]
        if case .enqueued(let jobID)? = outcome { answer["job_id"] = .string(jobID) }
        return Self.json(.object(answer), status: .accepted)
    }

    /// `POST /v1/connections/{id}/syncs/runs/{run}/retry`: runs a failed or interrupted run's
    /// resource again; it resumes from the run's last committed page.
    func retrySync(_ id: UUID, run text: String?, tenant: TenantAuthenticator.Tenant) async throws -> WebhookAnswer {
        guard let text, let runID = Int64(text), runID > 0 else { throw Problem.invalid([("run", "a run's id: a positive whole number")]) }
        let found = try await connection(id, tenant: tenant.id)
        let runs = try await scoped(tenant.id) { try SyncRunStore().list(connection: id, before: runID + 1, limit: 1, on: $0) }
        guard let run = runs.first, run.id == runID else { throw Problem.notFound("sync run", text) }
        guard ["failed", "interrupted"].contains(run.status) else {
            throw Problem(status: .conflict, slug: "run-not-failed", title: "Only a failed run is retried", detail: "run \(runID) is \(run.status)")
        }
        guard found.status == .active else {
            throw Problem(status: .conflict, slug: "connection-not-active", title: "The connection is not active",
                          detail: "connection \(id.uuidString.lowercased()) is \(found.status.rawValue); only an active connection syncs")
        }
        let idText = id.uuidString.lowercased()
        let job = JobRequest(type: "sync.run", payload: ["connection": .string(idText), "resource": .string(run.resource), "trigger": "retry"],
                             priority: .high, tenant: found.tenant, provider: found.provider, connection: idText)
        let queue = self.queue
        let outcome = try await redis.withConnection { try queue.enqueue([job], on: $0) }.first
        var answer: [String: JSONValue] = ["connection": .string(idText), "resource": .string(run.resource), "retried_run": .string(String(runID))]
        if case .enqueued(let jobID)? = outcome { answer["job_id"] = .string(jobID) }
        return Self.json(.object(answer), status: .accepted)
    }

    /// Records a mutating call in `api_audit` before it is answered; a call that cannot be
    /// recorded answers 503 (its effect, if any, is in the job it enqueued).
    func audit(_ request: Request, tenant: TenantAuthenticator.Tenant, answer: WebhookAnswer) async throws {
        try await audit(request, tenant: tenant.id, actor: Self.actor(tenant), answer: answer)
    }

    /// `tenant` is `*` for an internal service's call across tenants.
    func audit(_ request: Request, tenant tenantID: String, actor: String, answer: WebhookAnswer) async throws {
        let outcome: String
        if answer.status.code >= 400, case .object(let problem)? = try? JSONValue(parsing: Array(answer.body.utf8)) {
            outcome = problem["type"]?.stringValue ?? "error"
        } else {
            outcome = answer.headers.contains { $0.name == "Idempotent-Replayed" } ? "replayed" : "ok"
        }
        let (method, path, status) = (request.method.rawValue, request.uri.path, answer.status.code)
        let requestID = Correlation.traceID
        try await database.withConnection { database in
            try database.query("""
                INSERT INTO api_audit (tenant, actor, method, path, status, outcome, request_id)
                VALUES (\(tenantID), \(actor), \(method), \(path), \(status), \(outcome), \(requestID))
                """)
        }
    }
}
