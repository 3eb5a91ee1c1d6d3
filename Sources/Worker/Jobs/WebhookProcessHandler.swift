import Foundation
import JunctionCore
import JunctionQueue
import JunctionProviders
import JunctionStores

/// `webhook.process`: stores a verified webhook event in `webhook_events`, once per provider and
/// event id, and records the outcome. An event that carries a synced object (a Stripe event's
/// `data.object`) updates that object's record in the same transaction, for the endpoint's
/// connection or the connections of the account the event names (outcome `applied`); an event
/// that only names a change (a QuickBooks entity event) starts the resource's sync (`synced`); an
/// older event than the stored state changes nothing, and other events are kept (`stored`). A
/// redelivered job (after a crash, or a duplicate the ingress let through) finds the row and
/// changes nothing.
///
/// Payload, as the ingress writes it:
///
/// | field | |
/// |---|---|
/// | `provider` | required, such as `stripe` |
/// | `event_id` | required: the provider's event id, or the one the ingress synthesised |
/// | `event_type` | optional, such as `customer.updated` |
/// | `tenant`, `connection` | optional: whose event it is, for a registered endpoint with an owner |
/// | `endpoint` | optional: the endpoint id the delivery came to (a Mailchimp token shortened to four characters); not stored |
/// | `content_type` | optional: the request's `Content-Type` |
/// | `body_base64` | required: the raw body as received, base64 |
/// | `headers` | optional object of the headers the handler needs (never signatures) |
/// | `received_at` | optional ISO 8601 time the ingress accepted it; defaults to the job's enqueue time |
/// | `replay` | optional: `true` applies an event already stored again (the API's replay) |
public struct WebhookProcessHandler: JobHandler {
    public let type = "webhook.process"

    public init() {}

    public func run(_ job: JobContext) throws {
        let payload = job.payload
        guard let provider = payload["provider"]?.stringValue, !provider.isEmpty else {
            throw JobFailure.permanent("webhook.process payload has no provider")
        }
        guard let eventID = payload["event_id"]?.stringValue, !eventID.isEmpty else {
            throw JobFailure.permanent("webhook.process payload has no event_id")
        }
        guard let encoded = payload["body_base64"]?.stringValue, let body = Data(base64Encoded: encoded) else {
            throw JobFailure.permanent("webhook.process payload has no valid body_base64")
        }
        let receivedAt = payload["received_at"]?.stringValue.flatMap(Timestamp.parse) ?? job.envelope.enqueuedAt
        let headers = PostgresJSON(text: (payload["headers"] ?? .object([:])).serialized)
        let connectionID = (payload["connection"]?.stringValue ?? job.envelope.connection).flatMap(UUID.init(uuidString:))
        let database = try job.database()
        let known = Providers.named(provider) ?? Providers.webhookScheme(named: provider).flatMap { scheme in Providers.all.first { $0.webhooks.contains { $0.name == scheme.name } } }
        let tenant = payload["tenant"]?.stringValue ?? job.envelope.tenant
        // A replay (the API's `POST /v1/webhook-events/{id}/replay`) applies a stored event again:
        // safe, since an older state never replaces a newer one.
        let replay = payload["replay"]?.boolValue ?? false
        let (stored, applied) = try database.transaction { connection in
            let inserted = try connection.query("""
                INSERT INTO webhook_events (provider, event_id, event_type, tenant, connection_id, content_type, body, headers, received_at)
                VALUES (\(provider), \(eventID), \(payload["event_type"]?.stringValue), \(payload["tenant"]?.stringValue ?? job.envelope.tenant),
                        \(connectionID), \(payload["content_type"]?.stringValue), \(body), \(headers)::jsonb, \(receivedAt))
                ON CONFLICT (provider, event_id) DO NOTHING
                """).affectedRows
            // A new event about a synced object updates that object's record for the connections
            // it belongs to: the endpoint's connection, or those of the account it names.
            var applied = Applied()
            if inserted == 1 || replay, let known {
                // Only a new event is read for changes; a duplicate's were applied the first time.
                applied = try Self.apply(known.syncChanges(Array(body)), provider: known.id, connection: connectionID, tenant: tenant, on: connection) { requests in
                    // Inside the event's transaction: if the enqueue fails, the event is not stored
                    // either, and the job's retry does both.
                    try job.enqueue(requests)
                }
            }
            // `applied`: it changed records; `synced`: it started the syncs that fetch what it names.
            let outcome = inserted == 1 || replay ? (applied.records > 0 ? "applied" : applied.syncs > 0 ? "synced" : "stored") : "duplicate"
            // An event that reached Junction without an owner (a provider-wide endpoint) belongs to
            // the tenant whose connections it changed, when that is one tenant: the tenant's
            // webhook-events API shows it.
            let tenants = Set(applied.owners.values)
            let owner = tenants.count == 1 ? tenants.first : nil
            let ownerConnection = applied.owners.count == 1 ? applied.owners.keys.first : nil
            try connection.query("""
                UPDATE webhook_events SET processed_at = now(), outcome = \(outcome),
                       tenant = coalesce(tenant, \(owner)), connection_id = coalesce(connection_id, \(ownerConnection))
                WHERE provider = \(provider) AND event_id = \(eventID) AND (processed_at IS NULL OR \(replay))
                """)
            return (inserted == 1, applied.records + applied.syncs)
        }
        job.logger.debug("webhook event stored", metadata: [
            "provider": .string(provider), "event_id": .string(eventID), "new": .stringConvertible(stored), "records": .stringConvertible(applied),
        ])
    }

