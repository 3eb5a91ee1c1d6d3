import Foundation
import Hummingbird
import JWTKit
import JunctionCore

/// Verifies a tenant's JWT (`Authorization: Bearer …`) the way the management API specifies it:
/// the algorithm is pinned by configuration (a token announcing any other is refused before its
/// signature is looked at, so `alg: none` and an HS256 token made with an RS256 public key fail),
/// issuer and audience are required, `exp` and `nbf` hold with 30 s of leeway, and the tenant is
/// read from a configured claim. Roles come from another claim (`viewer` when absent).
///
/// | variable | meaning |
/// |---|---|
/// | `JUNCTION_JWT_ALGORITHM` | `HS256`, `RS256` or `ES256`; unset: tenant routes answer 503 |
/// | `JUNCTION_JWT_SECRET` | HS256's key, at least 32 bytes |
/// | `JUNCTION_JWT_PUBLIC_KEY_FILE` | RS256/ES256: a PEM public key |
/// | `JUNCTION_JWT_JWKS_FILE` | RS256/ES256: a JWKS document instead (keys chosen by `kid`) |
/// | `JUNCTION_JWT_ISSUER`, `JUNCTION_JWT_AUDIENCE` | required `iss` and `aud` |
/// | `JUNCTION_JWT_TENANT_CLAIM` | the claim naming the tenant (`tenant`) |
/// | `JUNCTION_JWT_ROLES_CLAIM` | the claim listing roles (`roles`) |
public struct TenantAuthenticator: Sendable {
    public enum Algorithm: String, Sendable, CaseIterable {
        case hs256 = "HS256", rs256 = "RS256", es256 = "ES256"
    }

    /// Who a verified token speaks for.
    public struct Tenant: Sendable, Equatable {
        public var id: String
        public var subject: String?
        public var roles: Set<String>

        public var isAdmin: Bool { roles.contains("admin") }

        public init(id: String, subject: String?, roles: Set<String>) {
            self.id = id
            self.subject = subject
            self.roles = roles
        }
    }

    public let algorithm: Algorithm
    let keys: JWTKeyCollection
    let issuer: String
    let audience: String
    let tenantClaim: String
    let rolesClaim: String
    static let leeway: TimeInterval = 30

