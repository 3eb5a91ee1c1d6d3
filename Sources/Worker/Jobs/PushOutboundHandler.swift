import Foundation
import JunctionCore
import JunctionProviders
import JunctionQueue
import JunctionStores
import Logging

/// `push.outbound`: delivers one push of the outbox to its provider, under the push's lock.
///
/// A retry never writes twice. Every attempt of a push carries the same idempotency key (the
/// push's id) where the provider takes one (Stripe's `Idempotency-Key` header, Square's
/// `idempotency_key` field, QuickBooks's `requestid`), so a retry after an answer was lost (the
/// provider wrote, then the connection broke, or this worker was killed before it recorded the
/// answer) is answered with the first write, not a second one; Mailchimp's upsert by subscriber
/// hash needs none.
///
/// An update carries the version it was made against where the provider checks one (Square's
/// `version`, QuickBooks's `SyncToken`): the one the push names, else the one of the stored
/// record, else (QuickBooks, which requires it) the one read just before. When the provider says
/// the object moved past it, the object is read again:
/// - it already holds every pushed field: the write was applied by an earlier attempt whose answer
///   was lost; delivered, nothing written;
/// - otherwise a conflict, decided by the connection's policy: the platform's change is applied
///   again on the version just read (once; a second conflict is retried later), or the provider's
///   object stands and the push ends `superseded`. Either way the conflict is kept on the push
///   with both versions.
///
/// A batch (Mailchimp's batch subscribe, up to 500 members a call, an upsert) is one call; the
/// push keeps what the provider said of each member, and the members written become records.
///
/// A 2xx ends the push `delivered` with the provider's id and object, and writes that object into
/// the records, so the webhook the provider then sends about its own write finds it unchanged. A
/// 4xx other than 401/409/429 ends it `failed`; a 5xx or no answer is retried, and the last
/// attempt ends it `failed` (and the job goes to the dead letters with its history).
///
/// Payload: `{"push": "<id>"}`.
public struct PushOutboundHandler: JobHandler {
    public let type = PushStore.jobType
    let services: ConnectionServices

    public init(_ services: ConnectionServices) {
        self.services = services
    }

    public func lockName(for job: JobEnvelope) -> String? {
        job.payload["push"]?.stringValue.map { "push:\($0)" }
    }

