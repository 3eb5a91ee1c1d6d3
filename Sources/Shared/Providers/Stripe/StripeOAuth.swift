import Foundation

extension OAuthDescription {
    /// Stripe Connect (Standard accounts): effectively non-expiring tokens; deauthorising the
    /// account is the revoke.
    static let stripe = OAuthDescription(
        authorizeURL: "https://connect.stripe.com/oauth/authorize", tokenURL: "https://connect.stripe.com/oauth/token",
        revokeURL: "https://connect.stripe.com/oauth/deauthorize", defaultScopes: ["read_write"],
        pkce: false, clientAuthentication: .form, refresh: .none, accessTokenLifetime: nil,
        accountID: .tokenResponse("stripe_user_id"), revocation: .stripeDeauthorize)
}
