import Foundation

extension OAuthDescription {
    /// QuickBooks Online (Intuit): the realm arrives on the callback; access tokens for an hour; the
    /// refresh token's value may change on any refresh (100-day rolling), so the newest is kept.
    static let quickBooks = OAuthDescription(
        authorizeURL: "https://appcenter.intuit.com/connect/oauth2", tokenURL: "https://oauth.platform.intuit.com/oauth2/v1/tokens/bearer",
        revokeURL: "https://developer.api.intuit.com/v2/oauth2/tokens/revoke", defaultScopes: ["com.intuit.quickbooks.accounting"],
        pkce: false, clientAuthentication: .basic, callbackParameters: ["realmId"], refresh: .rotating, accessTokenLifetime: .seconds(3600),
        accountID: .callback("realmId"), revocation: .jsonToken)
}
