extension Provider {
    /// Dropbox: OAuth (`token_access_type=offline`); limits are per method.
    public static let dropbox = Provider(
        id: "dropbox", displayName: "Dropbox",
        api: ProviderAPI(baseURL: "https://api.dropboxapi.com"), auth: [.oauth2], oauth: .dropbox)
}