    public func run(_ job: JobContext) throws {
        guard let text = job.payload["push"]?.stringValue, let id = UUID(uuidString: text) else {
            throw JobFailure.permanent("push.outbound needs a push id")
        }
        let database = try job.database()
        let store = PushStore()
        guard let push = try store.find(id, on: database) else { throw JobFailure.permanent("push \(text) does not exist") }
        guard push.status == .pending else {
            job.logger.info("push already ended", metadata: ["push": .string(text), "status": .string(push.status.rawValue)])
            return
        }
        guard let target = PushCatalog.target(provider: push.provider, resource: push.resource), let provider = Providers.named(push.provider),
              case .object(let fields) = push.fields else {
            try store.failed(id, attempt: job.envelope.attempt, error: "\(push.provider) takes no pushes of \(push.resource)", final: true, on: database)
            throw JobFailure.permanent("\(push.provider) takes no pushes of \(push.resource)")
        }
        let lastAttempt = job.envelope.attempt >= job.envelope.maxAttempts
        let delivery = Delivery(push: push, target: target, provider: provider, fields: fields, job: job, access: ConnectionAccess(services, job: job))
        let outcome: Delivery.Outcome
        do {
            outcome = try delivery.run(database: database)
        } catch let refused as BatchRefused {
            // The push keeps each refusal (the tenant's own data); the job's failure, which the
            // worker logs, only counts them.
            try store.failed(id, attempt: job.envelope.attempt, error: refused.detail, final: true, on: database)
            throw JobFailure.permanent(refused.summary)
        } catch let backoff as ProviderBackoff {
            // An open breaker, the rate limit, a 429: nothing was sent; run again later without
            // spending an attempt.
            throw backoff
        } catch is JobCancelled {
            throw JobCancelled()
        } catch let failure as JobFailure {
            if case .reschedule = failure { throw failure }
            try store.failed(id, attempt: job.envelope.attempt, error: "\(failure)", final: lastAttempt || failure.isFinal, on: database)
            throw failure
        } catch {
            // No answer: the write may or may not have happened; the retry's key settles it.
            try store.failed(id, attempt: job.envelope.attempt, error: "\(push.provider) did not answer: \(error)", final: lastAttempt, on: database)
            throw JobFailure.retryable("\(push.provider) did not answer the push: \(error)")
        }
        // The objects the provider now holds: the one written (or that won), or a batch's.
        let externalID: String?
        let written: [(id: String, object: JSONValue)]
        if let batch = outcome.written {
            written = batch.compactMap { object in target.externalID(of: object).map { ($0, object) } }
            externalID = nil
        } else if let id = target.externalID(of: outcome.object) {
            written = [(id, outcome.object)]
            externalID = id
        } else {
            let reason = "\(push.provider)'s answer names no object: \(outcome.object.serialized.prefix(200))"
            try store.failed(id, attempt: job.envelope.attempt, error: reason, final: lastAttempt, on: database)
            throw JobFailure.retryable(reason)
        }
        try database.transaction { connection in
            let ended = outcome.superseded
                ? try store.superseded(id, externalID: externalID, result: outcome.object, conflict: outcome.conflict ?? .null, on: connection)
                : try store.delivered(id, externalID: externalID, result: outcome.object, conflict: outcome.conflict, on: connection)
            guard ended, !written.isEmpty else { return }
            // The provider's objects as they stand after our write (or as they won): the echo
            // webhook finds them unchanged. Their own version where they have one; else this
            // millisecond (an event's version is its second, below it).
            let now = Int64(Date().timeIntervalSince1970 * 1000)
            let writes = written.map { RecordWrite(externalID: $0.id, data: $0.object, version: target.synced?.version == nil ? now : target.synced?.version(of: $0.object)) }
            _ = try RecordStore().write(writes, connection: push.connection, tenant: push.tenant, provider: push.provider, resource: push.resource, on: connection)
            // The conflict shows on the record in the feed too.
            if case .object(var conflict)? = outcome.conflict, let externalID {
                conflict["push"] = .string(text)
                try RecordStore().recordConflict(.object(conflict), externalID: externalID, connection: push.connection, resource: push.resource, on: connection)
            }
        }
        var metadata: Logger.Metadata = [
            "push": .string(text), "provider": .string(push.provider), "resource": .string(push.resource),
            "operation": .string(push.operation), "attempt": .stringConvertible(job.envelope.attempt),
        ]
        if let externalID { metadata["external_id"] = .string(externalID) }
        if outcome.written != nil { metadata["written"] = .stringConvertible(written.count) }
        if let winner = outcome.conflict?["winner"]?.stringValue { metadata["conflict_winner"] = .string(winner) }
        job.logger.info(outcome.superseded ? "push superseded by the provider's newer object" : "push delivered", metadata: metadata)
    }
}

/// A batch of which the provider refused every object: nothing was written.
struct BatchRefused: Error {
    let provider: String
    let resource: String
    let refused: [JSONValue]

    /// For logs and the dead letters: how many, and the provider's error codes.
    var summary: String {
        let codes = Set(refused.compactMap { $0["error_code"]?.stringValue ?? $0["code"]?.stringValue }).sorted()
        return "\(provider) refused every one of the \(refused.count) \(resource) of the batch" + (codes.isEmpty ? "" : " (\(codes.joined(separator: ", ")))")
    }

    /// For the push's history: each refusal as the provider gave it.
    var detail: String { "\(summary): \(JSONValue.array(refused).serialized.prefix(4000))" }
}

