import Foundation
import Hummingbird
import JunctionCore

/// The cheapest authenticated call of each provider, in its real wire format: what Junction makes
/// to check an API key before a connection becomes active, and to check a connection's health.
///
/// | provider | call | answers |
/// |---|---|---|
/// | stripe | `GET /v1/account` | the account (`acct_1SandboxJunction`) |
/// | square | `GET /v2/merchants/me` | `{"merchant": {…}}` (`ML8M1AQ1GQG2K`) |
/// | quickbooks | `GET /v3/company/{realm}/companyinfo/{realm}` | `{"CompanyInfo": {…}}` |
/// | mailchimp | `GET /3.0/ping` | `{"health_status": "Everything's Chimpy!"}` |
enum AccountsAPI {
    static let stripeAccount = "acct_1SandboxJunction"
    static let squareMerchant = "ML8M1AQ1GQG2K"

    static func register(on router: Router<BasicRequestContext>, sandbox: Sandbox) {
        router.get("/v1/account") { request, _ in
            try await sandbox.serve(.stripe, request) { _ in
                if let refusal = sandbox.authorize(.stripe, request) { return refusal }
                return json(["id": .string(stripeAccount), "object": "account", "business_type": "company", "charges_enabled": true,
                             "country": "US", "default_currency": "usd", "details_submitted": true, "payouts_enabled": true,
                             "email": "owner@example.com", "type": "standard"])
            }
        }
        router.get("/v2/merchants/me") { request, _ in
            try await sandbox.serve(.square, request) { _ in
                if let refusal = sandbox.authorize(.square, request) { return refusal }
                return json(["merchant": ["id": .string(squareMerchant), "business_name": "Junction Sandbox", "country": "US",
                                          "language_code": "en-US", "currency": "USD", "status": "ACTIVE", "main_location_id": .string(SquareAPI.location),
                                          "created_at": "2024-01-01T00:00:00.000Z"]])
            }
        }
        router.get("/v3/company/:realm/companyinfo/:id") { request, context in
            let realm = context.parameters.get("realm") ?? ""
            return try await sandbox.serve(.quickbooks, account: realm, request) { _ in
                if let refusal = sandbox.authorize(.quickbooks, request) { return refusal }
                guard realm == Seed.quickBooksRealm, context.parameters.get("id") == realm else {
                    return QuickBooksAPI.fault(.forbidden, type: "AuthorizationFault", code: "003100", message: "ApplicationAuthorizationFailed",
                                               detail: "Unknown realm \(realm)")
                }
                return json(["CompanyInfo": ["CompanyName": "Junction Sandbox", "LegalName": "Junction Sandbox LLC", "Country": "US",
                                             "Id": "1", "SyncToken": "0", "domain": "QBO", "sparse": false],
                             "time": .string(Timestamp.format(Date()))])
            }
        }
        router.get("/3.0/ping") { request, _ in
            try await sandbox.serve(.mailchimp, account: Mailchimp.dataCentre(request) ?? "us6", request) { _ in
                if let refusal = sandbox.authorize(.mailchimp, request) { return refusal }
                return json(["health_status": "Everything's Chimpy!"])
            }
        }
    }
}
