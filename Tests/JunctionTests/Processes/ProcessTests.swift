import Foundation
import JunctionCore
import JunctionQueue
import Testing

@Suite("Processes")
struct ProcessTests {
    @Test func ingressServesHealthAndReadinessAndStopsOnSIGTERM() async throws {
        let stack = try await TestStack.shared()
        let database = try await SharedMigratedDatabase.instance.get()
        let (ingress, port) = try await ChildProcess.ingress(environment: stack.environment(database: database))
        try await waitUntilReady(port: port)
        let http = OutboundHTTPClient(connections: 1)
        let health = try await http.send(OutboundRequest(url: "http://127.0.0.1:\(port)/health"))
        #expect(health.status == 200)
        #expect(health.text == #"{"status":"ok"}"#)
        let ready = try await http.send(OutboundRequest(url: "http://127.0.0.1:\(port)/health/ready"))
        #expect(ready.status == 200)
        #expect(ready.text == #"{"status":"ready","checks":{"redis":{"status":"ok"},"postgres":{"status":"ok"},"webhook_endpoints":{"status":"ok"}}}"#)
        #expect(ready.header("content-type") == "application/json")
        await http.shutdown()

        #expect(try await ingress.stop(signal: SIGTERM) == 0)
        #expect(ingress.lines.last?.contains("\"msg\":\"stopped\"") == true)
        for line in ingress.lines {
            let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
            #expect(object?["ts"] != nil && object?["level"] != nil, "not a JSON log line: \(line)")
            #expect(!line.contains(stack.redis.password ?? "-"), "the Redis password leaked into the logs")
        }
    }

    /// A provider whose OAuth client is half configured would fail only when a tenant tries to
    /// connect: the ingress and the worker refuse to start instead, naming the missing variable,
    /// and say at start which providers can be connected.
    @Test func aHalfConfiguredOAuthClientStopsTheIngressAndTheWorker() async throws {
        let stack = try await TestStack.shared()
        let half = stack.environment(["JUNCTION_OAUTH_BOX_CLIENT_ID": "box-client", "JUNCTION_INGRESS_PORT": "\(try closedPort())"])
        for executable in ["junction-ingress", "junction-worker"] {
            let process = try ChildProcess(junction: executable, environment: half)
            #expect(try await process.exitStatus() == 78, "\(executable)")
            #expect(process.standardError.contains("JUNCTION_OAUTH_BOX_CLIENT_SECRET is missing"), "\(executable): \(process.standardError)")
        }
        let whole = QueueKit.environment(stack, queue: QueueKit.queue(), [
            "JUNCTION_OAUTH_BOX_CLIENT_ID": "box-client", "JUNCTION_OAUTH_BOX_CLIENT_SECRET": "box-secret",
        ])
        let worker = try ChildProcess(junction: "junction-worker", environment: whole)
        try await worker.waitForLine(containing: "\"msg\":\"worker started\"")
        #expect(try await worker.stop() == 0, "\(worker.lines) \(worker.standardError)")
        let line = try #require(worker.lines.first { $0.contains("\"msg\":\"oauth clients\"") })
        #expect(line.contains(#""configured":["box"]"#) && line.contains("square"), "\(line)")
        #expect(!worker.lines.contains { $0.contains("box-secret") }, "the secret is never logged")
    }

    @Test func readinessNamesTheDependencyThatIsDown() async throws {
        let stack = try await TestStack.shared()
        let deadRedis = "redis://127.0.0.1:\(try closedPort())/0"
        let (ingress, port) = try await ChildProcess.ingress(environment: stack.environment(["JUNCTION_REDIS_URL": deadRedis]))
        let http = OutboundHTTPClient(connections: 1)
        let ready = try await http.send(OutboundRequest(url: "http://127.0.0.1:\(port)/health/ready"))
        #expect(ready.status == 503)
        let body = try #require(try JSONSerialization.jsonObject(with: Data(ready.body)) as? [String: Any])
        let checks = try #require(body["checks"] as? [String: [String: String]])
        #expect(body["status"] as? String == "unavailable")
        #expect(checks["redis"]?["status"] == "error")
        #expect(checks["redis"]?["error"]?.contains("cannot connect to Redis") == true)
        #expect(checks["postgres"]?["status"] == "ok")
        await http.shutdown()
        #expect(try await ingress.stop(signal: SIGINT) == 0)
    }

    @Test func readinessAnswersWhenADependencyHangsNamingIt() async throws {
        // PostgreSQL's port accepts connections and never says a word: libpq would wait for its
        // connect timeout, a statement for statement_timeout. Readiness answers at its deadline.
        let stack = try await TestStack.shared()
        let silent = try SilentListener()
        defer { silent.close() }
        let (ingress, port) = try await ChildProcess.ingress(
            environment: stack.environment(["JUNCTION_DATABASE_URL": "postgres://junction@127.0.0.1:\(silent.port)/junction"]))
        let http = OutboundHTTPClient(connections: 1)
        let ready = try await http.send(OutboundRequest(url: "http://127.0.0.1:\(port)/health/ready", timeout: .seconds(30)))
        #expect(ready.status == 503)
        let body = try #require(try JSONSerialization.jsonObject(with: Data(ready.body)) as? [String: Any])
        let checks = try #require(body["checks"] as? [String: [String: String]])
        #expect(checks["postgres"]?["error"] == "no answer within 3 s")
        #expect(checks["redis"]?["status"] == "ok", "the other dependency is still reported as it is")
        await http.shutdown()
        #expect(try await ingress.stop(signal: SIGINT) == 0)
    }

