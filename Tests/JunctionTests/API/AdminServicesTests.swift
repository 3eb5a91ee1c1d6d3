import JunctionCore
@testable import JunctionIngress
import Testing

/// The internal services' settings: a listed service without a usable key, or with a permission
/// that does not exist, stops the process, naming the variable to fix.
@Suite("Admin services settings")
struct AdminServicesTests {
    static let key = String(repeating: "k", count: 32)

    func refusal(_ values: [String: String]) -> ConfigurationError? {
        do {
            _ = try AdminServices.load(environment: EnvironmentVariables(values))
            return nil
        } catch {
            return error
        }
    }

    @Test func aServiceWithoutAUsableKeyOrPermissionStopsTheProcess() throws {
        #expect(refusal(["JUNCTION_ADMIN_SERVICES": "ops:*"])?.variable == "JUNCTION_ADMIN_KEY_OPS")
        #expect(refusal(["JUNCTION_ADMIN_SERVICES": "billing-sync:read", "JUNCTION_ADMIN_KEY_BILLING_SYNC": "short"])?.variable == "JUNCTION_ADMIN_KEY_BILLING_SYNC")
        #expect(refusal(["JUNCTION_ADMIN_SERVICES": "ops:everything", "JUNCTION_ADMIN_KEY_OPS": Self.key])?.problem.contains("everything") == true)
        #expect(refusal(["JUNCTION_ADMIN_SERVICES": "ops", "JUNCTION_ADMIN_KEY_OPS": Self.key])?.problem.contains("no permission") == true)
        #expect(refusal(["JUNCTION_ADMIN_SERVICES": "o p:read"])?.variable == "JUNCTION_ADMIN_SERVICES")
        let loaded = try #require(try AdminServices.load(environment: EnvironmentVariables(["JUNCTION_ADMIN_SERVICES": "ops:*, billing:read|sync",
                                                                                          "JUNCTION_ADMIN_KEY_OPS": Self.key, "JUNCTION_ADMIN_KEY_BILLING": Self.key])))
        #expect(loaded.services["ops"]?.permissions == Set(AdminServices.Permission.allCases))
        #expect(loaded.services["billing"]?.permissions == [.read, .sync])
        #expect(try AdminServices.load(environment: EnvironmentVariables([:])) == nil, "unset: no service, /v1/admin answers 503")
    }
}
