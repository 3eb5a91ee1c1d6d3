import Crypto
import Foundation
import Hummingbird
import JunctionCore

/// Mailchimp Marketing for one account per data centre (the API key's `-usN` suffix): lists
/// (audiences; `a6b5da1054` seeded in us6, more by `POST /3.0/lists`), members (`count`, `offset`,
/// `since_last_changed`, `status`, `sort_field=last_changed`; archived ones only when asked for by
/// `status=archived`), `PUT …/members/{md5 of the lowercased email}` upsert, `DELETE` to archive,
/// member tags and `tag-search`, campaigns (list, create, update); Basic or Bearer auth;
/// problem-detail errors.
enum Mailchimp {
    static func memberID(_ email: String) -> String {
        WebhookSender.hex(Array(Insecure.MD5.hash(data: Array(email.lowercased().utf8))))
    }

    /// The data centre of the API key in `Authorization` (`…-us6`), if it names one.
    static func dataCentre(_ request: Request) -> String? {
        guard let header = request.headers[.authorization] else { return nil }
        var key = header.replacingOccurrences(of: "Bearer ", with: "")
        if header.hasPrefix("Basic "), let decoded = Data(base64Encoded: String(header.dropFirst(6))).map({ String(decoding: $0, as: UTF8.self) }) {
            key = String(decoded.split(separator: ":", maxSplits: 1).last ?? "")
        }
        guard let dash = key.lastIndex(of: "-") else { return nil }
        let dc = key[key.index(after: dash)...]
        return isDataCentre(String(dc)) ? String(dc) : nil
    }

    static func isDataCentre(_ text: String) -> Bool {
        text.hasPrefix("us") && text.count > 2 && text.dropFirst(2).allSatisfy(\.isNumber)
    }

    static func lastChanged(_ ms: Int64) -> String {
        String(Timestamp.format(Date(timeIntervalSince1970: Double(ms) / 1000)).prefix(19)) + "+00:00"
    }

    static func listFields(_ store: String, world: World) -> [String: JSONValue] {
        let id = String(store.split(separator: "/").last ?? "")
        var fields = world.mailchimpLists[store] ?? [
            "id": .string(id), "web_id": 1, "name": "Junction Sandbox Audience", "date_created": "2025-01-01T00:00:00+00:00",
            "contact": ["company": "Junction Sandbox", "country": "US"], "permission_reminder": "You signed up at our venue.",
            "email_type_option": false, "visibility": "prv",
        ]
        let members = world.mailchimp[store]?.records ?? []
        fields["stats"] = ["member_count": .integer(Int64(members.filter { $0.fields["status"]?.stringValue == "subscribed" }.count)),
                           "unsubscribe_count": .integer(Int64(members.filter { $0.fields["status"]?.stringValue == "unsubscribed" }.count))]
        return fields
    }

    static func render(_ record: Record) -> JSONValue {
        var fields = record.fields
        fields["last_changed"] = .string(lastChanged(record.updatedMs))
        return .object(fields)
    }

    /// Creates or updates the member `hash` of `store` from `input` (fires `subscribe` or `profile`).
    static func upsert(store: String, list: String, hash: String, input: [String: JSONValue], sandbox: Sandbox) -> Response {
        json(render(upsertRecord(store: store, list: list, hash: hash, input: input, sandbox: sandbox).record))
    }

    /// The upsert itself: the member as it is afterwards, and whether it is new.
    static func upsertRecord(store: String, list: String, hash: String, input: [String: JSONValue], sandbox: Sandbox) -> (record: Record, created: Bool) {
        let email = input["email_address"]?.stringValue ?? ""
        let (record, created) = sandbox.world.withLock { world -> (Record, Bool) in
            let now = world.nowMs()
            if world.mailchimp[store]!.find(hash) != nil {
                let record = world.mailchimp[store]!.update(hash) { record in
                    for key in ["email_address", "status", "language", "vip"] { if let value = input[key] { record.fields[key] = value } }
                    // Merge fields not named keep their values.
                    if case .object(let changes)? = input["merge_fields"] {
                        var fields = record.fields["merge_fields"]?.objectValue ?? [:]
                        for (name, value) in changes { fields[name] = value }
                        record.fields["merge_fields"] = .object(fields)
                    }
                    record.updatedMs = now
                }!
                return (record, false)
            }
            let fields: [String: JSONValue] = [
                "id": .string(hash), "email_address": .string(email), "list_id": .string(list),
                "status": input["status_if_new"] ?? input["status"] ?? "subscribed", "merge_fields": input["merge_fields"] ?? [:], "tags": [],
            ]
            return (world.mailchimp[store]!.insert(id: hash, created: now / 1000, updatedMs: now, fields: fields), true)
        }
        sandbox.webhooks.mailchimp(type: created ? "subscribe" : "profile", listID: list, email: email, memberID: hash)
        return (record, created)
    }

