import Foundation
import JunctionCore
import JunctionProviders
import JunctionQueue
import JunctionStores

/// `push.outbound`: delivers one push of the outbox to its provider, under the push's lock.
///
/// Every attempt of a push sends the same idempotency key (the push's id), so a retry after an
/// answer was lost (the provider wrote, then the connection broke, or this worker was killed
/// before it recorded the answer) is answered by the provider with the first write, not a second
/// one. A 2xx ends the push `delivered` with the provider's id and object, and writes that object
/// into the records, so the webhook the provider then sends about its own write finds it
/// unchanged. A 4xx other than 401/429 ends it `failed`; a 5xx or no answer is retried, and the
/// last attempt ends it `failed` (and the job goes to the dead letters with its history).
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
        guard let target = PushCatalog.target(provider: push.provider, resource: push.resource), let provider = Providers.named(push.provider) else {
            try store.failed(id, attempt: job.envelope.attempt, error: "\(push.provider) takes no pushes of \(push.resource)", final: true, on: database)
            throw JobFailure.permanent("\(push.provider) takes no pushes of \(push.resource)")
        }
        let lastAttempt = job.envelope.attempt >= job.envelope.maxAttempts
        let access = ConnectionAccess(services, job: job)
        let body = target.body(push.fields)
        let path = target.path(push.operation, id: push.externalID)
        let response: OutboundResponse
        do {
            response = try access.send(push.connection, provider: provider.id) { connection, credential in
                guard let client = job.providers else { throw JobFailure.permanent("this worker has no provider client") }
                var headers: [(name: String, value: String)] = [
                    ("Authorization", provider.api.authorization(credential.tokens.access, isAPIKey: connection.auth == .apiKey)),
                    ("Content-Type", body.contentType),
                ]
                if let header = target.idempotencyHeader { headers.append((header, "junction-push-\(text)")) }
                return OutboundRequest(method: "POST", url: client.url(provider: provider, account: connection.externalAccountID,
                                                                       apiKey: connection.auth == .apiKey ? credential.tokens.access : nil, path: path),
                                       headers: headers, body: body.bytes)
            }
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
        let answer = response.text
        guard (200..<300).contains(response.status) else {
            let permanent = (400..<500).contains(response.status) && response.status != 429 && response.status != 409
            let reason = "\(push.provider) answered \(response.status): \(answer.prefix(500))"
            try store.failed(id, attempt: job.envelope.attempt, error: reason, final: permanent || lastAttempt, on: database)
            throw permanent ? JobFailure.permanent(reason) : JobFailure.retryable(reason)
        }
        guard let object = try? JSONValue(parsing: answer), let externalID = object["id"]?.stringValue else {
            try store.failed(id, attempt: job.envelope.attempt, error: "\(push.provider)'s answer names no object: \(answer.prefix(200))", final: lastAttempt, on: database)
            throw JobFailure.retryable("\(push.provider)'s answer to the push names no object")
        }
        try database.transaction { connection in
            guard try store.delivered(id, externalID: externalID, result: object, on: connection) else { return }
            // The provider's object as it stands after our write: the echo webhook finds it
            // unchanged (an event's version is its second, below this millisecond).
            let version = Int64(Date().timeIntervalSince1970 * 1000)
            _ = try RecordStore().write([RecordWrite(externalID: externalID, data: object, version: version)], connection: push.connection,
                                        tenant: push.tenant, provider: push.provider, resource: push.resource, on: connection)
        }
        job.logger.info("push delivered", metadata: [
            "push": .string(text), "provider": .string(push.provider), "resource": .string(push.resource),
            "operation": .string(push.operation), "external_id": .string(externalID), "attempt": .stringConvertible(job.envelope.attempt),
        ])
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
