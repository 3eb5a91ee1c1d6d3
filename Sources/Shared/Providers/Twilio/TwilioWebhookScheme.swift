import Crypto
import Foundation
import JunctionCore

/// Twilio: `X-Twilio-Signature`, base64 HMAC-SHA1 (account auth token).
/// - Form posts: the full URL, then each parameter name sorted, with each of its values sorted,
///   as `name + value`.
/// - JSON bodies: the URL carries `bodySHA256=<hex sha256(body)>`; that hash must match the body,
///   and the signature covers the URL alone.
/// Like the official SDK, the URL is tried with and without an explicit default port. The event
/// id is `I-Twilio-Idempotency-Token`, or the message or call SID with its status.
public struct TwilioWebhookScheme: WebhookScheme {
    public let name = "twilio"

    public init() {}

    public func verify(_ delivery: WebhookDelivery, secrets: [WebhookSecret], now: Date) throws(WebhookRejection) {
        guard !secrets.isEmpty else { throw .noSecretConfigured }
        let header = try Signatures.require(delivery, "X-Twilio-Signature")
        guard let signature = Signatures.base64(header) else { throw .malformedHeader("X-Twilio-Signature", reason: "not base64") }
        let components = URLComponents(string: delivery.url)
        let bodyHash = components?.queryItems?.first { $0.name == "bodySHA256" }?.value
        var suffix = ""
        if let bodyHash {
            guard let claimed = Signatures.hex(Substring(bodyHash)), SHA256.hash(data: delivery.body) == claimed else { throw .invalidSignature }
        } else {
            var grouped: [String: [String]] = [:]
            for (name, value) in Signatures.formFields(delivery.body) { grouped[name, default: []].append(value) }
            for name in grouped.keys.sorted() {
                for value in grouped[name]!.sorted() { suffix += name + value }
            }
        }
        var matched = false
        for url in Self.variants(of: delivery.url) {
            let message = Array((url + suffix).utf8)
            if Signatures.anyMatches(secrets, signature, { $0.sha1(message) }) { matched = true }
        }
        guard matched else { throw .invalidSignature }
    }

    /// The URL as given, plus the same URL with its default port added or removed.
    static func variants(of url: String) -> [String] {
        guard var components = URLComponents(string: url), let scheme = components.scheme else { return [url] }
        let defaultPort = scheme == "https" ? 443 : 80
        if components.port == nil {
            components.port = defaultPort
        } else if components.port == defaultPort {
            components.port = nil
        } else {
            return [url]
        }
        return [url, components.string ?? url]
    }

    public func events(in delivery: WebhookDelivery) throws(WebhookEventError) -> [WebhookEvent] {
        let fields = delivery.firstFormFields
        if let token = delivery.header("I-Twilio-Idempotency-Token"), !token.isEmpty {
            return [WebhookEvent(eventID: token, eventType: fields["MessageStatus"] ?? fields["CallStatus"], body: delivery.body)]
        }
        guard let sid = fields["MessageSid"] ?? fields["CallSid"] else { throw .missing("I-Twilio-Idempotency-Token or MessageSid") }
        let status = fields["MessageStatus"] ?? fields["CallStatus"] ?? ""
        return [WebhookEvent(eventID: "\(sid):\(status)", eventType: status.isEmpty ? nil : status, body: delivery.body)]
    }

    public func sample(url: String, secret: String, eventType: String?, now: Date) -> WebhookDelivery {
        let id = Identifiers.uuid().replacingOccurrences(of: "-", with: "")
        let fields = [("AccountSid", "AC0123456789abcdef0123456789abcdef"), ("From", "+14158675309"), ("MessageSid", "SM\(id.prefix(32))"),
                      ("MessageStatus", eventType ?? "delivered"), ("To", "+18005551212")]
        let body = fields.map { "\($0.0)=\($0.1.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? $0.1)" }.joined(separator: "&")
        let signed = url + fields.sorted { $0.0 < $1.0 }.map { $0.0 + $0.1 }.joined()
        let signature = Data(Signatures.hmacSHA1(secret, Array(signed.utf8))).base64EncodedString()
        return WebhookDelivery(url: url, headers: ["Content-Type": "application/x-www-form-urlencoded", "X-Twilio-Signature": signature], body: Array(body.utf8))
    }

    public var vector: WebhookVector {
        WebhookVector(delivery: WebhookDelivery(url: "https://mycompany.com/myapp.php?foo=1&bar=2", headers: [
            "X-Twilio-Signature": "RSOYDt4T1cUTdK1PDd93/VVr8B8=", "Content-Type": "application/x-www-form-urlencoded",
        ], body: Array("CallSid=CA1234567890ABCDE&Caller=%2B14158675309&Digits=1234&From=%2B14158675309&To=%2B18005551212".utf8)),
        secret: "12345", validAt: Date(timeIntervalSince1970: 1_700_000_000), source: "Twilio's SDK tests")
    }
}
