import Foundation
import JunctionCore
import JunctionStores

/// `token.refresh` (on `high`, from the scheduler or `junction connections refresh`): refreshes
/// the connection's access token if it expires within `JUNCTION_TOKEN_REFRESH_MARGIN`, or always
/// with `"force": true`, the way every refresh runs (``ConnectionAccess``). A connection that is
/// no longer active, or was refreshed by someone else meanwhile, needs nothing.
public struct TokenRefreshHandler: ConnectionJob {
    public static let jobType = "token.refresh"
    public let type = Self.jobType
    public let services: ConnectionServices

    public init(_ services: ConnectionServices) {
        self.services = services
    }

    public func run(_ job: JobContext, connection: Connection, database: PostgresConnection) throws {
        let id = connection.id
        guard connection.status == .active else {
            job.logger.info("not refreshing: the connection is \(connection.status.rawValue)", metadata: ["connection": .string(id.uuidString.lowercased())])
            return
        }
        guard let credential = try services.vault.read(id, on: database), credential.tokens.refresh != nil else {
            job.logger.info("not refreshing: the connection has no refresh token", metadata: ["connection": .string(id.uuidString.lowercased())])
            return
        }
        let force = job.payload["force"]?.boolValue ?? false
        try ConnectionAccess(services, job: job).refresh(connection, seen: force ? credential.version : nil,
                                                         margin: force ? nil : services.settings.refreshMargin)
    }
}
