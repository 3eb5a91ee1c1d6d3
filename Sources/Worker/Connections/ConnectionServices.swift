import Foundation
import JunctionCoordination
import JunctionCore
import JunctionProviders
import JunctionStores

/// What the connection handlers share: the vault, the store, the OAuth clients, the settings and
/// the fleet's locks. One per worker process.
public struct ConnectionServices: Sendable {
    public let vault: CredentialVault
    public let store: ConnectionStore
    public let oauth: OAuthClients
    public let settings: ConnectionSettings
    public let locks: DistributedLocks
    /// Names this process in refresh markers and audit rows.
    public let worker: String

    public init(keys: KeyRing, oauth: OAuthClients, settings: ConnectionSettings, coordination: Coordination, worker: String) {
        vault = CredentialVault(keys: keys)
        store = ConnectionStore()
        self.oauth = oauth
        self.settings = settings
        locks = DistributedLocks(coordination)
        self.worker = worker
    }

    /// The lock every refresh of `connection` takes, fleet-wide.
    public static func lockName(_ connection: UUID) -> String { "connection:\(connection.uuidString.lowercased())" }
}

extension OutboundHTTPError {
    /// True when the request cannot have reached the server (nothing accepted the connection),
    /// so a refresh token in it was not presented.
    var neverSent: Bool {
        switch self {
        case .connectionRefused, .dns, .invalidURL, .tls: true
        case .timeout, .connectionLost, .responseTooLarge, .transport: false
        }
    }
}

extension JobContext {
    /// The job's connection id (the envelope's, or the payload's `connection`), checked.
    func connectionID() throws -> UUID {
        guard let text = envelope.connection ?? payload["connection"]?.stringValue, let id = UUID(uuidString: text) else {
            throw JobFailure.permanent("\(envelope.type) needs a connection id")
        }
        return id
    }
}
