import Foundation
import Hummingbird
import JunctionCore

/// QuickBooks Online v3 for one realm: `query`, as `GET …/query?query=` or `POST …/query` with the
/// statement as an `application/text` body (enough of the grammar for
/// `SELECT * | COUNT(*) FROM Customer|Invoice|Item|Payment|Account
/// [WHERE Metadata.LastUpdatedTime >|>=|<|<= '…' [AND …]] [ORDERBY Metadata.LastUpdatedTime [ASC|DESC]]
/// [STARTPOSITION n] [MAXRESULTS m]`), `cdc` (deleted objects as `{"Id", "status": "Deleted"}`),
/// create, sparse update with `SyncToken` conflicts, delete (`?operation=delete`, for the
/// transactions Invoice and Payment; the others are made inactive), `QueryResponse` and `Fault`
/// shapes; `minorversion` is accepted.
enum QuickBooksAPI {
    static let entities = ["customer": "Customer", "invoice": "Invoice", "item": "Item", "payment": "Payment", "account": "Account"]
    /// The entities QuickBooks deletes; name-list entities (customers, items, accounts) are only deactivated.
    static let deletable: Set<String> = ["Invoice", "Payment"]

    static func fault(_ status: HTTPResponse.Status, type: String = "ValidationFault", code: String, message: String, detail: String) -> Response {
        json(["Fault": ["Error": [["Message": .string(message), "Detail": .string(detail), "code": .string(code)]], "type": .string(type)],
              "time": .string(Timestamp.format(Date()))], status: status)
    }

    static func render(_ record: Record) -> JSONValue {
        var fields = record.fields
        fields["MetaData"] = ["CreateTime": .string(Timestamp.format(Date(timeIntervalSince1970: Double(record.created)))),
                              "LastUpdatedTime": .string(Timestamp.format(Date(timeIntervalSince1970: Double(record.updatedMs) / 1000)))]
        fields["domain"] = "QBO"
        fields["sparse"] = false
        return .object(fields)
    }

    struct QueryError: Error, Equatable {
        let reason: String
    }

    struct Query: Equatable {
        var entity: String
        var count: Bool
        /// `Metadata.LastUpdatedTime` bounds: (operator, milliseconds).
        var bounds: [(String, Int64)] = []
        /// `<Field> = <value>` conditions.
        var equals: [(String, JSONValue)] = []
        var descending: Bool? = nil
        var start: Int
        var max: Int

        static func == (lhs: Query, rhs: Query) -> Bool {
            lhs.entity == rhs.entity && lhs.count == rhs.count && lhs.start == rhs.start && lhs.max == rhs.max && lhs.descending == rhs.descending
                && lhs.bounds.map(\.0) == rhs.bounds.map(\.0) && lhs.bounds.map(\.1) == rhs.bounds.map(\.1)
        }

        func matches(_ record: Record) -> Bool {
            equals.allSatisfy { field, value in
                let stored = record.fields[field]
                if case .number(let number) = value { return stored?.intValue.map(Double.init) == number || stored == value }
                return stored == value || stored?.stringValue == value.stringValue && value.stringValue != nil
            } && bounds.allSatisfy { operation, bound in
                switch operation {
                case ">": record.updatedMs > bound
                case ">=": record.updatedMs >= bound
                case "<": record.updatedMs < bound
                default: record.updatedMs <= bound
                }
            }
        }
    }

