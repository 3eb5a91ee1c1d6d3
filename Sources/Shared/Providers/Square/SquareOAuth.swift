import Foundation

extension OAuthDescription {
    /// Square's PKCE flow: access tokens for 30 days, and a refresh token that is single use (a new
    /// one with every refresh, for 90 days). The revoke call authenticates with
    /// `Authorization: Client <secret>`.
    static let square = OAuthDescription(
        authorizeURL: "https://connect.squareup.com/oauth2/authorize", tokenURL: "https://connect.squareup.com/oauth2/token",
        revokeURL: "https://connect.squareup.com/oauth2/revoke",
        defaultScopes: ["MERCHANT_PROFILE_READ", "CUSTOMERS_READ", "CUSTOMERS_WRITE", "ITEMS_READ", "INVENTORY_READ", "PAYMENTS_READ", "ORDERS_READ"],
        pkce: true, clientAuthentication: .form, refresh: .singleUse, accessTokenLifetime: .seconds(30 * 86_400),
        tokenRequestEncoding: .json, secretWithPKCE: false, accountID: .tokenResponse("merchant_id"), revocation: .squareClient)
}
