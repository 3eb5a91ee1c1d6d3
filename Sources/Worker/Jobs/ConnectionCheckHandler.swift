import Foundation
import JunctionCore
import JunctionProviders
import JunctionStores

/// `connection.check`: one cheap authenticated call (the provider's ``ProviderAPI/check``) with the
/// connection's credentials. For an API-key connection that is still `pending`, this is the check
/// before it becomes `active` (a refused key makes it `error`); for an active one it is the
/// periodic health check of tokens that never expire (a 401 makes it `needs_reauth`). The result
/// goes into `health.last_check`.
public struct ConnectionCheckHandler: ConnectionJob {
    public static let jobType = "connection.check"
    public let type = Self.jobType
    public let services: ConnectionServices

    public init(_ services: ConnectionServices) {
        self.services = services
    }

    public func run(_ job: JobContext, connection: Connection, database: PostgresConnection) throws {
        let id = connection.id
        guard let provider = Providers.named(connection.provider) else { throw JobFailure.permanent("unknown provider \(connection.provider)") }
        guard let check = provider.api.check, let path = check.path(account: connection.externalAccountID) else {
            throw JobFailure.permanent("\(provider.displayName) has no check call Junction knows, or the connection has no account id")
        }
        guard let client = job.providers else { throw JobFailure.permanent("this worker has no provider client") }
        func request(_ credential: Credential) -> OutboundRequest {
            OutboundRequest(url: client.url(provider: provider, account: connection.externalAccountID,
                                            apiKey: connection.auth == .apiKey ? credential.tokens.access : nil, path: path),
                            headers: [("Authorization", provider.api.authorization(credential.tokens.access, isAPIKey: connection.auth == .apiKey))]
                                + check.headers.map { (name: $0.0, value: $0.1) })
        }
        let response: OutboundResponse
        if connection.status == .pending && connection.auth == .apiKey {
            // A new key: one call decides.
            guard let credential = try services.vault.read(id, on: database) else { throw JobFailure.permanent("connection \(id.uuidString.lowercased()) has no API key stored") }
            // The last attempt decides: a key that could not be checked is not left pending.
            let lastAttempt = job.envelope.attempt >= job.envelope.maxAttempts
            func undecided(_ reason: String) throws -> Never {
                if lastAttempt {
                    try services.store.transition(id, to: .error, reason: "the API key could not be checked: \(reason)", actor: "worker:\(services.worker)",
                                                  from: [.pending], on: database)
                }
                throw JobFailure.retryable("\(provider.id) key check: \(reason)")
            }
            do {
                response = try client.send(request(credential), provider: provider.id, connection: id.uuidString.lowercased())
            } catch let error as OutboundHTTPError {
                try undecided("\(error)")
            }
            if response.status == 401 || response.status == 403 {
                try services.store.transition(id, to: .error, reason: "\(provider.displayName) refused the API key (\(response.status))", actor: "worker:\(services.worker)", on: database)
                return
            }
            guard (200..<300).contains(response.status) else { try undecided("\(provider.id) answered \(response.status)") }
            try database.transaction { database in
                let active = try services.store.transition(id, to: .active, reason: "API key checked", actor: "worker:\(services.worker)", from: [.pending], on: database)
                try services.scheduleSyncs(active, on: database)
            }
        } else {
            response = try ConnectionAccess(services, job: job).send(id, provider: provider.id) { _, credential in request(credential) }
            guard response.status < 500 else { throw JobFailure.retryable("\(provider.id) answered \(response.status) to the check") }
        }
        try services.store.noteHealth(id, ["last_check": ["at": .string(Timestamp.format(Date())), "status": .integer(Int64(response.status))]], on: database)
        job.logger.info("connection checked", metadata: ["connection": .string(id.uuidString.lowercased()), "status": .stringConvertible(response.status)])
    }
}
