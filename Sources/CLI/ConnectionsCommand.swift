import ArgumentParser
import Foundation
import JunctionCore
import JunctionProviders
import JunctionQueue
import JunctionStores

/// `junction connections list|show|add-key|refresh|check|revoke|delete`: tenants' connections, for
/// ops. Nothing here prints a token, a refresh token or an API key.
struct ConnectionsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "connections", abstract: "Tenants' connections to providers (never printing a secret).",
        discussion: """
            A tenant stuck in needs_reauth must connect again (GET /oauth/PROVIDER/initiate?connection=ID);
            `show` says why it got there. refresh, check, revoke and delete run as jobs on the workers and
            wait for the outcome (--wait). API keys are read from standard input:
              printf '%s\\n' "$STRIPE_KEY" | junction connections add-key --tenant venue-42 --provider stripe
            """,
        subcommands: [List.self, Show.self, AddKey.self, Import.self, Refresh.self, Check.self, Revoke.self, Delete.self])

    struct Context {
        let database: PostgresConnection
        let vault: CredentialVault
        let store = ConnectionStore()

        static func open() throws -> Context {
            let keys = ProcessBootstrap.settings(process: "junction") { () throws(ConfigurationError) in try KeyRing(environment: EnvironmentVariables()) }
            return Context(database: try SchedulesCommand.database(), vault: CredentialVault(keys: keys))
        }

        func connection(_ text: String) throws -> Connection {
            try run { try ConnectionsCommand.find(text, on: database) }
        }

        func run<T>(_ body: () throws -> T) throws -> T {
            do {
                return try body()
            } catch let error as PostgresError {
                printError("junction: \(error)")
                throw ExitStatus.unavailable
            } catch let error as ConnectionError {
                printError("junction: \(error)")
                throw ExitStatus.dataError
            }
        }

        /// Enqueues `type` for the connection and waits until `done` holds (or `wait` passes).
        func runJob(_ type: String, _ connection: Connection, payload: [String: JSONValue] = [:], wait: Double,
                    done: (Connection?) -> Bool) throws -> Connection? {
            let queue = try QueueCommandContext.open()
            var body = payload
            body["connection"] = .string(connection.id.uuidString.lowercased())
            let outcomes = try queue.run {
                try queue.queue.enqueue([JobRequest(type: type, payload: .object(body), priority: .critical, tenant: connection.tenant,
                                                    provider: connection.provider, connection: connection.id.uuidString.lowercased())], on: queue.redis)
            }
            if case .enqueued(let id)? = outcomes.first { print("enqueued \(type) job \(id)") }
            let deadline = Date() + wait
            while Date() < deadline {
                let current = try run { try store.find(connection.id, on: database) }
                if done(current) { return current }
                Thread.sleep(forTimeInterval: 0.2)
            }
            print("still running after \(Int(wait)) s; `junction connections show \(connection.id.uuidString.lowercased())` tells the outcome")
            return try run { try store.find(connection.id, on: database) }
        }
    }

    /// The connection named by `text`, or a message and exit status 65 (not a UUID) or 66 (none).
    static func find(_ text: String, on database: PostgresConnection) throws -> Connection {
        guard let id = UUID(uuidString: text) else {
            printError("junction: \(text) is not a connection id (a UUID)")
            throw ExitStatus.dataError
        }
        guard let connection = try ConnectionStore().find(id, on: database) else {
            printError("junction: no connection \(text)")
            throw ExitStatus.notFound
        }
        return connection
    }

    static func line(_ connection: Connection) -> String {
        let id = connection.id.uuidString.lowercased()
        return "\(id)  \(connection.tenant)  \(connection.provider)  \(connection.status.rawValue)  \(connection.externalAccountID ?? "-")  \(connection.reason ?? "")"
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List connections: id, tenant, provider, status, account, last reason.")
        @Option(help: "Only this tenant's.") var tenant: String?
        @Option(help: "Only this provider's.") var provider: String?
        @Option(help: "Only connections in this status (pending, active, needs_reauth, error, disconnected).") var status: String?

        func run() throws {
            let context = try Context.open()
            var wanted: ConnectionStatus?
            if let status {
                guard let parsed = ConnectionStatus(rawValue: status) else {
                    printError("junction: --status must be one of \(ConnectionStatus.allCases.map(\.rawValue).joined(separator: ", "))")
                    throw ExitStatus.dataError
                }
                wanted = parsed
            }
            for connection in try context.run({ try context.store.list(tenant: tenant, provider: provider, status: wanted, on: context.database) }) {
                print(ConnectionsCommand.line(connection))
            }
        }
    }

    struct Show: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "One connection: its state, its credential's metadata (never the secrets) and its audit trail.")
        @Argument(help: "The connection id.") var id: String

        func run() throws {
            let context = try Context.open()
            let connection = try context.connection(id)
            print("connection  \(connection.id.uuidString.lowercased())")
            print("tenant      \(connection.tenant)")
            print("provider    \(connection.provider) (\(connection.auth.rawValue))")
            print("status      \(connection.status.rawValue) since \(connection.statusChangedAt.map(Timestamp.format) ?? "?"): \(connection.reason ?? "")")
            print("account     \(connection.externalAccountID ?? "-")")
            print("scopes      \(connection.scopes.joined(separator: " "))")
            print("health      \(connection.health.serialized)")
            do {
                if let credential = try context.run({ try context.vault.read(connection.id, on: context.database) }) {
                    print("credential  v\(credential.version) fence \(credential.fence) under key \(credential.keyID); refresh token \(credential.tokens.refresh == nil ? "none" : "stored"); expires \(credential.tokens.expiresAt.map(Timestamp.format) ?? "never")")
                    if credential.refreshFailures > 0 {
                        print("refreshes   \(credential.refreshFailures) failed in a row since \(credential.failingSince.map(Timestamp.format) ?? "?")")
                    }
                } else {
                    print("credential  none")
                }
            } catch let code as ExitCode where code == ExitStatus.dataError {
                // Undecryptable: the message is printed; show the rest.
            }
            if let interrupted = try context.run({ try context.vault.interruptedRefresh(connection.id, on: context.database) }) {
                print("refreshing  by \(interrupted.worker) since \(Timestamp.format(interrupted.startedAt)) (fence \(interrupted.fence)); if that worker is gone, the refresh was interrupted")
            }
            for event in try context.run({ try context.store.events(connection.id, on: context.database) }) {
                print("  \(Timestamp.format(event.at))  \(event.event)  \(event.fromStatus ?? "-") -> \(event.toStatus ?? "-")  by \(event.actor)  \(event.reason ?? "")")
            }
        }
    }

    struct AddKey: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "add-key",
            abstract: "Connect a tenant with an API key (read from standard input); active once one provider call accepts it.")
        @Option(help: "The tenant.") var tenant: String
        @Option(help: "The provider (one that takes API keys: stripe, mailchimp).") var provider: String
        @Option(help: "Seconds to wait for the check.") var wait: Double = 15

        func run() throws {
            guard let known = Providers.named(provider), known.auth.contains(.apiKey) else {
                printError("junction: \(provider) does not take API keys; those that do: \(Providers.all.filter { $0.auth.contains(.apiKey) }.map(\.id).joined(separator: ", "))")
                throw ExitStatus.dataError
            }
            guard let key = readLine(strippingNewline: true)?.trimmingCharacters(in: .whitespaces), !key.isEmpty else {
                printError("junction: no API key on standard input")
                throw ExitStatus.dataError
            }
            let context = try Context.open()
            let connection = try context.run {
                try context.database.transaction { database in
                    let connection = try context.store.create(tenant: tenant, provider: known.id, auth: .apiKey, actor: "cli", on: database)
                    try context.vault.put(connection.id, tenant: tenant, TokenPair(access: key), on: database)
                    return connection
                }
            }
            print("created \(connection.id.uuidString.lowercased()) (pending until \(known.displayName) accepts the key)")
            let checked = try context.runJob("connection.check", connection, wait: wait) { $0.map { $0.status != .pending } ?? true }
            print(checked.map(ConnectionsCommand.line) ?? "the connection is gone")
            if checked?.status == .error { throw ExitStatus.dataError }
        }
    }

    /// For moving tenants over from another integration service: their OAuth tokens, as that
    /// service holds them, become an active connection without the tenant authorising again.
    struct Import: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Import an OAuth connection's existing tokens (standard input: the access token, then optionally the refresh token).",
            discussion: """
                The connection is active at once, with its sync schedules, and its tokens are sealed in the vault
                like any others; a provider call then checks them where the provider has a check.
                """)
        @Option(help: "The tenant.") var tenant: String
        @Option(help: "The provider (one that connects through OAuth).") var provider: String
        @Option(help: "The provider's account id (QuickBooks's realm; Square's merchant; Stripe's acct_…).") var account: String?
        @Option(help: "Seconds until the access token expires; omitted: it does not expire (or is unknown).") var expiresIn: Int?
        @Option(help: "Granted scopes, comma-separated.") var scopes = ""
        @Option(help: "Seconds to wait for the check.") var wait: Double = 15

        func run() throws {
            guard let known = Providers.named(provider), known.auth.contains(.oauth2) else {
                printError("junction: \(provider) does not connect through OAuth; those that do: \(Providers.all.filter { $0.auth.contains(.oauth2) }.map(\.id).joined(separator: ", "))")
                throw ExitStatus.dataError
            }
            if known.id == "quickbooks", account == nil {
                printError("junction: a QuickBooks connection needs --account, the company's realm id")
                throw ExitStatus.dataError
            }
            guard let access = readLine(strippingNewline: true)?.trimmingCharacters(in: .whitespaces), !access.isEmpty else {
                printError("junction: no access token on standard input")
                throw ExitStatus.dataError
            }
            let refresh = readLine(strippingNewline: true)?.trimmingCharacters(in: .whitespaces).nilIfEmpty
            let tokens = TokenPair(access: access, refresh: refresh, expiresAt: expiresIn.map { Date().addingTimeInterval(Double($0)) })
            let context = try Context.open()
            let settings = try SyncSettings(environment: EnvironmentVariables(), providers: Providers.ids)
            let connection = try context.run {
                try context.database.transaction { database in
                    let created = try context.store.create(tenant: tenant, provider: known.id, auth: .oauth2, actor: "cli", on: database)
                    let active = try context.store.activate(created.id, account: account, scopes: scopes.split(separator: ",").map(String.init), metadata: ["imported": true],
                                                            tokens: tokens, vault: context.vault, actor: "cli:import", on: database)
                    try SyncSchedules().ensure(active, resources: known.sync.map(\.name), interval: settings.interval(for: active),
                                               reconcile: settings.reconcileInterval, on: database)
                    return active
                }
            }
            print("created \(connection.id.uuidString.lowercased()) (active, imported)")
            guard known.api.check != nil else { return }
            let before = connection.health["last_check"]
            let checked = try context.runJob("connection.check", connection, wait: wait) { $0?.health["last_check"] != before || $0?.status != .active }
            print(checked.map(ConnectionsCommand.line) ?? "the connection is gone")
        }
    }

    struct Refresh: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Refresh the connection's access token now (under its lock, as any refresh).")
        @Argument(help: "The connection id.") var id: String
        @Option(help: "Seconds to wait for the outcome.") var wait: Double = 15

        func run() throws {
            let context = try Context.open()
            let connection = try context.connection(id)
            let before = try context.run { try context.vault.read(connection.id, on: context.database)?.version }
            let after = try context.runJob("token.refresh", connection, payload: ["force": true], wait: wait) { current in
                current?.status != .active || ((try? context.vault.read(connection.id, on: context.database)?.version) ?? before) != before
            }
            print(after.map(ConnectionsCommand.line) ?? "the connection is gone")
            if let credential = try? context.vault.read(connection.id, on: context.database) {
                print("credential  v\(credential.version) (was v\(before.map(String.init) ?? "-")); expires \(credential.tokens.expiresAt.map(Timestamp.format) ?? "never")")
            }
        }
    }

    struct Check: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Make the provider's cheapest authenticated call with the connection's credentials.")
        @Argument(help: "The connection id.") var id: String
        @Option(help: "Seconds to wait for the outcome.") var wait: Double = 15

        func run() throws {
            let context = try Context.open()
            let connection = try context.connection(id)
            let before = connection.health["last_check"]
            let after = try context.runJob("connection.check", connection, wait: wait) { $0?.health["last_check"] != before || $0?.status != connection.status }
            print(after.map(ConnectionsCommand.line) ?? "the connection is gone")
            if let check = after?.health["last_check"] { print("last check  \(check.serialized)") }
        }
    }

    struct Revoke: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Revoke the tokens at the provider, erase them and disable the schedules; the connection stays, disconnected.")
        @Argument(help: "The connection id.") var id: String
        @Option(help: "Seconds to wait for the outcome.") var wait: Double = 15

        func run() throws {
            let context = try Context.open()
            let connection = try context.connection(id)
            let after = try context.runJob("connection.revoke", connection, payload: ["actor": "cli"], wait: wait) { $0?.status == .disconnected }
            print(after.map(ConnectionsCommand.line) ?? "the connection is gone")
        }
    }

    struct Delete: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Revoke and erase as revoke does, then delete the connection (its audit trail stays).")
        @Argument(help: "The connection id.") var id: String
        @Option(help: "Seconds to wait for the outcome.") var wait: Double = 15

        func run() throws {
            let context = try Context.open()
            let connection = try context.connection(id)
            let after = try context.runJob("connection.revoke", connection, payload: ["actor": "cli", "delete": true], wait: wait) { $0 == nil }
            print(after == nil ? "deleted \(connection.id.uuidString.lowercased())" : ConnectionsCommand.line(after!))
        }
    }
}

extension String {
    var nilIfEmpty: String? { isEmpty ? nil : self }
}
