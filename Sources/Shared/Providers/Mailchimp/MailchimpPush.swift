import Foundation
import Crypto
import JunctionCore

/// Mailchimp takes list members (#18), by `PUT /3.0/lists/{list_id}/members/{subscriber_hash}`
/// (the MD5 of the lowercased email): an upsert, so writing the same member twice leaves one
/// member, and a retry needs no key. A create names its list (`list_id`, which goes into the path)
/// and needs `email_address` and `status_if_new`; an update names the member by its record id
/// (`<list>:<hash>`) and sends only what changes (`PATCH`).
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
                   synced: SyncResource.mailchimp.first { $0.name == "members" }),
    ]
}