    /// Parses the supported statements; nil with the reason otherwise.
    static func parse(_ text: String) -> Result<Query, QueryError> {
        var tokens: [String] = []
        var current = ""
        var quoted = false
        var escaped = false
        for character in text {
            // Inside a literal, `\'` is a quote (QuickBooks's escape for O'Brien).
            if quoted, escaped { current.append(character); escaped = false; continue }
            if quoted, character == "\\" { escaped = true; continue }
            if character == "'" {
                quoted.toggle()
                if !quoted { tokens.append("'" + current); current = "" }
                continue
            }
            if quoted { current.append(character); continue }
            if character.isWhitespace {
                if !current.isEmpty { tokens.append(current); current = "" }
            } else if character == ">" || character == "<" || character == "=" {
                if !current.isEmpty { tokens.append(current); current = "" }
                // `>=` and `<=` are one token.
                if character == "=", let last = tokens.last, last == ">" || last == "<" {
                    tokens[tokens.count - 1] = last + "="
                } else {
                    tokens.append(String(character))
                }
            } else {
                current.append(character)
            }
        }
        if quoted { return .failure(QueryError(reason: "unterminated string literal")) }
        if !current.isEmpty { tokens.append(current) }
        var index = 0
        func next() -> String? { index < tokens.count ? tokens[index] : nil }
        func take(_ keyword: String) -> Bool {
            if next()?.uppercased() == keyword { index += 1; return true }
            return false
        }
        guard take("SELECT") else { return .failure(QueryError(reason: "a query starts with SELECT")) }
        var count = false
        if take("*") {
        } else if next()?.hasPrefix("*,") == true {
            // `SELECT *, Sku FROM Item`: the extra fields are part of `*` here. Fields after a
            // `*, ` (a separate token) are skipped up to FROM.
            index += 1
            while let token = next(), token.uppercased() != "FROM" { index += 1 }
        } else if next()?.uppercased() == "COUNT(*)" {
            index += 1
            count = true
        } else {
            return .failure(QueryError(reason: "only SELECT * and SELECT COUNT(*) are supported"))
        }
        guard take("FROM"), let name = next(), let entity = entities[name.lowercased()] else {
            return .failure(QueryError(reason: "FROM must name Customer, Invoice, Item, Payment or Account"))
        }
        index += 1
        var query = Query(entity: entity, count: count, start: 1, max: 100)
        if take("WHERE") {
            repeat {
                // `<Field> = '<text>'` (or true, false, a number) on a top-level field.
                if let field = next(), field.lowercased() != "metadata.lastupdatedtime", !field.contains(".") {
                    index += 1
                    guard take("="), let literal = next() else { return .failure(QueryError(reason: "expected \(field) = '<value>'")) }
                    index += 1
                    let value: JSONValue = literal.hasPrefix("'") ? .string(String(literal.dropFirst()))
                        : literal.lowercased() == "true" ? .bool(true) : literal.lowercased() == "false" ? .bool(false)
                        : Double(literal).map(JSONValue.number) ?? .string(literal)
                    query.equals.append((field, value))
                    continue
                }
                guard next()?.lowercased() == "metadata.lastupdatedtime" else {
                    return .failure(QueryError(reason: "only WHERE Metadata.LastUpdatedTime <op> '…' and <Field> = '…' [AND …] are supported"))
                }
                index += 1
                guard let operation = next(), [">", ">=", "<", "<="].contains(operation) else { return .failure(QueryError(reason: "expected >, >=, < or <=")) }
                index += 1
                guard let literal = next(), literal.hasPrefix("'") else { return .failure(QueryError(reason: "expected '<time>'")) }
                index += 1
                let formatter = ISO8601DateFormatter()
                formatter.formatOptions = [.withInternetDateTime]
                let fractional = ISO8601DateFormatter()
                fractional.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
                guard let date = formatter.date(from: String(literal.dropFirst())) ?? fractional.date(from: String(literal.dropFirst())) else {
                    return .failure(QueryError(reason: "\(literal.dropFirst()) is not a date-time"))
                }
                query.bounds.append((operation, Int64((date.timeIntervalSince1970 * 1000).rounded())))
            } while take("AND")
        }
        if take("ORDERBY") || (next()?.uppercased() == "ORDER" && index + 1 < tokens.count && tokens[index + 1].uppercased() == "BY" && { index += 2; return true }()) {
            guard next()?.lowercased() == "metadata.lastupdatedtime" else { return .failure(QueryError(reason: "only ORDERBY Metadata.LastUpdatedTime is supported")) }
            index += 1
            query.descending = take("DESC") ? true : (take("ASC") ? false : false)
        }
        while let keyword = next()?.uppercased() {
            index += 1
            guard let number = next().flatMap({ Int($0) }) else { return .failure(QueryError(reason: "\(keyword) needs a number")) }
            index += 1
            switch keyword {
            case "STARTPOSITION" where number >= 1: query.start = number
            case "MAXRESULTS" where (1...1000).contains(number): query.max = number
            default: return .failure(QueryError(reason: "unexpected \(keyword) \(number)"))
            }
        }
        return .success(query)
    }

