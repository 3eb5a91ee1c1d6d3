import Foundation

extension OAuthDescription {
    /// Shopify: one host per shop (`{shop}`, from the callback's `shop`); `expiring=1` asks for
    /// expiring offline tokens (an hour), whose refresh tokens rotate over 90 days. Uninstalling
    /// the app is the revoke. Scopes are comma-separated.
    static let shopify = OAuthDescription(
        authorizeURL: "https://{shop}/admin/oauth/authorize", tokenURL: "https://{shop}/admin/oauth/access_token", revokeURL: nil,
        defaultScopes: ["read_customers", "read_orders", "read_products"], scopeSeparator: ",", pkce: false, clientAuthentication: .form,
        extraAuthorizeParameters: [OAuthParameter("expiring", "1")], callbackParameters: ["shop"], refresh: .rotating,
        accessTokenLifetime: .seconds(3600), accountID: .callback("shop"))
}
