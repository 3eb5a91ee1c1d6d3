import Foundation

extension OAuthDescription {
    /// Box: access tokens for an hour; every refresh token is single use (60 days). Scopes are the
    /// app's, set in Box's console.
    static let box = OAuthDescription(
        authorizeURL: "https://account.box.com/api/oauth2/authorize", tokenURL: "https://api.box.com/oauth2/token",
        revokeURL: "https://api.box.com/oauth2/revoke", defaultScopes: [], pkce: false, clientAuthentication: .form,
        refresh: .singleUse, accessTokenLifetime: .seconds(3600))
}