    /// Writes (or soft-deletes) each change's record for its connections; answers how many records
    /// it wrote, and how many syncs it asked for. A change older than the stored state changes
    /// nothing (the record store's rule). A change the event names without carrying it enqueues
    /// the resource's `sync.run` (mode `auto`: incremental where it can be), after a short delay
    /// and coalesced over it, so a burst of events is one run that begins after all of them.
    /// What an event's changes did: records written, syncs asked for, and the connections they
    /// concerned with their tenants.
    struct Applied {
        var records = 0
        var syncs = 0
        var owners: [UUID: String] = [:]
    }

    static func apply(_ changes: [SyncChange], provider: String, connection: UUID?, tenant: String?, on database: PostgresConnection,
                      enqueue: ([JobRequest]) throws -> Void = { _ in }) throws -> Applied {
        var written = 0
        var syncs: [JobRequest] = []
        // The connections a change belongs to, looked up once per account: one event may carry
        // many changes of one account (a Square inventory event, many counts).
        var found: [String?: [(id: UUID, tenant: String)]] = [:]
        func targets(_ account: String?) throws -> [(id: UUID, tenant: String)] {
            let key = connection == nil ? account : nil
            if let known = found[key] { return known }
            let rows: [(id: UUID, tenant: String)]
            if let connection {
                rows = try database.query("SELECT id, tenant FROM connections WHERE id = \(connection) AND status = 'active'").rows.map {
                    (try $0.decode("id"), try $0.decode("tenant"))
                }
            } else if let account {
                rows = try database.query("""
                    SELECT id, tenant FROM connections WHERE provider = \(provider) AND external_account_id = \(account) AND status = 'active'
                      AND (\(tenant)::text IS NULL OR tenant = \(tenant))
                    """).rows.map { (try $0.decode("id"), try $0.decode("tenant")) }
            } else {
                rows = []
            }
            found[key] = rows
            return rows
        }
        var owners: [UUID: String] = [:]
        for change in changes {
            for target in try targets(change.account) {
                owners[target.id] = target.tenant
                if change.refresh {
                    let id = target.id.uuidString.lowercased()
                    guard !syncs.contains(where: { $0.connection == id && $0.payload["resource"]?.stringValue == change.resource }) else { continue }
                    syncs.append(JobRequest(type: SyncRunHandler.jobType, payload: ["connection": .string(id), "resource": .string(change.resource), "trigger": "webhook"],
                                            priority: .normal, tenant: target.tenant, provider: provider, connection: id,
                                            dedupeKey: "sync-webhook:\(id):\(change.resource)", dedupeTTL: refreshDelay, delay: refreshDelay))
                } else if change.deleted {
                    if try RecordStore().delete(change.externalID, version: change.version, connection: target.id, resource: change.resource, on: database) { written += 1 }
                } else if let object = change.object {
                    let counts = try RecordStore().write([RecordWrite(externalID: change.externalID, data: object, version: change.version)],
                                                         connection: target.id, tenant: target.tenant, provider: provider, resource: change.resource, on: database)
                    written += counts.added + counts.updated
                }
            }
        }
        if !syncs.isEmpty { try enqueue(syncs) }
        return Applied(records: written, syncs: syncs.count, owners: owners)
    }

    /// How long a webhook-triggered sync waits, gathering the events that follow (and giving an
    /// eventually consistent search time to show the change).
    static let refreshDelay: Duration = .seconds(3)
}
