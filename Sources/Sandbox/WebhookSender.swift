import Crypto
import Foundation
import JunctionCore
import Logging
import Synchronization

/// Posts signed webhooks when data changes, signed exactly as each provider signs, and retries a
/// delivery answered with anything but 2xx (doubling pauses, as the providers back off).
final class WebhookSender: Sendable {
    let options: SandboxOptions
    let logger: Logger
    let http = OutboundHTTPClient(connections: 4)
    /// Set at run time (`PUT /_sandbox/webhook-url`), for a receiver that starts after the sandbox.
    let webhookURL: Mutex<String?>
    /// The URL the receiver is known by publicly (what a Square subscription is configured with and
    /// signs), where it differs from the one posted to; nil: the same.
    let signedURL = Mutex<String?>(nil)

    init(options: SandboxOptions, logger: Logger) {
        self.options = options
        self.logger = logger
        webhookURL = Mutex(options.webhookURL)
    }

    static func hmac(_ key: String, _ message: String) -> [UInt8] {
        Array(HMAC<SHA256>.authenticationCode(for: Array(message.utf8), using: SymmetricKey(data: Array(key.utf8))))
    }

    static func hex(_ bytes: [UInt8]) -> String {
        let digits = Array("0123456789abcdef".utf8)
        return String(decoding: bytes.flatMap { [digits[Int($0 >> 4)], digits[Int($0 & 15)]] }, as: UTF8.self)
    }

    private func target(_ provider: SandboxProvider, suffix: String = "") -> String? {
        webhookURL.withLock { $0 }.map { "\($0)/\(provider.rawValue)\(suffix)" }
    }

    /// Stripe: the event object, `Stripe-Signature: t=…,v1=HMAC-SHA256("{t}.{body}")`.
    func stripe(event: JSONValue) {
        guard let url = target(.stripe), let secret = options.webhookSecrets["stripe"] else { return }
        let body = event.serialized
        deliver(.stripe, url: url, body: body, headers: { attemptTime in
            let t = Int64(attemptTime.timeIntervalSince1970)
            return ["Content-Type": "application/json", "Stripe-Signature": "t=\(t),v1=\(Self.hex(Self.hmac(secret, "\(t).\(body)")))"]
        })
    }

    /// Square: `x-square-hmacsha256-signature` = base64 HMAC-SHA256(notification URL + body).
    func square(type: String, objectType: String, id: String, object: JSONValue) {
        guard let url = target(.square), let key = options.webhookSecrets["square"] else { return }
        let signed = signedURL.withLock { $0 }.map { "\($0)/\(SandboxProvider.square.rawValue)" } ?? url
        let body: JSONValue = [
            "merchant_id": "ML8M1AQ1GQG2K", "type": .string(type), "event_id": .string(UUID().uuidString.lowercased()),
            "created_at": .string(Timestamp.format(Date())), "data": ["type": .string(objectType), "id": .string(id), "object": [objectType: object]],
        ]
        let text = body.serialized
        let signature = Data(Self.hmac(key, signed + text)).base64EncodedString()
        deliver(.square, url: url, body: text, headers: { _ in ["Content-Type": "application/json", "x-square-hmacsha256-signature": signature] })
    }

    /// QuickBooks: a CloudEvents array, `intuit-signature` = base64 HMAC-SHA256(body) with the
    /// verifier token.
    func quickbooks(entity: String, operation: String, id: String, realm: String) {
        guard let url = target(.quickbooks), let token = options.webhookSecrets["quickbooks"] else { return }
        let event: JSONValue = [[
            "specversion": "1.0", "id": .string(UUID().uuidString.lowercased()), "source": "intuit.sandbox",
            "type": .string("qbo.\(entity.lowercased()).\(operation).v1"), "datacontenttype": "application/json",
            "time": .string(Timestamp.format(Date())), "intuitentityid": .string(id), "intuitaccountid": .string(realm), "data": [:],
        ]]
        let text = event.serialized
        let signature = Data(Self.hmac(token, text)).base64EncodedString()
        deliver(.quickbooks, url: url, body: text, headers: { _ in ["Content-Type": "application/cloudevents-batch+json", "intuit-signature": signature] })
    }

    /// Mailchimp Marketing: an unsigned form post to the callback URL that carries the token.
    func mailchimp(type: String, listID: String, email: String, memberID: String) {
        guard let token = options.webhookSecrets["mailchimp"], let url = target(.mailchimp, suffix: "/\(token)") else { return }
        func encode(_ text: String) -> String { text.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? text }
        let firedAt = Timestamp.format(Date()).prefix(19).replacingOccurrences(of: "T", with: " ")
        let body = "type=\(type)&fired_at=\(encode(firedAt))&data%5Bid%5D=\(memberID)&data%5Blist_id%5D=\(listID)&data%5Bemail%5D=\(encode(email))"
        deliver(.mailchimp, url: url, body: body, headers: { _ in ["Content-Type": "application/x-www-form-urlencoded"] })
    }

    private func deliver(_ provider: SandboxProvider, url: String, body: String, headers: @escaping @Sendable (Date) -> [String: String]) {
        let attempts = options.webhookAttempts
        let first = options.webhookFirstRetry
        let http = self.http
        let logger = self.logger
        Task {
            var pause = first
            for attempt in 1...max(1, attempts) {
                let status: Int
                do {
                    let signed = headers(Date())
                    status = try await http.send(OutboundRequest(method: "POST", url: url, headers: signed.map { (name: $0.key, value: $0.value) },
                                                                 body: Array(body.utf8), timeout: .seconds(10))).status
                } catch {
                    status = 0
                }
                if (200..<300).contains(status) { return }
                logger.warning("webhook not accepted; retrying", metadata: [
                    "provider": .string(provider.rawValue), "status": .stringConvertible(status), "attempt": .stringConvertible(attempt),
                ])
                if attempt == attempts { break }
                try? await Task.sleep(for: pause)
                pause *= 2
            }
            logger.error("webhook given up after every retry", metadata: ["provider": .string(provider.rawValue)])
        }
    }
}
