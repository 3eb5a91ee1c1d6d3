import ArgumentParser
import Foundation
import Hummingbird
import JunctionCore
import Logging
import Synchronization

/// `junction-sandbox`: a local server that speaks Stripe, Square, Mailchimp and QuickBooks, with
/// OAuth, signed webhooks and faults on command. State lives in memory; `--seed` makes it
/// deterministic.
@main
struct SandboxMain: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "junction-sandbox",
        abstract: "A local stand-in for Stripe, Square, Mailchimp and QuickBooks: real wire formats, OAuth, signed webhooks, faults.")

    @Option(help: "Address to listen on.")
    var host = "127.0.0.1"

    @Option(help: "Port to listen on (0: any free port, printed at start).")
    var port = 12111

    @Option(help: "Records to create per provider at start (customers, and payments, invoices, products, members with them).")
    var seed = 0

    @Option(name: .customLong("seed-value"), help: "The random seed the data is made from: the same value, the same data.")
    var seedValue: UInt64 = 42

    @Option(name: .customLong("webhook-url"), help: "Post signed webhooks to URL/PROVIDER, such as http://127.0.0.1:8080/webhooks.")
    var webhookURL: String?

    @Option(name: .customLong("token-lifetime"), help: "Seconds an OAuth access token lives.")
    var tokenLifetime = 3600

    @Option(name: .customLong("webhook-attempts"), help: "Deliveries of one webhook before giving up.")
    var webhookAttempts = 5

    func validate() throws {
        if let webhookURL, !(webhookURL.hasPrefix("http://") || webhookURL.hasPrefix("https://")) {
            throw ValidationError("--webhook-url must start with http:// or https://")
        }
        guard seed >= 0, seed <= 1_000_000 else { throw ValidationError("--seed must be 0 to 1,000,000") }
    }

    func run() async throws {
        JunctionLogging.bootstrap(level: .info)
        let logger = Logger(label: "junction.sandbox")
        let environment = ProcessInfo.processInfo.environment
        // The webhook secrets: JUNCTION_SANDBOX_WEBHOOK_SECRET_<PROVIDER>, else made up now and printed.
        var secrets: [String: String] = [:]
        for provider in SandboxProvider.allCases {
            secrets[provider.rawValue] = environment["JUNCTION_SANDBOX_WEBHOOK_SECRET_\(provider.rawValue.uppercased())"]
                ?? (provider == .stripe ? "whsec_" : "") + UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "")
        }
        let options = SandboxOptions(
            seedCount: seed, seedValue: seedValue, webhookURL: webhookURL.map { $0.hasSuffix("/") ? String($0.dropLast()) : $0 },
            webhookSecrets: secrets, accessTokenLifetime: tokenLifetime, webhookAttempts: webhookAttempts, webhookFirstRetry: .seconds(1))
        let sandbox = Sandbox(options: options, logger: logger)
        let started = ContinuousClock.now
        sandbox.world.withLock { world in Seed.run(count: seed, into: &world) }
        let publicURL = PublicURL()
        let router = Router()
        router.get("/_sandbox/health") { _, _ in json(["status": "ok"]) }
        StripeAPI.register(on: router, sandbox: sandbox)
        SquareAPI.register(on: router, sandbox: sandbox)
        Mailchimp.register(on: router, sandbox: sandbox)
        QuickBooksAPI.register(on: router, sandbox: sandbox)
        AccountsAPI.register(on: router, sandbox: sandbox)
        OAuthAPI.register(on: router, sandbox: sandbox, publicURL: { publicURL.value })
        GenericOAuthAPI.register(on: router, sandbox: sandbox)
        router.get("/_sandbox/oauth") { _, _ in json(GenericOAuthAPI.endpoints(base: publicURL.value)) }
        AdminAPI.register(on: router, sandbox: sandbox)
        let seeded = ContinuousClock.now - started
        let app = Application(
            router: router, configuration: .init(address: .hostname(host, port: port), serverName: nil),
            onServerRunning: { channel in
                let actual = channel.localAddress?.port ?? port
                publicURL.set("http://\(host):\(actual)")
                logger.info("listening", metadata: [
                    "url": .string("http://\(host):\(actual)"), "seeded": .stringConvertible(seed),
                    "seed_ms": .stringConvertible(Milliseconds.of(seeded)), "webhooks": .string(webhookURL ?? "off"),
                ])
                // Credentials for people: on standard error, one JSON object.
                FileHandle.standardError.write(Data("junction-sandbox credentials: \(AdminAPI.credentials(sandbox).serialized)\n".utf8))
            },
            logger: logger)
        try await app.runService()
        await sandbox.webhooks.http.shutdown()
    }
}

/// The URL the sandbox is reachable at, known once it listens (Mailchimp's metadata names it).
final class PublicURL: Sendable {
    private let storage = Mutex<String>("")
    var value: String { storage.withLock { $0 } }
    func set(_ url: String) { storage.withLock { $0 = url } }
}
