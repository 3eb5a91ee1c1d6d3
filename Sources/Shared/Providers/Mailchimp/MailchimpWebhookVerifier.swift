import Foundation

/// Mailchimp Marketing webhooks are unsigned: the callback URL carries an unguessable
/// per-connection token (its last path segment), compared in constant time with the endpoint's
/// active tokens.
public struct MailchimpWebhookVerifier: WebhookVerifier {
    public init() {}

    public func verify(_ delivery: WebhookDelivery, secrets: [String], now: Date) throws(WebhookRejection) {
        guard !secrets.isEmpty else { throw .noSecretConfigured }
        guard let path = URLComponents(string: delivery.url)?.path, let token = path.split(separator: "/").last, !token.isEmpty else {
            throw .missingHeader("URL token")
        }
        let presented = Array(token.utf8)
        guard Signatures.anyMatches(secrets, presented, { Array($0.utf8) }) else { throw .invalidSignature }
    }
}

/// Mailchimp Transactional (Mandrill): `X-Mandrill-Signature`, base64 HMAC-SHA1 (webhook key) of
/// the URL as configured followed by each POST field sorted by name as `name + value`.
public struct MandrillWebhookVerifier: WebhookVerifier {
    public init() {}

    public func verify(_ delivery: WebhookDelivery, secrets: [String], now: Date) throws(WebhookRejection) {
        guard !secrets.isEmpty else { throw .noSecretConfigured }
        let header = try Signatures.require(delivery, "X-Mandrill-Signature")
        guard let signature = Signatures.base64(header) else { throw .malformedHeader("X-Mandrill-Signature", reason: "not base64") }
        var signed = delivery.url
        for (name, value) in Signatures.formFields(delivery.body).sorted(by: { $0.0 < $1.0 }) {
            signed += name + value
        }
        let message = Array(signed.utf8)
        guard Signatures.anyMatches(secrets, signature, { Signatures.hmacSHA1($0, message) }) else { throw .invalidSignature }
    }
}
