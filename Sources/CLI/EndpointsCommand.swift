import ArgumentParser
import Foundation
import JunctionCore
import JunctionProviders
import JunctionStores

/// `junction endpoints list|add|rotate|disable|enable|remove`: per-endpoint webhook secrets.
struct EndpointsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "endpoints", abstract: "Manage per-endpoint webhook secrets (/webhooks/PROVIDER/ENDPOINT).",
        discussion: """
            Secrets are stored encrypted under JUNCTION_ENCRYPTION_KEYS and never printed. The ingress
            picks up changes within JUNCTION_WEBHOOK_ENDPOINT_REFRESH (default 5s). Secrets are read
            from standard input, one per line, so they stay out of shell history and `ps`:
              printf '%s\\n' "$STRIPE_WHSEC" | junction endpoints add stripe venue-42 --tenant venue-42
              junction endpoints add mailchimp --generate      # prints the new URL token
            """,
        subcommands: [List.self, Add.self, Rotate.self, Disable.self, Enable.self, Remove.self])

    static func open() throws -> (WebhookEndpointStore, PostgresConnection) {
        let keys = ProcessBootstrap.settings(process: "junction") { () throws(ConfigurationError) in
            try KeyRing(environment: EnvironmentVariables())
        }
        return (WebhookEndpointStore(keys: keys), try SchedulesCommand.database())
    }

    /// Runs `body`, turning store errors into messages and exit statuses.
    static func run<T>(_ body: () throws -> T) throws -> T {
        do {
            return try body()
        } catch let error as WebhookEndpointError {
            printError("junction: \(error)")
            switch error {
            case .notFound: throw ExitStatus.notFound
            default: throw ExitStatus.dataError
            }
        } catch let error as PostgresError {
            printError("junction: \(error)")
            throw ExitStatus.unavailable
        }
    }

    /// Secrets from standard input, one per line (blank lines ignored).
    static func readSecrets() -> [String] {
        var secrets: [String] = []
        while let line = readLine(strippingNewline: true) {
            let secret = line.trimmingCharacters(in: .whitespaces)
            if !secret.isEmpty { secrets.append(secret) }
        }
        return secrets
    }

    /// 32 random bytes, URL-safe base64 without padding (43 characters).
    static func randomToken() -> String {
        var generator = SystemRandomNumberGenerator()
        let bytes = (0..<32).map { _ in UInt8.random(in: 0...255, using: &generator) }
        return Data(bytes).base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }

    static func describe(_ endpoint: WebhookEndpoint) -> String {
        let owner = [endpoint.tenant.map { "tenant \($0)" }, endpoint.connection.map { "connection \($0.uuidString.lowercased())" }]
            .compactMap { $0 }.joined(separator: "  ")
        let shown = WebhookEndpoint.shown(provider: endpoint.provider, endpoint: endpoint.endpoint)
        return "\(endpoint.provider)/\(shown)  \(endpoint.enabled ? "enabled" : "disabled")  \(endpoint.secrets.count) secret\(endpoint.secrets.count == 1 ? "" : "s")  key \(endpoint.keyID)  updated \(Timestamp.format(endpoint.updatedAt))\(owner.isEmpty ? "" : "  " + owner)"
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Every endpoint: provider/id, state, how many secrets, key id, owner.")

        func run() throws {
            let (store, database) = try EndpointsCommand.open()
            let endpoints = try EndpointsCommand.run { try store.list(on: database) }
            if endpoints.isEmpty { print("no webhook endpoints") }
            for endpoint in endpoints { print(EndpointsCommand.describe(endpoint)) }
        }
    }

    struct Add: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Register an endpoint with its secrets (read from standard input, one per line).")

        @Argument(help: "stripe, square, mailchimp, mandrill, quickbooks, shopify, hubspot, twilio, github or slack.")
        var provider: String

        @Argument(help: "The endpoint id in the URL (letters, digits, '-', '_'). Omit with --generate.")
        var endpoint: String?

        @Flag(help: "Generate a random secret (and, for mailchimp, whose URL token is the secret, use it as the endpoint id); prints it once.")
        var generate = false

        @Option var tenant: String?

        @Option(help: "The connection this endpoint belongs to (its UUID).")
        var connection: String?

        func validate() throws {
            if endpoint == nil && !(generate && Providers.webhookScheme(named: provider)?.endpointIsSecret == true) {
                throw ValidationError("give an endpoint id (only `mailchimp --generate` makes one up)")
            }
            if let connection, UUID(uuidString: connection) == nil { throw ValidationError("--connection must be a UUID") }
        }

        func run() throws {
            let (store, database) = try EndpointsCommand.open()
            let token = generate ? EndpointsCommand.randomToken() : nil
            let id = endpoint ?? token!
            let secrets = token.map { [$0] } ?? EndpointsCommand.readSecrets()
            let added = try EndpointsCommand.run {
                try store.add(provider: provider, endpoint: id, secrets: secrets, tenant: tenant, connection: connection.flatMap(UUID.init(uuidString:)), on: database)
            }
            print("added \(added.provider)/\(added.endpoint)")
            if let token {
                print("secret: \(token)")
                let inURL = Providers.webhookScheme(named: provider)?.endpointIsSecret == true
                print(inURL ? "callback URL: <JUNCTION_PUBLIC_URL>/webhooks/\(provider)/\(token)" : "configure this secret with the provider")
            }
        }
    }

    struct Rotate: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Add a new secret in front of the endpoint's set (read from standard input); the old ones stay valid unless --drop-old.",
            discussion: """
                Rotation without lost deliveries: rotate (both secrets verify), switch the provider to the new
                secret, then `rotate --drop-old` with the new secret again, or `--keep N`.
                """)

        @Argument var provider: String
        @Argument var endpoint: String

        @Flag(name: .customLong("drop-old"), help: "Keep only the new secrets.")
        var dropOld = false

        @Option(help: "Keep at most this many secrets, newest first.")
        var keep: Int?

        @Flag(help: "Generate the new secret; prints it once.")
        var generate = false

        func run() throws {
            let (store, database) = try EndpointsCommand.open()
            let token = generate ? EndpointsCommand.randomToken() : nil
            let fresh = token.map { [$0] } ?? EndpointsCommand.readSecrets()
            guard !fresh.isEmpty else {
                printError("junction: no new secret on standard input (or pass --generate)")
                throw ExitStatus.dataError
            }
            let updated = try EndpointsCommand.run { () throws -> WebhookEndpoint in
                guard let current = try store.find(provider: provider, endpoint: endpoint, on: database) else {
                    throw WebhookEndpointError.notFound(provider: provider, endpoint: endpoint)
                }
                var secrets = fresh
                if !dropOld { secrets += current.secrets.filter { !fresh.contains($0) } }
                if let keep { secrets = Array(secrets.prefix(max(1, keep))) }
                return try store.setSecrets(provider: provider, endpoint: endpoint, secrets: secrets, on: database)
            }
            print("\(updated.provider)/\(updated.endpoint) now has \(updated.secrets.count) secret\(updated.secrets.count == 1 ? "" : "s")")
            if let token { print("secret: \(token)") }
        }
    }

    struct Disable: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Refuse deliveries to an endpoint (404) without forgetting its secrets.")
        @Argument var provider: String
        @Argument var endpoint: String

        func run() throws {
            let (store, database) = try EndpointsCommand.open()
            try EndpointsCommand.run { try store.setEnabled(provider: provider, endpoint: endpoint, false, on: database) }
            print("disabled \(provider)/\(endpoint)")
        }
    }

    struct Enable: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Accept deliveries to a disabled endpoint again.")
        @Argument var provider: String
        @Argument var endpoint: String

        func run() throws {
            let (store, database) = try EndpointsCommand.open()
            try EndpointsCommand.run { try store.setEnabled(provider: provider, endpoint: endpoint, true, on: database) }
            print("enabled \(provider)/\(endpoint)")
        }
    }

    struct Remove: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Delete an endpoint and its secrets; its deliveries then verify against JUNCTION_WEBHOOK_SECRETS_<PROVIDER>.")
        @Argument var provider: String
        @Argument var endpoint: String

        func run() throws {
            let (store, database) = try EndpointsCommand.open()
            try EndpointsCommand.run { try store.remove(provider: provider, endpoint: endpoint, on: database) }
            print("removed \(provider)/\(endpoint)")
        }
    }
}

