import Foundation
import Hummingbird
import JunctionCore

/// Square's v2 shape: customers (list with `cursor`/`limit`, create, retrieve, update with
/// `version`), payments, the catalog list and inventory counts; Bearer auth; `{errors:[…]}` bodies.
/// Lists run oldest first, so records created during a walk show up at its end, once.
enum SquareAPI {
    static func error(_ status: HTTPResponse.Status, category: String = "INVALID_REQUEST_ERROR", code: String, detail: String, field: String? = nil) -> Response {
        var entry: [String: JSONValue] = ["category": .string(category), "code": .string(code), "detail": .string(detail)]
        if let field { entry["field"] = .string(field) }
        return json(["errors": [.object(entry)]], status: status)
    }

    /// A page of `collection` after `cursor` (the last id of the previous page, base64).
    static func page(_ collection: RecordCollection, cursor: String?, limit: Int) -> (records: [Record], cursor: String?)? {
        var start = 0
        if let cursor {
            guard let decoded = Data(base64Encoded: cursor).map({ String(decoding: $0, as: UTF8.self) }), let position = collection.position(of: decoded) else { return nil }
            start = position + 1
        }
        let records = Array(collection.records[min(start, collection.count)..<min(start + limit, collection.count)])
        let more = start + limit < collection.count
        return (records, more ? Data((records.last?.id ?? "").utf8).base64EncodedString() : nil)
    }

    static func limit(_ query: [String: String], maximum: Int = 100) -> Int? {
        guard let text = query["limit"] else { return maximum }
        guard let value = Int(text), (1...maximum).contains(value) else { return nil }
        return value
    }

    static func list(_ name: String, key: String, _ request: Request, sandbox: Sandbox) -> Response {
        let query = FormBody.query(request.uri.query)
        guard let limit = limit(query) else { return error(.badRequest, code: "INVALID_VALUE", detail: "limit must be between 1 and 100", field: "limit") }
        return sandbox.world.withLock { world in
            guard let page = page(world.square[name] ?? RecordCollection(), cursor: query["cursor"], limit: limit) else {
                return error(.badRequest, code: "INVALID_CURSOR", detail: "The cursor is not valid.", field: "cursor")
            }
            var body: [String: JSONValue] = [:]
            if !page.records.isEmpty { body[key] = .array(page.records.map(\.json)) }
            if let cursor = page.cursor { body["cursor"] = .string(cursor) }
            return json(.object(body))
        }
    }

    enum UpdateOutcome {
        case updated(Record)
        case refused(Response)
    }

    static let customerFields = ["given_name", "family_name", "company_name", "nickname", "email_address", "phone_number", "reference_id", "note", "address", "birthday"]

