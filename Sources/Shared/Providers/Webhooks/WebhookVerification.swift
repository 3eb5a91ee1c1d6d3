import Crypto
import Foundation

/// A webhook delivery as the ingress received it: everything a provider's signature covers.
public struct WebhookDelivery: Sendable {
    public var method: String
    /// The URL the provider called, exactly as configured with the provider (scheme, host, port,
    /// path, query): built from `JUNCTION_PUBLIC_URL`, so it is right behind a proxy.
    public var url: String
    /// Header fields with lowercased names.
    public var headers: [String: String]
    /// The raw body bytes, never re-serialised.
    public var body: [UInt8]

    public init(method: String = "POST", url: String, headers: [String: String], body: [UInt8]) {
        self.method = method
        self.url = url
        self.headers = Dictionary(headers.map { ($0.key.lowercased(), $0.value) }) { first, _ in first }
        self.body = body
    }

    /// For headers whose names are lowercased already (the ingress reads them that way).
    public init(method: String = "POST", url: String, lowercasedHeaders: [String: String], body: [UInt8]) {
        self.method = method
        self.url = url
        self.headers = lowercasedHeaders
        self.body = body
    }

    public func header(_ name: String) -> String? { headers[name.lowercased()] }
}

/// Why a delivery was refused; the ingress maps each to its HTTP answer.
public enum WebhookRejection: Error, Sendable, Equatable, CustomStringConvertible {
    /// No secret is configured for this provider or endpoint: fail closed.
    case noSecretConfigured
    /// The signature header is absent (400).
    case missingHeader(String)
    /// The signature header cannot be read (400).
    case malformedHeader(String, reason: String)
    /// No active secret produces this signature (401).
    case invalidSignature
    /// The signed timestamp is outside the tolerance, in either direction (401).
    case staleTimestamp(ageSeconds: Int)

    public var description: String {
        switch self {
        case .noSecretConfigured: "no webhook secret is configured for this endpoint"
        case .missingHeader(let name): "the \(name) header is missing"
        case .malformedHeader(let name, let reason): "the \(name) header is malformed: \(reason)"
        case .invalidSignature: "the signature does not match any active secret"
        case .staleTimestamp(let age): "the signed timestamp is \(abs(age)) s \(age >= 0 ? "old" : "in the future"), outside the tolerance"
        }
    }
}

/// The building blocks the schemes share. Every comparison of secret-derived bytes goes through
/// swift-crypto's constant-time equality (`HashedAuthenticationCode` and digest `==`).
enum Signatures {
    /// swift-crypto's HMAC-SHA256, key set-up included: what the samples sign with. The schemes
    /// verify with ``WebhookSecret``, which keeps each secret's key schedule.
    static func hmacSHA256(_ key: String, _ message: [UInt8]) -> [UInt8] {
        Array(HMAC<SHA256>.authenticationCode(for: message, using: SymmetricKey(data: Array(key.utf8))))
    }

    static func hmacSHA1(_ key: String, _ message: [UInt8]) -> [UInt8] {
        Array(HMAC<Insecure.SHA1>.authenticationCode(for: message, using: SymmetricKey(data: Array(key.utf8))))
    }

    /// True when any secret's code equals `signature`, compared in constant time. Every secret is
    /// tried, so the time taken does not reveal which one matched.
    static func anyMatches<H: HashFunction>(_ secrets: [WebhookSecret], _ signature: [UInt8],
                                            _ code: (WebhookSecret) -> HashedAuthenticationCode<H>) -> Bool {
        var matched = false
        for secret in secrets where code(secret) == signature { matched = true }
        return matched
    }

    /// True when `presented` equals any secret's text, in time that depends on neither: both are
    /// hashed and the digests compared with swift-crypto's constant-time equality (for a secret
    /// carried in the URL, which no HMAC covers).
    static func anyEquals(_ secrets: [WebhookSecret], _ presented: some StringProtocol) -> Bool {
        let digest = SHA256.hash(data: Array(presented.utf8))
        var matched = false
        for secret in secrets where SHA256.hash(data: Array(secret.text.utf8)) == digest { matched = true }
        return matched
    }

    static func hex(_ text: Substring) -> [UInt8]? {
        // In place when the header's bytes are contiguous (always, for a native string).
        if let decoded = text.utf8.withContiguousStorageIfAvailable({ hex(digits: $0) }) { return decoded }
        return Array(text.utf8).withUnsafeBufferPointer { hex(digits: $0) }
    }

    private static func hex(digits: UnsafeBufferPointer<UInt8>) -> [UInt8]? {
        guard digits.count % 2 == 0 else { return nil }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(digits.count / 2)
        var index = 0
        while index < digits.count {
            guard let high = nibble(digits[index]), let low = nibble(digits[index + 1]) else { return nil }
            bytes.append(high << 4 | low)
            index += 2
        }
        return bytes
    }

    static func base64(_ text: String) -> [UInt8]? {
        Data(base64Encoded: text.trimmingCharacters(in: .whitespaces)).map(Array.init)
    }

    static func hexString(_ bytes: some Sequence<UInt8>) -> String {
        bytes.map { String($0, radix: 16).count == 1 ? "0" + String($0, radix: 16) : String($0, radix: 16) }.joined()
    }

    private static func nibble(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
        default: nil
        }
    }

    /// Rejects a timestamp more than `tolerance` seconds from `now`, either way.
    static func checkTimestamp(_ seconds: Int64, now: Date, tolerance: Int64) throws(WebhookRejection) {
        let age = Int64(now.timeIntervalSince1970) - seconds
        guard abs(age) <= tolerance else { throw .staleTimestamp(ageSeconds: Int(clamping: age)) }
    }

    static func require(_ delivery: WebhookDelivery, _ name: String) throws(WebhookRejection) -> String {
        guard let value = delivery.header(name), !value.isEmpty else { throw .missingHeader(name) }
        return value
    }

    /// `application/x-www-form-urlencoded` fields, in order, decoded.
    static func formFields(_ body: [UInt8]) -> [(String, String)] {
        String(decoding: body, as: UTF8.self).split(separator: "&", omittingEmptySubsequences: true).map { pair in
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            func decode(_ text: Substring) -> String {
                text.replacingOccurrences(of: "+", with: " ").removingPercentEncoding ?? String(text)
            }
            return (decode(parts[0]), parts.count > 1 ? decode(parts[1]) : "")
        }
    }
}
