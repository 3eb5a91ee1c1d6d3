import Foundation
import JunctionCoordination
import JunctionCore
import JunctionProviders
import JunctionStores
import Logging

/// A connection's credentials for one job, kept valid: the only way a handler gets a token.
///
/// A token that expires within a minute is refreshed first; a provider's 401 gets one refresh
/// and one retry (``send(_:connection:_:)``). A refresh, whoever asks for it (this, or the
/// scheduler's `token.refresh`), runs the same way, so any number of workers can need the same
/// connection at once:
///
/// 1. take the connection's lock (`connection:<id>`), waiting up to `JUNCTION_TOKEN_REFRESH_WAIT`
///    for a refresh another worker holds, and get its fencing token;
/// 2. re-read the credential: if another worker stored a new pair meanwhile, use it and call nothing;
/// 3. leave a marker (`credential_refreshes`) before presenting the refresh token, so a refresher
///    that dies before it stores the answer is found by the next one;
/// 4. call the token endpoint once;
/// 5. store the pair by compare-and-set on the version read in 2, under the fence, removing the
///    marker in the same transaction, before anything uses the new access token.
///
/// `invalid_grant` is re-read first (a concurrent winner), and otherwise makes the connection
/// `needs_reauth` with the provider's reason. Network errors and 5xx are retried with back-off;
/// after `JUNCTION_TOKEN_REFRESH_GIVE_UP` of failures in a row the connection needs the tenant too.
public final class ConnectionAccess {
    let services: ConnectionServices
    let job: JobContext
    /// A token closer than this to expiry is refreshed before use.
    static let minimumValidity = Duration.seconds(60)
    /// How long a connection and its credential, once read, serve the calls that follow (a sync
    /// asks for one page after another) before they are read again: a connection revoked or
    /// re-authorised meanwhile is noticed within this long.
    static let reuse = Duration.seconds(10)
    private var recent: (connection: Connection, credential: Credential, readAt: ContinuousClock.Instant)?

    public init(_ services: ConnectionServices, job: JobContext) {
        self.services = services
        self.job = job
    }

    var logger: Logger { job.logger }

    /// The connection and a credential valid for at least a minute. A connection that is not
    /// active, or has no credentials, ends the job: permanently, or as ``JobFailure/unauthorized(_:)``
    /// when only the tenant can fix it.
    public func credentials(for id: UUID) throws -> (Connection, Credential) {
        if let recent, recent.connection.id == id, ContinuousClock.now - recent.readAt < Self.reuse, recent.credential.isValid(for: Self.minimumValidity) {
            return (recent.connection, recent.credential)
        }
        recent = nil
        let (connection, credential) = try read(id)
        recent = (connection, credential, .now)
        return (connection, credential)
    }

    private func read(_ id: UUID) throws -> (Connection, Credential) {
        let database = try job.database()
        guard let connection = try services.store.find(id, on: database) else { throw JobFailure.permanent("connection \(id.uuidString.lowercased()) does not exist") }
        switch connection.status {
        case .active: break
        case .needsReauth: throw JobFailure.unauthorized("connection \(id.uuidString.lowercased()) needs the tenant to reconnect: \(connection.reason ?? "no reason recorded")")
        case .pending, .error, .disconnected: throw JobFailure.permanent("connection \(id.uuidString.lowercased()) is \(connection.status.rawValue)")
        }
        guard let credential = try services.vault.read(id, on: database) else {
            throw JobFailure.permanent("connection \(id.uuidString.lowercased()) has no credentials")
        }
        if credential.isValid(for: Self.minimumValidity) { return (connection, credential) }
        return (connection, try refresh(connection, seen: credential.version, margin: Self.minimumValidity))
    }

