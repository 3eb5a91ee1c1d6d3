import Foundation
import JunctionCore
import JunctionQueue
import JunctionStores

/// `push.request`: records a push for an internal caller that reaches Junction through Redis
/// rather than the API, then enqueues its delivery (`push.outbound`). The request is checked as
/// the API checks it (``PushRequest``); one that is wrong is a permanent failure naming each
/// problem, so it lands in the dead letters with the reason. The idempotency key makes a repeat
/// (this job run again, or enqueued twice) the same push. A caller that shares Junction's database
/// records with ``PushStore/record(tenant:connection:provider:resource:operation:externalID:fields:idempotencyKey:on:)``
/// inside its own transaction instead.
///
/// Payload: `{"connection": "<id>", "resource": "customers", "idempotency_key": "…",
/// "push": {"operation": "create", "fields": {…}}}` (`push` as the API's body: `operation`, `id`,
/// `fields`, `mapped`).
public struct PushRequestHandler: JobHandler {
    public let type = PushStore.requestJobType

    public init() {}

    public func lockName(for job: JobEnvelope) -> String? { nil }

    public func run(_ job: JobContext) throws {
        guard let text = job.payload["connection"]?.stringValue, let id = UUID(uuidString: text), let resource = job.payload["resource"]?.stringValue,
              let key = job.payload["idempotency_key"]?.stringValue, !key.isEmpty, case .object(let body)? = job.payload["push"] else {
            throw JobFailure.permanent("push.request needs connection (an id), resource, idempotency_key and push (an object)")
        }
        let database = try job.database()
        guard let connection = try ConnectionStore().find(id, on: database), job.envelope.tenant == nil || job.envelope.tenant == connection.tenant else {
            throw JobFailure.permanent("connection \(text) does not exist\(job.envelope.tenant.map { " for tenant \($0)" } ?? "")")
        }
        guard connection.status == .active else {
            throw JobFailure.permanent("connection \(text) is \(connection.status.rawValue); only an active connection takes pushes")
        }
        let request: PushRequest
        do {
            request = try PushRequest.parse(body, provider: connection.provider, resource: resource) {
                try MappingStore().current(tenant: connection.tenant, provider: connection.provider, resource: resource, on: database)
            }
        } catch let refused as PushRequest.Problems {
            throw JobFailure.permanent("the push is not valid: " + refused.problems.map { "\($0.field): \($0.detail)" }.joined(separator: "; "))
        }
        let recorded: (push: Push, created: Bool)
        do {
            recorded = try PushStore().record(tenant: connection.tenant, connection: id, provider: connection.provider, resource: request.target.resource,
                                              operation: request.operation, externalID: request.externalID, fields: .object(request.fields),
                                              idempotencyKey: key, on: database)
        } catch is PushStore.KeyReused {
            throw JobFailure.permanent("connection \(text) has a push with idempotency key \(key) that asked for something else")
        }
        if recorded.push.status == .pending { try job.enqueue([PushStore.job(for: recorded.push)]) }
        job.logger.info(recorded.created ? "push recorded" : "push already recorded", metadata: [
            "push": .string(recorded.push.id.uuidString.lowercased()), "provider": .string(connection.provider), "resource": .string(resource),
            "operation": .string(request.operation), "status": .string(recorded.push.status.rawValue),
        ])
    }
}
