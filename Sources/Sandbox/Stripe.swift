import Foundation
import Hummingbird
import JunctionCore

/// Stripe's REST shape for nine resources: list (newest first, `limit`, `starting_after`,
/// `ending_before`, `created[gte|gt|lte|lt]`), retrieve, create and update with form bodies, with
/// `Idempotency-Key` replay, Bearer `sk_test_…` auth and Stripe's error bodies; and `/v1/events`,
/// every change's event for 30 days, listed the same way and filtered by `type` (`customer.*`) or
/// `types[]`.
enum StripeAPI {
    struct Resource: Sendable {
        let path: String
        let object: String
        let prefix: String
        let required: [String]
        let defaults: [String: JSONValue]
        /// What its events are named after: `customer` (`customer.updated`), `customer.subscription`.
        var events: String? = nil
        /// Whether `POST /v1/<path>` creates one (disputes arise from a cardholder, not the API).
        var creatable = true

        var eventPrefix: String { events ?? object }
    }

    static let resources: [Resource] = [
        Resource(path: "customers", object: "customer", prefix: "cus_", required: [], defaults: [
            "email": .null, "name": .null, "description": .null, "phone": .null, "address": .null, "balance": 0, "currency": .null,
            "delinquent": false, "invoice_prefix": .null, "preferred_locales": [], "tax_exempt": "none",
        ]),
        Resource(path: "payment_intents", object: "payment_intent", prefix: "pi_", required: ["amount", "currency"], defaults: [
            "status": "requires_payment_method", "customer": .null, "description": .null, "amount_received": 0, "capture_method": "automatic",
        ]),
        Resource(path: "charges", object: "charge", prefix: "ch_", required: ["amount", "currency"], defaults: [
            "status": "succeeded", "paid": true, "refunded": false, "customer": .null, "payment_intent": .null, "description": .null,
        ]),
        Resource(path: "products", object: "product", prefix: "prod_", required: ["name"], defaults: ["active": true, "description": .null]),
        Resource(path: "prices", object: "price", prefix: "price_", required: ["currency", "product"], defaults: [
            "active": true, "type": "one_time", "recurring": .null, "unit_amount": .null, "nickname": .null,
        ]),
        Resource(path: "subscriptions", object: "subscription", prefix: "sub_", required: ["customer"], defaults: [
            "status": "active", "cancel_at_period_end": false, "items": ["object": "list", "data": [], "has_more": false],
        ], events: "customer.subscription"),
        Resource(path: "invoices", object: "invoice", prefix: "in_", required: ["customer"], defaults: [
            "status": "draft", "amount_due": 0, "amount_paid": 0, "currency": "usd", "subscription": .null,
        ]),
        Resource(path: "refunds", object: "refund", prefix: "re_", required: [], defaults: [
            "status": "succeeded", "reason": .null, "payment_intent": .null, "charge": .null,
        ]),
        Resource(path: "disputes", object: "dispute", prefix: "dp_", required: [], defaults: [
            "status": "needs_response", "reason": "fraudulent", "is_charge_refundable": false, "evidence": [:],
        ], events: "charge.dispute", creatable: false),
    ]

    static let integerFields: Set<String> = ["amount", "unit_amount", "quantity", "amount_due", "amount_paid", "balance", "amount_received",
                                             "application_fee_amount", "amount_refunded"]
    static let booleanFields: Set<String> = ["active", "livemode", "paid", "refunded", "cancel_at_period_end", "delinquent", "off_session", "confirm"]

    static func error(_ status: HTTPResponse.Status, type: String = "invalid_request_error", code: String? = nil, message: String, param: String? = nil) -> Reply {
        var body: [String: JSONValue] = ["type": .string(type), "message": .string(message)]
        if let code { body["code"] = .string(code) }
        if let param { body["param"] = .string(param) }
        return Reply(status: status.code, json: ["error": .object(body)])
    }

    /// Form values typed the way Stripe returns them.
    static func typed(_ fields: [String: JSONValue]) -> [String: JSONValue] {
        var result: [String: JSONValue] = [:]
        for (key, value) in fields {
            switch value {
            case .string(let text) where integerFields.contains(key) && Int64(text) != nil: result[key] = .integer(Int64(text)!)
            case .string(let text) where booleanFields.contains(key) && (text == "true" || text == "false"): result[key] = .bool(text == "true")
            case .string(let text) where text.isEmpty && key != "metadata": result[key] = .null
            case .object(let nested): result[key] = .object(key == "metadata" ? nested : typed(nested))
            default: result[key] = value
            }
        }
        return result
    }