    /// Sends `build(connection, credential)` through the provider client; a 401 gets one refresh
    /// and one retry, and a 401 after that (or for an API key) makes the connection `needs_reauth`.
    public func send(_ id: UUID, provider: String, _ build: (Connection, Credential) throws -> OutboundRequest) throws -> OutboundResponse {
        guard let client = job.providers else { throw JobFailure.permanent("this worker has no provider client") }
        let (connection, credential) = try credentials(for: id)
        let response = try client.send(try build(connection, credential), provider: provider, connection: id.uuidString.lowercased())
        guard response.status == 401 else { return response }
        guard connection.auth == .oauth2, credential.tokens.refresh != nil else {
            try markNeedsReauth(connection, reason: "\(provider) refused the connection's \(connection.auth == .apiKey ? "API key" : "token") (401)")
            throw JobFailure.unauthorized("\(provider) answered 401")
        }
        logger.info("provider answered 401; refreshing the token once", metadata: ["connection": .string(id.uuidString.lowercased())])
        recent = nil
        let refreshed = try refresh(connection, seen: credential.version, margin: nil)
        recent = (connection, refreshed, .now)
        let again = try client.send(try build(connection, refreshed), provider: provider, connection: id.uuidString.lowercased())
        if again.status == 401 {
            try markNeedsReauth(connection, reason: "\(provider) refused a freshly refreshed token (401)")
            throw JobFailure.unauthorized("\(provider) answered 401 after a refresh")
        }
        return again
    }

