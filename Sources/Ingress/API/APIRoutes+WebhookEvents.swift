import Foundation
import Hummingbird
import JunctionCore
import JunctionProviders
import JunctionQueue

/// `GET /v1/webhook-events` (search), `GET /v1/webhook-events/{id}` (one, with its body) and
/// `POST /v1/webhook-events/{id}/replay` (apply it again, on a worker). A tenant sees the events
/// of its own endpoints and those that changed its connections (`webhook.process` records the
/// owner); an event no connection claimed is visible to none.
extension APIRoutes {
    func registerWebhookEvents(on router: Router<some RequestContext>) {
        router.get("/v1/webhook-events") { request, _ in await answer(request) { try await listWebhookEvents(request, tenant: $0) } }
        router.get("/v1/webhook-events/:id") { request, context in
            await answer(request) { try await showWebhookEvent(try Self.eventID(context.parameters.get("id")), tenant: $0) }
        }
        router.post("/v1/webhook-events/:id/replay") { request, context in
            await answer(request, admin: true) { try await replayWebhookEvent(try Self.eventID(context.parameters.get("id")), tenant: $0) }
        }
    }

    static func eventID(_ text: String?) throws -> Int64 {
        guard let text, let id = Int64(text), id > 0 else { throw Problem.invalid([("id", "a webhook event's id: a positive whole number")]) }
        return id
    }

    static let eventColumns: StaticString = """
        id, provider, event_id, event_type, connection_id, content_type, received_at, processed_at, outcome, length(body) AS size
        """

    func listWebhookEvents(_ request: Request, tenant: TenantAuthenticator.Tenant) async throws -> WebhookAnswer {
        let query = request.uri.queryParameters
        var errors: [(String, String)] = []
        let limit = Self.limit(query["limit"], errors: &errors)
        let before = Self.idCursor(query["cursor"], errors: &errors)
        let provider = query["provider"].map(String.init)
        if let provider, Providers.named(provider) == nil, Providers.webhookScheme(named: provider) == nil {
            errors.append(("provider", "no provider is named \(provider)"))
        }
        let type = query["type"].map(String.init)
        if let type, !(1...200).contains(type.utf8.count) { errors.append(("type", "1 to 200 characters")) }
        var bounds: [String: Date] = [:]
        for name: Substring in ["received_after", "received_before"] {
            guard let text = query[name] else { continue }
            if let date = Timestamp.parse(String(text)) { bounds[String(name)] = date } else { errors.append((String(name), "an RFC 3339 time, such as 2026-12-01T00:00:00Z")) }
        }
        let connection = query["connection"].map(String.init)
        var connectionID: UUID?
        if let connection {
            connectionID = UUID(uuidString: connection)
            if connectionID == nil { errors.append(("connection", "must be a UUID")) }
        }
        guard errors.isEmpty else { throw Problem.invalid(errors) }
        let (tenantID, older, after, until, only) = (tenant.id, before, bounds["received_after"], bounds["received_before"], connectionID)
        let rows: [JSONValue] = try await scoped(tenantID) { database in
            try database.query("""
                SELECT \(sql: Self.eventColumns) FROM webhook_events e
                WHERE (e.tenant = \(tenantID) OR e.connection_id IN (SELECT id FROM connections WHERE tenant = \(tenantID)))
                  AND (\(provider)::text IS NULL OR e.provider = \(provider)) AND (\(type)::text IS NULL OR e.event_type = \(type))
                  AND (\(after)::timestamptz IS NULL OR e.received_at > \(after)) AND (\(until)::timestamptz IS NULL OR e.received_at < \(until))
                  AND (\(only)::uuid IS NULL OR e.connection_id = \(only)) AND (\(older)::bigint IS NULL OR e.id < \(older))
                ORDER BY e.id DESC LIMIT \(limit + 1)
                """).rows.map(Self.event)
        }
        let page = rows.prefix(limit)
        var body: [String: JSONValue] = ["data": .array(Array(page))]
        body["next_cursor"] = rows.count > limit ? page.last?["id"] ?? nil : nil
        return Self.json(.object(body))
    }

