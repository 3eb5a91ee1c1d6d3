import Foundation

extension OAuthDescription {
    /// Dropbox: `token_access_type=offline` for a long-lived refresh token, not rotated; access
    /// tokens for four hours.
    static let dropbox = OAuthDescription(
        authorizeURL: "https://www.dropbox.com/oauth2/authorize", tokenURL: "https://api.dropboxapi.com/oauth2/token",
        revokeURL: "https://api.dropboxapi.com/2/auth/token/revoke", defaultScopes: ["account_info.read", "files.metadata.read"],
        pkce: true, clientAuthentication: .form, extraAuthorizeParameters: [OAuthParameter("token_access_type", "offline")],
        refresh: .reusable, accessTokenLifetime: .seconds(4 * 3600), revocation: .bearer)
}
