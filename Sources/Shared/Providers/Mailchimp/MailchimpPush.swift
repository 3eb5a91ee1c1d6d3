import Foundation
import Crypto
import JunctionCore

/// Mailchimp takes list members (#18), by `PUT /3.0/lists/{list_id}/members/{subscriber_hash}`
/// (the MD5 of the lowercased email): an upsert, so writing the same member twice leaves one
/// member, and a retry needs no key. A create names its list (`list_id`, which goes into the path)
/// and needs `email_address` and `status_if_new`; an update names the member by its record id
/// (`<list>:<hash>`) and sends only what changes (`PATCH`). A batch (`"operation": "batch"`,
/// `{"list_id", "members": [...]}`) is Mailchimp's batch subscribe, `POST /3.0/lists/{list_id}`
/// with `update_existing: true`: up to 500 members a call, each with `email_address` and
/// `status`, an upsert too, answered with the members created and updated and each one refused.
extension PushCatalog {
    static let mailchimp: [PushTarget] = [
        PushTarget(provider: "mailchimp", resource: "members", create: .init("PUT", "/3.0/lists/{list_id}/members/{subscriber_hash}"),
                   update: .init("PATCH", "/3.0/lists/{list_id}/members/{id}"), read: "/3.0/lists/{list_id}/members/{id}", encoding: .json,
                   idempotency: .byConstruction, requiredOnCreate: ["list_id", "email_address", "status_if_new"], pathFields: ["list_id"],
                   derived: ["subscriber_hash": { fields in
                       fields["email_address"]?.stringValue.map { email in
                           Insecure.MD5.hash(data: Array(email.lowercased().utf8)).map { String(format: "%02x", $0) }.joined()
                       }
                   }],
                   synced: SyncResource.mailchimp.first { $0.name == "members" },
                   batch: .init(call: .init("POST", "/3.0/lists/{list_id}"), itemsField: "members", limit: 500, requiredPerItem: ["email_address", "status"],
                                extra: ["update_existing": true], results: { answer in
                                    let written = (answer["new_members"]?.arrayValue ?? []) + (answer["updated_members"]?.arrayValue ?? [])
                                    let counts = ["total_created", "total_updated", "error_count"].reduce(into: [String: JSONValue]()) { $0[$1] = answer[$1] ?? 0 }
                                    return (written, answer["errors"]?.arrayValue ?? [], counts)
                                })),
    ]
}
