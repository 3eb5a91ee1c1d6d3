import Crypto
import Foundation
import HTTPTypes
import Hummingbird
import JunctionCore

/// The internal services allowed to call `/v1/admin/*`, each with its key and permissions, and the
/// check of their signed requests. There is no switch that turns the check off.
///
/// | variable | meaning |
/// |---|---|
/// | `JUNCTION_ADMIN_SERVICES` | `service:permission|permission,…`, such as `ops:*,billing:read`; unset: `/v1/admin` answers 503 |
/// | `JUNCTION_ADMIN_KEY_<SERVICE>` | the service's HMAC key, at least 32 bytes (`<SERVICE>` upper-cased, `-` as `_`) |
///
/// Permissions: `read` (health, connections, dead letters), `sync` (force a sync), `dead_letters`
/// (replay and purge), `*` (all).
///
/// A request carries `X-Junction-Service`, `X-Junction-Timestamp` (Unix seconds),
/// `X-Junction-Nonce` (16 to 64 of `A-Z a-z 0-9 _ -`) and `X-Junction-Signature`: the lowercase
/// hex HMAC-SHA256, under the service's key, of
/// `service:timestamp:nonce:METHOD:path:sha256(body)`, where `path` is the request target as sent
/// (with its query) and `sha256(body)` is lowercase hex (of nothing, for no body). The timestamp
/// must be within 60 s of the server's clock, and a nonce is accepted once (Redis, for 2 minutes:
/// past the window a replay fails on its timestamp).
package struct AdminServices: Sendable {
    package enum Permission: String, Sendable, CaseIterable {
        case read, sync
        case deadLetters = "dead_letters"
    }

    struct Service: Sendable {
        let name: String
        let key: SymmetricKey
        let permissions: Set<Permission>
    }

    let services: [String: Service]
    static let window: TimeInterval = 60
    static let nonceLifetime = 120

    /// Reads the settings; nil when `JUNCTION_ADMIN_SERVICES` is unset. A listed service without a
    /// usable key stops the process, naming the variable.
    package static func load(environment: EnvironmentVariables) throws(ConfigurationError) -> AdminServices? {
        let list = environment.string("JUNCTION_ADMIN_SERVICES", default: "")
        guard !list.isEmpty else { return nil }
        var services: [String: Service] = [:]
        for entry in list.split(separator: ",").map({ $0.trimmingCharacters(in: .whitespaces) }) where !entry.isEmpty {
            let parts = entry.split(separator: ":", maxSplits: 1).map(String.init)
            let name = parts[0]
            guard !name.isEmpty, name.utf8.count <= 64, name.utf8.allSatisfy({ $0.isASCIIAlphanumeric || $0 == UInt8(ascii: "-") || $0 == UInt8(ascii: "_") }) else {
                throw ConfigurationError(variable: "JUNCTION_ADMIN_SERVICES", problem: "JUNCTION_ADMIN_SERVICES has a service named \"\(name)\": 1 to 64 of A-Z a-z 0-9 - _",
                                         example: "ops:*,billing:read")
            }
            var permissions: Set<Permission> = []
            for text in (parts.count > 1 ? parts[1] : "").split(separator: "|").map(String.init) {
                if text == "*" {
                    permissions.formUnion(Permission.allCases)
                } else if let permission = Permission(rawValue: text) {
                    permissions.insert(permission)
                } else {
                    throw ConfigurationError(variable: "JUNCTION_ADMIN_SERVICES",
                                             problem: "JUNCTION_ADMIN_SERVICES gives \(name) the permission \"\(text)\": one of read, sync, dead_letters, *", example: "ops:*,billing:read")
                }
            }
            guard !permissions.isEmpty else {
                throw ConfigurationError(variable: "JUNCTION_ADMIN_SERVICES", problem: "JUNCTION_ADMIN_SERVICES lists \(name) with no permission", example: "\(name):read")
            }
            let variable = "JUNCTION_ADMIN_KEY_" + name.uppercased().replacingOccurrences(of: "-", with: "_")
            let key = try environment.required(variable, example: "32 or more random bytes (openssl rand -base64 48)")
            guard key.utf8.count >= 32 else {
                throw ConfigurationError(variable: variable, problem: "\(variable) is shorter than 32 bytes", example: "openssl rand -base64 48")
            }
            services[name] = Service(name: name, key: SymmetricKey(data: Array(key.utf8)), permissions: permissions)
        }
        return services.isEmpty ? nil : AdminServices(services: services)
    }

    /// The service that signed `request`, or the problem to answer (401). A failure says which
    /// check failed but never how close a signature was.
    func verify(_ request: Request, body: ByteBuffer?, redis: RedisClient, namespace: RedisNamespace, now: Date = Date()) async throws -> Service {
        func refuse(_ detail: String) -> Problem {
            Problem(status: .unauthorized, slug: "unauthenticated-service", title: "Not an authenticated internal service", detail: detail)
        }
        func header(_ name: String) -> String? { request.headers[HTTPField.Name(name)!] }
        guard let name = header("X-Junction-Service"), let timestamp = header("X-Junction-Timestamp"), let nonce = header("X-Junction-Nonce"),
              let signature = header("X-Junction-Signature") else {
            throw refuse("send X-Junction-Service, X-Junction-Timestamp, X-Junction-Nonce and X-Junction-Signature (docs/api.md#admin-operations)")
        }
        guard let service = services[name] else { throw refuse("unknown service") }
        guard let seconds = Int64(timestamp), abs(Double(seconds) - now.timeIntervalSince1970) <= Self.window else {
            throw refuse("the timestamp is not within \(Int(Self.window)) s of the server's clock")
        }
        guard (16...64).contains(nonce.utf8.count),
              nonce.utf8.allSatisfy({ $0.isASCIIAlphanumeric || $0 == UInt8(ascii: "-") || $0 == UInt8(ascii: "_") }) else {
            throw refuse("the nonce must be 16 to 64 of A-Z a-z 0-9 _ -")
        }
        let bodyDigest = SHA256.hash(data: body.map { Array($0.readableBytesView) } ?? []).hex
        let target = request.uri.path + (request.uri.query.map { "?" + $0 } ?? "")
        let message = "\(name):\(timestamp):\(nonce):\(request.method.rawValue):\(target):\(bodyDigest)"
        guard let given = Self.bytes(hex: signature),
              HMAC<SHA256>.isValidAuthenticationCode(given, authenticating: Array(message.utf8), using: service.key) else {
            throw refuse("the signature does not match")
        }
        // Single use: only after the signature holds, so no one can burn another service's nonces.
        let stored = try await redis.command("SET", RedisArgument(namespace.key("admin", "nonce", name, nonce)), "1", "NX", "EX", RedisArgument(Self.nonceLifetime))
        guard case .status = stored else { throw refuse("this nonce was used before") }
        return service
    }

    /// The signature headers for a request: for callers (the tests, and services written in Swift).
    package static func sign(service: String, key: String, method: String, target: String, body: [UInt8], timestamp: Date = Date(),
                             nonce: String = UUID().uuidString.replacingOccurrences(of: "-", with: "")) -> [(String, String)] {
        let seconds = String(Int64(timestamp.timeIntervalSince1970))
        let message = "\(service):\(seconds):\(nonce):\(method):\(target):\(SHA256.hash(data: body).hex)"
        let code = HMAC<SHA256>.authenticationCode(for: Array(message.utf8), using: SymmetricKey(data: Array(key.utf8)))
        return [("X-Junction-Service", service), ("X-Junction-Timestamp", seconds), ("X-Junction-Nonce", nonce),
                ("X-Junction-Signature", Data(code).map { String(format: "%02x", $0) }.joined())]
    }

    static func bytes(hex: String) -> [UInt8]? {
        let utf8 = Array(hex.utf8)
        guard utf8.count == 64 else { return nil }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(32)
        var index = 0
        while index < utf8.count {
            guard let high = Self.nibble(utf8[index]), let low = Self.nibble(utf8[index + 1]) else { return nil }
            bytes.append(high << 4 | low)
            index += 2
        }
        return bytes
    }

    static func nibble(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
        default: nil
        }
    }
}

extension UInt8 {
    fileprivate var isASCIIAlphanumeric: Bool {
        (self >= 0x30 && self <= 0x39) || (self >= 0x41 && self <= 0x5A) || (self >= 0x61 && self <= 0x7A)
    }
}

extension Digest {
    fileprivate var hex: String { map { String(format: "%02x", $0) }.joined() }
}
