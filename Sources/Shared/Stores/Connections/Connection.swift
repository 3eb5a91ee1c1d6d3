import Foundation
import JunctionCore

/// Where a connection stands. `pending` until its first credentials are stored; `active` while
/// they work; `needs_reauth` when only the tenant can fix it (a refresh token refused, a revoked
/// app); `error` when connecting failed (denied, a bad code); `disconnected` once revoked.
public enum ConnectionStatus: String, Sendable, CaseIterable, Codable {
    case pending, active
    case needsReauth = "needs_reauth"
    case error, disconnected
}

/// How a connection proves itself to its provider.
public enum ConnectionAuth: String, Sendable, Codable {
    case oauth2
    case apiKey = "api_key"
}

/// One row of `connections`: a tenant's link to one provider account. Never holds a secret.
public struct Connection: Sendable, Equatable {
    public var id: UUID
    public var tenant: String
    public var provider: String
    public var status: ConnectionStatus
    public var auth: ConnectionAuth
    /// The provider's account id: a QuickBooks realm, a Mailchimp data centre, a Stripe account, a
    /// Square merchant, a Shopify shop.
    public var externalAccountID: String?
    public var scopes: [String]
    /// Why the last change of status happened, and when (`health.reason`, `health.changed_at`).
    public var reason: String?
    public var statusChangedAt: Date?
    /// `health` as stored: the last change, the last refresh and check.
    public var health: JSONValue
    /// What the provider said that is not secret (Mailchimp's `dc` and `api_endpoint`).
    public var metadata: JSONValue
    /// Who wins when a push meets a provider object changed since the version it was made against.
    public var conflictPolicy: ConflictPolicy
    public var createdAt: Date
    public var updatedAt: Date
}

/// One row of `connection_events`.
public struct ConnectionEvent: Sendable, Equatable {
    public var id: Int64
    public var connection: UUID
    public var event: String
    public var fromStatus: String?
    public var toStatus: String?
    public var reason: String?
    public var actor: String
    public var at: Date
}

/// Why a connection cannot be read or changed as asked.
public enum ConnectionError: Error, Sendable, Equatable, CustomStringConvertible {
    case notFound(UUID)
    /// The change does not follow from the connection's status (a refresh of a disconnected one).
    case wrongStatus(UUID, ConnectionStatus, wanted: String)
    /// The tenant has connected this provider account already, as `existing`.
    case accountConnected(existing: UUID, account: String)
    /// A reconnect authorised another account than the connection's (its synced data belongs to
    /// the first): connect the other one as a new connection.
    case otherAccount(UUID, connected: String, authorised: String)
    case undecryptable(UUID, SealError)

    public var description: String {
        switch self {
        case .notFound(let id): "no connection \(id.uuidString.lowercased())"
        case .wrongStatus(let id, let status, let wanted): "connection \(id.uuidString.lowercased()) is \(status.rawValue); \(wanted)"
        case .accountConnected(let existing, let account):
            "this tenant has connected account \(account) already, as connection \(existing.uuidString.lowercased()): reconnect that one instead"
        case .otherAccount(let id, let connected, let authorised):
            "connection \(id.uuidString.lowercased()) is for account \(connected), and the tenant authorised \(authorised): connect that one as a new connection"
        case .undecryptable(let id, let error): "the credentials of connection \(id.uuidString.lowercased()) are \(error)"
        }
    }
}

extension ConnectionError: RetryClassifiable {
    public var isRetryable: Bool { false }
}
