import Crypto

/// One active webhook secret, prepared once when it is loaded (from the environment, or when the
/// ingress refreshes its endpoint cache): its HMAC-SHA256 key schedule is computed here, and each
/// delivery starts from a copy of it (`HMAC` is a value type), so verifying costs the blocks of
/// the message and the outer block, not a fresh key set-up per request. No cache keyed by secrets
/// exists anywhere: the prepared value travels with the secret and goes when it goes.
public struct WebhookSecret: Sendable, CustomStringConvertible {
    /// The secret as configured (its UTF-8 bytes are the key, `whsec_…` included).
    public let text: String
    let key: SymmetricKey
    let sha256: HMAC<SHA256>

    public init(_ text: String) {
        self.text = text
        key = SymmetricKey(data: Array(text.utf8))
        sha256 = HMAC<SHA256>(key: key)
    }

    /// HMAC-SHA256 of `message`, from the prepared key schedule.
    func sha256(_ message: [UInt8]) -> HashedAuthenticationCode<SHA256> {
        var mac = sha256
        mac.update(data: message)
        return mac.finalize()
    }

    /// HMAC-SHA256 of `prefix` followed by `message`, without joining them first.
    func sha256(prefix: String, _ message: [UInt8]) -> HashedAuthenticationCode<SHA256> {
        var mac = sha256
        var prefix = prefix
        prefix.withUTF8 { mac.update(data: UnsafeRawBufferPointer($0)) }
        mac.update(data: message)
        return mac.finalize()
    }

    /// HMAC-SHA1 of `message` (Mandrill, Twilio: rare enough not to keep a key schedule for).
    func sha1(_ message: [UInt8]) -> HashedAuthenticationCode<Insecure.SHA1> {
        HMAC<Insecure.SHA1>.authenticationCode(for: message, using: key)
    }

    /// Never the secret itself, so that interpolating one into a log line leaks nothing.
    public var description: String { "WebhookSecret([redacted])" }
}
