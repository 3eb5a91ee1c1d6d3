import Crypto
import Foundation
import JunctionCore
import JunctionQueue
import Testing

/// One scrape of a `/metrics` answer, read as Prometheus reads it: the text exposition format,
/// one sample per line, `name{label="value",…} number`.
struct Scrape {
    struct Sample {
        let name: String
        let labels: [String: String]
        let value: Double
    }

    let samples: [Sample]

    init(_ text: String) throws {
        var samples: [Sample] = []
        for line in text.split(separator: "\n") where !line.hasPrefix("#") && !line.isEmpty {
            samples.append(try Self.sample(Substring(line)))
        }
        self.samples = samples
    }

    /// The value of the one sample with this name and these labels (others may be present), or
    /// nil; summed when several series match.
    func value(_ name: String, _ labels: [String: String] = [:]) -> Double? {
        let matching = samples.filter { sample in sample.name == name && labels.allSatisfy { key, value in sample.labels[key] == value } }
        return matching.isEmpty ? nil : matching.reduce(0) { $0 + $1.value }
    }

    func names() -> Set<String> { Set(samples.map(\.name)) }

    static func sample(_ line: Substring) throws -> Sample {
        var rest = line[...]
        let name = String(rest.prefix { $0 != "{" && $0 != " " })
        rest = rest.dropFirst(name.count)
        var labels: [String: String] = [:]
        if rest.first == "{" {
            rest = rest.dropFirst()
            while rest.first != "}" {
                let key = String(rest.prefix { $0 != "=" })
                rest = rest.dropFirst(key.count)
                guard rest.hasPrefix("=\"") else { throw StackError("bad label in \(line)") }
                rest = rest.dropFirst(2)
                var value = ""
                while let character = rest.first, character != "\"" {
                    rest = rest.dropFirst()
                    if character == "\\", let escaped = rest.first {
                        rest = rest.dropFirst()
                        value.append(escaped == "n" ? "\n" : escaped)
                    } else {
                        value.append(character)
                    }
                }
                rest = rest.dropFirst()  // the closing quote
                labels[key] = value
                if rest.first == "," { rest = rest.dropFirst() }
            }
            rest = rest.dropFirst()
        }
        guard let value = Double(rest.trimmingCharacters(in: .whitespaces).split(separator: " ").first.map(String.init) ?? "") else {
            throw StackError("bad value in \(line)")
        }
        return Sample(name: name, labels: labels, value: value)
    }
}

/// The processes' `/metrics`, `/health` and `/health/ready`, scraped over HTTP from the real
/// executables while they do real work.
@Suite("Metrics and health of every process")
struct MetricsTests {
    static func statusPort(_ process: ChildProcess) async throws -> Int {
        try await process.waitForLine(containing: "\"msg\":\"serving health and metrics\"")
        let line = try #require(process.lines.first { $0.contains("\"msg\":\"serving health and metrics\"") })
        let fields = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
        return try #require((fields["port"] as? String).flatMap(Int.init))
    }

    static func scrape(_ http: OutboundHTTPClient, _ base: String) async throws -> Scrape {
        let answer = try await http.send(OutboundRequest(url: "\(base)/metrics"))
        guard answer.status == 200 else { throw StackError("\(base)/metrics answered \(answer.status)") }
        #expect(answer.header("content-type")?.hasPrefix("text/plain; version=0.0.4") == true)
        return try Scrape(answer.text)
    }

