import Foundation
import Hummingbird
import JunctionCore
import JunctionProviders
import JunctionQueue
import JunctionStores

/// `/v1/admin/*`: for internal services and on-call, signed with HMAC (``AdminServices``), across
/// every tenant. Health, every connection, a sync forced for any tenant, and the dead letters.
extension APIRoutes {
    func registerAdmin(on router: Router<some RequestContext>) {
        router.get("/v1/admin/health") { request, _ in await adminAnswer(request, .read) { _ in try await adminHealth() } }
        router.get("/v1/admin/connections") { request, _ in await adminAnswer(request, .read) { _ in try await listConnections(request, tenantID: nil) } }
        router.post("/v1/admin/connections/:id/syncs") { request, context in
            let (id, body) = (context.parameters.get("id"), try? await request.body.collect(upTo: 64 * 1024))
            return await adminAnswer(request, .sync, body: body) { _ in
                let id = try Self.id(id)
                let found = try await database.withConnection { try ConnectionStore().find(id, on: $0) }
                guard let found else { throw Problem.notFound("connection", id.uuidString.lowercased()) }
                return try await triggerSync(found, body: body)
            }
        }
        router.delete("/v1/admin/connections/:id/syncs") { request, context in
            let id = context.parameters.get("id")
            return await adminAnswer(request, .sync) { _ in try await clearSyncQueue(try Self.id(id), resource: request.uri.queryParameters["resource"].map(String.init)) }
        }
        router.get("/v1/admin/dead-letters") { request, _ in await adminAnswer(request, .read) { _ in try await deadLetters(request) } }
        router.get("/v1/admin/dead-letters/:id") { request, context in
            let id = context.parameters.get("id") ?? ""
            return await adminAnswer(request, .read) { _ in Self.json(Self.representation(try await deadLetter(id), full: true)) }
        }
        router.post("/v1/admin/dead-letters/:id/replay") { request, context in
            let id = context.parameters.get("id") ?? ""
            return await adminAnswer(request, .deadLetters) { _ in
                let letter = try await deadLetter(id)
                let queue = self.queue
                let replayed = try await redis.withConnection { try queue.replay(letter, on: $0) }
                guard replayed else { throw Problem.notFound("dead letter", id) }
                return Self.json(["id": .string(id), "status": "replayed", "type": .string(letter.envelope.type)], status: .accepted)
            }
        }
        router.delete("/v1/admin/dead-letters") { request, _ in
            await adminAnswer(request, .deadLetters) { _ in
                let query = request.uri.queryParameters
                var cutoff: Date?
                if let text = query["died_before"] {
                    cutoff = Timestamp.parse(String(text))
                    if cutoff == nil { throw Problem.invalid([("died_before", "an RFC 3339 time, such as 2026-12-01T00:00:00Z")]) }
                } else if query["all"] != "true" {
                    throw Problem.invalid([("died_before", "required (or all=true): which dead letters to purge")])
                }
                let (queue, before) = (self.queue, cutoff)
                let removed = try await redis.withConnection { try queue.purgeDead(diedAtOrBefore: before, on: $0) }
                return Self.json(["purged": .integer(Int64(removed))])
            }
        }
    }

    /// Verifies the service's signature for `permission`, runs `body`, and records a mutating
    /// call in the audit log; failures as ``answer(_:admin:requestBody:_:)`` answers them.
    func adminAnswer(_ request: Request, _ permission: AdminServices.Permission, body requestBody: ByteBuffer? = nil,
                     _ body: (String) async throws -> WebhookAnswer) async -> Response {
        await respond(request) {
            guard let admin else {
                throw Problem(status: .serviceUnavailable, slug: "admin-not-configured", title: "No internal service is configured",
                              detail: "set JUNCTION_ADMIN_SERVICES and each service's JUNCTION_ADMIN_KEY_<SERVICE> (docs/api.md#admin-operations)")
            }
            let service = try await admin.verify(request, body: requestBody, redis: redis, namespace: RedisNamespace(queue.settings.keys.namespace))
            let answered = try await Self.answering {
                guard service.permissions.contains(permission) else {
                    throw Problem(status: .forbidden, slug: "forbidden", title: "Not allowed", detail: "\(service.name) lacks the \(permission.rawValue) permission")
                }
                return try await body(service.name)
            }
            if Self.isMutating(request) {
                try await audit(request, tenant: "*", actor: "service:\(service.name)", answer: answered)
            }
            return answered
        }
    }

