import Foundation
import JunctionCore
import JunctionIngress
import Testing

/// The tenant JWT rules with an RS256 configuration: keys and signatures made by openssl, a
/// client no one here wrote.
@Suite("Tenant JWTs")
struct TenantAuthenticatorTests {
    static func openssl(_ arguments: [String], input: String? = nil) async throws -> ChildProcess {
        let process = try ChildProcess("/usr/bin/openssl", arguments: arguments, environment: ["PATH": "/usr/bin:/bin"], input: input)
        #expect(try await process.exitStatus() == 0, "openssl \(arguments.joined(separator: " ")): \(process.standardError)")
        return process
    }

    static func encode(_ object: [String: Any]) -> String {
        Base64URL.encode(Array(try! JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])))
    }

    @Test func rs256TokensVerifyAndAlgorithmSwapsAreRefused() async throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("jwt-\(UUID().uuidString.prefix(8))").path
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        _ = try await Self.openssl(["genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out", "\(folder)/key.pem"])
        _ = try await Self.openssl(["pkey", "-in", "\(folder)/key.pem", "-pubout", "-out", "\(folder)/public.pem"])
        let publicPEM = try String(contentsOfFile: "\(folder)/public.pem", encoding: .utf8)
        let authenticator = try #require(try await TenantAuthenticator.load(environment: EnvironmentVariables([
            "JUNCTION_JWT_ALGORITHM": "RS256", "JUNCTION_JWT_PUBLIC_KEY_FILE": "\(folder)/public.pem",
            "JUNCTION_JWT_ISSUER": "https://auth.test/", "JUNCTION_JWT_AUDIENCE": "junction",
        ])))

        func signed(_ claims: [String: Any]) async throws -> String {
            let input = Self.encode(["alg": "RS256", "typ": "JWT"]) + "." + Self.encode(claims)
            try input.write(toFile: "\(folder)/input", atomically: true, encoding: .utf8)
            _ = try await Self.openssl(["dgst", "-sha256", "-sign", "\(folder)/key.pem", "-out", "\(folder)/signature", "\(folder)/input"])
            return input + "." + Base64URL.encode(Array(try Data(contentsOf: URL(fileURLWithPath: "\(folder)/signature"))))
        }
        let now = Int(Date().timeIntervalSince1970)
        let claims: [String: Any] = ["tenant": "venue-42", "roles": ["viewer"], "iss": "https://auth.test/", "aud": ["junction", "other"], "exp": now + 60, "sub": "u1"]
        let tenant = try await authenticator.authenticate(authorization: "Bearer " + (try await signed(claims)))
        #expect(tenant == TenantAuthenticator.Tenant(id: "venue-42", subject: "u1", roles: ["viewer"]) && !tenant.isAdmin)

        // Within the 30 s leeway, and past it.
        var late = claims
        late["exp"] = now - 20
        _ = try await authenticator.authenticate(authorization: "Bearer " + (try await signed(late)))
        late["exp"] = now - 40
        await #expect(throws: TenantAuthenticator.Refusal.self) { try await authenticator.authenticate(authorization: "Bearer " + (try await signed(late))) }
        var early = claims
        early["nbf"] = now + 120
        await #expect(throws: TenantAuthenticator.Refusal.self) { try await authenticator.authenticate(authorization: "Bearer " + (try await signed(early))) }

        // HS256 with the public key as the HMAC secret (the classic confusion), and alg none.
        let confused = Self.encode(["alg": "HS256", "typ": "JWT"]) + "." + Self.encode(claims)
        let mac = try await Self.openssl(["dgst", "-sha256", "-hmac", publicPEM, "-binary", "-out", "\(folder)/mac", "/dev/stdin"], input: confused)
        _ = mac
        let confusedToken = confused + "." + Base64URL.encode(Array(try Data(contentsOf: URL(fileURLWithPath: "\(folder)/mac"))))
        do {
            _ = try await authenticator.authenticate(authorization: "Bearer \(confusedToken)")
            Issue.record("an HS256 token made with the RS256 public key was accepted")
        } catch {
            #expect(error.description.contains("accepts RS256 only"))
        }
        let none = Self.encode(["alg": "none"]) + "." + Self.encode(claims) + "."
        await #expect(throws: TenantAuthenticator.Refusal.self) { try await authenticator.authenticate(authorization: "Bearer \(none)") }
        // A signature that does not match its claims.
        let valid = try await signed(claims)
        let parts = valid.split(separator: ".")
        var otherClaims = claims
        otherClaims["tenant"] = "someone-else"
        let tampered = "\(parts[0]).\(Self.encode(otherClaims)).\(parts[2])"
        await #expect(throws: TenantAuthenticator.Refusal.self) { try await authenticator.authenticate(authorization: "Bearer \(tampered)") }
    }

    @Test func halfAConfigurationStopsTheProcessNamingWhatIsMissing() async throws {
        #expect(try await TenantAuthenticator.load(environment: EnvironmentVariables([:])) == nil, "unset: no tenant can authenticate")
        for (environment, variable) in [
            (["JUNCTION_JWT_ALGORITHM": "HS256", "JUNCTION_JWT_ISSUER": "i", "JUNCTION_JWT_AUDIENCE": "a"], "JUNCTION_JWT_SECRET"),
            (["JUNCTION_JWT_ALGORITHM": "HS256", "JUNCTION_JWT_ISSUER": "i", "JUNCTION_JWT_AUDIENCE": "a", "JUNCTION_JWT_SECRET": "short"], "JUNCTION_JWT_SECRET"),
            (["JUNCTION_JWT_ALGORITHM": "HS256", "JUNCTION_JWT_SECRET": String(repeating: "x", count: 40)], "JUNCTION_JWT_ISSUER"),
            (["JUNCTION_JWT_ALGORITHM": "RS256", "JUNCTION_JWT_ISSUER": "i", "JUNCTION_JWT_AUDIENCE": "a"], "JUNCTION_JWT_PUBLIC_KEY_FILE"),
            (["JUNCTION_JWT_ALGORITHM": "none"], "JUNCTION_JWT_ALGORITHM"),
        ] {
            do {
                _ = try await TenantAuthenticator.load(environment: EnvironmentVariables(environment))
                Issue.record("\(environment) was accepted")
            } catch let error as ConfigurationError {
                #expect(error.variable == variable, "\(error)")
            }
        }
    }
}