    static func register(on router: Router<BasicRequestContext>, sandbox: Sandbox) {
        for resource in resources {
            router.get("/v1/\(resource.path)") { request, _ in
                try await sandbox.serve(.stripe, request) { _ in
                    if let refusal = sandbox.authorize(.stripe, request) { return refusal }
                    return list(resource, FormBody.query(request.uri.query), sandbox: sandbox).response
                }
            }
            if resource.creatable {
                router.post("/v1/\(resource.path)") { request, _ in
                    try await sandbox.serve(.stripe, request) { body in
                        if let refusal = sandbox.authorize(.stripe, request) { return refusal }
                        return idempotent(request, body, sandbox: sandbox) {
                            resource.path == "refunds" ? refund(FormBody.parse(body), sandbox: sandbox) : create(resource, FormBody.parse(body), sandbox: sandbox)
                        }
                    }
                }
            }
            router.get("/v1/\(resource.path)/:id") { request, context in
                let id = context.parameters.get("id") ?? ""
                return try await sandbox.serve(.stripe, request) { _ in
                    if let refusal = sandbox.authorize(.stripe, request) { return refusal }
                    guard let record = sandbox.world.withLock({ $0.stripe[resource.path]?.find(id) }) else { return missing(resource, id).response }
                    return json(record.json)
                }
            }
            if deletable.contains(resource.path) {
                router.delete("/v1/\(resource.path)/:id") { request, context in
                    let id = context.parameters.get("id") ?? ""
                    return try await sandbox.serve(.stripe, request) { _ in
                        if let refusal = sandbox.authorize(.stripe, request) { return refusal }
                        return delete(resource, id, sandbox: sandbox).response
                    }
                }
            }
            router.post("/v1/\(resource.path)/:id") { request, context in
                let id = context.parameters.get("id") ?? ""
                return try await sandbox.serve(.stripe, request) { body in
                    if let refusal = sandbox.authorize(.stripe, request) { return refusal }
                    return idempotent(request, body, sandbox: sandbox) { update(resource, id, FormBody.parse(body), sandbox: sandbox) }
                }
            }
        }
        router.get("/v1/events") { request, _ in
            try await sandbox.serve(.stripe, request) { _ in
                if let refusal = sandbox.authorize(.stripe, request) { return refusal }
                return events(request.uri.query, sandbox: sandbox).response
            }
        }
        router.get("/v1/events/:id") { request, context in
            let id = context.parameters.get("id") ?? ""
            return try await sandbox.serve(.stripe, request) { _ in
                if let refusal = sandbox.authorize(.stripe, request) { return refusal }
                guard let event = sandbox.world.withLock({ $0.stripeEvents.find(id) }) else {
                    return error(.notFound, code: "resource_missing", message: "No such event: '\(id)'", param: "id").response
                }
                return json(event.json)
            }
        }
        router.post("/v1/disputes/:id/close") { request, context in
            let id = context.parameters.get("id") ?? ""
            return try await sandbox.serve(.stripe, request) { body in
                if let refusal = sandbox.authorize(.stripe, request) { return refusal }
                let disputes = resources.first { $0.path == "disputes" }!
                return idempotent(request, body, sandbox: sandbox) { update(disputes, id, ["status": "lost"], sandbox: sandbox, type: "charge.dispute.closed") }
            }
        }
    }

    /// Events are kept this long, as Stripe keeps them.
    static let eventRetention: Int64 = 30 * 86_400

    /// Records the event of a change (for `/v1/events`) and sends it as a webhook.
    static func emit(_ type: String, object: JSONValue, previous: JSONValue?, sandbox: Sandbox) {
        let event = sandbox.world.withLock { world -> JSONValue in
            let now = world.nowMs() / 1000
            var data: [String: JSONValue] = ["object": object]
            if let previous { data["previous_attributes"] = previous }
            let id = "evt_" + world.random.token(24)
            let event: JSONValue = [
                "id": .string(id), "object": "event",
                // Sent as Connect events of the connected account (the one the sandbox's OAuth connects).
                "account": .string(AccountsAPI.stripeAccount),
                "api_version": "2024-06-20", "created": .integer(now), "type": .string(type), "livemode": false, "pending_webhooks": 1,
                "data": .object(data), "request": ["id": .null, "idempotency_key": .null],
            ]
            _ = world.stripeEvents.insert(id: id, created: now, updatedMs: now * 1000, fields: event.objectValue ?? [:])
            return event
        }
        sandbox.webhooks.stripe(event: event)
    }