    @Test func eachProcessCountsWhatItDidAndOnlyTheLeaderReportsTheQueue() async throws {
        try await ConnectStack.with(workers: 0, seed: 30, extra: [
            // Two failures in a row open a breaker; it stays open for the rest of the test.
            "JUNCTION_BREAKER_CONSECUTIVE_FAILURES": "2", "JUNCTION_BREAKER_COOLDOWN": "5m",
        ]) { stack in
            try await stack.startWorker(["JUNCTION_WORKER_HTTP_PORT": "0"])
            let worker = "http://127.0.0.1:\(try await Self.statusPort(stack.workers[0]))"
            let stripe = try await stack.connect("stripe", tenant: "tenant-metrics")

            // A sync: its records by kind, its job, its provider calls.
            try await stack.enqueue([JobRequest(type: "sync.run", payload: ["connection": .string(stripe.uuidString.lowercased()), "resource": "customers"],
                                                priority: .high, connection: stripe.uuidString.lowercased())])
            try await QueueKit.eventually("the sync succeeded") {
                try await SyncRunTests.runs(stack, stripe, "customers").first?.status == "succeeded"
            }
            let run = try #require(try await SyncRunTests.runs(stack, stripe, "customers").first)
            let customers = try await SyncRunTests.sandboxCount(stack, "stripe", "customers")
            #expect(customers > 0 && run.counts.added == customers)
            let synced = try await Self.scrape(stack.http, worker)
            #expect(synced.value("junction_sync_records_total", ["provider": "stripe", "resource": "customers", "kind": "added"]) == Double(customers))
            #expect(synced.value("junction_sync_runs_total", ["provider": "stripe", "resource": "customers", "outcome": "succeeded"]) == 1)
            #expect((synced.value("junction_jobs_total", ["type": "sync.run", "outcome": "succeeded"]) ?? 0) >= 1)
            #expect((synced.value("junction_job_duration_seconds_count", ["type": "sync.run"]) ?? 0) >= 1)
            #expect((synced.value("junction_provider_requests_total", ["provider": "stripe", "status": "2xx"]) ?? 0) >= Double(run.pages))
            #expect(synced.value("junction_queue_ready") == nil && synced.value("junction_breaker_state", ["provider": "stripe"]) == nil,
                    "a worker reads neither the queue's depths nor the breakers' states; the leading scheduler does")
            for name in synced.names() {
                #expect(!name.contains("."), "Prometheus names hold no dots: \(name)")
                if name.hasPrefix("junction_") {
                    #expect(DeployTests.metrics(in: name).isSubset(of: Set(MetricName.catalog.keys)), "\(name) is in MetricName's catalog")
                }
            }
            let labelValues = synced.samples.flatMap(\.labels.values)
            #expect(!labelValues.contains(stripe.uuidString.lowercased()) && !labelValues.contains("tenant-metrics"), "no connection or tenant as a label")

            // Webhooks through the ingress: accepted, a duplicate, a bad signature, a provider that is none.
            let before = try await Self.scrape(stack.http, stack.ingressURL)
            let secret = try #require(stack.environment["JUNCTION_WEBHOOK_SECRETS_STRIPE"]?.split(separator: ",").first.map(String.init))
            let body = #"{"id":"evt_metrics_1","object":"event","type":"customer.updated","created":1700000000,"data":{"object":{"id":"cus_metrics","object":"customer"}}}"#
            let time = Int(Date().timeIntervalSince1970)
            let mac = HMAC<SHA256>.authenticationCode(for: Array("\(time).\(body)".utf8), using: SymmetricKey(data: Array(secret.utf8)))
            let signed = [("Content-Type", "application/json"), ("Stripe-Signature", "t=\(time),v1=\(IngressWebhookTests.hex(mac))")]
            for _ in 0..<2 {
                #expect(try await stack.http.send(OutboundRequest(method: "POST", url: "\(stack.ingressURL)/webhooks/stripe", headers: signed, body: Array(body.utf8))).status == 200)
            }
            let forged = [("Content-Type", "application/json"), ("Stripe-Signature", "t=\(time),v1=\(String(repeating: "0", count: 64))")]
            #expect(try await stack.http.send(OutboundRequest(method: "POST", url: "\(stack.ingressURL)/webhooks/stripe", headers: forged, body: Array(body.utf8))).status == 401)
            #expect(try await stack.http.send(OutboundRequest(method: "POST", url: "\(stack.ingressURL)/webhooks/no-such-provider", headers: signed, body: Array(body.utf8))).status == 404)
            let after = try await Self.scrape(stack.http, stack.ingressURL)
            func delta(_ labels: [String: String]) -> Double {
                (after.value("junction_webhooks_total", labels) ?? 0) - (before.value("junction_webhooks_total", labels) ?? 0)
            }
            #expect(delta(["provider": "stripe", "outcome": "accepted", "reason": ""]) == 1)
            #expect(delta(["provider": "stripe", "outcome": "duplicate", "reason": ""]) == 1)
            #expect(delta(["provider": "stripe", "outcome": "rejected", "reason": "invalid-signature"]) == 1)
            #expect(delta(["provider": "unknown", "outcome": "rejected", "reason": "unknown-provider"]) == 1, "a path that names no provider is `unknown`, not a series of its own")
            #expect(after.samples.allSatisfy { $0.labels["provider"] != "no-such-provider" })
            let timed = (after.value("junction_webhook_duration_seconds_count", ["provider": "stripe"]) ?? 0)
                - (before.value("junction_webhook_duration_seconds_count", ["provider": "stripe"]) ?? 0)
            #expect(timed == 3, "each Stripe delivery timed once")
            #expect(after.names().contains { $0.hasPrefix("http_server_") }, "routed requests (this scrape's own) counted by route: \(after.names().sorted())")
            // The stored webhook is processed by the worker.
            try await QueueKit.eventually("the webhook job ran") {
                (try await Self.scrape(stack.http, worker).value("junction_jobs_total", ["type": "webhook.process", "outcome": "succeeded"]) ?? 0) >= 1
            }

            // A provider failing: the breaker opens and the worker says so.
            try await stack.sandbox.fault("stripe", ["error_rate": 1.0, "error_status": 500])
            try await stack.enqueue([JobRequest(type: "sync.run", payload: ["connection": .string(stripe.uuidString.lowercased()), "resource": "products"],
                                                priority: .high, connection: stripe.uuidString.lowercased())])
            try await QueueKit.eventually("the breaker opened") {
                (try await Self.scrape(stack.http, worker).value("junction_breaker_transitions_total", ["provider": "stripe", "scope": "provider", "to": "open"]) ?? 0) >= 1
            }
            let failing = try await Self.scrape(stack.http, worker)
            #expect((failing.value("junction_provider_requests_total", ["provider": "stripe", "status": "5xx"]) ?? 0) >= 2)
            #expect((failing.value("junction_breaker_transitions_total", ["provider": "stripe", "scope": "provider", "to": "open"]) ?? 0) >= 1)
            try await stack.sandbox.clearFaults()

            // The scheduler: it leads, and as leader it reports the queue for the fleet.
            let scheduler = try ChildProcess(junction: "junction-scheduler", environment: stack.environment.merging(["JUNCTION_SCHEDULER_HTTP_PORT": "0"]) { $1 })
            let schedulerURL = "http://127.0.0.1:\(try await Self.statusPort(scheduler))"
            try await QueueKit.eventually("the scheduler leads and reports the queue") {
                let scrape = try await Self.scrape(stack.http, schedulerURL)
                // The breakers are read right after the queue, in the same sample.
                return scrape.value("junction_scheduler_leader") == 1 && scrape.value("junction_queue_ready", ["priority": "high"]) != nil
                    && scrape.value("junction_breaker_state", ["provider": "square"]) != nil
            }
            let leading = try await Self.scrape(stack.http, schedulerURL)
            #expect(leading.value("junction_queue_dead") != nil && leading.value("junction_queue_in_flight") != nil && leading.value("junction_queue_delayed") != nil)
            #expect(leading.value("junction_queue_oldest_ready_age_seconds", ["priority": "low"]) != nil)
            #expect((leading.value("junction_queue_events", ["event": "enqueued"]) ?? 0) >= 3, "the fleet's lifetime counters, from Redis")
            // The breakers as Redis holds them: Stripe's opened by the worker minutes ago (its
            // cool-down is 5 minutes), Square's never used.
            #expect(leading.value("junction_breaker_state", ["provider": "stripe"]) == 2 && leading.value("junction_breaker_state", ["provider": "square"]) == 0)
            let ready = try await stack.http.send(OutboundRequest(url: "\(schedulerURL)/health/ready"))
            #expect(ready.status == 200 && ready.text.contains(#""leader":true"#), "\(ready.text)")
            #expect(try await stack.http.send(OutboundRequest(url: "\(schedulerURL)/health")).status == 200)
            #expect(try await scheduler.stop() == 0)
        }
    }

    @Test func workerAndSchedulerAnswerNotReadyWhileRedisIsUnreachable() async throws {
        let stack = try await TestStack.shared()
        let database = try await stack.migratedDatabase()
        let environment = QueueKit.environment(stack, queue: QueueKit.queue(), database: database, [
            "JUNCTION_REDIS_URL": "redis://127.0.0.1:\(try closedPort())/0",
            "JUNCTION_WORKER_HTTP_PORT": "0", "JUNCTION_SCHEDULER_HTTP_PORT": "0",
        ])
        let http = OutboundHTTPClient(connections: 2)
        for executable in ["junction-worker", "junction-scheduler"] {
            let process = try ChildProcess(junction: executable, environment: environment)
            let base = "http://127.0.0.1:\(try await Self.statusPort(process))"
            #expect(try await http.send(OutboundRequest(url: "\(base)/health")).status == 200, "\(executable) is alive")
            let ready = try await http.send(OutboundRequest(url: "\(base)/health/ready"))
            #expect(ready.status == 503, "\(executable): \(ready.text)")
            let checks = try #require(try JSONSerialization.jsonObject(with: Data(ready.text.utf8)) as? [String: Any])["checks"] as? [String: [String: String]]
            #expect(checks?["redis"]?["status"] == "error" && checks?["postgres"]?["status"] == "ok", "\(executable): \(ready.text)")
            #expect(try await http.send(OutboundRequest(url: "\(base)/metrics")).status == 200)
            #expect(try await process.stop() == 0, "\(executable) stops on SIGTERM while it waits for Redis")
        }
        await http.shutdown()
    }
    /// One id from the caller's answer to the worker's provider call: a routed request keeps its
    /// `X-Request-Id` (or its `traceparent`'s trace id), a webhook delivery gets a new one, and the
    /// jobs they enqueue log under it, provider calls included.
    @Test func aTraceIDRunsFromTheIngressAnswerToTheProviderCall() async throws {
        try await ConnectStack.with(seed: 5) { stack in
            let stripe = try await stack.connect("stripe", tenant: "tenant-trace")
            let id = stripe.uuidString.lowercased()
            let bearer = APITests.bearer("tenant-trace", roles: ["admin"])
            func call(_ method: String, _ path: String, _ extra: [(String, String)], body: String? = nil) async throws -> OutboundResponse {
                let headers = bearer + extra + (body == nil ? [] : [("Content-Type", "application/json")])
                return try await stack.http.send(OutboundRequest(method: method, url: stack.ingressURL + path, headers: headers.map { (name: $0.0, value: $0.1) },
                                                                 body: body.map { Array($0.utf8) } ?? []))
            }
            let triggered = try await call("POST", "/v1/connections/\(id)/syncs", [("X-Request-Id", "trace-test-0001")], body: #"{"resource":"customers"}"#)
            #expect(triggered.status == 202 && triggered.header("x-request-id") == "trace-test-0001", "\(triggered.status) \(triggered.text)")
            try await QueueKit.eventually("the sync ran under the caller's id") {
                stack.workers[0].lines.contains { $0.contains(#""trace_id":"trace-test-0001""#) && $0.contains(#""msg":"sync finished""#) }
            }
            #expect(stack.workers[0].lines.contains { $0.contains(#""trace_id":"trace-test-0001""#) && $0.contains(#""msg":"provider called""#) && $0.contains(#""provider":"stripe""#) },
                    "its provider calls are logged under the caller's id")

            let parent = try await call("GET", "/v1/connections", [("traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")])
            #expect(parent.status == 200 && parent.header("x-request-id") == "4bf92f3577b34da6a3ce929d0e0e4736")
            let forged = try await call("GET", "/v1/connections", [("X-Request-Id", "a b\"c")])
            let replaced = try #require(forged.header("x-request-id"))
            #expect(forged.status == 200 && replaced != "a b\"c" && Correlation.isAcceptable(replaced), "an id that could forge a log line is replaced: \(replaced)")
            let missing = try await stack.http.send(OutboundRequest(url: stack.ingressURL + "/v1/no-such-route"))
            #expect(missing.status == 404 && missing.header("x-request-id") != nil, "a 404 carries an id too")

            // A webhook: its answer names the id its job then logs under.
            let body = #"{"id":"evt_trace_1","object":"event","type":"customer.updated","created":1700000000,"data":{"object":{"id":"cus_trace","object":"customer"}}}"#
            let delivered = try await stack.deliverStripe(body)
            let trace = try #require(delivered.header("x-request-id"))
            #expect(delivered.status == 200 && trace.count == 32 && trace != "trace-test-0001")
            try await QueueKit.eventually("the webhook's job logs under the delivery's id") {
                stack.workers[0].lines.contains { $0.contains(#""trace_id":"\#(trace)""#) && $0.contains(#""job_type":"webhook.process""#) }
            }
            let refused = try await stack.deliverStripe(body, forged: true)
            let refusedTrace = try #require(refused.header("x-request-id"))
            #expect(refused.status == 401)
            try await QueueKit.eventually("the ingress logs the refusal under its id") {
                stack.ingress.lines.contains { $0.contains(#""msg":"webhook refused""#) && $0.contains(#""trace_id":"\#(refusedTrace)""#) }
            }
        }
    }
}