    static func register(on router: Router<BasicRequestContext>, sandbox: Sandbox) {
        @Sendable func guarded(_ request: Request, realm: String, _ body: @escaping @Sendable ([UInt8]) async throws -> Response) async throws -> Response {
            try await sandbox.serve(.quickbooks, account: realm, request) { bytes in
                if let refusal = sandbox.authorize(.quickbooks, request) { return refusal }
                guard realm == Seed.quickBooksRealm else {
                    return fault(.forbidden, type: "AuthorizationFault", code: "003100", message: "ApplicationAuthorizationFailed", detail: "Unknown realm \(realm)")
                }
                return try await body(bytes)
            }
        }
        @Sendable func answer(_ text: String) -> Response {
            switch parse(text) {
            case .failure(let error):
                return fault(.badRequest, code: "4000", message: "Error parsing query", detail: "QueryParserError: \(error.reason)")
            case .success(let query):
                return sandbox.world.withLock { world in
                    var matching = (world.quickbooks[query.entity]?.records ?? []).filter(query.matches)
                    if let descending = query.descending {
                        matching.sort { descending ? ($0.updatedMs, $0.sequence) > ($1.updatedMs, $1.sequence) : ($0.updatedMs, $0.sequence) < ($1.updatedMs, $1.sequence) }
                    }
                    if query.count {
                        return json(["QueryResponse": ["totalCount": .integer(Int64(matching.count))], "time": .string(Timestamp.format(Date()))])
                    }
                    let page = matching.dropFirst(query.start - 1).prefix(query.max)
                    var response: [String: JSONValue] = ["startPosition": .integer(Int64(query.start)), "maxResults": .integer(Int64(page.count))]
                    if !page.isEmpty { response[query.entity] = .array(page.map(render)) }
                    return json(["QueryResponse": .object(response), "time": .string(Timestamp.format(Date()))])
                }
            }
        }
        router.get("/v3/company/:realm/query") { request, context in
            let realm = context.parameters.get("realm") ?? ""
            return try await guarded(request, realm: realm) { _ in answer(FormBody.query(request.uri.query)["query"] ?? "") }
        }
        // The form most clients send: the statement as the body, `Content-Type: application/text`.
        router.post("/v3/company/:realm/query") { request, context in
            let realm = context.parameters.get("realm") ?? ""
            return try await guarded(request, realm: realm) { body in
                let type = request.headers[.contentType]?.lowercased() ?? ""
                guard type.hasPrefix("application/text") || type.hasPrefix("text/plain") else {
                    return fault(.unsupportedMediaType, code: "4001", message: "Unsupported Media Type",
                                 detail: "a query is sent as Content-Type: application/text, not \(type.isEmpty ? "none" : type)")
                }
                return answer(String(decoding: body, as: UTF8.self))
            }
        }
        router.get("/v3/company/:realm/cdc") { request, context in
            let realm = context.parameters.get("realm") ?? ""
            return try await guarded(request, realm: realm) { _ in
                let query = FormBody.query(request.uri.query)
                let names = (query["entities"] ?? "").split(separator: ",").compactMap { entities[$0.trimmingCharacters(in: .whitespaces).lowercased()] }
                let formatter = ISO8601DateFormatter()
                // A time without a zone (as some clients send it) is taken as UTC.
                let zoned = query["changedSince"].map { text in
                    text.hasSuffix("Z") || text.dropFirst(19).contains("+") || text.dropFirst(19).contains("-") ? text : text + "Z"
                }
                let fractional = ISO8601DateFormatter()
                fractional.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
                guard !names.isEmpty, let since = zoned.flatMap({ formatter.date(from: $0) ?? fractional.date(from: $0) }) else {
                    return fault(.badRequest, code: "2020", message: "Required param missing", detail: "entities and changedSince are required")
                }
                let bound = Int64(since.timeIntervalSince1970 * 1000)
                return sandbox.world.withLock { world in
                    let responses: [JSONValue] = names.map { name in
                        // At most 1,000 objects per entity, the oldest changes first, deleted ones as
                        // `{"Id", "status": "Deleted"}`.
                        let live = (world.quickbooks[name]?.records ?? []).filter { $0.updatedMs > bound }.map { ($0.updatedMs, render($0)) }
                        let gone = (world.quickbooksDeleted[name] ?? [:]).filter { $0.value > bound }.map { id, ms in
                            (ms, JSONValue.object(["Id": .string(id), "status": "Deleted", "domain": "QBO",
                                                   "MetaData": ["LastUpdatedTime": .string(Timestamp.format(Date(timeIntervalSince1970: Double(ms) / 1000)))]]))
                        }
                        let changed = (live + gone).sorted { $0.0 < $1.0 }.prefix(1000).map(\.1)
                        return .object([name: .array(Array(changed)), "startPosition": 1, "maxResults": .integer(Int64(changed.count))])
                    }
                    return json(["CDCResponse": [["QueryResponse": .array(responses)]], "time": .string(Timestamp.format(Date()))])
                }
            }
        }
        for (path, entity) in entities {
            router.get("/v3/company/:realm/\(path)/:id") { request, context in
                let realm = context.parameters.get("realm") ?? ""
                let id = context.parameters.get("id") ?? ""
                return try await guarded(request, realm: realm) { _ in
                    guard let record = sandbox.world.withLock({ $0.quickbooks[entity]?.find(id) }) else {
                        return fault(.badRequest, code: "610", message: "Object Not Found", detail: "Object Not Found : Something you're trying to use has been made inactive.")
                    }
                    return json([entity: render(record), "time": .string(Timestamp.format(Date()))])
                }
            }
            router.post("/v3/company/:realm/\(path)") { request, context in
                let realm = context.parameters.get("realm") ?? ""
                return try await guarded(request, realm: realm) { body in
                    guard case .object(let input)? = try? JSONValue(parsing: body) else {
                        return fault(.badRequest, code: "2010", message: "Request has invalid or unsupported property", detail: "The body is not a JSON object")
                    }
                    let query = FormBody.query(request.uri.query)
                    if let operation = query["operation"] {
                        guard operation == "delete" else {
                            return fault(.badRequest, code: "2010", message: "Request has invalid or unsupported property", detail: "operation \(operation) is not supported")
                        }
                        return remove(entity, input, realm: realm, sandbox: sandbox)
                    }
                    // `requestid`: a repeat is answered with the first write's answer, and
                    // writes nothing.
                    let requestKey = query["requestid"].map { "\(realm)/\($0)" }
                    if let requestKey, let earlier = sandbox.world.withLock({ $0.quickbooksRequests[requestKey] }) {
                        return jsonText(earlier, status: 200)
                    }
                    let (response, answer) = write(entity, input, realm: realm, sandbox: sandbox)
                    if let requestKey, let answer { sandbox.world.withLock { $0.quickbooksRequests[requestKey] = answer.serialized } }
                    return response
                }
            }
        }
    }