/// One attempt at one push: the calls, and what their answers decide.
struct Delivery {
    let push: Push
    let target: PushTarget
    let provider: Provider
    let fields: [String: JSONValue]
    let job: JobContext
    let access: ConnectionAccess

    struct Outcome {
        /// The provider's object: as written, or as it stands when it won a conflict; for a
        /// batch, what the provider answered of each object.
        var object: JSONValue
        var conflict: JSONValue?
        var superseded = false
        /// A batch's objects as written.
        var written: [JSONValue]?
    }

    /// The key every attempt of this push repeats.
    var key: String { "junction-push-\(push.id.uuidString.lowercased())" }

    func run(database: PostgresConnection) throws -> Outcome {
        if push.operation == "batch" { return try runBatch() }
        guard push.operation == "update", let externalID = push.externalID else {
            var extra: [String: JSONValue] = [:]
            if case .bodyField(let name) = target.idempotency { extra[name] = .string(key) }
            let response = try send(target.create, id: nil, body: target.body(fields, extra: extra), key: key)
            return Outcome(object: try object(in: response))
        }
        guard let concurrency = target.concurrency else {
            let response = try send(target.update, id: externalID, body: target.body(fields), key: key)
            return Outcome(object: try object(in: response))
        }
        // The version the platform's change was made against.
        var expected = fields[concurrency.field]
        if expected == nil {
            expected = try RecordStore().object(externalID, connection: push.connection, resource: push.resource, on: database)?[concurrency.field]
        }
        if expected == nil && concurrency.required { expected = try read(externalID)[concurrency.field] }
        var conflict: JSONValue?
        var round = 1
        while true {
            var extra = concurrency.updateFields
            if let expected { extra[concurrency.field] = expected }
            if let field = target.bodyID { extra[field] = .string(externalID) }
            // The re-applied change is another request: it gets a key of its own.
            let response = try send(target.update, id: externalID, body: target.body(fields, extra: extra), key: round == 1 ? key : "\(key)-\(round)")
            guard concurrency.isConflict(response.status, try? JSONValue(parsing: response.body)) else {
                return Outcome(object: try object(in: response), conflict: conflict)
            }
            // The object moved past `expected`: read it as it stands.
            let current = try read(externalID)
            var pushed = fields
            pushed[concurrency.field] = nil
            if PushTarget.holds(current, .object(pushed)) {
                job.logger.info("push found already applied", metadata: ["push": .string(push.id.uuidString.lowercased())])
                return Outcome(object: current, conflict: conflict)
            }
            guard round == 1 else {
                throw JobFailure.retryable("\(push.provider)'s \(push.resource) \(externalID) changed again while the push was applied anew")
            }
            // The connection as this attempt read it for its calls.
            let policy = try access.credentials(for: push.connection).0.conflictPolicy
            let providerWins = switch policy {
            case .providerWins: true
            case .platformWins: false
            case .lastWriteWins: Self.changedAfter(current, concurrency.updatedAt, push.createdAt)
            }
            conflict = [
                "policy": .string(policy.rawValue), "winner": providerWins ? "provider" : "platform", "detected_at": .string(Timestamp.format(Date())),
                "expected_version": expected ?? .null, "provider_version": current[concurrency.field] ?? .null,
                "platform": .object(pushed), "provider": current,
            ]
            job.logger.warning("push met a conflict", metadata: [
                "push": .string(push.id.uuidString.lowercased()), "policy": .string(policy.rawValue), "winner": .string(providerWins ? "provider" : "platform"),
            ])
            if providerWins { return Outcome(object: current, conflict: conflict, superseded: true) }
            expected = current[concurrency.field]
            round += 1
        }
    }

