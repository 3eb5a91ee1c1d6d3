import Foundation
import JunctionCore

/// What the ingress's callback hands a worker in an `oauth.exchange` job: the connection, the
/// code and the PKCE verifier (both sealed with the key ring, bound to the connection: the
/// payload sits in Redis and, if the job fails, in the dead letters), the redirect URI the code
/// was issued for, and the account id the callback carried (QuickBooks's `realmId`, Shopify's `shop`).
public struct OAuthExchangeRequest: Sendable, Equatable, CustomStringConvertible {
    public static let jobType = "oauth.exchange"

    public var connection: UUID
    public var tenant: String
    public var provider: String
    public var code: String
    public var verifier: String?
    public var redirectURI: String
    public var account: String?

    public init(connection: UUID, tenant: String, provider: String, code: String, verifier: String?, redirectURI: String, account: String?) {
        self.connection = connection
        self.tenant = tenant
        self.provider = provider
        self.code = code
        self.verifier = verifier
        self.redirectURI = redirectURI
        self.account = account
    }

    public var description: String { "oauth exchange for \(provider) connection \(connection.uuidString.lowercased()) (code [redacted])" }

    static func context(_ connection: UUID, _ field: String) -> SealContext {
        SealContext("oauth.exchange", connection.uuidString.lowercased(), field)
    }

    /// The job payload, secrets sealed.
    public func payload(keys: KeyRing) -> JSONValue {
        func sealed(_ text: String, _ field: String) -> JSONValue {
            let value = keys.seal(Array(text.utf8), context: Self.context(connection, field))
            return .string("\(value.keyID):\(Base64.encode(value.bytes))")
        }
        var object: [String: JSONValue] = [
            "connection": .string(connection.uuidString.lowercased()), "tenant": .string(tenant), "provider": .string(provider),
            "code": sealed(code, "code"), "redirect_uri": .string(redirectURI),
        ]
        if let verifier { object["verifier"] = sealed(verifier, "verifier") }
        if let account { object["account"] = .string(account) }
        return .object(object)
    }

    /// Reads a job payload; throws a sentence when it is not one, or does not decrypt.
    public init(payload: JSONValue, keys: KeyRing) throws(InvalidValue) {
        guard let text = payload["connection"]?.stringValue, let connection = UUID(uuidString: text),
              let tenant = payload["tenant"]?.stringValue, let provider = payload["provider"]?.stringValue,
              let redirect = payload["redirect_uri"]?.stringValue, let code = payload["code"]?.stringValue else {
            throw InvalidValue("an oauth.exchange payload needs connection, tenant, provider, code and redirect_uri")
        }
        func open(_ text: String, _ field: String) throws(InvalidValue) -> String {
            let parts = text.split(separator: ":", maxSplits: 1)
            guard parts.count == 2, let bytes = Data(base64Encoded: String(parts[1])) else { throw InvalidValue("the sealed \(field) is malformed") }
            do {
                return String(decoding: try keys.open(SealedValue(keyID: String(parts[0]), bytes: Array(bytes)), context: Self.context(connection, field)), as: UTF8.self)
            } catch {
                throw InvalidValue("the sealed \(field) \(error)")
            }
        }
        self.connection = connection
        self.tenant = tenant
        self.provider = provider
        self.code = try open(code, "code")
        self.verifier = try payload["verifier"]?.stringValue.map { (text: String) throws(InvalidValue) in try open(text, "verifier") }
        self.redirectURI = redirect
        self.account = payload["account"]?.stringValue
    }
}