    /// `POST /3.0/lists/{list}` (batch subscribe): up to 500 `members`, each with `email_address`
    /// and `status`; an existing member is updated only with `update_existing: true`. Answered
    /// 200 even when members were refused: each is in `errors` with its reason.
    static func batchSubscribe(store: String, list: String, input: [String: JSONValue], sandbox: Sandbox) -> Response {
        guard let members = input["members"]?.arrayValue else { return ProviderErrors.problem(400, "Invalid Resource", "members is required") }
        guard members.count <= 500 else { return ProviderErrors.problem(400, "Invalid Resource", "members may hold at most 500 members per call") }
        let updateExisting = input["update_existing"]?.boolValue ?? false
        var created: [JSONValue] = [], updated: [JSONValue] = [], errors: [JSONValue] = []
        func refuse(_ email: String, _ error: String, _ code: String, field: String = "") {
            errors.append(["email_address": .string(email), "error": .string(error), "error_code": .string(code), "field": .string(field), "field_message": ""])
        }
        for member in members {
            guard case .object(let fields) = member, let email = fields["email_address"]?.stringValue, email.contains("@"), !email.hasPrefix("@") else {
                refuse(member["email_address"]?.stringValue ?? "", "Please provide a valid email address.", "ERROR_GENERIC", field: "email_address")
                continue
            }
            guard let status = fields["status"]?.stringValue, ["subscribed", "unsubscribed", "cleaned", "pending", "transactional"].contains(status) else {
                refuse(email, "The status must be one of subscribed, unsubscribed, cleaned, pending or transactional.", "ERROR_GENERIC", field: "status")
                continue
            }
            let hash = memberID(email)
            if !updateExisting, sandbox.world.withLock({ $0.mailchimp[store]?.find(hash) }) != nil {
                refuse(email, "\(email) is already a list member. Use update_existing to update it.", "ERROR_CONTACT_EXISTS")
                continue
            }
            let (record, isNew) = upsertRecord(store: store, list: list, hash: hash, input: fields, sandbox: sandbox)
            if isNew { created.append(render(record)) } else { updated.append(render(record)) }
        }
        return json([
            "new_members": .array(created), "updated_members": .array(updated), "errors": .array(errors),
            "total_created": .integer(Int64(created.count)), "total_updated": .integer(Int64(updated.count)), "error_count": .integer(Int64(errors.count)),
        ])
    }