    func showWebhookEvent(_ id: Int64, tenant: TenantAuthenticator.Tenant) async throws -> WebhookAnswer {
        let tenantID = tenant.id
        let found: JSONValue? = try await scoped(tenantID) { database in
            try database.query("""
                SELECT \(sql: Self.eventColumns), body, headers::text AS headers FROM webhook_events e
                WHERE e.id = \(id) AND (e.tenant = \(tenantID) OR e.connection_id IN (SELECT id FROM connections WHERE tenant = \(tenantID)))
                """).first.map { row in
                guard case .object(var fields) = try Self.event(row) else { return .null }
                let body: [UInt8] = try row.decode("body")
                // The body as received: text where it is UTF-8 (JSON, forms), else base64.
                if let text = String(validating: body, as: UTF8.self) {
                    fields["body"] = .string(text)
                } else {
                    fields["body_base64"] = .string(Data(body).base64EncodedString())
                }
                fields["headers"] = try JSONValue(parsing: try row.decode("headers", as: String.self))
                return .object(fields)
            }
        }
        guard let found else { throw Problem.notFound("webhook event", String(id)) }
        return Self.json(found)
    }

    /// Hands the stored event to a worker again (`webhook.process` with `replay`): its changes are
    /// applied again, an older state never over a newer one.
    func replayWebhookEvent(_ id: Int64, tenant: TenantAuthenticator.Tenant) async throws -> WebhookAnswer {
        let tenantID = tenant.id
        let job: JobRequest? = try await scoped(tenantID) { database in
            try database.query("""
                SELECT e.provider, e.event_id, e.event_type, e.tenant, e.connection_id, e.content_type, e.body, e.headers::text AS headers, e.received_at
                FROM webhook_events e
                WHERE e.id = \(id) AND (e.tenant = \(tenantID) OR e.connection_id IN (SELECT id FROM connections WHERE tenant = \(tenantID)))
                """).first.map { row in
                let provider: String = try row.decode("provider")
                let connection: UUID? = try row.decode("connection_id")
                var payload: [String: JSONValue] = [
                    "provider": .string(provider), "event_id": .string(try row.decode("event_id")), "replay": true,
                    "body_base64": .string(Data(try row.decode("body", as: [UInt8].self)).base64EncodedString()),
                    "headers": try JSONValue(parsing: try row.decode("headers", as: String.self)),
                    "received_at": .string(Timestamp.format(try row.decode("received_at", as: Date.self))),
                ]
                payload["event_type"] = (try row.decode("event_type", as: String?.self)).map { .string($0) } ?? nil
                payload["content_type"] = (try row.decode("content_type", as: String?.self)).map { .string($0) } ?? nil
                payload["tenant"] = (try row.decode("tenant", as: String?.self)).map { .string($0) } ?? nil
                payload["connection"] = connection.map { .string($0.uuidString.lowercased()) } ?? nil
                return JobRequest(type: "webhook.process", payload: .object(payload), priority: .high, tenant: tenantID, provider: provider,
                                  connection: connection?.uuidString.lowercased())
            }
        }
        guard let job else { throw Problem.notFound("webhook event", String(id)) }
        let queue = self.queue
        let outcome = try await redis.withConnection { try queue.enqueue([job], on: $0) }.first
        logger.info("API: webhook event replayed", metadata: ["event": .stringConvertible(id), "tenant": .string(tenantID)])
        var body: [String: JSONValue] = ["id": .string(String(id)), "status": "replaying"]
        if case .enqueued(let jobID)? = outcome { body["job_id"] = .string(jobID) }
        return Self.json(.object(body), status: .accepted)
    }

    static func event(_ row: PostgresRow) throws -> JSONValue {
        var fields: [String: JSONValue] = [
            "id": .string(String(try row.decode("id", as: Int64.self))), "provider": .string(try row.decode("provider")),
            "event_id": .string(try row.decode("event_id")), "received_at": .string(Timestamp.format(try row.decode("received_at", as: Date.self))),
            "size": .integer(try row.decode("size")),
        ]
        fields["type"] = (try row.decode("event_type", as: String?.self)).map { .string($0) } ?? nil
        fields["connection"] = (try row.decode("connection_id", as: UUID?.self)).map { .string($0.uuidString.lowercased()) } ?? nil
        fields["content_type"] = (try row.decode("content_type", as: String?.self)).map { .string($0) } ?? nil
        fields["processed_at"] = (try row.decode("processed_at", as: Date?.self)).map { .string(Timestamp.format($0)) } ?? nil
        fields["outcome"] = (try row.decode("outcome", as: String?.self)).map { .string($0) } ?? nil
        return .object(fields)
    }
}