    /// The fleet at a glance: the queue, the connections by provider and status, and the sync
    /// runs of the last 24 hours that did not succeed.
    func adminHealth() async throws -> WebhookAnswer {
        let queue = self.queue
        let stats = try await redis.withConnection { try queue.stats(on: $0) }
        let (connections, failures): ([JSONValue], [JSONValue]) = try await database.withConnection { database in
            let connections = try database.query("""
                SELECT provider, status, count(*)::bigint AS n FROM connections GROUP BY provider, status ORDER BY provider, status
                """).rows.map { row -> JSONValue in
                ["provider": .string(try row.decode("provider")), "status": .string(try row.decode("status")), "count": .integer(try row.decode("n"))]
            }
            let failures = try database.query("""
                SELECT provider, resource, status, count(*)::bigint AS n, max(finished_at) AS last FROM sync_runs
                WHERE started_at > now() - interval '24 hours' AND status IN ('failed', 'interrupted')
                GROUP BY provider, resource, status ORDER BY n DESC, provider, resource LIMIT 100
                """).rows.map { row -> JSONValue in
                var fields: [String: JSONValue] = [
                    "provider": .string(try row.decode("provider")), "resource": .string(try row.decode("resource")),
                    "status": .string(try row.decode("status")), "count": .integer(try row.decode("n")),
                ]
                fields["last"] = (try row.decode("last", as: Date?.self)).map { .string(Timestamp.format($0)) } ?? nil
                return .object(fields)
            }
            return (connections, failures)
        }
        var ready: [String: JSONValue] = [:]
        var oldest: [String: JSONValue] = [:]
        for priority in JobPriority.allCases {
            ready[priority.rawValue] = .integer(Int64(stats.ready[priority] ?? 0))
            if let age = stats.oldestReadyAge[priority] { oldest[priority.rawValue] = .integer(Milliseconds.of(age)) }
        }
        return Self.json([
            "queue": ["ready": .object(ready), "in_flight": .integer(Int64(stats.inflight)), "delayed": .integer(Int64(stats.delayed)),
                      "dead": .integer(Int64(stats.dead)), "oldest_ready_ms": .object(oldest)],
            "connections": .array(connections),
            "sync_failures_24h": .array(failures),
        ])
    }

    func deadLetters(_ request: Request) async throws -> WebhookAnswer {
        let query = request.uri.queryParameters
        var errors: [(String, String)] = []
        let limit = Self.limit(query["limit"], errors: &errors)
        guard errors.isEmpty else { throw Problem.invalid(errors) }
        let (queue, type) = (self.queue, query["type"].map(String.init))
        let letters = try await redis.withConnection { try queue.deadLetters(on: $0, limit: limit, type: type) }
        return Self.json(["data": .array(letters.map { Self.representation($0, full: false) })])
    }

    func deadLetter(_ id: String) async throws -> DeadLetter {
        guard !id.isEmpty, id.utf8.count <= 128 else { throw Problem.invalid([("id", "a job id")]) }
        let queue = self.queue
        guard let letter = try await redis.withConnection({ try queue.deadLetter(id: id, on: $0) }) else { throw Problem.notFound("dead letter", id) }
        return letter
    }

    /// A dead letter: its job, when it died and why; `full` adds its payload and every attempt's error.
    /// Clears a connection's sync queue: its queued `sync.run` jobs (of one resource, with
    /// `resource`), ready or waiting for a retry; a run under way finishes, and its schedules
    /// enqueue again when they are next due.
    func clearSyncQueue(_ id: UUID, resource: String?) async throws -> WebhookAnswer {
        let found = try await database.withConnection { try ConnectionStore().find(id, on: $0) }
        guard let found else { throw Problem.notFound("connection", id.uuidString.lowercased()) }
        if let resource, Providers.named(found.provider)?.syncResource(resource) == nil {
            throw Problem.invalid([("resource", "\(found.provider) syncs no resource named \(resource)")])
        }
        let (queue, idText) = (self.queue, id.uuidString.lowercased())
        let removed = try await redis.withConnection { try queue.cancelQueued(type: "sync.run", connection: idText, resource: resource, on: $0) }
        logger.info("admin: sync queue cleared", metadata: [
            "connection": .string(idText), "resource": .string(resource ?? "*"), "removed": .stringConvertible(removed.count),
        ])
        var body: [String: JSONValue] = ["connection": .string(idText), "removed": .integer(Int64(removed.count)), "job_ids": .array(removed.map(JSONValue.string))]
        body["resource"] = resource.map(JSONValue.string) ?? .null
        return Self.json(.object(body))
    }

    static func representation(_ letter: DeadLetter, full: Bool) -> JSONValue {
        let envelope = letter.envelope
        var fields: [String: JSONValue] = [
            "id": .string(envelope.id), "type": .string(envelope.type), "priority": .string(envelope.priority.rawValue),
            "attempt": .integer(Int64(envelope.attempt)), "max_attempts": .integer(Int64(envelope.maxAttempts)),
            "enqueued_at": .string(Timestamp.format(envelope.enqueuedAt)), "died_at": .string(Timestamp.format(letter.diedAt)),
        ]
        fields["tenant"] = envelope.tenant.map { .string($0) } ?? nil
        fields["provider"] = envelope.provider.map { .string($0) } ?? nil
        fields["connection"] = envelope.connection.map { .string($0) } ?? nil
        fields["last_error"] = envelope.errors.last.map { .string($0.message) } ?? nil
        if full {
            fields["payload"] = envelope.payload
            fields["errors"] = .array(envelope.errors.map { error in
                ["at": .string(Timestamp.format(error.at)), "attempt": .integer(Int64(error.attempt)), "class": .string("\(error.errorClass)"), "message": .string(error.message)]
            })
        }
        return .object(fields)
    }
}
