import Crypto
import Foundation
import Hummingbird
import JunctionCore

/// Mailchimp Marketing's members API for the list `a6b5da1054`: list with `count`, `offset` and
/// `since_last_changed` (`total_items`), `PUT …/members/{md5 of the lowercased email}` upsert,
/// member tags, Basic or Bearer auth; one account per data centre (the API key's `-usN` suffix);
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

    static func render(_ record: Record) -> JSONValue {
        var fields = record.fields
        fields["last_changed"] = .string(lastChanged(record.updatedMs))
        return .object(fields)
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
                return sandbox.world.withLock { world in
                    let records = world.mailchimp[store]!.records
                    let matching = since.map { bound in records.filter { $0.updatedMs > bound } } ?? records
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
                let (record, created) = sandbox.world.withLock { world -> (Record, Bool) in
                    let now = world.nowMs()
                    if world.mailchimp[store]!.find(hash) != nil {
                        let record = world.mailchimp[store]!.update(hash) { record in
                            for key in ["email_address", "status", "merge_fields", "language", "vip"] { if let value = input[key] { record.fields[key] = value } }
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
                return json(render(record))
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