    static func register(on router: Router<BasicRequestContext>, sandbox: Sandbox) {
        @Sendable func guarded(_ request: Request, _ body: @escaping @Sendable ([UInt8]) async throws -> Response) async throws -> Response {
            try await sandbox.serve(.square, request) { bytes in
                if let refusal = sandbox.authorize(.square, request) { return refusal }
                return try await body(bytes)
            }
        }
        router.get("/v2/customers") { request, _ in try await guarded(request) { _ in list("customers", key: "customers", request, sandbox: sandbox) } }
        router.get("/v2/payments") { request, _ in try await guarded(request) { _ in list("payments", key: "payments", request, sandbox: sandbox) } }
        router.get("/v2/catalog/list") { request, _ in try await guarded(request) { _ in list("catalog", key: "objects", request, sandbox: sandbox) } }
        router.get("/v2/customers/:id") { request, context in
            let id = context.parameters.get("id") ?? ""
            return try await guarded(request) { _ in
                guard let record = sandbox.world.withLock({ $0.square["customers"]?.find(id) }) else {
                    return error(.notFound, code: "NOT_FOUND", detail: "Customer with ID `\(id)` not found.")
                }
                return json(["customer": record.json])
            }
        }
        router.post("/v2/customers") { request, _ in
            try await guarded(request) { body in
                guard case .object(let input)? = try? JSONValue(parsing: body) else { return error(.badRequest, code: "INVALID_JSON", detail: "The body is not JSON.") }
                guard customerFields.prefix(5).contains(where: { input[$0] != nil }) else {
                    return error(.badRequest, code: "MISSING_REQUIRED_PARAMETER",
                                 detail: "At least one of given_name, family_name, company_name, email_address or phone_number is required.")
                }
                let record = sandbox.world.withLock { world -> Record in
                    let id = world.random.token(26).uppercased()
                    let now = world.nowMs()
                    let stamp = Timestamp.format(Date(timeIntervalSince1970: Double(now) / 1000))
                    var fields: [String: JSONValue] = ["id": .string(id), "created_at": .string(stamp), "updated_at": .string(stamp), "version": 0, "creation_source": "THIRD_PARTY"]
                    for name in customerFields { if let value = input[name] { fields[name] = value } }
                    var collection = world.square["customers"] ?? RecordCollection()
                    let record = collection.insert(id: id, created: now / 1000, updatedMs: now, fields: fields)
                    world.square["customers"] = collection
                    return record
                }
                sandbox.webhooks.square(type: "customer.created", objectType: "customer", id: record.id, object: record.json)
                return json(["customer": record.json])
            }
        }
        router.put("/v2/customers/:id") { request, context in
            let id = context.parameters.get("id") ?? ""
            return try await guarded(request) { body in
                guard case .object(let input)? = try? JSONValue(parsing: body) else { return error(.badRequest, code: "INVALID_JSON", detail: "The body is not JSON.") }
                let outcome = sandbox.world.withLock { world -> UpdateOutcome in
                    guard let current = world.square["customers"]?.find(id) else {
                        return .refused(error(.notFound, code: "NOT_FOUND", detail: "Customer with ID `\(id)` not found."))
                    }
                    let version = current.fields["version"]?.intValue ?? 0
                    if let asked = input["version"]?.intValue, asked != version {
                        return .refused(error(.badRequest, code: "CONFLICT", detail: "The customer's version is \(version), not \(asked): it changed since it was read.", field: "version"))
                    }
                    let now = world.nowMs()
                    let updated = world.square["customers"]!.update(id) { record in
                        for name in customerFields { if let value = input[name] { record.fields[name] = value } }
                        record.fields["version"] = .integer(version + 1)
                        record.fields["updated_at"] = .string(Timestamp.format(Date(timeIntervalSince1970: Double(now) / 1000)))
                        record.updatedMs = now
                    }!
                    return .updated(updated)
                }
                switch outcome {
                case .refused(let response): return response
                case .updated(let record):
                    sandbox.webhooks.square(type: "customer.updated", objectType: "customer", id: record.id, object: record.json)
                    return json(["customer": record.json])
                }
            }
        }
        router.post("/v2/inventory/counts/batch-retrieve") { request, _ in
            try await guarded(request) { body in
                let input = (try? JSONValue(parsing: body)) ?? [:]
                let ids = input["catalog_object_ids"].flatMap { value -> [String]? in
                    if case .array(let items) = value { items.compactMap(\.stringValue) } else { nil }
                } ?? sandbox.world.withLock { world in (world.square["catalog"]?.records ?? []).prefix(100).map(\.id) }
                let counts: [JSONValue] = ids.map { id in
                    // A stable quantity per item, so tests can assert it.
                    let quantity = id.unicodeScalars.reduce(0) { ($0 * 31 + Int($1.value)) % 1000 }
                    return ["catalog_object_id": .string(id), "catalog_object_type": "ITEM_VARIATION", "state": "IN_STOCK",
                            "location_id": "L88917AVBK2S5", "quantity": .string(String(quantity)), "calculated_at": .string(Timestamp.format(Date()))]
                }
                return json(counts.isEmpty ? [:] : ["counts": .array(counts)])
            }
        }
    }
}
