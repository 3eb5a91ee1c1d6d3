import Foundation
import JunctionCore
import JunctionProviders
import JunctionStores

/// `oauth.exchange` (on `critical`, from the ingress's callback): trades the authorization code
/// for tokens at the provider's token endpoint, makes the call the flow needs after it
/// (Mailchimp's metadata), and stores the encrypted credentials with the account id, making the
/// connection `active`, in one transaction. A refused code makes it `error` with the provider's
/// reason (nothing stored); a provider that fails is retried, and the connection goes to `error`
/// once the attempts are spent. The ingress waits for the outcome by reading the connection.
public struct OAuthExchangeHandler: JobHandler {
    public let type = OAuthExchangeRequest.jobType
    let services: ConnectionServices

    public init(_ services: ConnectionServices) {
        self.services = services
    }

    public func run(_ job: JobContext) throws {
        let request: OAuthExchangeRequest
        do {
            request = try OAuthExchangeRequest(payload: job.payload, keys: services.vault.keys)
        } catch {
            throw JobFailure.permanent("unreadable oauth.exchange payload: \(error)")
        }
        let id = request.connection
        let database = try job.database()
        guard let connection = try services.store.find(id, on: database) else {
            throw JobFailure.permanent("connection \(id.uuidString.lowercased()) does not exist (deleted while connecting?)")
        }
        // A redelivery after the exchange committed: the code is spent, the connection is done.
        if connection.health["exchange_job"]?.stringValue == job.envelope.id { return }
        guard connection.status != .disconnected else { throw JobFailure.permanent("connection \(id.uuidString.lowercased()) was disconnected while connecting") }
        // A failed first connect leaves the connection in `error`; a failed reconnect leaves a
        // connection that still works (active) or still waits for the tenant (needs_reauth) as it
        // was. Either way `health` names this job, which the ingress's callback waits for.
        func fail(_ reason: String) throws -> Never {
            try database.transaction { database in
                if [.pending, .error].contains(connection.status) {
                    try services.store.transition(id, to: .error, reason: reason, actor: "worker:\(services.worker)", on: database)
                }
                try services.store.noteHealth(id, ["exchange_failed_job": .string(job.envelope.id), "exchange_error": .string(reason)], on: database)
            }
            throw JobFailure.permanent("oauth.exchange for \(request.provider): \(reason)")
        }
        guard let client = services.oauth.client(for: request.provider) else {
            try fail("\(request.provider) has no OAuth client configured on the workers (JUNCTION_OAUTH_\(request.provider.uppercased())_CLIENT_ID)")
        }
        guard let providers = job.providers else { throw JobFailure.permanent("this worker has no provider client") }
        let lastAttempt = job.envelope.attempt >= job.envelope.maxAttempts
        let requests = OAuthRequests(client)
        let connectionText = id.uuidString.lowercased()

        let answer: TokenAnswer
        do {
            let response = try providers.send(requests.exchange(code: request.code, redirectURI: request.redirectURI, verifier: request.verifier,
                                                                shop: request.account), provider: request.provider, connection: connectionText)
            answer = try TokenAnswer.parse(response)
        } catch let error as TokenEndpointError {
            switch error {
            case .refused(let code, let description, _):
                try fail("the provider refused the authorization code: \(code)\(description.map { " (\($0))" } ?? "")")
            case .unavailable, .malformed:
                if lastAttempt { try fail("\(error)") }
                throw JobFailure.retryable("oauth.exchange for \(request.provider): \(error)")
            }
        } catch let error as OutboundHTTPError {
            if lastAttempt { try fail("the token endpoint could not be reached: \(error)") }
            throw error
        }

        var account: String?
        var metadata: [String: JSONValue] = [:]
        switch client.flow.accountID {
        case .tokenResponse(let field)?: account = answer.fields[field]?.stringValue ?? answer.fields[field]?.intValue.map(String.init)
        case .callback?: account = request.account
        case .afterExchange(let field)?:
            guard let call = requests.afterExchange(accessToken: answer.accessToken) else { break }
            let response = try providers.send(call, provider: request.provider, connection: connectionText)
            guard (200..<300).contains(response.status), case .object(let fields)? = try? JSONValue(parsing: response.body) else {
                if response.status >= 500 && !lastAttempt { throw JobFailure.retryable("the \(request.provider) metadata call answered \(response.status)") }
                try fail("the \(request.provider) metadata call after the exchange answered \(response.status)")
            }
            account = fields[field]?.stringValue
            // Not secret: where the account's API lives and what it is called.
            for key in ["dc", "api_endpoint", "accountname", "login_url"] where fields[key] != nil { metadata[key] = fields[key] }
        case nil: break
        }
        if client.flow.accountID != nil && (account ?? "").isEmpty {
            try fail("the provider's answer named no account (\(client.flow.accountID.map { "\($0)" } ?? ""))")
        }

        let tokens = TokenPair(access: answer.accessToken, refresh: answer.refreshToken, expiresAt: answer.expiresAt)
        do {
            try database.transaction { database in
                let active = try services.store.activate(id, account: account, scopes: answer.scopes ?? client.scopes, metadata: .object(metadata),
                                                         tokens: tokens, vault: services.vault, actor: "worker:\(services.worker)", on: database)
                try services.scheduleSyncs(active, on: database)
                try services.store.noteHealth(id, ["exchange_job": .string(job.envelope.id)], on: database)
            }
        } catch let error as ConnectionError {
            try fail("\(error)")
        }
        job.logger.info("connection active", metadata: [
            "connection": .string(connectionText), "provider": .string(request.provider), "account": .string(account ?? ""),
            "expires_at": .string(answer.expiresAt.map(Timestamp.format) ?? "never"), "refresh_token": .stringConvertible(answer.refreshToken != nil),
        ])
    }
}