    /// `POST …/<entity>?operation=delete` with `Id` and `SyncToken`: a transaction is deleted (CDC
    /// reports it as deleted from then on); a name-list entity cannot be.
    static func remove(_ entity: String, _ input: [String: JSONValue], realm: String, sandbox: Sandbox) -> Response {
        guard deletable.contains(entity) else {
            return fault(.badRequest, code: "6000", message: "A business validation error has occurred",
                         detail: "\(entity) cannot be deleted; make it inactive with \"Active\": false instead")
        }
        guard let id = input["Id"]?.stringValue else { return fault(.badRequest, code: "2020", message: "Required param missing", detail: "Id is required") }
        let outcome = sandbox.world.withLock { world -> Response? in
            guard let current = world.quickbooks[entity]?.find(id) else { return nil }
            guard input["SyncToken"]?.stringValue == current.fields["SyncToken"]?.stringValue else {
                return fault(.badRequest, code: "5010", message: "Stale Object Error", detail: "Stale Object Error : the object was changed; read it again")
            }
            _ = world.quickbooks[entity]?.remove(id)
            world.quickbooksDeleted[entity, default: [:]][id] = world.nowMs()
            return json([entity: ["Id": .string(id), "status": "Deleted", "domain": "QBO"], "time": .string(Timestamp.format(Date()))])
        }
        guard let outcome else {
            return fault(.badRequest, code: "610", message: "Object Not Found", detail: "Object Not Found : Something you're trying to use has been made inactive.")
        }
        if outcome.status == .ok { sandbox.webhooks.quickbooks(entity: entity, operation: "deleted", id: id, realm: realm) }
        return outcome
    }

