import Foundation
import JunctionCore
import JunctionIngress
import JunctionProviders
import JunctionQueue
import Logging
import ServiceLifecycle
import Synchronization
import Testing

/// The ingress's webhook path run in this process, on a real NIO server and real Redis: the
/// channel handler, the intake and the group commit, with no executable to start, so a mistake
/// there shows in a second.
@Suite("Ingress in-process")
struct IngressInProcessTests {
    static let secret = "whsec_in_process"

    /// Runs the ingress's services on a free port until `body` returns.
    static func withIngress(_ queue: Queue, _ body: (Int) async throws -> Void) async throws {
        let stack = try await TestStack.shared()
        let environment = EnvironmentVariables(QueueKit.environment(stack, queue: queue, ["JUNCTION_WEBHOOK_SECRETS_STRIPE": secret]))
        let core = try CoreSettings(environment: environment, processName: "junction-ingress")
        let settings = IngressSettings(host: "127.0.0.1", port: 0)
        let webhooks = try WebhookSettings(environment: environment, ingress: settings)
        let redis = RedisClient(core.redis, connections: 2)
        let database = PostgresClient(core.database, connections: 1)
        let (ports, port) = AsyncStream.makeStream(of: Int.self)
        let logger = Logger(label: "test.ingress")
        let services = IngressProcess.services(
            settings: settings, webhooks: webhooks, queue: queue, keys: try KeyRing(environment: environment), core: core,
            redis: redis, database: database, logger: logger, onListening: { if let bound = $0 { port.yield(bound) } })
        let group = ServiceGroup(configuration: .init(services: services, logger: logger))
        let running = Task { try await group.run() }
        do {
            var listening = ports.makeAsyncIterator()
            guard let bound = await listening.next() else { throw StackError("the ingress never listened") }
            try await body(bound)
        } catch {
            await group.triggerGracefulShutdown()
            _ = try? await running.value
            throw error
        }
        await group.triggerGracefulShutdown()
        try await running.value
        await redis.shutdown()
        await database.shutdown()
    }

    static func post(_ delivery: WebhookDelivery, http: OutboundHTTPClient) async throws -> OutboundResponse {
        try await http.send(OutboundRequest(method: "POST", url: delivery.url, headers: delivery.headers.map { (name: $0.key, value: $0.value) }, body: delivery.body))
    }

    @Test func aSignedDeliveryIsStoredOnceAndItsRepeatIsAnsweredAsADuplicate() async throws {
        let stack = try await TestStack.shared()
        let queue = QueueKit.queue()
        let http = OutboundHTTPClient(connections: 1)
        try await Self.withIngress(queue) { port in
            let delivery = StripeWebhookScheme().sample(url: "http://127.0.0.1:\(port)/webhooks/stripe", secret: Self.secret, eventType: "invoice.paid", now: Date())
            let first = try await Self.post(delivery, http: http)
            #expect(first.status == 200 && first.text == #"{"received":1,"enqueued":1}"#, "\(first.status) \(first.text)")
            let again = try await Self.post(delivery, http: http)
            #expect(again.status == 200 && again.text == #"{"received":1,"enqueued":0}"#)
            #expect(again.headers.contains { $0.name.lowercased() == "x-junction-duplicate" && $0.value == "true" })
            var tampered = delivery
            tampered.body += Array(" ".utf8)
            #expect(try await Self.post(tampered, http: http).status == 401)
        }
        await http.shutdown()
        let jobs = try await TestStack.onThread {
            try RedisConnection(stack.redis).command("HVALS", RedisArgument(queue.settings.keys.jobs)).array().compactMap { try $0.string().flatMap { try? JobEnvelope.decode($0) } }
        }
        let eventID = try #require(jobs.first?.payload["event_id"]?.stringValue)
        #expect(jobs.count == 1, "stored once: the repeat was a duplicate, the tampered one refused")
        #expect(jobs[0].type == "webhook.process" && jobs[0].priority == .critical && jobs[0].dedupeKey == "webhook:stripe:\(eventID)")
        #expect(jobs[0].payload["event_type"] == "invoice.paid")
    }
}
