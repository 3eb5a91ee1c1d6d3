import Foundation

extension OAuthDescription {
    /// Google: `access_type=offline` and `prompt=consent` so that a refresh token comes back (and
    /// comes back again on a reconnect); access tokens for an hour; refresh tokens not rotated.
    static let google = OAuthDescription(
        authorizeURL: "https://accounts.google.com/o/oauth2/v2/auth", tokenURL: "https://oauth2.googleapis.com/token",
        revokeURL: "https://oauth2.googleapis.com/revoke", defaultScopes: ["openid", "email"], pkce: true, clientAuthentication: .form,
        extraAuthorizeParameters: [OAuthParameter("access_type", "offline"), OAuthParameter("prompt", "consent")],
        refresh: .reusable, accessTokenLifetime: .seconds(3600))
}