    enum WriteOutcome {
        case written(Record, created: Bool)
        case refused(Response)
    }

    /// Create (no `Id`), or sparse update (`Id`, `SyncToken`, `"sparse": true`): a stale
    /// `SyncToken` is QuickBooks' 5010 Stale Object Error.
    /// Answers the response, and the answer of a write that was made (nil for a refusal).
    static func write(_ entity: String, _ input: [String: JSONValue], realm: String, sandbox: Sandbox) -> (Response, JSONValue?) {
        if entity == "Customer", input["Id"] == nil, input["DisplayName"] == nil && input["GivenName"] == nil {
            return (fault(.badRequest, code: "6000", message: "A business validation error has occurred", detail: "DisplayName or GivenName is required"), nil)
        }
        let outcome = sandbox.world.withLock { world -> WriteOutcome in
            let now = world.nowMs()
            var collection = world.quickbooks[entity] ?? RecordCollection()
            defer { world.quickbooks[entity] = collection }
            guard let id = input["Id"]?.stringValue else {
                let id = String(collection.count + 1 + Int(world.random.next() % 1000) * 100_000)
                var fields = input
                fields["Id"] = .string(id)
                fields["SyncToken"] = "0"
                if entity == "Customer", fields["DisplayName"] == nil {
                    fields["DisplayName"] = .string([input["GivenName"]?.stringValue, input["FamilyName"]?.stringValue].compactMap { $0 }.joined(separator: " "))
                }
                return .written(collection.insert(id: id, created: now / 1000, updatedMs: now, fields: fields), created: true)
            }
            guard let current = collection.find(id) else {
                return .refused(fault(.badRequest, code: "610", message: "Object Not Found", detail: "Object Not Found : Something you're trying to use has been made inactive. Check the fields with accounts, customers, items, vendors or employees."))
            }
            guard let token = input["SyncToken"]?.stringValue, token == current.fields["SyncToken"]?.stringValue else {
                return .refused(fault(.badRequest, code: "5010", message: "Stale Object Error",
                                      detail: "Stale Object Error : You and \(current.fields["DisplayName"]?.stringValue ?? "someone") were working on this at the same time. \(current.fields["DisplayName"]?.stringValue ?? "They") finished before you did, so your work was not saved."))
            }
            let sparse = input["sparse"]?.boolValue == true
            let updated = collection.update(id) { record in
                if !sparse { record.fields = ["Id": .string(id)] }
                for (key, value) in input where !["Id", "SyncToken", "sparse", "MetaData"].contains(key) { record.fields[key] = value }
                record.fields["SyncToken"] = .string(String((Int(token) ?? 0) + 1))
                record.updatedMs = now
            }!
            return .written(updated, created: false)
        }
        switch outcome {
        case .refused(let response): return (response, nil)
        case .written(let record, let created):
            sandbox.webhooks.quickbooks(entity: entity, operation: created ? "created" : "updated", id: record.id, realm: realm)
            let answer: JSONValue = [entity: render(record), "time": .string(Timestamp.format(Date()))]
            return (json(answer), answer)
        }
    }
}