    /// `GET /v1/events`: the last 30 days' events, newest first, paged like every list, filtered
    /// by `type` (one type, or a `*` wildcard for the rest: `customer.*`) or `types[]` (up to 20
    /// exact types).
    static func events(_ text: String?, sandbox: Sandbox) -> Reply {
        let query = FormBody.query(text)
        let form = FormBody.parse(Array((text ?? "").utf8))
        var types: [String] = []
        // `types[]=a&types[]=b`, or indexed as most clients send arrays: `types[0]=a&types[1]=b`.
        switch form["types"] {
        case .array(let values)?: types = values.compactMap(\.stringValue)
        case .object(let indexed)?: types = indexed.sorted { (Int($0.key) ?? 0) < (Int($1.key) ?? 0) }.compactMap(\.value.stringValue)
        default: break
        }
        if let type = query["type"] {
            guard types.isEmpty else { return error(.badRequest, message: "You may only specify one of these parameters: type, types.", param: "types") }
            types = [type]
        }
        guard types.count <= 20 else { return error(.badRequest, message: "You can specify at most 20 types.", param: "types") }
        let matches: (Record) -> Bool = { record in
            guard !types.isEmpty else { return true }
            let type = record.fields["type"]?.stringValue ?? ""
            return types.contains { pattern in pattern.hasSuffix(".*") ? type.hasPrefix(pattern.dropLast()) : type == pattern }
        }
        var bounded = query
        let oldest = Int64(Date().timeIntervalSince1970) - eventRetention
        bounded["created[gte]"] = String(max(oldest, query["created[gte]"].flatMap { Int64($0) } ?? oldest))
        return sandbox.world.withLock { world in
            page(&world.stripeEvents, path: "/v1/events", noun: "event", bounded, matches: matches)
        }
    }

    static func missing(_ resource: Resource, _ id: String) -> Reply {
        error(.notFound, code: "resource_missing", message: "No such \(resource.object): '\(id)'", param: "id")
    }

    /// `Idempotency-Key`: the first response is stored and replayed for the same parameters;
    /// other parameters under the same key are an error.
    static func idempotent(_ request: Request, _ body: [UInt8], sandbox: Sandbox, _ perform: () -> Reply) -> Response {
        guard let key = request.headers[.init("Idempotency-Key")!], !key.isEmpty else { return perform().response }
        let fingerprint = request.uri.path + "?" + String(decoding: body, as: UTF8.self)
        if let stored = sandbox.world.withLock({ $0.stripeIdempotency[key] }) {
            guard stored.fingerprint == fingerprint else {
                return error(.badRequest, type: "idempotency_error",
                             message: "Keys for idempotent requests can only be used with the same parameters they were first used with. Try using a key other than '\(key)' if you meant to execute a different request.").response
            }
            return jsonText(stored.body, status: stored.status, headers: [.init("Idempotent-Replayed")!: "true", .init("Idempotency-Key")!: key])
        }
        let reply = perform()
        // Server errors are not stored: a retry with the key runs again.
        if reply.status < 500 {
            sandbox.world.withLock { $0.stripeIdempotency[key] = (fingerprint, reply.status, reply.body) }
        }
        return reply.response
    }

    static func list(_ resource: Resource, _ query: [String: String], sandbox: Sandbox) -> Reply {
        let email = query["email"]
        let customer = query["customer"]
        let charge = query["charge"]
        let matches: (Record) -> Bool = { record in
            (email == nil || record.fields["email"]?.stringValue == email) && (customer == nil || record.fields["customer"]?.stringValue == customer)
                && (charge == nil || record.fields["charge"]?.stringValue == charge)
        }
        return sandbox.world.withLock { world -> Reply in
            page(&world.stripe[resource.path, default: RecordCollection()], path: "/v1/\(resource.path)", noun: resource.object, query, matches: matches)
        }
    }

