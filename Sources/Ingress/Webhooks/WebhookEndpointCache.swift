import Foundation
import JunctionCore
import JunctionProviders
import JunctionStores
import Logging
import Synchronization

/// The ingress's in-memory copy of `webhook_endpoints`: the webhook path reads it without waiting
/// on PostgreSQL, and ``refresh(from:)`` (run every few seconds off that path) re-reads only the
/// endpoints whose version changed.
public final class WebhookEndpointCache: Sendable {
    /// What a request to `/webhooks/{provider}/{endpoint}` should verify against.
    public enum Lookup: Sendable {
        /// The store has not been read yet (PostgreSQL unreachable since start-up).
        case notLoaded
        /// No such endpoint: the provider's `JUNCTION_WEBHOOK_SECRETS_<PROVIDER>` set applies.
        case unregistered
        case disabled
        /// Its secrets do not decrypt (a key was removed from the ring too early).
        case unreadable
        /// A registered, enabled endpoint: its own secret set, and whose deliveries it receives.
        case registered(RegisteredEndpoint)
    }

    /// What the webhook path needs of an enabled endpoint.
    public struct RegisteredEndpoint: Sendable {
        public var secrets: [WebhookSecret]
        /// Copied into every job the endpoint's deliveries become, so each stored event names
        /// its tenant and connection.
        public var tenant: String?
        public var connection: UUID?

        public init(secrets: [WebhookSecret], tenant: String? = nil, connection: UUID? = nil) {
            self.secrets = secrets
            self.tenant = tenant
            self.connection = connection
        }
    }

    private struct Entry: Sendable {
        var version: Int64
        var lookup: Lookup
    }

    private struct State: Sendable {
        var loaded = false
        var entries: [EndpointKey: Entry] = [:]
    }

    private let state = Mutex(State())
    private let store: WebhookEndpointStore
    private let logger: Logger

    public init(store: WebhookEndpointStore, logger: Logger) {
        self.store = store
        self.logger = logger
    }

    public var isLoaded: Bool { state.withLock { $0.loaded } }
    public var count: Int { state.withLock { $0.entries.count } }

    public func lookup(provider: String, endpoint: String) -> Lookup {
        state.withLock { state in
            guard state.loaded else { return .notLoaded }
            return state.entries[EndpointKey(provider: provider, endpoint: endpoint)]?.lookup ?? .unregistered
        }
    }

    /// Reads what changed since the last refresh. Throws when PostgreSQL cannot answer; the cache
    /// keeps serving what it has.
    public func refresh(from database: PostgresClient) async throws {
        let known = state.withLock { state in state.entries.mapValues(\.version) }
        let store = self.store
        let (changed, present) = try await database.withConnection { connection in
            try store.changes(since: known, on: connection)
        }
        var updates: [EndpointKey: Entry] = [:]
        for result in changed {
            switch result {
            case .success(let endpoint):
                let key = EndpointKey(provider: endpoint.provider, endpoint: endpoint.endpoint)
                updates[key] = Entry(version: endpoint.version, lookup: endpoint.enabled
                    ? .registered(RegisteredEndpoint(secrets: endpoint.secrets.map(WebhookSecret.init), tenant: endpoint.tenant, connection: endpoint.connection))
                    : .disabled)
            case .failure(let error):
                if case .undecryptable(let provider, let endpoint, _) = error {
                    // Version -1: tried again at every refresh, in case the key comes back.
                    updates[EndpointKey(provider: provider, endpoint: endpoint)] = Entry(version: -1, lookup: .unreadable)
                }
                logger.error("webhook endpoint unreadable; its deliveries get 503 until fixed", metadata: ["error": .string(error.description)])
            }
        }
        let (added, removed) = state.withLock { state -> (Int, Int) in
            let before = state.entries.count
            state.entries = state.entries.filter { present.contains($0.key) }
            let removed = before - state.entries.count
            state.entries.merge(updates) { _, new in new }
            state.loaded = true
            return (updates.count, removed)
        }
        if added > 0 || removed > 0 {
            logger.info("webhook endpoints refreshed", metadata: ["changed": .stringConvertible(added), "removed": .stringConvertible(removed)])
        }
    }
}