    @Test(arguments: [
        ("junction-ingress", "JUNCTION_INGRESS_PORT", "abc", "JUNCTION_INGRESS_PORT=abc is invalid: not a whole number"),
        ("junction-worker", "JUNCTION_REDIS_URL", "http://x", "JUNCTION_REDIS_URL is invalid: the scheme must be redis://"),
        ("junction-scheduler", "JUNCTION_LOG_LEVEL", "loud", "JUNCTION_LOG_LEVEL=loud is invalid"),
    ])
    func malformedSettingStopsTheProcessWithAMessageNamingTheVariable(binary: String, variable: String, value: String, message: String) async throws {
        let process = try ChildProcess(junction: binary, environment: [variable: value])
        #expect(try await process.exitStatus() == ProcessBootstrap.configurationExitCode)
        #expect(process.standardError.contains(message), "stderr was: \(process.standardError)")
        #expect(process.standardError.contains("Example: \(variable)="))
    }

    @Test(arguments: [("junction-worker", "\"msg\":\"worker started\""), ("junction-scheduler", "\"msg\":\"scheduler started\"")])
    func backgroundProcessConnectsThenStopsCleanlyOnSignal(binary: String, ready: String) async throws {
        let stack = try await TestStack.shared()
        let process = try ChildProcess(junction: binary, environment: stack.environment(["JUNCTION_QUEUE_NAMESPACE": "t\(UUID().uuidString.prefix(8))"]))
        try await process.waitForLine(containing: ready)
        #expect(try await process.stop(signal: SIGTERM) == 0)
        #expect(process.lines.last?.contains("\"msg\":\"stopped\"") == true)
    }

    @Test func backgroundProcessWaitsForADependencyThatIsDownAndStillStopsOnSignal() async throws {
        let stack = try await TestStack.shared()
        let process = try ChildProcess(junction: "junction-worker", environment: stack.environment([
            "JUNCTION_REDIS_URL": "redis://127.0.0.1:\(try closedPort())/0", "JUNCTION_QUEUE_NAMESPACE": "t\(UUID().uuidString.prefix(8))",
        ]))
        try await process.waitForLine(containing: "dependency unavailable, retrying")
        #expect(try await process.stop(signal: SIGTERM) == 0)
    }

    @Test func migrateCommandAppliesThenReportsUpToDate() async throws {
        let stack = try await TestStack.shared()
        let database = try await stack.freshDatabase()
        let environment = stack.environment(database: database)
        let first = try ChildProcess(junction: "junction", arguments: ["migrate"], environment: environment)
        #expect(try await first.exitStatus() == 0)
        #expect(first.lines.contains("applied 0001_initial"))
        let second = try ChildProcess(junction: "junction", arguments: ["migrate"], environment: environment)
        #expect(try await second.exitStatus() == 0)
        #expect(second.lines.first?.hasPrefix("schema is up to date") == true)
        let status = try ChildProcess(junction: "junction", arguments: ["migrate", "--status"], environment: environment)
        #expect(try await status.exitStatus() == 0)
        #expect(status.lines.first?.hasPrefix("0001  0001_initial  applied ") == true)
    }

    @Test func migrateCommandExitsUnavailableWhenPostgresIsDown() async throws {
        let process = try ChildProcess(junction: "junction", arguments: ["migrate"], environment: [
            "JUNCTION_DATABASE_URL": "postgres://junction@127.0.0.1:\(try closedPort())/junction",
        ])
        #expect(try await process.exitStatus() == 69)
        #expect(process.standardError.contains("cannot connect to PostgreSQL"))
    }
}

@Suite("Ingress start-up")
struct IngressStartupTests {
    @Test func ingressRefusesARedisThatEvictsKeys() async throws {
        let redis = try await TestStack.dedicated(.redis)
        defer { Task { try await redis.down() } }
        try await TestStack.onThread { try RedisConnection(redis.redis).command("CONFIG", "SET", "maxmemory-policy", "volatile-lru") }
        let shared = try await TestStack.shared()
        let ingress = try ChildProcess(junction: "junction-ingress", environment: TestStack(directory: nil, redis: redis.redis, database: shared.database).environment(["JUNCTION_INGRESS_PORT": "\(try closedPort())"]))
        #expect(try await ingress.exitStatus() == 1)
        #expect(ingress.standardError.contains("Redis maxmemory-policy is volatile-lru"))
    }
}
