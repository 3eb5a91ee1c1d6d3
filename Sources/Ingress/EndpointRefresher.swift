import JunctionCore
import Logging
import ServiceLifecycle

/// Keeps ``WebhookEndpointCache`` current: every `JUNCTION_WEBHOOK_ENDPOINT_REFRESH` (default
/// 5 s), and every second until the first load succeeds. PostgreSQL being away is logged once
/// per outage; the cache keeps serving what it last read.
struct EndpointRefresher: Service {
    let cache: WebhookEndpointCache
    let database: PostgresClient
    let interval: Duration
    let logger: Logger

    func run() async throws {
        var failing = false
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            do {
                try await cache.refresh(from: database)
                if failing { logger.info("webhook endpoint secrets readable again", metadata: ["endpoints": .stringConvertible(cache.count)]) }
                failing = false
            } catch {
                if !failing {
                    logger.warning(
                        cache.isLoaded ? "cannot refresh webhook endpoint secrets; serving the last copy"
                            : "cannot load webhook endpoint secrets; endpoint deliveries get 503 until PostgreSQL answers",
                        metadata: ["error": .string("\(error)")])
                }
                failing = true
            }
            let pause = cache.isLoaded ? interval : .seconds(1)
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: pause) }
        }
    }
}
