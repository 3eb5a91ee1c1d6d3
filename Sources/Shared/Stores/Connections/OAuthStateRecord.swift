import Crypto
import Foundation
import JunctionCore

/// What the connect flow's `state` stands for while the tenant is at the provider: stored in
/// Redis for 10 minutes under the SHA-256 of the state (a Redis reader learns no usable state),
/// sealed with the key ring (the PKCE verifier is in it), and consumed once with `GETDEL`.
public struct OAuthStateRecord: Sendable, Equatable {
    public static let lifetime = Duration.seconds(600)

    public var tenant: String
    public var provider: String
    public var connection: UUID
    public var verifier: String?
    public var returnURL: String?
    /// Shopify's shop host, given at initiate.
    public var shop: String?

    public init(tenant: String, provider: String, connection: UUID, verifier: String?, returnURL: String?, shop: String?) {
        self.tenant = tenant
        self.provider = provider
        self.connection = connection
        self.verifier = verifier
        self.returnURL = returnURL
        self.shop = shop
    }

    /// A new state: 32 random bytes, base64url.
    public static func newState() -> String {
        SymmetricKey(size: .bits256).withUnsafeBytes { Base64URL.encode(Array($0)) }
    }

    static func digest(_ state: String) -> String {
        Hex.encode(Array(SHA256.hash(data: Array(state.utf8))))
    }

    /// `{namespace}:oauth:state:<sha256 hex>`.
    public static func key(_ state: String, namespace: RedisNamespace) -> String {
        namespace.key("oauth", "state", digest(state))
    }

    static func context(_ state: String) -> SealContext { SealContext("oauth.state", digest(state)) }

    /// The value stored: `keyid:base64(sealed JSON)`.
    public func sealed(state: String, keys: KeyRing) -> String {
        var object: [String: JSONValue] = ["tenant": .string(tenant), "provider": .string(provider), "connection": .string(connection.uuidString.lowercased())]
        if let verifier { object["verifier"] = .string(verifier) }
        if let returnURL { object["return_url"] = .string(returnURL) }
        if let shop { object["shop"] = .string(shop) }
        let value = keys.seal(Array(JSONValue.object(object).serialized.utf8), context: Self.context(state))
        return "\(value.keyID):\(Base64.encode(value.bytes))"
    }

    /// Opens a stored value; nil when it was not sealed for this state (tampered, or another's).
    public init?(sealed text: String, state: String, keys: KeyRing) {
        let parts = text.split(separator: ":", maxSplits: 1)
        guard parts.count == 2, let bytes = Data(base64Encoded: String(parts[1])),
              let plaintext = try? keys.open(SealedValue(keyID: String(parts[0]), bytes: Array(bytes)), context: Self.context(state)),
              case .object(let object)? = try? JSONValue(parsing: plaintext),
              let tenant = object["tenant"]?.stringValue, let provider = object["provider"]?.stringValue,
              let connection = object["connection"]?.stringValue.flatMap(UUID.init(uuidString:)) else { return nil }
        self.init(tenant: tenant, provider: provider, connection: connection, verifier: object["verifier"]?.stringValue,
                  returnURL: object["return_url"]?.stringValue, shop: object["shop"]?.stringValue)
    }
}
