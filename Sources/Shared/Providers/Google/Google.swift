extension Provider {
    /// Google: OAuth (offline access with `prompt=consent`); limits are per API.
    public static let google = Provider(
        id: "google", displayName: "Google",
        api: ProviderAPI(baseURL: "https://www.googleapis.com"), auth: [.oauth2], oauth: .google)
}