    /// Many objects in one call. The result keeps what the provider said of each: the ids
    /// written, the objects it refused with its reasons, and its counts. A batch of which every
    /// object was refused ends failed.
    func runBatch() throws -> Outcome {
        guard let batch = target.batch else { throw JobFailure.permanent("\(push.provider) takes no batches of \(push.resource)") }
        let response = try send(batch.call, id: nil, body: target.body(fields, extra: batch.extra), key: key)
        let text = response.text
        guard (200..<300).contains(response.status), let answer = try? JSONValue(parsing: response.body) else {
            _ = try object(in: response)  // throws the failure the status calls for
            throw JobFailure.retryable("\(push.provider)'s answer to the batch is not JSON: \(text.prefix(200))")
        }
        let (written, refused, counts) = batch.results(answer)
        if written.isEmpty && !refused.isEmpty { throw BatchRefused(provider: push.provider, resource: push.resource, refused: refused) }
        var result = counts
        result["written"] = .array(written.compactMap { target.externalID(of: $0).map(JSONValue.string) })
        result["refused"] = .array(refused)
        return Outcome(object: .object(result), written: written)
    }

    /// Whether the object's last change (`path`, RFC 3339) came after `date`.
    static func changedAfter(_ object: JSONValue, _ path: [String], _ date: Date) -> Bool {
        let stamp = path.reduce(Optional(object)) { $0?[$1] }?.stringValue.flatMap(Timestamp.parse)
        return (stamp ?? .distantPast) > date
    }

    /// Reads the object `id` as the provider has it now.
    func read(_ id: String) throws -> JSONValue {
        guard let path = target.read else { throw JobFailure.permanent("\(push.provider) \(push.resource) cannot be read back") }
        return try object(in: try send(.init("GET", path), id: id, body: nil, key: nil))
    }

    /// The object in a 2xx answer; any other answer ends the attempt as its status says.
    func object(in response: OutboundResponse) throws -> JSONValue {
        let text = response.text
        guard (200..<300).contains(response.status) else {
            let reason = "\(push.provider) answered \(response.status): \(text.prefix(500))"
            let permanent = (400..<500).contains(response.status) && ![401, 409, 429].contains(response.status)
            throw permanent ? JobFailure.permanent(reason) : JobFailure.retryable(reason)
        }
        guard let answer = try? JSONValue(parsing: response.body), let object = target.object(in: answer) else {
            throw JobFailure.retryable("\(push.provider)'s answer names no object: \(text.prefix(200))")
        }
        return object
    }

    /// Sends `call` through the connection's credentials, with the push's idempotency `key` where
    /// the provider takes it outside the body.
    func send(_ call: PushTarget.Call, id: String?, body: (contentType: String, bytes: [UInt8])?, key: String?) throws -> OutboundResponse {
        let provider = self.provider
        let (target, fields) = (self.target, self.fields)
        return try access.send(push.connection, provider: provider.id) { connection, credential in
            guard let client = job.providers else { throw JobFailure.permanent("this worker has no provider client") }
            var path = target.path(call, id: id, fields: fields, account: connection.externalAccountID)
            var headers: [(name: String, value: String)] = [
                ("Authorization", provider.api.authorization(credential.tokens.access, isAPIKey: connection.auth == .apiKey)),
            ]
            for (name, value) in target.headers { headers.append((name, value)) }
            if let body { headers.append(("Content-Type", body.contentType)) }
            if let key {
                switch target.idempotency {
                case .header(let name): headers.append((name, key))
                case .query(let name): path += (path.contains("?") ? "&" : "?") + "\(name)=\(FormEncoding.component(key))"
                case .bodyField, .byConstruction: break
                }
            }
            return OutboundRequest(method: call.method, url: client.url(provider: provider, account: connection.externalAccountID,
                                                                        apiKey: connection.auth == .apiKey ? credential.tokens.access : nil, path: path),
                                   headers: headers, body: body?.bytes ?? [])
        }
    }
}

extension JobFailure {
    /// Ends the job whatever the attempt: no retry would help.
    var isFinal: Bool {
        switch self {
        case .permanent, .unauthorized: true
        default: false
        }
    }
}
