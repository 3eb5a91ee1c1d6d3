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
    /// How often a connection's resources are synced (its schedules, made when it becomes active).
    public let sync: SyncSettings
    /// Names this process in refresh markers and audit rows.
    public let worker: String

    public init(keys: KeyRing, oauth: OAuthClients, settings: ConnectionSettings, sync: SyncSettings, coordination: Coordination, worker: String) {
        vault = CredentialVault(keys: keys)
        store = ConnectionStore()
        self.oauth = oauth
        self.settings = settings
        self.sync = sync
        locks = DistributedLocks(coordination)
        self.worker = worker
    }

    /// Creates (or re-enables) the sync schedules of a connection that just became active.
    func scheduleSyncs(_ connection: Connection, on database: PostgresConnection) throws {
        guard let provider = Providers.named(connection.provider), !provider.sync.isEmpty else { return }
        try SyncSchedules().ensure(connection, resources: provider.sync.map(\.name), interval: sync.interval(for: connection),
                                   reconcile: sync.reconcileInterval, on: database)
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

/// A job about one connection (`connection` in the envelope or the payload): the row is read
/// before ``run(_:connection:database:)``, and a connection deleted meanwhile ends the job with
/// nothing to do.
public protocol ConnectionJob: JobHandler {
    var services: ConnectionServices { get }
    func run(_ job: JobContext, connection: Connection, database: PostgresConnection) throws
}

extension ConnectionJob {
    public func run(_ job: JobContext) throws {
        let id = try job.connectionID()
        let database = try job.database()
        guard let connection = try services.store.find(id, on: database) else {
            job.logger.info("the connection no longer exists; nothing to do", metadata: ["connection": .string(id.uuidString.lowercased())])
            return
        }
        try run(job, connection: connection, database: database)
    }
}
