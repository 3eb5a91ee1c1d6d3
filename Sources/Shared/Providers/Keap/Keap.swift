extension Provider {
    /// Keap (Infusionsoft): OAuth, a new token pair on every refresh.
    public static let keap = Provider(
        id: "keap", displayName: "Keap",
        api: ProviderAPI(baseURL: "https://api.infusionsoft.com"), auth: [.oauth2], oauth: .keap)
}
