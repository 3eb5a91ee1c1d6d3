import Foundation
import Hummingbird
import HummingbirdCore
import JunctionCoordination
import JunctionCore
import JunctionObservability
import JunctionProviders
import JunctionQueue
import JunctionStores
import Logging
import NIOCore
import NIOPosix
import ServiceLifecycle

/// `junction-ingress`: the HTTP gateway: webhooks, the OAuth connect flow, the management API,
/// the health endpoints and `GET /metrics`.
public enum IngressProcess {
    public static func main() async throws {
        // Swift concurrency's tasks run on NIO's event loops: a request handler and the socket it
        // answers on share a thread, instead of hopping between two pools for every request.
        // Blocking calls (hiredis, libpq) still run only on BlockingPool's own threads.
        NIOSingletons.unsafeTryInstallSingletonPosixEventLoopGroupAsConcurrencyGlobalExecutor()
        let metrics = MetricsExport.bootstrap()
        let environment = EnvironmentVariables()
        let core = ProcessBootstrap.core(process: "junction-ingress", environment: environment)
        let (settings, webhooks, queueSettings, keys, oauth, connect, admin, apiLimit, coordinationSettings) = ProcessBootstrap.settings(process: "junction-ingress") { () throws(ConfigurationError) in
            let ingress = try IngressSettings(environment: environment)
            let oauth = try OAuthClients(environment: environment)
            let apiLimit: RateLimit
            do {
                apiLimit = try RateLimit(parsing: environment.string("JUNCTION_API_RATE_LIMIT", default: "600/1m,burst=60"))
            } catch {
                throw ConfigurationError(variable: "JUNCTION_API_RATE_LIMIT", problem: "JUNCTION_API_RATE_LIMIT is invalid: \(error)", example: "600/1m,burst=60")
            }
            return (ingress, try WebhookSettings(environment: environment, ingress: ingress), try QueueSettings(environment: environment),
                    try KeyRing(environment: environment), oauth, try ConnectSettings(environment: environment, oauth: oauth),
                    try AdminServices.load(environment: environment), apiLimit, try CoordinationSettings(environment: environment))
        }
        let tenants: TenantAuthenticator?
        do {
            tenants = try await TenantAuthenticator.load(environment: environment)
        } catch {
            FileHandle.standardError.write(Data("junction-ingress: configuration error: \(error)\n".utf8))
            exit(ProcessBootstrap.configurationExitCode)
        }
        let logger = Logger(label: "junction.ingress")
        oauth.logConfigured(logger)
        if tenants == nil {
            logger.warning("tenant authentication is not configured: the connect flow answers 503 until JUNCTION_JWT_ALGORITHM is set")
        }
        let redis = RedisClient(core.redis, connections: core.redisConnections)
        let database = PostgresClient(core.database, connections: core.databaseConnections)

        // Refuse an evicting Redis now; if Redis is down, /health/ready says so and the check
        // happens at the next start.
        do {
            try await RedisEvictionPolicy.verify(redis, logger: logger)
        } catch let error as UnsafeRedisConfiguration {
            logger.critical("refusing to start", metadata: ["error": .string(error.description)])
            FileHandle.standardError.write(Data("junction-ingress: \(error)\n".utf8))
            exit(1)
        } catch {
            logger.warning("cannot check Redis at start; /health/ready reports it until it answers", metadata: ["error": .string("\(error)")])
        }

        let queue = Queue(settings: queueSettings, scripts: ProcessBootstrap.required("the queue scripts", logger: logger) { try QueueScripts.bundled(environment: environment) })
        let coordination = Coordination(namespace: queueSettings.keys.namespace, scripts: ProcessBootstrap.required("the coordination scripts", logger: logger) {
            try CoordinationScripts.bundled(environment: environment)
        })
        let rateLimit = apiLimit.isOff ? nil : (limiter: RateLimiter(coordination, settings: coordinationSettings), limit: apiLimit)
        // The trace exporter first: the group stops it last, so it flushes the others' spans.
        let traces = TraceExport.services(process: "junction-ingress", environment: environment, logger: logger)
        let services = traces + Self.services(settings: settings, webhooks: webhooks, queue: queue, keys: keys, core: core, redis: redis, database: database,
                                     connect: ConnectRoutes.Configuration(tenants: tenants, oauth: oauth, settings: connect), admin: admin,
                                     rateLimit: rateLimit, metrics: metrics, logger: logger)
        await ProcessBootstrap.run(services, process: "junction-ingress", logger: logger)
        await redis.shutdown()
        await database.shutdown()
    }