/// `junction keys generate|status|reencrypt`: the encryption key ring.
struct KeysCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "keys", abstract: "The encryption key ring (JUNCTION_ENCRYPTION_KEYS).",
        discussion: """
            Rotation: put a new entry first in JUNCTION_ENCRYPTION_KEYS on every process, restart them; the
            scheduler re-encrypts in the background (or run `junction keys reencrypt`); when `junction keys
            status` shows nothing under the old id, remove it.
            """,
        subcommands: [Generate.self, Status.self, Reencrypt.self])

    struct Generate: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Print a new random key entry, id:base64, for JUNCTION_ENCRYPTION_KEYS.")

        @Option(help: "The key id (default: k followed by today's date, such as k20261121).")
        var id: String?

        func run() throws {
            let formatter = DateFormatter()
            formatter.dateFormat = "yyyyMMdd"
            formatter.timeZone = TimeZone(identifier: "UTC")
            print(KeyRing.generateEntry(id: id ?? "k" + formatter.string(from: Date())))
        }
    }

    struct Status: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "The configured key ids, and how many stored secrets each one seals.")

        func run() throws {
            let (store, database) = try EndpointsCommand.open()
            let counts = try EndpointsCommand.run { try store.countByKey(on: database) }
            let credentials = try EndpointsCommand.run { try CredentialVault(keys: store.keys).countByKey(on: database) }
            func counted(_ id: String) -> String {
                let endpoints = counts[id] ?? 0, sealed = credentials[id] ?? 0
                return "\(endpoints) webhook endpoint\(endpoints == 1 ? "" : "s"), \(sealed) credential\(sealed == 1 ? "" : "s")"
            }
            for id in store.keys.ids {
                print("\(id)\(id == store.keys.activeID ? " (active)" : "")  \(counted(id))")
            }
            for id in Set(counts.keys).union(credentials.keys).sorted() where !store.keys.ids.contains(id) {
                print("\(id) (MISSING from \(KeyRing.variable))  \(counted(id))")
            }
        }
    }

    struct Reencrypt: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Re-seal everything not under the active key now (the scheduler also does this in the background).")

        func run() throws {
            let (store, database) = try EndpointsCommand.open()
            var total = 0
            while true {
                let done = try EndpointsCommand.run { try store.reencrypt(limit: 500, on: database) }
                total += done
                if done < 500 { break }
            }
            let vault = CredentialVault(keys: store.keys)
            var credentials = 0
            while true {
                // Batches of 500 in their own transactions: a running system's refreshes wait at most
                // one batch, and a stopped run resumes where it was (what is left is what is not yet
                // under the active key).
                let done = try EndpointsCommand.run { try vault.reencrypt(batch: 500, on: database) }
                credentials += done
                if done > 0 { print("re-encrypted \(credentials) credentials so far") }
                if done == 0 { break }
            }
            print("re-encrypted \(total) webhook endpoint\(total == 1 ? "" : "s") and \(credentials) credential\(credentials == 1 ? "" : "s") under \(store.keys.activeID)")
        }
    }
}