    /// Refreshes the connection's token unless someone already has.
    ///
    /// - Parameters:
    ///   - seen: the credential version the caller found wanting; a stored version past it means
    ///     another worker refreshed, and its pair is used. Nil: judge by `margin` alone.
    ///   - margin: refresh only when the token expires within it; nil refreshes regardless (after a
    ///     401), unless the version moved past `seen`.
    @discardableResult
    public func refresh(_ connection: Connection, seen: Int64?, margin: Duration?) throws -> Credential {
        let id = connection.id
        guard let client = services.oauth.client(for: connection.provider) else {
            throw JobFailure.permanent("\(connection.provider) has no OAuth client configured here (JUNCTION_OAUTH_\(connection.provider.uppercased())_CLIENT_ID)")
        }
        let database = try job.database()
        func usable(_ credential: Credential) -> Bool {
            if let seen, credential.version != seen { return credential.isValid(for: Self.minimumValidity) }
            guard let margin else { return false }
            return credential.isValid(for: margin)
        }

        // 1. The lock; while another worker holds it, watch for the pair it stores.
        let settings = job.providers?.settings
        // Held across one token call at most (its timeout), with room to store the answer.
        let ttl = (settings?.callTimeout ?? .seconds(30)) * 2 + .seconds(5)
        let deadline = ContinuousClock.now + services.settings.refreshWait
        var held: HeldLock?
        while held == nil {
            switch try services.locks.acquire(ConnectionServices.lockName(id), ttl: ttl, on: job.redis) {
            case .acquired(let lock): held = lock
            case .busy:
                if let current = try services.vault.read(id, on: database), usable(current) { return current }
                guard ContinuousClock.now < deadline, !job.isCancelled else {
                    throw JobFailure.reschedule(after: .milliseconds(500), reason: "another worker is refreshing connection \(id.uuidString.lowercased())")
                }
                Thread.sleep(forTimeInterval: 0.05)
            }
        }
        let lock = held!
        defer { _ = try? services.locks.release(lock, on: job.redis) }

        // 2. Re-read under the lock: the connection (another refresher may have given up on it)
        //    and the credential (another may have refreshed it).
        guard let latest = try services.store.find(id, on: database), latest.status == .active else {
            throw JobFailure.unauthorized("connection \(id.uuidString.lowercased()) is no longer active; not refreshing")
        }
        guard let current = try services.vault.read(id, on: database) else { throw JobFailure.permanent("connection \(id.uuidString.lowercased()) has no credentials") }
        if usable(current) {
            logger.debug("token already fresh", metadata: ["connection": .string(id.uuidString.lowercased()), "version": .stringConvertible(current.version)])
            return current
        }
        guard let refreshToken = current.tokens.refresh else {
            try markNeedsReauth(connection, reason: "the access token expired and the provider gave no refresh token")
            throw JobFailure.unauthorized("connection \(id.uuidString.lowercased()) has no refresh token")
        }

        // 3. The marker, or the one an interrupted refresh left.
        if let interrupted = try services.vault.beginRefresh(id, version: current.version, fence: lock.fence, worker: services.worker, on: database) {
            try resume(after: interrupted, connection, client: client, current: current, lock: lock, on: database)
        }

        // 4. One call.
        let request = OAuthRequests(client).refresh(refreshToken, shop: connection.externalAccountID)
        let response: OutboundResponse
        do {
            guard let providers = job.providers else { throw JobFailure.permanent("this worker has no provider client") }
            response = try providers.send(request, provider: connection.provider, connection: id.uuidString.lowercased())
        } catch let error as ProviderBackoff {
            // Refused before it went out: nothing was presented.
            try services.vault.endRefresh(id, on: database)
            throw error
        } catch let error as OutboundHTTPError {
            if error.neverSent { try services.vault.endRefresh(id, on: database) }
            try countFailure(connection, "\(error)", on: database)
            throw JobFailure.retryable("token refresh for \(connection.provider): \(error)")
        }

        // 5. Store by compare-and-set, or judge the refusal.
        let answer: TokenAnswer
        do {
            answer = try TokenAnswer.parse(response)
        } catch .refused(let error, let description, let status) {
            try services.vault.endRefresh(id, on: database)
            if let now = try services.vault.read(id, on: database), now.version != current.version, now.isValid(for: Self.minimumValidity) {
                return now
            }
            let reason = "\(error)\(description.map { ": \($0)" } ?? "")"
            if error == "invalid_client" || error == "unauthorized_client" {
                // Junction's own client credentials are wrong: ops, not the tenant, must act.
                try services.store.noteHealth(id, ["last_refresh_error": .string(reason), "last_refresh_at": .string(Timestamp.format(Date()))], on: database)
                throw JobFailure.permanent("\(connection.provider) refused Junction's OAuth client (\(status) \(reason)): check JUNCTION_OAUTH_\(connection.provider.uppercased())_CLIENT_ID and _SECRET")
            }
            try markNeedsReauth(connection, reason: "refresh refused: \(reason)")
            throw JobFailure.unauthorized("\(connection.provider) refused the refresh token (\(status) \(reason))")
        } catch .unavailable(let status) {
            try services.vault.endRefresh(id, on: database)
            try countFailure(connection, "token endpoint answered \(status)", on: database)
            throw JobFailure.retryable("token refresh for \(connection.provider): the token endpoint answered \(status)")
        } catch .malformed(let reason) {
            // A 2xx may have rotated the refresh token: the marker stays.
            try countFailure(connection, reason, on: database)
            throw JobFailure.retryable("token refresh for \(connection.provider): \(reason)")
        }
        let pair = TokenPair(access: answer.accessToken, refresh: answer.refreshToken ?? refreshToken, expiresAt: answer.expiresAt)
        guard let stored = try services.vault.compareAndSet(id, tenant: connection.tenant, expected: current.version, fence: lock.fence, pair, on: database) else {
            // Only a writer outside the lock can move the version (a reconnect storing new
            // credentials): theirs is newer.
            Self.measureRefresh(connection.provider, "superseded")
            logger.warning("the credential changed during the refresh; keeping the stored one", metadata: ["connection": .string(id.uuidString.lowercased())])
            guard let now = try services.vault.read(id, on: database) else { throw JobFailure.permanent("connection \(id.uuidString.lowercased()) lost its credentials") }
            return now
        }
        try services.store.noteHealth(id, ["last_refresh_at": .string(Timestamp.format(Date())), "last_refresh_error": .null], on: database)
        Self.measureRefresh(connection.provider, "refreshed")
        logger.info("token refreshed", metadata: [
            "connection": .string(id.uuidString.lowercased()), "provider": .string(connection.provider), "version": .stringConvertible(stored.version),
            "fence": .stringConvertible(lock.fence), "rotated": .stringConvertible(answer.refreshToken.map { $0 != refreshToken } ?? false),
            "expires_at": .string(stored.tokens.expiresAt.map(Timestamp.format) ?? "never"),
        ])
        return stored
    }

