import Foundation

extension OAuthDescription {
    /// HubSpot: access tokens for 30 minutes, long-lived refresh tokens; the revoke is a `DELETE`
    /// of the refresh token (unconfirmed).
    static let hubSpot = OAuthDescription(
        authorizeURL: "https://app.hubspot.com/oauth/authorize", tokenURL: "https://api.hubapi.com/oauth/v1/token",
        revokeURL: "https://api.hubapi.com/oauth/v1/refresh-tokens/{token}", defaultScopes: ["crm.objects.contacts.read"],
        pkce: false, clientAuthentication: .form, refresh: .reusable, accessTokenLifetime: .seconds(1800), revocation: .deleteToken)
}
