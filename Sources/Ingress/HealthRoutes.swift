import Hummingbird
import JunctionCore
import JunctionObservability

/// `GET /health` (the process is alive) and `GET /health/ready` (Redis and PostgreSQL answer, and
/// the per-endpoint webhook secrets are loaded). Readiness answers within `HealthDocument.deadline`: a
/// dependency that has not answered by then counts as unavailable.
struct HealthRoutes: Sendable {
    let checks: DependencyChecks
    let endpoints: WebhookEndpointCache

    func register(on router: Router<some RequestContext>) {
        HealthDocument.registerAlive(on: router)
        router.get("/health/ready") { _, _ in
            var statuses = await checks.check(deadline: HealthDocument.deadline)
            statuses.append(DependencyStatus(
                name: "webhook_endpoints", error: endpoints.isLoaded ? nil : "per-endpoint webhook secrets not loaded from PostgreSQL yet"))
            let ready = statuses.allSatisfy(\.isHealthy)
            return HealthDocument.json(ready ? .ok : .serviceUnavailable, HealthDocument.body(ready: ready, statuses))
        }
    }
}
