import Foundation
import Hummingbird
import JunctionCore

/// Square's v2 shape: customers (list with `cursor`/`limit`, search by `updated_at`, create,
/// retrieve, update with `version`, delete), payments (list by `begin_time`/`updated_at_begin_time`,
/// create, retrieve, refunds), orders (create, search, retrieve, update with `version`), the
/// catalog (list, search by `begin_time` with deleted objects, upsert, delete) and inventory
/// counts; Bearer auth; `{errors:[…]}` bodies. Lists run oldest first (payments: as
/// `sort_order` says, newest first by default), so records created during a walk show up at its
/// end, once.
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

    /// A page of `records` (in the order given, for a filtered or sorted list) after `cursor`.
    static func page(_ records: [Record], cursor: String?, limit: Int) -> (records: [Record], cursor: String?)? {
        var start = 0
        if let cursor {
            guard let decoded = Data(base64Encoded: cursor).map({ String(decoding: $0, as: UTF8.self) }),
                  let position = records.firstIndex(where: { $0.id == decoded }) else { return nil }
            start = position + 1
        }
        let slice = Array(records[min(start, records.count)..<min(start + limit, records.count)])
        return (slice, start + limit < records.count ? Data((slice.last?.id ?? "").utf8).base64EncodedString() : nil)
    }

    /// A page of `records` after `cursor` as Square answers it: the objects under `key` (left out
    /// when there are none) and the next `cursor`; a cursor it does not know is `INVALID_CURSOR`.
    static func answer(_ records: [Record], key: String, cursor: String?, limit: Int, extra: [String: JSONValue] = [:]) -> Response {
        guard let page = page(records, cursor: cursor, limit: limit) else {
            return error(.badRequest, code: "INVALID_CURSOR", detail: "The cursor is not valid.", field: "cursor")
        }
        var body = extra
        if !page.records.isEmpty { body[key] = .array(page.records.map(\.json)) }
        if let cursor = page.cursor { body["cursor"] = .string(cursor) }
        return json(.object(body))
    }

    static func millis(_ text: String?) -> Int64?? {
        guard let text else { return .some(nil) }
        guard let date = Timestamp.parse(text) else { return nil }
        return .some(Int64((date.timeIntervalSince1970 * 1000).rounded()))
    }

    /// Creates a `collection` object (answered under its singular name) from `make`, once per
    /// `idempotency_key`: a repeat with the same body answers the first object; another body under
    /// the key is `IDEMPOTENCY_KEY_REUSED`.
    static func created(_ collection: String, key: String, body: [UInt8], sandbox: Sandbox,
                        make: (inout World, String, Int64) -> [String: JSONValue], announce: (Record) -> Void) -> Response {
        let name = String(collection.dropLast())
        let scoped = "\(collection)/\(key)"
        let fingerprint = String(decoding: body, as: UTF8.self)
        enum Outcome { case replay(Record), reused, made(Record) }
        let outcome = sandbox.world.withLock { world -> Outcome in
            if let earlier = world.squareIdempotency[scoped] {
                guard earlier.fingerprint == fingerprint, let record = world.square[collection]?.find(earlier.id) else { return .reused }
                return .replay(record)
            }
            let id = world.random.token(collection == "orders" ? 24 : 22).uppercased()
            let now = world.nowMs()
            let fields = make(&world, id, now)
            var records = world.square[collection] ?? RecordCollection()
            let record = records.insert(id: id, created: now / 1000, updatedMs: now, fields: fields)
            world.square[collection] = records
            world.squareIdempotency[scoped] = (fingerprint, id)
            return .made(record)
        }
        switch outcome {
        case .reused:
            return error(.badRequest, code: "IDEMPOTENCY_KEY_REUSED", detail: "The idempotency key can only be retried with the same request data.", field: "idempotency_key")
        case .replay(let record):
            return json([name: record.json])
        case .made(let record):
            announce(record)
            return json([name: record.json])
        }
    }

    static func stamp(_ ms: Int64) -> JSONValue { .string(Timestamp.format(Date(timeIntervalSince1970: Double(ms) / 1000))) }

    static func list(_ name: String, key: String, _ request: Request, sandbox: Sandbox) -> Response {
        let query = FormBody.query(request.uri.query)
        guard let limit = limit(query) else { return error(.badRequest, code: "INVALID_VALUE", detail: "limit must be between 1 and 100", field: "limit") }
        if name == "payments" { return payments(query, limit: limit, sandbox: sandbox) }
        return sandbox.world.withLock { world in
            guard let page = page(world.square[name] ?? RecordCollection(), cursor: query["cursor"], limit: limit) else {
                return error(.badRequest, code: "INVALID_CURSOR", detail: "The cursor is not valid.", field: "cursor")
            }
            // Deleted catalog objects are left out (a page may come out short, as Square's do).
            let shown = page.records.filter { $0.fields["is_deleted"]?.boolValue != true }
            var body: [String: JSONValue] = [:]
            if !shown.isEmpty { body[key] = .array(shown.map(\.json)) }
            if let cursor = page.cursor { body["cursor"] = .string(cursor) }
            return json(.object(body))
        }
    }

    /// `GET /v2/payments`: `begin_time` (inclusive, default a year ago) and `end_time` bound
    /// `created_at`; `updated_at_begin_time`/`updated_at_end_time` bound `updated_at`;
    /// `sort_field` `CREATED_AT` (default) or `UPDATED_AT`, `sort_order` `DESC` (default) or `ASC`.
    static func payments(_ query: [String: String], limit: Int, sandbox: Sandbox) -> Response {
        var bounds: [String: Int64?] = [:]
        for name in ["begin_time", "end_time", "updated_at_begin_time", "updated_at_end_time"] {
            guard let value = millis(query[name]) else { return error(.badRequest, code: "INVALID_TIME", detail: "\(name) is not an RFC 3339 time", field: name) }
            bounds[name] = value
        }
        let field = query["sort_field"] ?? "CREATED_AT"
        let order = query["sort_order"] ?? "DESC"
        guard ["CREATED_AT", "UPDATED_AT"].contains(field) else { return error(.badRequest, code: "INVALID_ENUM_VALUE", detail: "sort_field", field: "sort_field") }
        guard ["ASC", "DESC"].contains(order) else { return error(.badRequest, code: "INVALID_ENUM_VALUE", detail: "sort_order", field: "sort_order") }
        return sandbox.world.withLock { world in
            let begin = (bounds["begin_time"] ?? nil) ?? (world.nowMs() - 365 * 86_400_000)
            var records = (world.square["payments"]?.records ?? []).filter { record in
                let created = record.created * 1000
                return created >= begin && (bounds["end_time"] ?? nil).map { created < $0 } ?? true
                    && (bounds["updated_at_begin_time"] ?? nil).map { record.updatedMs >= $0 } ?? true
                    && (bounds["updated_at_end_time"] ?? nil).map { record.updatedMs < $0 } ?? true
            }
            if field == "UPDATED_AT" { records.sort { ($0.updatedMs, $0.sequence) < ($1.updatedMs, $1.sequence) } }
            if order == "DESC" { records.reverse() }
            return answer(records, key: "payments", cursor: query["cursor"], limit: limit)
        }
    }

    /// `POST /v2/customers/search`: `query.filter.updated_at` / `created_at` `{start_at, end_at}`
    /// (exclusive bounds), `query.sort` `{field: DEFAULT|CREATED_AT, order}`, `limit` ≤ 100, `cursor`.
    static func searchCustomers(_ input: JSONValue, sandbox: Sandbox) -> Response {
        let limit = Int(input["limit"]?.intValue ?? 100)
        guard (1...100).contains(limit) else { return error(.badRequest, code: "INVALID_VALUE", detail: "limit must be between 1 and 100", field: "limit") }
        var ranges: [(String, Int64?, Int64?)] = []
        for name in ["updated_at", "created_at"] {
            guard let range = input["query"]?["filter"]?[name] else { continue }
            guard let start = millis(range["start_at"]?.stringValue), let end = millis(range["end_at"]?.stringValue) else {
                return error(.badRequest, code: "INVALID_TIME", detail: "\(name) bounds are RFC 3339 times", field: "query.filter.\(name)")
            }
            ranges.append((name, start, end))
        }
        let descending = input["query"]?["sort"]?["order"]?.stringValue == "DESC"
        return sandbox.world.withLock { world in
            var records = (world.square["customers"]?.records ?? []).filter { record in
                ranges.allSatisfy { name, start, end in
                    let value = name == "updated_at" ? record.updatedMs : record.created * 1000
                    return start.map { value > $0 } ?? true && end.map { value < $0 } ?? true
                }
            }
            if descending { records.reverse() }
            return answer(records, key: "customers", cursor: input["cursor"]?.stringValue, limit: limit)
        }
    }

    /// `POST /v2/catalog/search`: objects changed after `begin_time` (exclusive), deleted ones
    /// only with `include_deleted_objects` (as `is_deleted: true`), `object_types`, `limit` ≤ 1,000.
    static func searchCatalog(_ input: JSONValue, sandbox: Sandbox) -> Response {
        let limit = Int(input["limit"]?.intValue ?? 100)
        guard (1...1000).contains(limit) else { return error(.badRequest, code: "INVALID_VALUE", detail: "limit must be between 1 and 1000", field: "limit") }
        guard let begin = millis(input["begin_time"]?.stringValue) else {
            return error(.badRequest, code: "INVALID_TIME", detail: "begin_time is an RFC 3339 time", field: "begin_time")
        }
        let deleted = input["include_deleted_objects"]?.boolValue ?? false
        let types = input["object_types"]?.arrayValue?.compactMap(\.stringValue)
        return sandbox.world.withLock { world in
            var records = (world.square["catalog"]?.records ?? []).filter { record in
                (deleted || record.fields["is_deleted"]?.boolValue != true) && begin.map { record.updatedMs > $0 } ?? true
                    && types.map { $0.contains(record.fields["type"]?.stringValue ?? "") } ?? true
            }
            records.sort { ($0.updatedMs, $0.sequence) < ($1.updatedMs, $1.sequence) }
            return answer(records, key: "objects", cursor: input["cursor"]?.stringValue, limit: limit, extra: ["latest_time": stamp(world.lastMs)])
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
        // `GET /v2/payments/{id}`, `GET /v2/orders/{id}`: one object, or `NOT_FOUND`.
        for (collection, name, label) in [("payments", "payment", "Payment"), ("orders", "order", "Order")] {
            router.get("/v2/\(collection)/:id") { request, context in
                let id = context.parameters.get("id") ?? ""
                return try await guarded(request) { _ in
                    guard let record = sandbox.world.withLock({ $0.square[collection]?.find(id) }) else {
                        return error(.notFound, code: "NOT_FOUND", detail: "\(label) `\(id)` not found.")
                    }
                    return json([name: record.json])
                }
            }
        }
        router.post("/v2/customers") { request, _ in
            try await guarded(request) { body in
                guard case .object(let input)? = try? JSONValue(parsing: body) else { return error(.badRequest, code: "INVALID_JSON", detail: "The body is not JSON.") }
                guard customerFields.prefix(5).contains(where: { input[$0] != nil }) else {
                    return error(.badRequest, code: "MISSING_REQUIRED_PARAMETER",
                                 detail: "At least one of given_name, family_name, company_name, email_address or phone_number is required.")
                }
                // `idempotency_key`: a repeat with the same body answers the customer the first
                // call made; another body under the key is refused.
                let key = input["idempotency_key"]?.stringValue
                let fingerprint = String(decoding: body, as: UTF8.self)
                if let key, let earlier = sandbox.world.withLock({ world in world.squareIdempotency[key].map { ($0.fingerprint, world.square["customers"]?.find($0.id)) } }) {
                    guard earlier.0 == fingerprint, let customer = earlier.1 else {
                        return error(.badRequest, code: "IDEMPOTENCY_KEY_REUSED", detail: "The idempotency key can only be retried with the same request data.", field: "idempotency_key")
                    }
                    return json(["customer": customer.json])
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
                    if let key { world.squareIdempotency[key] = (fingerprint, id) }
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
        router.post("/v2/customers/search") { request, _ in
            try await guarded(request) { body in
                guard let input = try? JSONValue(parsing: body.isEmpty ? Array("{}".utf8) : body) else { return error(.badRequest, code: "INVALID_JSON", detail: "The body is not JSON.") }
                return searchCustomers(input, sandbox: sandbox)
            }
        }
        router.post("/v2/catalog/search") { request, _ in
            try await guarded(request) { body in
                guard let input = try? JSONValue(parsing: body.isEmpty ? Array("{}".utf8) : body) else { return error(.badRequest, code: "INVALID_JSON", detail: "The body is not JSON.") }
                return searchCatalog(input, sandbox: sandbox)
            }
        }
        // Upsert: a new object's id starts with `#`; an existing one's `version` must be current.
        router.post("/v2/catalog/object") { request, _ in
            try await guarded(request) { body in
                guard let object = (try? JSONValue(parsing: body))?["object"], let asked = object["id"]?.stringValue, let type = object["type"]?.stringValue else {
                    return error(.badRequest, code: "MISSING_REQUIRED_PARAMETER", detail: "object with id and type is required", field: "object")
                }
                let outcome = sandbox.world.withLock { world -> UpdateOutcome in
                    let now = world.nowMs()
                    var collection = world.square["catalog"] ?? RecordCollection()
                    defer { world.square["catalog"] = collection }
                    var fields = object.objectValue ?? [:]
                    fields["updated_at"] = stamp(now)
                    fields["version"] = .integer(now)
                    fields["is_deleted"] = false
                    if asked.hasPrefix("#") {
                        let id = world.random.token(24).uppercased()
                        fields["id"] = .string(id)
                        return .updated(collection.insert(id: id, created: now / 1000, updatedMs: now, fields: fields))
                    }
                    guard let current = collection.find(asked), current.fields["is_deleted"]?.boolValue != true else {
                        return .refused(error(.notFound, code: "NOT_FOUND", detail: "Object `\(asked)` not found."))
                    }
                    guard object["version"]?.intValue == current.fields["version"]?.intValue else {
                        return .refused(error(.badRequest, code: "VERSION_MISMATCH", detail: "Object version does not match latest database version.", field: "version"))
                    }
                    fields["type"] = .string(type)
                    return .updated(collection.update(asked) { $0.fields = fields; $0.updatedMs = now }!)
                }
                switch outcome {
                case .refused(let response): return response
                case .updated(let record):
                    sandbox.webhooks.square(type: "catalog.version.updated", objectType: "catalog_version", id: "", object: ["updated_at": stamp(record.updatedMs)])
                    return json(["catalog_object": record.json])
                }
            }
        }
        router.delete("/v2/catalog/object/:id") { request, context in
            let id = context.parameters.get("id") ?? ""
            return try await guarded(request) { _ in
                let removed = sandbox.world.withLock { world -> Record? in
                    guard world.square["catalog"]?.find(id)?.fields["is_deleted"]?.boolValue == false else { return nil }
                    let now = world.nowMs()
                    return world.square["catalog"]?.update(id) { record in
                        record.fields["is_deleted"] = true
                        record.fields["version"] = .integer(now)
                        record.fields["updated_at"] = stamp(now)
                        record.updatedMs = now
                    }
                }
                guard let removed else { return error(.notFound, code: "NOT_FOUND", detail: "Object `\(id)` not found.") }
                sandbox.webhooks.square(type: "catalog.version.updated", objectType: "catalog_version", id: "", object: ["updated_at": stamp(removed.updatedMs)])
                return json(["deleted_object_ids": [.string(id)], "deleted_at": stamp(removed.updatedMs)])
            }
        }
        // `DELETE /v2/customers/{id}` (with the `version` it was read at, if given): gone from lists
        // and searches; `customer.deleted` carries the customer as it was.
        router.delete("/v2/customers/:id") { request, context in
            let id = context.parameters.get("id") ?? ""
            return try await guarded(request) { _ in
                let asked = FormBody.query(request.uri.query)["version"].map { Int64($0) }
                let outcome = sandbox.world.withLock { world -> UpdateOutcome in
                    guard let current = world.square["customers"]?.find(id) else {
                        return .refused(error(.notFound, code: "NOT_FOUND", detail: "Customer with ID `\(id)` not found."))
                    }
                    let version = current.fields["version"]?.intValue ?? 0
                    if let asked, asked != version {
                        return .refused(error(.badRequest, code: "CONFLICT", detail: "The customer's version is \(version), not \(asked.map(String.init) ?? "?").", field: "version"))
                    }
                    return .updated(world.square["customers"]!.remove(id)!)
                }
                switch outcome {
                case .refused(let response): return response
                case .updated(let record):
                    sandbox.webhooks.square(type: "customer.deleted", objectType: "customer", id: record.id, object: record.json)
                    return json([:])
                }
            }
        }
        // `POST /v2/payments`: a card payment, completed at once (`autocomplete` defaults to true).
        // A repeat of the request under its `idempotency_key` answers the same payment.
        router.post("/v2/payments") { request, _ in
            try await guarded(request) { body in
                guard case .object(let input)? = try? JSONValue(parsing: body) else { return error(.badRequest, code: "INVALID_JSON", detail: "The body is not JSON.") }
                guard let key = input["idempotency_key"]?.stringValue, input["source_id"]?.stringValue != nil,
                      let amount = input["amount_money"]?["amount"]?.intValue, amount > 0 else {
                    return error(.badRequest, code: "MISSING_REQUIRED_PARAMETER", detail: "idempotency_key, source_id and amount_money (a positive amount) are required")
                }
                return created("payments", key: key, body: body, sandbox: sandbox) { world, id, now in
                    let money: JSONValue = ["amount": .integer(amount), "currency": input["amount_money"]?["currency"] ?? "USD"]
                    var fields: [String: JSONValue] = [
                        "id": .string(id), "amount_money": money, "total_money": money, "approved_money": money, "status": "COMPLETED",
                        "source_type": "CARD", "location_id": input["location_id"] ?? .string(location), "created_at": stamp(now), "updated_at": stamp(now),
                        "version_token": .string(world.random.token(20)),
                    ]
                    for name in ["customer_id", "order_id", "note", "reference_id"] { if let value = input[name] { fields[name] = value } }
                    return fields
                } announce: { record in
                    sandbox.webhooks.square(type: "payment.created", objectType: "payment", id: record.id, object: record.json)
                }
            }
        }
        // `POST /v2/orders`: an open order at `order.location_id` with its line items totalled.
        router.post("/v2/orders") { request, _ in
            try await guarded(request) { body in
                guard case .object(let input)? = try? JSONValue(parsing: body) else { return error(.badRequest, code: "INVALID_JSON", detail: "The body is not JSON.") }
                guard let order = input["order"]?.objectValue, let locationID = order["location_id"]?.stringValue else {
                    return error(.badRequest, code: "MISSING_REQUIRED_PARAMETER", detail: "order.location_id is required", field: "order.location_id")
                }
                let key = input["idempotency_key"]?.stringValue ?? UUID().uuidString
                return created("orders", key: key, body: body, sandbox: sandbox) { world, id, now in
                    var total: Int64 = 0
                    let lines: [JSONValue] = (order["line_items"]?.arrayValue ?? []).enumerated().map { index, line in
                        var fields = line.objectValue ?? [:]
                        let each = line["base_price_money"]?["amount"]?.intValue ?? 0
                        let quantity = Int64(line["quantity"]?.stringValue ?? "1") ?? 1
                        total += each * quantity
                        fields["uid"] = fields["uid"] ?? .string("line-\(index + 1)")
                        fields["total_money"] = ["amount": .integer(each * quantity), "currency": "USD"]
                        return .object(fields)
                    }
                    var fields = order
                    fields["id"] = .string(id)
                    fields["location_id"] = .string(locationID)
                    fields["line_items"] = .array(lines)
                    fields["total_money"] = ["amount": .integer(total), "currency": "USD"]
                    fields["state"] = order["state"] ?? "OPEN"
                    fields["version"] = 1
                    fields["created_at"] = stamp(now)
                    fields["updated_at"] = stamp(now)
                    return fields
                } announce: { record in
                    sandbox.webhooks.square(type: "order.created", objectType: "order_created", id: record.id, object: [
                        "order_id": .string(record.id), "version": 1, "location_id": record.fields["location_id"] ?? .null,
                        "state": record.fields["state"] ?? .null, "created_at": record.fields["created_at"] ?? .null,
                    ])
                }
            }
        }
        // A refund changes its payment: `refunded_money`, `refund_ids`, `updated_at`, `version`.
        router.post("/v2/refunds") { request, _ in
            try await guarded(request) { body in
                guard let input = try? JSONValue(parsing: body), let paymentID = input["payment_id"]?.stringValue,
                      let amount = input["amount_money"]?["amount"]?.intValue, input["idempotency_key"]?.stringValue != nil else {
                    return error(.badRequest, code: "MISSING_REQUIRED_PARAMETER", detail: "idempotency_key, payment_id and amount_money are required")
                }
                let outcome = sandbox.world.withLock { world -> UpdateOutcome in
                    guard let payment = world.square["payments"]?.find(paymentID) else {
                        return .refused(error(.notFound, code: "NOT_FOUND", detail: "Payment `\(paymentID)` not found."))
                    }
                    let total = payment.fields["amount_money"]?["amount"]?.intValue ?? 0
                    let already = payment.fields["refunded_money"]?["amount"]?.intValue ?? 0
                    guard amount > 0, already + amount <= total else {
                        return .refused(error(.badRequest, code: "REFUND_AMOUNT_INVALID", detail: "The refund amount exceeds what remains of the payment."))
                    }
                    let now = world.nowMs()
                    let refundID = world.random.token(30)
                    return .updated(world.square["payments"]!.update(paymentID) { record in
                        record.fields["refunded_money"] = ["amount": .integer(already + amount), "currency": "USD"]
                        record.fields["refund_ids"] = .array((record.fields["refund_ids"]?.arrayValue ?? []) + [.string(refundID)])
                        record.fields["updated_at"] = stamp(now)
                        record.fields["version"] = .integer((record.fields["version"]?.intValue ?? 0) + 1)
                        record.updatedMs = now
                    }!)
                }
                switch outcome {
                case .refused(let response): return response
                case .updated(let payment):
                    sandbox.webhooks.square(type: "payment.updated", objectType: "payment", id: payment.id, object: payment.json)
                    let refundID = payment.fields["refund_ids"]?.arrayValue?.last?.stringValue ?? ""
                    return json(["refund": ["id": .string(refundID), "status": "PENDING", "amount_money": ["amount": .integer(amount), "currency": "USD"],
                                            "payment_id": .string(payment.id), "created_at": payment.fields["updated_at"] ?? .null]])
                }
            }
        }
        router.get("/v2/locations") { request, _ in
            try await guarded(request) { _ in
                json(["locations": [["id": .string(location), "name": "Junction Sandbox", "status": "ACTIVE", "country": "US", "currency": "USD",
                                     "merchant_id": .string(AccountsAPI.squareMerchant), "created_at": "2024-01-01T00:00:00.000Z"]]])
            }
        }
        router.post("/v2/orders/search") { request, _ in
            try await guarded(request) { body in
                guard let input = try? JSONValue(parsing: body.isEmpty ? Array("{}".utf8) : body) else { return error(.badRequest, code: "INVALID_JSON", detail: "The body is not JSON.") }
                return searchOrders(input, sandbox: sandbox)
            }
        }
        router.put("/v2/orders/:id") { request, context in
            let id = context.parameters.get("id") ?? ""
            return try await guarded(request) { body in
                guard let order = (try? JSONValue(parsing: body))?["order"], let version = order["version"]?.intValue else {
                    return error(.badRequest, code: "MISSING_REQUIRED_PARAMETER", detail: "order with its version is required", field: "order.version")
                }
                let outcome = sandbox.world.withLock { world -> UpdateOutcome in
                    guard let current = world.square["orders"]?.find(id) else { return .refused(error(.notFound, code: "NOT_FOUND", detail: "Order `\(id)` not found.")) }
                    guard current.fields["version"]?.intValue == version else {
                        return .refused(error(.badRequest, code: "VERSION_MISMATCH", detail: "The order's version is not \(version).", field: "order.version"))
                    }
                    let now = world.nowMs()
                    return .updated(world.square["orders"]!.update(id) { record in
                        for (key, value) in order.objectValue ?? [:] where !["id", "version", "created_at", "updated_at", "location_id"].contains(key) { record.fields[key] = value }
                        record.fields["version"] = .integer(version + 1)
                        record.fields["updated_at"] = stamp(now)
                        record.updatedMs = now
                    }!)
                }
                switch outcome {
                case .refused(let response): return response
                case .updated(let record):
                    // Square's order events name the order and its version, not the whole order.
                    sandbox.webhooks.square(type: "order.updated", objectType: "order_updated", id: record.id, object: [
                        "order_id": .string(record.id), "version": record.fields["version"] ?? .null, "location_id": .string(location),
                        "state": record.fields["state"] ?? .null, "updated_at": record.fields["updated_at"] ?? .null,
                    ])
                    return json(["order": record.json])
                }
            }
        }
        // Counts by `catalog_object_ids`, `location_ids`, `states` and `updated_after` (their
        // `calculated_at`), `limit` ≤ 1,000 with `cursor`.
        router.post("/v2/inventory/counts/batch-retrieve") { request, _ in
            try await guarded(request) { body in
                let input = (try? JSONValue(parsing: body.isEmpty ? Array("{}".utf8) : body)) ?? [:]
                let limit = Int(input["limit"]?.intValue ?? 1000)
                guard (1...1000).contains(limit) else { return error(.badRequest, code: "INVALID_VALUE", detail: "limit must be between 1 and 1000", field: "limit") }
                guard let after = millis(input["updated_after"]?.stringValue) else {
                    return error(.badRequest, code: "INVALID_TIME", detail: "updated_after is an RFC 3339 time", field: "updated_after")
                }
                let ids = input["catalog_object_ids"]?.arrayValue?.compactMap(\.stringValue)
                let locations = input["location_ids"]?.arrayValue?.compactMap(\.stringValue)
                let states = input["states"]?.arrayValue?.compactMap(\.stringValue)
                return sandbox.world.withLock { world in
                    var records = (world.square["inventory"]?.records ?? []).filter { record in
                        ids.map { $0.contains(record.fields["catalog_object_id"]?.stringValue ?? "") } ?? true
                            && locations.map { $0.contains(record.fields["location_id"]?.stringValue ?? "") } ?? true
                            && states.map { $0.contains(record.fields["state"]?.stringValue ?? "") } ?? true
                            && after.map { record.updatedMs > $0 } ?? true
                    }
                    if after != nil { records.sort { ($0.updatedMs, $0.sequence) < ($1.updatedMs, $1.sequence) } }
                    return answer(records, key: "counts", cursor: input["cursor"]?.stringValue, limit: limit)
                }
            }
        }
        // `PHYSICAL_COUNT` changes set a count's quantity; `inventory.count.updated` carries the counts.
        router.post("/v2/inventory/changes/batch-create") { request, _ in
            try await guarded(request) { body in
                guard let input = try? JSONValue(parsing: body), input["idempotency_key"]?.stringValue != nil,
                      let changes = input["changes"]?.arrayValue, !changes.isEmpty else {
                    return error(.badRequest, code: "MISSING_REQUIRED_PARAMETER", detail: "idempotency_key and changes are required")
                }
                var counts: [JSONValue] = []
                for change in changes {
                    guard change["type"]?.stringValue == "PHYSICAL_COUNT", let count = change["physical_count"],
                          let object = count["catalog_object_id"]?.stringValue, let quantity = count["quantity"]?.stringValue else {
                        return error(.badRequest, code: "INVALID_VALUE", detail: "only PHYSICAL_COUNT changes with catalog_object_id and quantity are supported")
                    }
                    let state = count["state"]?.stringValue ?? "IN_STOCK"
                    let at = count["location_id"]?.stringValue ?? location
                    counts.append(sandbox.world.withLock { world in
                        let now = world.nowMs()
                        let id = "\(object):\(at):\(state)"
                        let fields = inventoryCount(object, location: at, state: state, quantity: quantity, at: now)
                        var collection = world.square["inventory"] ?? RecordCollection()
                        defer { world.square["inventory"] = collection }
                        if collection.find(id) != nil {
                            return collection.update(id) { $0.fields = fields; $0.updatedMs = now }!.json
                        }
                        return collection.insert(id: id, created: now / 1000, updatedMs: now, fields: fields).json
                    })
                }
                sandbox.webhooks.square(type: "inventory.count.updated", objectType: "inventory_counts", id: "", object: .array(counts))
                return json(["counts": .array(counts)])
            }
        }
    }

    /// The sandbox's one location.
    static let location = "L88917AVBK2S5"

    static func inventoryCount(_ object: String, location: String, state: String, quantity: String, at ms: Int64) -> [String: JSONValue] {
        ["catalog_object_id": .string(object), "catalog_object_type": "ITEM_VARIATION", "state": .string(state), "location_id": .string(location),
         "quantity": .string(quantity), "calculated_at": stamp(ms)]
    }

    /// `POST /v2/orders/search`: `location_ids` (1 to 10) required; `query.filter.date_time_filter`
    /// on `created_at` or `updated_at` (`start_at`, `end_at`), whose field the sort must use;
    /// `query.filter.state_filter.states`; `limit` ≤ 1,000 (500 by default); `cursor`.
    static func searchOrders(_ input: JSONValue, sandbox: Sandbox) -> Response {
        guard let locations = input["location_ids"]?.arrayValue?.compactMap(\.stringValue), (1...10).contains(locations.count) else {
            return error(.badRequest, code: "INVALID_VALUE", detail: "location_ids must name 1 to 10 locations", field: "location_ids")
        }
        let limit = Int(input["limit"]?.intValue ?? 500)
        guard (1...1000).contains(limit) else { return error(.badRequest, code: "INVALID_VALUE", detail: "limit must be between 1 and 1000", field: "limit") }
        let sortField = input["query"]?["sort"]?["sort_field"]?.stringValue ?? "CREATED_AT"
        let descending = input["query"]?["sort"]?["sort_order"]?.stringValue == "DESC"
        var window: (field: String, start: Int64?, end: Int64?)?
        if let filter = input["query"]?["filter"]?["date_time_filter"] {
            for name in ["created_at", "updated_at", "closed_at"] {
                guard let range = filter[name] else { continue }
                guard let start = millis(range["start_at"]?.stringValue), let end = millis(range["end_at"]?.stringValue) else {
                    return error(.badRequest, code: "INVALID_TIME", detail: "\(name) bounds are RFC 3339 times")
                }
                guard sortField == name.uppercased() else {
                    return error(.badRequest, code: "INVALID_SORT_ORDER", detail: "A date_time_filter on \(name) needs the sort on \(name.uppercased()).")
                }
                window = (name, start, end)
            }
        }
        let states = input["query"]?["filter"]?["state_filter"]?["states"]?.arrayValue?.compactMap(\.stringValue)
        return sandbox.world.withLock { world in
            var records = (world.square["orders"]?.records ?? []).filter { record in
                guard locations.contains(record.fields["location_id"]?.stringValue ?? ""), states.map({ $0.contains(record.fields["state"]?.stringValue ?? "") }) ?? true else { return false }
                guard let window else { return true }
                let value = window.field == "updated_at" ? record.updatedMs : record.created * 1000
                return window.start.map { value >= $0 } ?? true && window.end.map { value < $0 } ?? true
            }
            if sortField == "UPDATED_AT" { records.sort { ($0.updatedMs, $0.sequence) < ($1.updatedMs, $1.sequence) } }
            if descending { records.reverse() }
            return answer(records, key: "orders", cursor: input["cursor"]?.stringValue, limit: limit)
        }
    }
}
