import Hummingbird
import JunctionCore

/// `GET /health` (the process is alive) and `GET /health/ready` (Redis and PostgreSQL answer, and
/// the per-endpoint webhook secrets are loaded). Readiness answers within ``deadline``: a
/// dependency that has not answered by then counts as unavailable.
struct HealthRoutes: Sendable {
    let checks: DependencyChecks
    let endpoints: WebhookEndpointCache
    static let deadline = Duration.seconds(3)

    func register(on router: Router<some RequestContext>) {
        router.get("/health") { _, _ in
            Self.json(.ok, #"{"status":"ok"}"#)
        }
        router.get("/health/ready") { _, _ in
            var statuses = await checks.check(deadline: Self.deadline)
            statuses.append(DependencyStatus(
                name: "webhook_endpoints", error: endpoints.isLoaded ? nil : "per-endpoint webhook secrets not loaded from PostgreSQL yet"))
            let ready = statuses.allSatisfy(\.isHealthy)
            return Self.json(ready ? .ok : .serviceUnavailable, Self.body(ready: ready, statuses))
        }
    }

    /// `{"status":"ready","checks":{"redis":{"status":"ok"},"postgres":{"status":"error","error":"…"}}}`
    static func body(ready: Bool, _ statuses: [DependencyStatus]) -> String {
        var text = #"{"status":"# + (ready ? #""ready""# : #""unavailable""#) + #","checks":{"#
        for (index, status) in statuses.enumerated() {
            if index > 0 { text += "," }
            JSONText.appendString(status.name, to: &text)
            if let error = status.error {
                text += #":{"status":"error","error":"#
                JSONText.appendString(error, to: &text)
                text += "}"
            } else {
                text += #":{"status":"ok"}"#
            }
        }
        return text + "}}"
    }

    static func json(_ status: HTTPResponse.Status, _ body: String) -> Response {
        Response(
            status: status,
            headers: [.contentType: "application/json", .cacheControl: "no-store"],
            body: .init(byteBuffer: ByteBuffer(string: body)))
    }
}
