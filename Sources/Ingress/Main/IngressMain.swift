import JunctionIngress

/// `junction-ingress`: everything it does is in `JunctionIngress`, so the tests can import it.
@main
struct IngressMain {
    static func main() async throws {
        try await IngressProcess.main()
    }
}
