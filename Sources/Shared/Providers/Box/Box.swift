extension Provider {
    /// Box: OAuth with single-use refresh tokens; limits are per method.
    public static let box = Provider(
        id: "box", displayName: "Box",
        api: ProviderAPI(baseURL: "https://api.box.com"), auth: [.oauth2], oauth: .box)
}