    /// One page of a list: `query`'s `limit`, `created[…]`, `starting_after` and `ending_before`
    /// over `collection`, the records `matches` keeps, newest first.
    static func page(_ collection: inout RecordCollection, path: String, noun: String, _ query: [String: String], matches: (Record) -> Bool) -> Reply {
        let limit: Int
        if let text = query["limit"] {
            guard let value = Int(text), (1...100).contains(value) else {
                return error(.badRequest, message: "Invalid integer: \(text); must be between 1 and 100", param: "limit")
            }
            limit = value
        } else {
            limit = 10
        }
        var bounds: [String: Int64] = [:]
        for name in ["gte", "gt", "lte", "lt"] {
            if let text = query["created[\(name)]"] {
                guard let bound = Int64(text) else { return error(.badRequest, message: "Invalid integer: \(text)", param: "created[\(name)]") }
                bounds[name] = bound
            }
        }
        func missing(_ id: String) -> Reply { error(.notFound, code: "resource_missing", message: "No such \(noun): '\(id)'", param: "id") }
        // The page's positions first (the records array is only read), then their kept JSON text.
        let picked: (indices: [Int], hasMore: Bool)
        do {
            let records = collection.records
            // Creation times never decrease along creation order: each created[…] bound cuts the
            // range with a binary search, so paging 100,000 records stays cheap.
            var low = 0
            var high = records.count
            if let bound = bounds["gte"] { low = max(low, partition(records) { $0.created >= bound }) }
            if let bound = bounds["gt"] { low = max(low, partition(records) { $0.created > bound }) }
            if let bound = bounds["lte"] { high = min(high, partition(records) { $0.created > bound }) }
            if let bound = bounds["lt"] { high = min(high, partition(records) { $0.created >= bound }) }
            high = max(low, high)
            if let cursor = query["ending_before"] {
                guard let position = collection.position(of: cursor) else { return missing(cursor) }
                low = max(low, position + 1)
            } else if let cursor = query["starting_after"] {
                guard let position = collection.position(of: cursor) else { return missing(cursor) }
                high = min(high, position)
            }
            high = max(low, high)
            var page: [Int] = []
            var hasMore = false
            if query["ending_before"] != nil {
                // The page just newer than the cursor, still shown newest first.
                var index = low
                while index < high {
                    if matches(records[index]) {
                        if page.count == limit { hasMore = true; break }
                        page.append(index)
                    }
                    index += 1
                }
                page.reverse()
            } else {
                var index = high - 1
                while index >= low {
                    if matches(records[index]) {
                        if page.count == limit { hasMore = true; break }
                        page.append(index)
                    }
                    index -= 1
                }
            }
            picked = (page, hasMore)
        }
        var text = #"{"data":["#
        for (position, index) in picked.indices.enumerated() {
            if position > 0 { text += "," }
            text += collection.rendered(at: index)
        }
        text += #"],"has_more":\#(picked.hasMore),"object":"list","url":"#
        JSONText.appendString(path, to: &text)
        text += "}"
        return Reply(status: 200, text: text)
    }

    /// The first index where `isAfter` holds (records are ordered so it flips once).
    static func partition(_ records: [Record], _ isAfter: (Record) -> Bool) -> Int {
        var low = 0
        var high = records.count
        while low < high {
            let middle = (low + high) / 2
            if isAfter(records[middle]) { high = middle } else { low = middle + 1 }
        }
        return low
    }

    static func create(_ resource: Resource, _ form: [String: JSONValue], sandbox: Sandbox) -> Reply {
        for name in resource.required where form[name] == nil {
            return error(.badRequest, code: "parameter_missing", message: "Missing required param: \(name).", param: name)
        }
        var fields = resource.defaults
        for (key, value) in typed(form) where key != "expand" { fields[key] = value }
        if case .object? = fields["metadata"] {} else { fields["metadata"] = [:] }
        if let amount = form["amount"]?.stringValue, Int64(amount) == nil {
            return error(.badRequest, code: "parameter_invalid_integer", message: "Invalid integer: \(amount)", param: "amount")
        }
        let record = sandbox.world.withLock { world -> Record in
            let id = resource.prefix + world.random.token(resource.prefix == "cus_" || resource.prefix == "prod_" ? 14 : 24)
            let now = world.nowMs()
            fields["id"] = .string(id)
            fields["object"] = .string(resource.object)
            fields["created"] = .integer(now / 1000)
            fields["livemode"] = false
            var collection = world.stripe[resource.path] ?? RecordCollection()
            let record = collection.insert(id: id, created: now / 1000, updatedMs: now, fields: fields)
            world.stripe[resource.path] = collection
            return record
        }
        emit("\(resource.eventPrefix).created", object: record.json, previous: nil, sandbox: sandbox)
        return Reply(status: 200, json: record.json)
    }

