import Foundation
import JunctionCore
import JunctionProviders
import JunctionStores

/// `connection.revoke` (from `junction connections revoke|delete`, and the API's delete): revokes
/// the connection's tokens at the provider where it has a revoke endpoint, erases its credentials,
/// disables its schedules and makes it `disconnected`; with `"delete": true` it then removes the
/// connection (its audit trail stays). A provider that fails is retried; one that says the token
/// is already invalid (4xx) counts as revoked.
public struct ConnectionRevokeHandler: ConnectionJob {
    public static let jobType = "connection.revoke"
    public let type = Self.jobType
    public let services: ConnectionServices

    public init(_ services: ConnectionServices) {
        self.services = services
    }

    public func run(_ job: JobContext, connection: Connection, database: PostgresConnection) throws {
        let id = connection.id
        let delete = job.payload["delete"]?.boolValue ?? false
        let actor = job.payload["actor"]?.stringValue ?? "worker:\(services.worker)"
        var revoked = "nothing to revoke"
        if connection.auth == .oauth2, let credential = try services.vault.read(id, on: database) {
            if let client = services.oauth.client(for: connection.provider),
               let request = OAuthRequests(client).revoke(TokenSecrets(access: credential.tokens.access, refresh: credential.tokens.refresh),
                                                          account: connection.externalAccountID) {
                guard let providers = job.providers else { throw JobFailure.permanent("this worker has no provider client") }
                let response = try providers.send(request, provider: connection.provider, connection: id.uuidString.lowercased())
                guard response.status < 500 else { throw JobFailure.retryable("\(connection.provider)'s revoke endpoint answered \(response.status)") }
                revoked = (200..<300).contains(response.status) ? "revoked at the provider" : "the provider answered \(response.status) (already invalid)"
            } else {
                revoked = "\(connection.provider) has no revoke endpoint (uninstall the app there)"
            }
        }
        try database.transaction { database in
            try services.vault.erase(id, on: database)
            try database.query("UPDATE schedules SET enabled = false, updated_at = now() WHERE connection_id = \(id)")
            if delete {
                try services.store.delete(id, reason: "\(revoked); credentials erased", actor: actor, on: database)
            } else {
                try services.store.transition(id, to: .disconnected, reason: "\(revoked); credentials erased", actor: actor, on: database)
            }
        }
        job.logger.info(delete ? "connection deleted" : "connection disconnected", metadata: [
            "connection": .string(id.uuidString.lowercased()), "provider": .string(connection.provider), "revocation": .string(revoked),
        ])
    }
}