    /// Reads the settings; nil when `JUNCTION_JWT_ALGORITHM` is unset (nothing can authenticate
    /// as a tenant then). Half a configuration stops the process, naming what is missing.
    public static func load(environment: EnvironmentVariables) async throws -> TenantAuthenticator? {
        let name = environment.string("JUNCTION_JWT_ALGORITHM", default: "")
        if name.isEmpty { return nil }
        guard let algorithm = Algorithm(rawValue: name.uppercased()) else {
            throw ConfigurationError(variable: "JUNCTION_JWT_ALGORITHM", problem: "JUNCTION_JWT_ALGORITHM=\(name) is not one of HS256, RS256, ES256", example: "RS256")
        }
        let issuer = try environment.required("JUNCTION_JWT_ISSUER", example: "https://auth.example.com/")
        let audience = try environment.required("JUNCTION_JWT_AUDIENCE", example: "junction")
        let keys = JWTKeyCollection()
        switch algorithm {
        case .hs256:
            let secret = try environment.required("JUNCTION_JWT_SECRET", example: "32 or more random bytes (openssl rand -base64 48)")
            guard secret.utf8.count >= 32 else {
                throw ConfigurationError(variable: "JUNCTION_JWT_SECRET", problem: "JUNCTION_JWT_SECRET is shorter than 32 bytes", example: "openssl rand -base64 48")
            }
            await keys.add(hmac: HMACKey(from: secret), digestAlgorithm: .sha256)
        case .rs256, .es256:
            let pemFile = environment.string("JUNCTION_JWT_PUBLIC_KEY_FILE", default: "")
            let jwksFile = environment.string("JUNCTION_JWT_JWKS_FILE", default: "")
            func read(_ variable: String, _ path: String) throws -> String {
                guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
                    throw ConfigurationError(variable: variable, problem: "\(variable)=\(path) cannot be read", example: "/etc/junction/jwt.pem")
                }
                return text
            }
            do {
                if !jwksFile.isEmpty {
                    try await keys.add(jwksJSON: try read("JUNCTION_JWT_JWKS_FILE", jwksFile))
                } else if !pemFile.isEmpty {
                    let pem = try read("JUNCTION_JWT_PUBLIC_KEY_FILE", pemFile)
                    if algorithm == .rs256 {
                        await keys.add(rsa: try Insecure.RSA.PublicKey(pem: pem), digestAlgorithm: .sha256)
                    } else {
                        await keys.add(ecdsa: try ES256PublicKey(pem: pem))
                    }
                } else {
                    throw ConfigurationError(variable: "JUNCTION_JWT_PUBLIC_KEY_FILE", problem: "JUNCTION_JWT_PUBLIC_KEY_FILE or JUNCTION_JWT_JWKS_FILE is required for \(algorithm.rawValue)",
                                             example: "/etc/junction/jwt-public.pem")
                }
            } catch let error as ConfigurationError {
                throw error
            } catch {
                throw ConfigurationError(variable: jwksFile.isEmpty ? "JUNCTION_JWT_PUBLIC_KEY_FILE" : "JUNCTION_JWT_JWKS_FILE",
                                         problem: "the \(algorithm.rawValue) key does not load: \(error)", example: "a PEM public key or a JWKS document")
            }
        }
        return TenantAuthenticator(algorithm: algorithm, keys: keys, issuer: issuer, audience: audience,
                                   tenantClaim: environment.string("JUNCTION_JWT_TENANT_CLAIM", default: "tenant"),
                                   rolesClaim: environment.string("JUNCTION_JWT_ROLES_CLAIM", default: "roles"))
    }

    /// The claims as sent: any names, since the tenant and roles claims are configured.
    struct Claims: JWTPayload {
        let values: [String: JSONValue]

        init(from decoder: any Decoder) throws {
            values = try [String: JSONValue](from: decoder)
        }

        func encode(to encoder: any Encoder) throws { try values.encode(to: encoder) }

        /// Claims are checked by ``TenantAuthenticator/authenticate(_:now:)``, after the signature.
        func verify(using algorithm: some JWTAlgorithm) throws {}
    }

    /// Why a token is refused: said in the 401's detail (never echoing the token).
    public struct Refusal: Error, Sendable, Equatable, CustomStringConvertible {
        public let description: String
        init(_ description: String) { self.description = description }
    }

    /// Verifies `Authorization: Bearer <jwt>`.
    public func authenticate(authorization: String?, now: Date = Date()) async throws(Refusal) -> Tenant {
        guard let authorization, authorization.lowercased().hasPrefix("bearer ") else { throw Refusal("send Authorization: Bearer <tenant JWT>") }
        let token = String(authorization.dropFirst(7)).trimmingCharacters(in: .whitespaces)
        let parts = token.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 3, let headerBytes = Base64URL.decode(String(parts[0])),
              case .object(let header)? = try? JSONValue(parsing: headerBytes) else {
            throw Refusal("the token is not a JWT")
        }
        guard header["alg"]?.stringValue == algorithm.rawValue else {
            throw Refusal("the token's algorithm is \(header["alg"]?.stringValue ?? "missing"); this service accepts \(algorithm.rawValue) only")
        }
        let claims: Claims
        do {
            claims = try await keys.verify(token, as: Claims.self)
        } catch {
            throw Refusal("the token's signature does not verify")
        }
        func seconds(_ name: String) -> Double? {
            switch claims.values[name] {
            case .integer(let value)?: Double(value)
            case .number(let value)?: value
            default: nil
            }
        }
        guard let exp = seconds("exp") else { throw Refusal("the token has no exp") }
        guard now.timeIntervalSince1970 <= exp + Self.leeway else { throw Refusal("the token expired at \(Timestamp.format(Date(timeIntervalSince1970: exp)))") }
        if let nbf = seconds("nbf"), now.timeIntervalSince1970 + Self.leeway < nbf { throw Refusal("the token is not valid before \(Timestamp.format(Date(timeIntervalSince1970: nbf)))") }
        guard claims.values["iss"]?.stringValue == issuer else { throw Refusal("the token's issuer is not \(issuer)") }
        let audiences: [String] = claims.values["aud"]?.stringValue.map { [$0] } ?? claims.values["aud"]?.arrayValue?.compactMap(\.stringValue) ?? []
        guard audiences.contains(audience) else { throw Refusal("the token's audience does not include \(audience)") }
        guard let tenant = claims.values[tenantClaim]?.stringValue, Self.isValidTenant(tenant) else {
            throw Refusal("the token's \(tenantClaim) claim is missing or not 1 to 128 letters, digits, '.', '-', '_' or ':'")
        }
        var roles = Set(claims.values[rolesClaim]?.arrayValue?.compactMap(\.stringValue) ?? claims.values[rolesClaim]?.stringValue.map { [$0] } ?? [])
        if roles.isEmpty { roles = ["viewer"] }
        return Tenant(id: tenant, subject: claims.values["sub"]?.stringValue, roles: roles)
    }

    static func isValidTenant(_ tenant: String) -> Bool {
        !tenant.isEmpty && tenant.utf8.count <= 128 && tenant.utf8.allSatisfy { byte in
            (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A) || byte == 0x2D || byte == 0x5F || byte == 0x2E || byte == 0x3A
        }
    }
}

extension TenantAuthenticator {
    /// The request's tenant, or the problem to answer: 503 where tenant authentication is not
    /// configured (`documentation` says where the settings are explained), 401 with
    /// `WWW-Authenticate: Bearer` for a token that fails.
    static func tenant(of request: Request, using tenants: TenantAuthenticator?, documentation: String) async throws(Problem) -> Tenant {
        guard let tenants else {
            throw Problem(status: .serviceUnavailable, slug: "tenant-auth-not-configured", title: "Tenant authentication is not configured",
                          detail: "set JUNCTION_JWT_ALGORITHM, JUNCTION_JWT_ISSUER, JUNCTION_JWT_AUDIENCE and the key (\(documentation))")
        }
        do {
            return try await tenants.authenticate(authorization: request.headers[.authorization])
        } catch {
            throw Problem(status: .unauthorized, slug: "unauthenticated", title: "Not authenticated", detail: error.description,
                          headers: [.wwwAuthenticate: "Bearer"])
        }
    }
}