    static func update(_ resource: Resource, _ id: String, _ form: [String: JSONValue], sandbox: Sandbox, type: String? = nil) -> Reply {
        var previous: [String: JSONValue] = [:]
        let updated = sandbox.world.withLock { world -> Record? in
            let now = world.nowMs()
            return world.stripe[resource.path]?.update(id) { record in
                for (key, value) in typed(form) where !["id", "object", "created", "expand"].contains(key) {
                    previous[key] = record.fields[key] ?? .null
                    if key == "metadata", case .object(let changes) = value, case .object(var metadata)? = record.fields["metadata"] {
                        // Stripe merges metadata; an empty value deletes the key.
                        for (name, entry) in changes {
                            if entry.stringValue == "" { metadata.removeValue(forKey: name) } else { metadata[name] = entry }
                        }
                        record.fields["metadata"] = .object(metadata)
                    } else {
                        record.fields[key] = value
                    }
                }
                record.updatedMs = now
            }
        }
        guard let updated else { return missing(resource, id) }
        emit(type ?? "\(resource.eventPrefix).updated", object: updated.json, previous: .object(previous), sandbox: sandbox)
        return Reply(status: 200, json: updated.json)
    }

    /// The resources Stripe lets an API client delete.
    static let deletable: Set<String> = ["customers", "products"]

    /// `DELETE /v1/customers/{id}`: gone from lists; answers `{"id", "object", "deleted": true}` and
    /// fires `<object>.deleted` with the object as it was.
    static func delete(_ resource: Resource, _ id: String, sandbox: Sandbox) -> Reply {
        guard let removed = sandbox.world.withLock({ $0.stripe[resource.path]?.remove(id) }) else { return missing(resource, id) }
        emit("\(resource.eventPrefix).deleted", object: removed.json, previous: nil, sandbox: sandbox)
        return Reply(status: 200, json: ["id": .string(id), "object": .string(resource.object), "deleted": true])
    }
}

extension StripeAPI {
    /// `POST /v1/refunds`: refunds a charge (`charge`, or the charge of `payment_intent`) in full or
    /// by `amount`; the charge's `amount_refunded` and `refunded` follow, and both `refund.created`
    /// and `charge.refunded` fire.
    static func refund(_ form: [String: JSONValue], sandbox: Sandbox) -> Reply {
        let refunds = resources.first { $0.path == "refunds" }!
        let charges = resources.first { $0.path == "charges" }!
        let chargeID: String? = sandbox.world.withLock { world in
            if let charge = form["charge"]?.stringValue { return charge }
            guard let intent = form["payment_intent"]?.stringValue else { return nil }
            return world.stripe["charges"]?.records.last { $0.fields["payment_intent"]?.stringValue == intent }?.id ?? ""
        }
        guard let chargeID else { return error(.badRequest, code: "parameter_missing", message: "One of the following params should be provided for this request: payment_intent or charge.") }
        guard let charge = sandbox.world.withLock({ $0.stripe["charges"]?.find(chargeID) }) else {
            return form["charge"] != nil ? missing(charges, chargeID)
                : error(.badRequest, code: "resource_missing", message: "This PaymentIntent does not have a successful charge to refund.", param: "payment_intent")
        }
        let total = charge.fields["amount"]?.intValue ?? 0
        let already = charge.fields["amount_refunded"]?.intValue ?? 0
        var amount = total - already
        if let text = form["amount"]?.stringValue {
            guard let value = Int64(text), value > 0 else { return error(.badRequest, code: "parameter_invalid_integer", message: "Invalid integer: \(text)", param: "amount") }
            amount = value
        }
        guard amount > 0, already + amount <= total else {
            return error(.badRequest, code: "charge_already_refunded", message: "Charge \(chargeID) has already been refunded.")
        }
        var fields = form
        fields["charge"] = .string(chargeID)
        fields["amount"] = .string(String(amount))
        fields["currency"] = charge.fields["currency"] ?? "usd"
        fields["payment_intent"] = charge.fields["payment_intent"] ?? .null
        let created = create(refunds, fields, sandbox: sandbox)
        guard created.status == 200 else { return created }
        _ = update(charges, chargeID, ["amount_refunded": .string(String(already + amount)), "refunded": .string(already + amount == total ? "true" : "false")],
                   sandbox: sandbox, type: "charge.refunded")
        return created
    }
}