    static func register(on router: Router<BasicRequestContext>, sandbox: Sandbox) {
        /// Runs `body` with the store of the caller's account: one per data centre, named by the
        /// API key's suffix (`…-us6`); OAuth tokens belong to us6. Each account has the list
        /// a6b5da1054 (seeded in us6, empty elsewhere).
        @Sendable func guarded(_ request: Request, list: String, _ body: @escaping @Sendable (String, [UInt8]) async throws -> Response) async throws -> Response {
            let dc = dataCentre(request) ?? "us6"
            return try await sandbox.serve(.mailchimp, account: dc, request) { bytes in
                if let refusal = sandbox.authorize(.mailchimp, request) { return refusal }
                let store = "\(dc)/\(list)"
                let exists = sandbox.world.withLock { world -> Bool in
                    if world.mailchimp[store] == nil && list == Seed.mailchimpList { world.mailchimp[store] = RecordCollection() }
                    return world.mailchimp[store] != nil
                }
                guard exists else { return ProviderErrors.problem(404, "Resource Not Found", "The requested resource could not be found.") }
                return try await body(store, bytes)
            }
        }
        router.get("/3.0/lists/:list/members") { request, context in
            let list = context.parameters.get("list") ?? ""
            return try await guarded(request, list: list) { store, _ in
                let query = FormBody.query(request.uri.query)
                let count = Int(query["count"] ?? "10") ?? -1
                let offset = Int(query["offset"] ?? "0") ?? -1
                guard (1...1000).contains(count), offset >= 0 else {
                    return ProviderErrors.problem(400, "Invalid Resource", "count must be 1 to 1000 and offset at least 0")
                }
                var since: Int64?
                if let text = query["since_last_changed"] {
                    guard let date = ISO8601DateFormatter().date(from: text) else {
                        return ProviderErrors.problem(400, "Invalid Resource", "since_last_changed is not an ISO 8601 time")
                    }
                    since = Int64(date.timeIntervalSince1970 * 1000)
                }
                let status = query["status"]
                guard status == nil || ["subscribed", "unsubscribed", "cleaned", "pending", "transactional", "archived"].contains(status!) else {
                    return ProviderErrors.problem(400, "Invalid Resource", "status is subscribed, unsubscribed, cleaned, pending, transactional or archived")
                }
                return sandbox.world.withLock { world in
                    let records = world.mailchimp[store]!.records
                    var matching = records.filter { record in
                        let current = record.fields["status"]?.stringValue
                        return since.map { record.updatedMs > $0 } ?? true && (status.map { current == $0 } ?? (current != "archived"))
                    }
                    if query["sort_field"] == "last_changed" {
                        matching.sort { ($0.updatedMs, $0.sequence) < ($1.updatedMs, $1.sequence) }
                        if query["sort_dir"] == "DESC" { matching.reverse() }
                    }
                    let page = matching.dropFirst(offset).prefix(count)
                    return json(["members": .array(page.map(render)), "list_id": .string(list), "total_items": .integer(Int64(matching.count))])
                }
            }
        }
        router.get("/3.0/lists/:list/members/:hash") { request, context in
            let (list, hash) = (context.parameters.get("list") ?? "", context.parameters.get("hash") ?? "")
            return try await guarded(request, list: list) { store, _ in
                guard let record = sandbox.world.withLock({ $0.mailchimp[store]?.find(hash) }) else {
                    return ProviderErrors.problem(404, "Resource Not Found", "The requested resource could not be found.")
                }
                return json(render(record))
            }
        }
        // Add (`POST …/members`): an existing member is "Member Exists"; update (`PATCH
        // …/members/{hash}`): a missing one is 404. Both end in the upsert PUT does.
        router.post("/3.0/lists/:list/members") { request, context in
            let list = context.parameters.get("list") ?? ""
            return try await guarded(request, list: list) { store, body in
                guard case .object(let input)? = try? JSONValue(parsing: body), let email = input["email_address"]?.stringValue, email.contains("@") else {
                    return ProviderErrors.problem(400, "Invalid Resource", "email_address is required and must be an email address")
                }
                guard input["status"]?.stringValue != nil else { return ProviderErrors.problem(400, "Invalid Resource", "status is required") }
                let hash = memberID(email)
                if sandbox.world.withLock({ $0.mailchimp[store]?.find(hash) }) != nil {
                    return ProviderErrors.problem(400, "Member Exists", "\(email) is already a list member. Use PUT to insert or update list members.")
                }
                return upsert(store: store, list: list, hash: hash, input: input, sandbox: sandbox)
            }
        }
        router.post("/3.0/lists/:list") { request, context in
            let list = context.parameters.get("list") ?? ""
            return try await guarded(request, list: list) { store, body in
                guard case .object(let input)? = try? JSONValue(parsing: body) else { return ProviderErrors.problem(400, "Invalid Resource", "The body is not JSON.") }
                return batchSubscribe(store: store, list: list, input: input, sandbox: sandbox)
            }
        }
        router.patch("/3.0/lists/:list/members/:hash") { request, context in
            let (list, hash) = (context.parameters.get("list") ?? "", context.parameters.get("hash") ?? "")
            return try await guarded(request, list: list) { store, body in
                guard case .object(var input)? = try? JSONValue(parsing: body) else { return ProviderErrors.problem(400, "Invalid Resource", "The body is not JSON.") }
                guard let current = sandbox.world.withLock({ $0.mailchimp[store]?.find(hash) }) else {
                    return ProviderErrors.problem(404, "Resource Not Found", "The requested resource could not be found.")
                }
                if input["email_address"] == nil { input["email_address"] = current.fields["email_address"] }
                return upsert(store: store, list: list, hash: hash, input: input, sandbox: sandbox)
            }
        }
        router.put("/3.0/lists/:list/members/:hash") { request, context in
            let (list, hash) = (context.parameters.get("list") ?? "", context.parameters.get("hash") ?? "")
            return try await guarded(request, list: list) { store, body in
                guard case .object(let input)? = try? JSONValue(parsing: body) else { return ProviderErrors.problem(400, "Invalid Resource", "The body is not JSON.") }
                guard let email = input["email_address"]?.stringValue, email.contains("@") else {
                    return ProviderErrors.problem(400, "Invalid Resource", "email_address is required and must be an email address")
                }
                guard memberID(email) == hash else {
                    return ProviderErrors.problem(400, "Invalid Resource", "The subscriber hash is not the MD5 of the lowercased email address.")
                }
                return upsert(store: store, list: list, hash: hash, input: input, sandbox: sandbox)
            }
        }
        /// Runs `body` with the caller's data centre.
        @Sendable func account(_ request: Request, _ body: @escaping @Sendable (String, [UInt8]) async throws -> Response) async throws -> Response {
            let dc = dataCentre(request) ?? "us6"
            return try await sandbox.serve(.mailchimp, account: dc, request) { bytes in
                if let refusal = sandbox.authorize(.mailchimp, request) { return refusal }
                return try await body(dc, bytes)
            }
        }
        @Sendable func paging(_ request: Request) -> (count: Int, offset: Int)? {
            let query = FormBody.query(request.uri.query)
            let count = Int(query["count"] ?? "10") ?? -1
            let offset = Int(query["offset"] ?? "0") ?? -1
            return (1...1000).contains(count) && offset >= 0 ? (count, offset) : nil
        }
        router.get("/3.0/lists") { request, _ in
            try await account(request) { dc, _ in
                guard let (count, offset) = paging(request) else { return ProviderErrors.problem(400, "Invalid Resource", "count must be 1 to 1000 and offset at least 0") }
                return sandbox.world.withLock { world in
                    if dc == "us6", world.mailchimp["us6/\(Seed.mailchimpList)"] == nil { world.mailchimp["us6/\(Seed.mailchimpList)"] = RecordCollection() }
                    let stores = world.mailchimp.keys.filter { $0.hasPrefix(dc + "/") }.sorted()
                    let lists = stores.map { JSONValue.object(listFields($0, world: world)) }
                    return json(["lists": .array(Array(lists.dropFirst(offset).prefix(count))), "total_items": .integer(Int64(lists.count))])
                }
            }
        }
        router.post("/3.0/lists") { request, _ in
            try await account(request) { dc, body in
                guard case .object(let input)? = try? JSONValue(parsing: body), let name = input["name"]?.stringValue, !name.isEmpty,
                      input["contact"] != nil, input["permission_reminder"] != nil, input["campaign_defaults"] != nil else {
                    return ProviderErrors.problem(400, "Invalid Resource", "name, contact, permission_reminder, campaign_defaults and email_type_option are required")
                }
                let fields = sandbox.world.withLock { world -> [String: JSONValue] in
                    let id = WebhookSender.hex((0..<5).map { _ in UInt8(world.random.next() & 0xFF) })
                    let store = "\(dc)/\(id)"
                    var fields = input
                    fields["id"] = .string(id)
                    fields["date_created"] = .string(lastChanged(world.nowMs()))
                    world.mailchimpLists[store] = fields
                    world.mailchimp[store] = RecordCollection()
                    return listFields(store, world: world)
                }
                return json(.object(fields))
            }
        }
        // `PATCH /3.0/lists/{list_id}`: changes the audience's settings (name, contact, …); the
        // answer is the list as it is afterwards.
        router.patch("/3.0/lists/:list") { request, context in
            let list = context.parameters.get("list") ?? ""
            return try await guarded(request, list: list) { store, body in
                guard case .object(let input)? = try? JSONValue(parsing: body) else { return ProviderErrors.problem(400, "Invalid Resource", "The body is not JSON.") }
                let fields = sandbox.world.withLock { world -> [String: JSONValue] in
                    var fields = listFields(store, world: world)
                    fields.removeValue(forKey: "stats")
                    for (key, value) in input where !["id", "web_id", "date_created", "stats"].contains(key) {
                        if case .object(let changes) = value, case .object(var current)? = fields[key] {
                            for (name, entry) in changes { current[name] = entry }
                            fields[key] = .object(current)
                        } else {
                            fields[key] = value
                        }
                    }
                    world.mailchimpLists[store] = fields
                    return listFields(store, world: world)
                }
                return json(.object(fields))
            }
        }
        // `DELETE /3.0/lists/{list_id}`: the audience and its members are gone (204).
        router.delete("/3.0/lists/:list") { request, context in
            let list = context.parameters.get("list") ?? ""
            return try await guarded(request, list: list) { store, _ in
                sandbox.world.withLock { world in
                    world.mailchimp.removeValue(forKey: store)
                    world.mailchimpLists.removeValue(forKey: store)
                }
                return Response(status: .noContent)
            }
        }
        router.get("/3.0/lists/:list/tag-search") { request, context in
            let list = context.parameters.get("list") ?? ""
            return try await guarded(request, list: list) { store, _ in
                let name = FormBody.query(request.uri.query)["name"]
                return sandbox.world.withLock { world in
                    var seen: [String: JSONValue] = [:]
                    for record in world.mailchimp[store]?.records ?? [] {
                        for tag in record.fields["tags"]?.arrayValue ?? [] {
                            if let tagName = tag["name"]?.stringValue, name.map({ tagName.lowercased().hasPrefix($0.lowercased()) }) ?? true {
                                seen[tagName] = ["id": tag["id"] ?? .null, "name": .string(tagName)]
                            }
                        }
                    }
                    let tags = seen.keys.sorted().map { seen[$0]! }
                    return json(["tags": .array(tags), "total_items": .integer(Int64(tags.count))])
                }
            }
        }
        // Archiving: the member stays, `status: archived`, out of the default list.
        router.delete("/3.0/lists/:list/members/:hash") { request, context in
            let (list, hash) = (context.parameters.get("list") ?? "", context.parameters.get("hash") ?? "")
            return try await guarded(request, list: list) { store, _ in
                let archived = sandbox.world.withLock { world -> Record? in
                    let now = world.nowMs()
                    guard world.mailchimp[store]?.find(hash)?.fields["status"]?.stringValue != "archived" else { return nil }
                    return world.mailchimp[store]?.update(hash) { record in
                        record.fields["status"] = "archived"
                        record.updatedMs = now
                    }
                }
                guard let archived else { return ProviderErrors.problem(404, "Resource Not Found", "The requested resource could not be found.") }
                sandbox.webhooks.mailchimp(type: "unsubscribe", listID: list, email: archived.fields["email_address"]?.stringValue ?? "", memberID: hash)
                return Response(status: .noContent)
            }
        }
        router.get("/3.0/campaigns") { request, _ in
            try await account(request) { dc, _ in
                guard let (count, offset) = paging(request) else { return ProviderErrors.problem(400, "Invalid Resource", "count must be 1 to 1000 and offset at least 0") }
                return sandbox.world.withLock { world in
                    let campaigns = (world.mailchimpCampaigns[dc]?.records ?? []).map(\.json)
                    return json(["campaigns": .array(Array(campaigns.dropFirst(offset).prefix(count))), "total_items": .integer(Int64(campaigns.count))])
                }
            }
        }
        router.post("/3.0/campaigns") { request, _ in
            try await account(request) { dc, body in
                guard case .object(let input)? = try? JSONValue(parsing: body), let type = input["type"]?.stringValue,
                      ["regular", "plaintext", "rss", "variate"].contains(type) else {
                    return ProviderErrors.problem(400, "Invalid Resource", "type is regular, plaintext, rss or variate")
                }
                let record = sandbox.world.withLock { world -> Record in
                    let now = world.nowMs()
                    let id = WebhookSender.hex((0..<5).map { _ in UInt8(world.random.next() & 0xFF) })
                    var fields = input
                    fields["id"] = .string(id)
                    fields["status"] = "save"
                    fields["emails_sent"] = 0
                    fields["create_time"] = .string(lastChanged(now))
                    var collection = world.mailchimpCampaigns[dc] ?? RecordCollection()
                    let record = collection.insert(id: id, created: now / 1000, updatedMs: now, fields: fields)
                    world.mailchimpCampaigns[dc] = collection
                    return record
                }
                return json(record.json)
            }
        }
        router.patch("/3.0/campaigns/:id") { request, context in
            let id = context.parameters.get("id") ?? ""
            return try await account(request) { dc, body in
                guard case .object(let input)? = try? JSONValue(parsing: body) else { return ProviderErrors.problem(400, "Invalid Resource", "The body is not JSON.") }
                let updated = sandbox.world.withLock { world -> Record? in
                    let now = world.nowMs()
                    return world.mailchimpCampaigns[dc]?.update(id) { record in
                        for (key, value) in input where !["id", "status", "create_time", "emails_sent"].contains(key) {
                            if case .object(let changes) = value, case .object(var current)? = record.fields[key] {
                                for (name, entry) in changes { current[name] = entry }
                                record.fields[key] = .object(current)
                            } else {
                                record.fields[key] = value
                            }
                        }
                        record.updatedMs = now
                    }
                }
                guard let updated else { return ProviderErrors.problem(404, "Resource Not Found", "The requested resource could not be found.") }
                return json(updated.json)
            }
        }
        // `DELETE /3.0/campaigns/{campaign_id}`: gone from the campaigns list (204).
        router.delete("/3.0/campaigns/:id") { request, context in
            let id = context.parameters.get("id") ?? ""
            return try await account(request) { dc, _ in
                let removed = sandbox.world.withLock { $0.mailchimpCampaigns[dc]?.remove(id) }
                return removed == nil ? ProviderErrors.problem(404, "Resource Not Found", "The requested resource could not be found.") : Response(status: .noContent)
            }
        }
        router.get("/3.0/lists/:list/members/:hash/tags") { request, context in
            let (list, hash) = (context.parameters.get("list") ?? "", context.parameters.get("hash") ?? "")
            return try await guarded(request, list: list) { store, _ in
                guard let record = sandbox.world.withLock({ $0.mailchimp[store]?.find(hash) }) else {
                    return ProviderErrors.problem(404, "Resource Not Found", "The requested resource could not be found.")
                }
                let tags: [JSONValue] = if case .array(let items)? = record.fields["tags"] { items } else { [] }
                return json(["tags": .array(tags), "total_items": .integer(Int64(tags.count))])
            }
        }
        router.post("/3.0/lists/:list/members/:hash/tags") { request, context in
            let (list, hash) = (context.parameters.get("list") ?? "", context.parameters.get("hash") ?? "")
            return try await guarded(request, list: list) { store, body in
                guard case .array(let changes)? = (try? JSONValue(parsing: body))?["tags"] else {
                    return ProviderErrors.problem(400, "Invalid Resource", "tags must be a list of {name, status}")
                }
                let found = sandbox.world.withLock { world -> Bool in
                    let now = world.nowMs()
                    return world.mailchimp[store]?.update(hash) { record in
                        var tags: [JSONValue] = if case .array(let items)? = record.fields["tags"] { items } else { [] }
                        for change in changes {
                            guard let name = change["name"]?.stringValue else { continue }
                            tags.removeAll { $0["name"]?.stringValue == name }
                            if change["status"]?.stringValue != "inactive" {
                                tags.append(["id": .integer(name.unicodeScalars.reduce(Int64(7)) { ($0 * 31 + Int64($1.value)) % 1_000_003 }), "name": .string(name), "date_added": .string(lastChanged(now))])
                            }
                        }
                        record.fields["tags"] = .array(tags)
                        record.updatedMs = now
                    } != nil
                }
                return found ? Response(status: .noContent) : ProviderErrors.problem(404, "Resource Not Found", "The requested resource could not be found.")
            }
        }
    }
}
