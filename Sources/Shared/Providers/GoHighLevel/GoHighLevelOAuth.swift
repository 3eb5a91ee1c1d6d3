import Foundation

extension OAuthDescription {
    /// GoHighLevel (LeadConnector): the tenant chooses a location; token requests are forms that
    /// carry `user_type`; access tokens for about a day and a new refresh token on each use.
    /// Uninstalling is the revoke.
    static let goHighLevel = OAuthDescription(
        authorizeURL: "https://marketplace.gohighlevel.com/oauth/chooselocation", tokenURL: "https://services.leadconnectorhq.com/oauth/token",
        revokeURL: nil, defaultScopes: ["contacts.readonly"], pkce: false, clientAuthentication: .form,
        extraTokenParameters: [OAuthParameter("user_type", "Location")], refresh: .singleUse, accessTokenLifetime: .seconds(86_399))
}
