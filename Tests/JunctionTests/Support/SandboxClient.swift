import Foundation
import JunctionCore
import Testing

/// A running `junction-sandbox` and a Swift API over its admin endpoints.
struct SandboxClient {
    let process: ChildProcess
    let url: String
    let http = OutboundHTTPClient(connections: 4)

    static let stripeKey = "sk_test_junction"
    static let squareToken = "sandbox-sq0atb-junction"
    static let quickBooksToken = "sandbox-qb-access-junction"
    static let quickBooksRealm = "9130355029834636"
    static let mailchimpKey = "sandboxkey0000000000000000000000-us6"
    static let mailchimpList = "a6b5da1054"
    static let clientID = "junction-sandbox-client"
    static let clientSecret = "junction-sandbox-secret"

    static func start(seed: Int = 0, arguments: [String] = [], environment: [String: String] = [:]) async throws -> SandboxClient {
        let process = try ChildProcess(junction: "junction-sandbox", arguments: ["--port", "0", "--seed", "\(seed)"] + arguments, environment: environment)
        // Seeding 100,000 records per provider takes about 10 s on an idle 2-core machine, and many
        // times that while the rest of the suite runs beside it: the bound only turns a hang into a failure.
        try await process.waitForLine(containing: "\"msg\":\"listening\"", limit: .seconds(seed >= 10_000 ? 240 : 60))
        let line = try #require(process.lines.first { $0.contains("\"msg\":\"listening\"") })
        let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
        return SandboxClient(process: process, url: try #require(object?["url"] as? String))
    }

    func stop() async throws {
        await http.shutdown()
        _ = try await process.stop()
    }

    func send(_ method: String = "GET", _ path: String, headers: [(String, String)] = [], body: String = "", timeout: Duration = .seconds(10)) async throws -> OutboundResponse {
        try await http.send(OutboundRequest(method: method, url: url + path, headers: headers.map { (name: $0.0, value: $0.1) }, body: Array(body.utf8), timeout: timeout))
    }

    func stripe(_ method: String = "GET", _ path: String, form: String = "", headers: [(String, String)] = []) async throws -> OutboundResponse {
        try await send(method, path, headers: [("Authorization", "Bearer \(Self.stripeKey)"), ("Content-Type", "application/x-www-form-urlencoded")] + headers, body: form)
    }

    /// `error.<key>` of a Stripe error body.
    func stripeError(_ response: OutboundResponse, _ key: String) -> String? {
        ((try? JSONSerialization.jsonObject(with: Data(response.body)) as? [String: Any])?["error"] as? [String: Any])?[key] as? String
    }

    func json(_ response: OutboundResponse) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(response.body)) as? [String: Any], "not a JSON object: \(response.text)")
    }

    /// Sets a fault: `["error_rate": 1]`, `["rate_limit_rate": 1, "retry_after": 7]`, `["revoked": true]`, …
    func fault(_ provider: String, _ settings: [String: Any], account: String? = nil) async throws {
        let body = String(decoding: try JSONSerialization.data(withJSONObject: settings), as: UTF8.self)
        let response = try await send("PUT", "/_sandbox/faults/\(provider)" + (account.map { "?account=\($0)" } ?? ""), body: body)
        guard response.status == 200 else { throw StackError("fault refused: \(response.text)") }
    }

    func clearFaults() async throws { _ = try await send("DELETE", "/_sandbox/faults") }

    /// Points the webhooks at a port nothing listens on: only the sync runs a test starts bring
    /// the sandbox's changes.
    func muteWebhooks() async throws {
        let answer = try await send("PUT", "/_sandbox/webhook-url", body: #"{"url":"http://127.0.0.1:\#(try closedPort())/webhooks"}"#)
        guard answer.status == 200 else { throw StackError("the webhook URL was not changed: \(answer.status) \(answer.text)") }
    }

    /// The requests the sandbox received for `provider`, oldest first.
    func requests(_ provider: String) async throws -> [[String: Any]] {
        let response = try await send("GET", "/_sandbox/requests?provider=\(provider)")
        return try #require(try JSONSerialization.jsonObject(with: Data(response.body)) as? [[String: Any]])
    }

    func credentials() async throws -> [String: Any] { try json(try await send("GET", "/_sandbox/credentials")) }
}
