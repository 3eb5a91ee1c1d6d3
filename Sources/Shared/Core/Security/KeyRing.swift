import Crypto
import Foundation

/// The keys credentials are encrypted under, from `JUNCTION_ENCRYPTION_KEYS`: a comma-separated
/// list of `id:base64` entries, each a 256-bit key. The first entry is the active key (new
/// ciphertexts use it); the others stay readable, so rotating means putting a new key first and
/// keeping the old ones until everything has been re-encrypted (the scheduler does that in the
/// background; `junction keys status` shows what is left). There is no default key.
///
/// ```text
/// JUNCTION_ENCRYPTION_KEYS=k2026b:3q2+7w...=,k2026a:q83v...=
/// ```
public struct KeyRing: Sendable {
    public static let variable = "JUNCTION_ENCRYPTION_KEYS"
    static let example = "k1:\(String(repeating: "A", count: 43))="

    public let activeID: String
    let keys: [String: SymmetricKey]

    /// The ids in the order they were configured, active first.
    public let ids: [String]

    public init(environment: EnvironmentVariables) throws(ConfigurationError) {
        let text = try environment.required(Self.variable, example: Self.example)
        do {
            try self.init(parsing: text)
        } catch {
            throw ConfigurationError(variable: Self.variable, problem: "\(Self.variable) is invalid: \(error.reason)",
                                     example: "\(Self.example) (generate one with `junction keys generate`)")
        }
    }

    public init(parsing text: String) throws(InvalidValue) {
        var keys: [String: SymmetricKey] = [:]
        var ids: [String] = []
        for (position, entry) in text.split(separator: ",").map({ $0.trimmingCharacters(in: .whitespaces) }).enumerated() where !entry.isEmpty {
            let parts = entry.split(separator: ":", maxSplits: 1)
            guard parts.count == 2 else { throw InvalidValue("entry \(position + 1) is not id:base64key") }
            let id = String(parts[0])
            guard Self.isValidID(id) else { throw InvalidValue("key id \"\(id)\" must be 1 to 32 letters, digits, '-' or '_'") }
            guard keys[id] == nil else { throw InvalidValue("key id \(id) appears twice") }
            // The key itself is never echoed.
            guard let bytes = Data(base64Encoded: String(parts[1])), bytes.count == 32 else {
                throw InvalidValue("key \(id) is not 32 bytes in base64 (generate one with `junction keys generate`)")
            }
            keys[id] = SymmetricKey(data: bytes)
            ids.append(id)
        }
        guard let active = ids.first else { throw InvalidValue("no keys") }
        self.keys = keys
        self.ids = ids
        activeID = active
    }

    static func isValidID(_ id: String) -> Bool {
        !id.isEmpty && id.utf8.count <= 32 && id.utf8.allSatisfy { byte in
            (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A) || byte == 0x2D || byte == 0x5F
        }
    }

    /// A new random key entry, `id:base64`, for the front of `JUNCTION_ENCRYPTION_KEYS`.
    public static func generateEntry(id: String) -> String {
        let key = SymmetricKey(size: .bits256)
        return "\(id):" + key.withUnsafeBytes { Data($0).base64EncodedString() }
    }

    /// Encrypts with the active key. `context` is authenticated but not stored: the same context
    /// must be given to open it, so a ciphertext copied to another row (another tenant, another
    /// field) does not decrypt.
    public func seal(_ plaintext: [UInt8], context: SealContext) -> SealedValue {
        // AES-GCM with a random 96-bit nonce; `combined` is nonce || ciphertext || tag.
        let box = try! AES.GCM.seal(plaintext, using: keys[activeID]!, authenticating: context.bytes)
        return SealedValue(keyID: activeID, bytes: Array(box.combined!))
    }

    public func open(_ sealed: SealedValue, context: SealContext) throws(SealError) -> [UInt8] {
        guard let key = keys[sealed.keyID] else { throw .unknownKey(sealed.keyID) }
        do {
            let box = try AES.GCM.SealedBox(combined: sealed.bytes)
            return Array(try AES.GCM.open(box, using: key, authenticating: context.bytes))
        } catch {
            throw .authenticationFailed(keyID: sealed.keyID)
        }
    }
}

/// A ciphertext and the id of the key it was sealed with.
public struct SealedValue: Sendable, Equatable {
    public var keyID: String
    /// nonce (12 bytes) || ciphertext || tag (16 bytes).
    public var bytes: [UInt8]

    public init(keyID: String, bytes: [UInt8]) {
        self.keyID = keyID
        self.bytes = bytes
    }
}

/// What a ciphertext belongs to (kind of record, owner, field), bound in as associated data.
public struct SealContext: Sendable {
    let bytes: [UInt8]

    public init(_ parts: String...) {
        // Length-prefixed, so ("a:b", "c") and ("a", "b:c") differ.
        var bytes: [UInt8] = Array("junction.v1".utf8)
        for part in parts {
            bytes.append(contentsOf: "|\(part.utf8.count):".utf8)
            bytes.append(contentsOf: part.utf8)
        }
        self.bytes = bytes
    }
}

public enum SealError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The ciphertext names a key id that JUNCTION_ENCRYPTION_KEYS no longer holds.
    case unknownKey(String)
    /// Wrong key, wrong context or altered bytes.
    case authenticationFailed(keyID: String)

    public var description: String {
        switch self {
        case .unknownKey(let id): "sealed under key \(id), which \(KeyRing.variable) does not hold (was it removed before re-encryption finished?)"
        case .authenticationFailed(let id): "does not decrypt under key \(id): altered, or sealed for another record"
        }
    }
}
