import Foundation
import JunctionCore

/// `webhook.process`: stores a verified webhook event in `webhook_events`, once per provider and
/// event id, and records the outcome. A redelivered job (after a crash, or a duplicate the
/// ingress let through) finds the row and changes nothing.
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
        let stored = try database.transaction { connection in
            let inserted = try connection.query("""
                INSERT INTO webhook_events (provider, event_id, event_type, tenant, connection_id, content_type, body, headers, received_at)
                VALUES (\(provider), \(eventID), \(payload["event_type"]?.stringValue), \(payload["tenant"]?.stringValue ?? job.envelope.tenant),
                        \(connectionID), \(payload["content_type"]?.stringValue), \(body), \(headers)::jsonb, \(receivedAt))
                ON CONFLICT (provider, event_id) DO NOTHING
                """).affectedRows
            try connection.query("""
                UPDATE webhook_events SET processed_at = now(), outcome = \(inserted == 1 ? "stored" : "duplicate")
                WHERE provider = \(provider) AND event_id = \(eventID) AND processed_at IS NULL
                """)
            return inserted == 1
        }
        job.logger.debug("webhook event stored", metadata: [
            "provider": .string(provider), "event_id": .string(eventID), "new": .stringConvertible(stored),
        ])
    }
}
