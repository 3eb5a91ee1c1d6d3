/// The common scheme "HMAC-SHA256 of the raw body in one header" (QuickBooks, Shopify, GitHub).
struct BodyHMACSHA256 {
    enum Encoding { case base64, prefixedHex(String) }
    let header: String
    let encoding: Encoding

    func verify(_ delivery: WebhookDelivery, secrets: [WebhookSecret]) throws(WebhookRejection) {
        guard !secrets.isEmpty else { throw .noSecretConfigured }
        let value = try Signatures.require(delivery, header)
        let signature: [UInt8]
        switch encoding {
        case .base64:
            guard let bytes = Signatures.base64(value) else { throw .malformedHeader(header, reason: "not base64") }
            signature = bytes
        case .prefixedHex(let prefix):
            guard value.hasPrefix(prefix), let bytes = Signatures.hex(value.dropFirst(prefix.count)) else {
                throw .malformedHeader(header, reason: "expected \(prefix)<hex>")
            }
            signature = bytes
        }
        guard Signatures.anyMatches(secrets, signature, { $0.sha256(delivery.body) }) else { throw .invalidSignature }
    }
}