    /// The ingress's services over the given clients: the HTTP server (webhook deliveries in the
    /// channel pipeline, health and the validation probes on the router) and the endpoint
    /// refresher. ``main()`` runs them until SIGTERM; the tests run them in-process.
    /// `onListening` gets the bound port (the settings may ask for port 0).
    package static func services(
        settings: IngressSettings, webhooks: WebhookSettings, queue: Queue, keys: KeyRing, core: CoreSettings,
        redis: RedisClient, database: PostgresClient, connect: ConnectRoutes.Configuration? = nil, admin: AdminServices? = nil,
        rateLimit: (limiter: RateLimiter, limit: RateLimit)? = nil, metrics: MetricsRegistry? = nil, logger: Logger,
        onListening: @escaping @Sendable (Int?) -> Void = { _ in }
    ) -> [any Service] {
        let endpoints = WebhookEndpointCache(store: WebhookEndpointStore(keys: keys), logger: logger)
        let router = Router()
        // Every routed request counted and timed by its route pattern (bounded: never the path).
        router.add(middleware: MetricsMiddleware())
        // A server span per routed request when traces are exported (JUNCTION_OTEL_ENDPOINT),
        // continuing the caller's `traceparent`; the request id below then defaults to its trace id.
        // The OAuth callback's `code` and `state` are credentials: never in a span.
        if Traces.isEnabled { router.add(middleware: TracingMiddleware(redactingQueryParameters: ["code", "state"])) }
        router.add(middleware: RequestIDMiddleware())
        if let metrics { MetricsExport.register(metrics, on: router) }
        HealthRoutes(checks: DependencyChecks(redis: redis, database: database), endpoints: endpoints).register(on: router)
        WebhookRoutes().register(on: router)
        let connectRoutes = connect.map {
            ConnectRoutes(tenants: $0.tenants, oauth: $0.oauth, settings: $0.settings, keys: keys, queue: queue, redis: redis, database: database, logger: logger)
        }
        connectRoutes?.register(on: router)
        APIRoutes(tenants: connect?.tenants, admin: admin, rateLimit: rateLimit, connect: connectRoutes, keys: keys, queue: queue, redis: redis, database: database, logger: logger).register(on: router)
        let intake = WebhookIntake(settings: webhooks, endpoints: endpoints, logger: logger)
        // Deliveries are enqueued over one Redis connection per event loop, driven by the loop
        // (EventLoopEnqueuer): no pool thread on the webhook path.
        let jobs = EventLoopEnqueuers(queue: queue, configuration: redis.configuration)
        let connections = ConnectionCount()
        let app = Application(
            router: router,
            server: HTTPServerBuilder { responder in
                WebhookServerChannel(responder: responder, intake: intake, jobs: jobs, limits: settings.limits, connections: connections)
            },
            configuration: .init(address: .hostname(settings.host, port: settings.port), serverName: nil),
            onServerRunning: { channel in
                logger.info("listening", metadata: [
                    "address": .string(channel.localAddress.map { "\($0)" } ?? "\(settings.host):\(settings.port)"),
                    "redis": .string(core.redis.redactedURL), "database": .string(core.database.redactedURL),
                ])
                onListening(channel.localAddress?.port)
            },
            logger: logger)
        let refresher = EndpointRefresher(cache: endpoints, database: database, interval: webhooks.endpointRefresh, logger: logger)
        // The enqueuers first: the group stops them last, after the server's last answer.
        return [EventLoopEnqueuers.Closer(enqueuers: jobs), app, refresher]
    }
}
