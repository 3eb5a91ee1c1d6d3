import Foundation

extension OAuthDescription {
    /// Keap (Infusionsoft): scope `full`; access tokens for 24 hours and a new pair on every
    /// refresh; no documented revoke.
    static let keap = OAuthDescription(
        authorizeURL: "https://accounts.infusionsoft.com/app/oauth/authorize", tokenURL: "https://api.infusionsoft.com/token",
        revokeURL: nil, defaultScopes: ["full"], pkce: false, clientAuthentication: .form,
        refresh: .singleUse, accessTokenLifetime: .seconds(86_400))
}