    /// An earlier refresh left its marker: it presented (or was about to present) the refresh
    /// token and never stored the answer. A single-use token is then dead at the provider, and
    /// presenting it again would only be refused (RFC 9700 lets the provider revoke the whole
    /// family on reuse): the connection needs the tenant. A reusable or rotating token is
    /// presented again (it stays valid until its successor is used).
    private func resume(after interrupted: InterruptedRefresh, _ connection: Connection, client: OAuthClients.Client, current: Credential,
                        lock: HeldLock, on database: PostgresConnection) throws {
        let id = connection.id
        let metadata: Logger.Metadata = [
            "connection": .string(id.uuidString.lowercased()), "provider": .string(connection.provider),
            "interrupted_worker": .string(interrupted.worker), "interrupted_at": .string(Timestamp.format(interrupted.startedAt)),
            "interrupted_fence": .stringConvertible(interrupted.fence), "refresh": .string(client.flow.refresh.rawValue),
        ]
        if client.flow.refresh == .singleUse {
            logger.error("an earlier refresh presented this single-use refresh token and never stored the answer; not presenting it again", metadata: metadata)
            // The marker stays until the tenant reconnects (storing new credentials removes it):
            // every later refresh finds it and presents nothing.
            try markNeedsReauth(connection, reason: "refresh_interrupted: a refresh by \(interrupted.worker) at \(Timestamp.format(interrupted.startedAt)) presented the single-use refresh token and its answer was never stored, so the provider has rotated it; the tenant must reconnect")
            throw JobFailure.unauthorized("connection \(id.uuidString.lowercased()): an interrupted refresh consumed the single-use refresh token")
        }
        logger.warning("an earlier refresh was interrupted; presenting the stored refresh token again (it is not single use)", metadata: metadata)
        try services.vault.endRefresh(id, on: database)
        _ = try services.vault.beginRefresh(id, version: current.version, fence: lock.fence, worker: services.worker, on: database)
    }

    /// `junction_token_refreshes_total{provider,outcome}`: `refreshed`, `failed` (the provider
    /// or the network refused this try), `needs_reauth` (the tenant must reconnect), `superseded`
    /// (a reconnect stored newer credentials meanwhile).
    static func measureRefresh(_ provider: String, _ outcome: String) {
        Measure.count(MetricName.tokenRefreshes, [("provider", provider), ("outcome", outcome)])
    }

    private func countFailure(_ connection: Connection, _ reason: String, on database: PostgresConnection) throws {
        Self.measureRefresh(connection.provider, "failed")
        let (failures, since) = try services.vault.recordRefreshFailure(connection.id, on: database)
        try services.store.noteHealth(connection.id, ["last_refresh_error": .string(reason), "last_refresh_at": .string(Timestamp.format(Date()))], on: database)
        if Date().timeIntervalSince(since) >= services.settings.refreshGiveUp / .seconds(1) {
            try markNeedsReauth(connection, reason: "refreshes have failed since \(Timestamp.format(since)) (\(failures) in a row), last: \(reason)")
            throw JobFailure.unauthorized("connection \(connection.id.uuidString.lowercased()): refreshes failing since \(Timestamp.format(since))")
        }
    }

    func markNeedsReauth(_ connection: Connection, reason: String) throws {
        recent = nil
        Self.measureRefresh(connection.provider, "needs_reauth")
        logger.warning("connection needs the tenant to reconnect", metadata: [
            "connection": .string(connection.id.uuidString.lowercased()), "provider": .string(connection.provider), "reason": .string(reason),
        ])
        try services.store.transition(connection.id, to: .needsReauth, reason: reason, actor: "worker:\(services.worker)",
                                      from: [.active, .needsReauth], on: try job.database())
    }
}
