import ArgumentParser
import Foundation
import JunctionCore
import JunctionIngress
import JunctionProviders

/// `junction webhook send PROVIDER`: posts a realistic sample, signed as the provider signs it.
struct WebhookCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "webhook", abstract: "Test webhook endpoints.", subcommands: [Send.self])

    struct Send: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Sign a sample event exactly as the provider would and post it; prints the answer.",
            discussion: """
                The secret is the first of JUNCTION_WEBHOOK_SECRETS_<PROVIDER> unless --secret is given; for
                mailchimp it is the URL token, appended to the URL. Example:
                  junction webhook send stripe --event invoice.paid
                """)

        @Argument(help: "stripe, square, mailchimp, mandrill, quickbooks, shopify, hubspot, twilio, github or slack.")
        var provider: String

        @Option(help: "The event type of the sample.")
        var event: String?

        @Option(help: "The endpoint URL (default: JUNCTION_PUBLIC_URL/webhooks/PROVIDER).")
        var url: String?

        @Option(help: "The secret to sign with (default: the first configured one).")
        var secret: String?

        func validate() throws {
            guard Providers.webhookScheme(named: provider) != nil else {
                throw ValidationError("unknown provider \(provider); one of \(Providers.webhookSchemes.keys.sorted().joined(separator: ", "))")
            }
        }

        func run() async throws {
            let environment = EnvironmentVariables()
            let webhooks = ProcessBootstrap.settings(process: "junction") { () throws(ConfigurationError) in
                try WebhookSettings(environment: environment, ingress: try IngressSettings(environment: environment))
            }
            let scheme = Providers.webhookScheme(named: provider)!
            guard let key = secret ?? webhooks.secrets.secrets(for: provider).first?.text else {
                printError("junction: no secret: pass --secret or set JUNCTION_WEBHOOK_SECRETS_\(provider.uppercased())")
                throw ExitStatus.dataError
            }
            var target = url ?? "\(webhooks.publicURL)/webhooks/\(provider)"
            // A scheme whose endpoint id is the credential takes it as the URL's last segment.
            if scheme.endpointIsSecret && !target.hasSuffix("/\(key)") { target += "/\(key)" }
            let delivery = scheme.sample(url: target, secret: key, eventType: event, now: Date())
            let http = OutboundHTTPClient(connections: 1)
            defer { Task { await http.shutdown() } }
            do {
                let response = try await http.send(OutboundRequest(
                    method: "POST", url: target, headers: delivery.headers.map { (name: $0.key, value: $0.value) }, body: delivery.body, timeout: .seconds(10)))
                print("\(response.status) \(response.text)")
                if !(200..<300).contains(response.status) { throw ExitCode(1) }
            } catch let error as OutboundHTTPError {
                printError("junction: \(error)")
                throw ExitStatus.unavailable
            }
        }
    }
}
