import Foundation

extension OAuthDescription {
    /// Mailchimp: tokens that do not expire and no scopes; after the exchange the metadata call
    /// gives the account's data centre (`dc`) and API endpoint.
    static let mailchimp = OAuthDescription(
        authorizeURL: "https://login.mailchimp.com/oauth2/authorize", tokenURL: "https://login.mailchimp.com/oauth2/token",
        revokeURL: nil, defaultScopes: [], pkce: false, clientAuthentication: .form,
        afterExchange: URL(string: "https://login.mailchimp.com/oauth2/metadata")!, refresh: .none, accessTokenLifetime: nil,
        accountID: .afterExchange("dc"))
}
