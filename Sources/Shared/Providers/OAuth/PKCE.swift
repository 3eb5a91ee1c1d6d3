import Crypto
import Foundation
import JunctionCore

/// PKCE with S256 (RFC 7636): the verifier the connect flow keeps with its `state`, and the
/// challenge the authorize URL carries.
public enum PKCE {
    /// 32 random bytes from swift-crypto's secure generator, base64url without padding: 43
    /// characters, the length RFC 7636 recommends.
    public static func newVerifier() -> String {
        SymmetricKey(size: .bits256).withUnsafeBytes { base64URL(Array($0)) }
    }

    /// `base64url(SHA-256(ASCII(verifier)))` without padding.
    public static func challenge(for verifier: String) -> String {
        base64URL(Array(SHA256.hash(data: Array(verifier.utf8))))
    }

    static func base64URL(_ bytes: [UInt8]) -> String { Base64URL.encode(bytes) }
}
