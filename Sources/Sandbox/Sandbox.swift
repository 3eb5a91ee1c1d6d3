import Foundation
import Hummingbird
import JunctionCore
import Logging
import ServiceLifecycle
import Synchronization

/// What `junction-sandbox` was started with.
struct SandboxOptions: Sendable {
    var seedCount: Int
    var seedValue: UInt64
    /// Base URL the sandbox posts signed webhooks to, `<url>/<provider>` (for Junction's ingress:
    /// `http://127.0.0.1:8080/webhooks`); nil: no webhooks.
    var webhookURL: String?
    var webhookSecrets: [String: String]
    /// How long access tokens live (seconds).
    var accessTokenLifetime: Int
    /// Retries of a webhook answered non-2xx, and the first pause (doubling each time).
    var webhookAttempts: Int
    var webhookFirstRetry: Duration
}

/// Faults injected per provider (or per provider and account), set through `/_sandbox/faults`.
struct Fault: Sendable, Equatable {
    /// Share (0…1) of requests answered `errorStatus`.
    var errorRate = 0.0
    var errorStatus = 500
    /// Share (0…1) of requests answered 429 with `Retry-After: retryAfter`.
    var rateLimitRate = 0.0
    var retryAfter = 1
    var latencyMs = 0
    /// Never answer (until the client gives up).
    var hang = false
    /// Every token is refused (401), as after the user revoked the app.
    var revoked = false
    /// The next this many writes (anything but GET) are applied, then answered `errorStatus`, as
    /// when a provider commits and the answer is lost: the client cannot tell it happened.
    var failAfterApply = 0
    /// The next this many writes are applied, then never answered (until the client gives up), as
    /// when the client dies between the provider's commit and reading its answer.
    var hangAfterApply = 0
}

/// One request as received, for tests to assert on (credentials removed).
struct LoggedRequest: Sendable {
    var provider: String
    var method: String
    var path: String
    var query: String
    var headers: [String: String]
    var body: String
    var at: Date
}

/// Everything the sandbox holds, in memory, behind one lock.
struct World: Sendable {
    var stripe: [String: RecordCollection] = [:]
    var stripeIdempotency: [String: (fingerprint: String, status: Int, body: String)] = [:]
    /// Every Stripe change's event, in order (`/v1/events`).
    var stripeEvents = RecordCollection()
    var square: [String: RecordCollection] = [:]
    var mailchimp: [String: RecordCollection] = [:]
    /// Mailchimp lists (audiences) by `<dc>/<list id>`: their own fields (name, date_created, …).
    var mailchimpLists: [String: [String: JSONValue]] = [:]
    /// Mailchimp campaigns by data centre.
    var mailchimpCampaigns: [String: RecordCollection] = [:]
    var quickbooks: [String: RecordCollection] = [:]
    /// Deleted QuickBooks transactions by entity: id → when (ms), for CDC.
    var quickbooksDeleted: [String: [String: Int64]] = [:]
    /// QuickBooks `requestid`s by `<realm>/<request id>`: the answer of the write that first
    /// carried it, replayed to a repeat.
    var quickbooksRequests: [String: String] = [:]
    /// Square `idempotency_key`s of customer creates: the body that first carried it and the
    /// customer it made.
    var squareIdempotency: [String: (fingerprint: String, id: String)] = [:]
    var faults: [String: Fault] = [:]
    var log: [LoggedRequest] = []
    var oauth = OAuthState()
    var generic = GenericOAuthState()
    var random: SeededGenerator
    /// A clock that only moves forward, so two records never share an update time.
    var lastMs: Int64 = 0

    mutating func nowMs() -> Int64 {
        lastMs = max(lastMs + 1, Int64(Date().timeIntervalSince1970 * 1000))
        return lastMs
    }
}

/// The providers the sandbox speaks.
enum SandboxProvider: String, CaseIterable, Sendable {
    case stripe, square, mailchimp, quickbooks
}

final class Sandbox: Sendable {
    let options: SandboxOptions
    let world: Mutex<World>
    let logger: Logger
    let webhooks: WebhookSender

    init(options: SandboxOptions, logger: Logger) {
        self.options = options
        self.logger = logger
        world = Mutex(World(random: SeededGenerator(seed: options.seedValue)))
        webhooks = WebhookSender(options: options, logger: logger)
    }

    static let sensitiveHeaders: Set<String> = ["authorization", "cookie", "stripe-signature", "x-square-hmacsha256-signature", "intuit-signature"]

    /// Runs one provider request: read the body, log it, apply the faults, then `respond`.
    func serve(_ provider: SandboxProvider, account: String? = nil, _ request: Request,
               _ respond: @Sendable ([UInt8]) async throws -> Response) async throws -> Response {
        try await serve(named: provider.rawValue, account: account, request, respond, unauthorized: { ProviderErrors.unauthorized(provider) },
                        rateLimited: { ProviderErrors.rateLimited(provider, retryAfter: $0) }, failed: { ProviderErrors.serverError(provider, status: $0) })
    }

    /// The same for a provider the sandbox plays only the OAuth endpoints of (``GenericOAuthAPI``):
    /// its faults and log entries go by its id; its error answers are OAuth's.
    func serve(named provider: String, _ request: Request, _ respond: @Sendable ([UInt8]) async throws -> Response) async throws -> Response {
        try await serve(named: provider, account: nil, request, respond,
                        unauthorized: { json(["error": "invalid_token", "error_description": "the app was revoked"], status: .unauthorized) },
                        rateLimited: { json(["error": "rate_limited"], status: .tooManyRequests, headers: [.retryAfter: String($0)]) },
                        failed: { json(["error": "server_error"], status: HTTPResponse.Status(code: $0)) })
    }

    private func serve(named provider: String, account: String?, _ request: Request, _ respond: @Sendable ([UInt8]) async throws -> Response,
                       unauthorized: () -> Response, rateLimited: (Int) -> Response, failed: (Int) -> Response) async throws -> Response {
        var buffer = try await request.body.collect(upTo: 16 << 20)
        let body = buffer.readBytes(length: buffer.readableBytes) ?? []
        var headers: [String: String] = [:]
        for field in request.headers where !Self.sensitiveHeaders.contains(field.name.canonicalName) {
            headers[field.name.canonicalName] = field.value
        }
        let fault = world.withLock { world -> Fault? in
            world.log.append(LoggedRequest(provider: provider, method: request.method.rawValue, path: request.uri.path,
                                           query: request.uri.query ?? "", headers: headers, body: String(decoding: body, as: UTF8.self), at: Date()))
            if world.log.count > 20_000 { world.log.removeFirst(world.log.count - 20_000) }
            return account.flatMap { world.faults["\(provider):\($0)"] } ?? world.faults[provider]
        }
        if let fault {
            if fault.latencyMs > 0 { try await Task.sleep(for: .milliseconds(fault.latencyMs)) }
            if fault.hang {
                // Until the client gives up, or the sandbox shuts down.
                try? await cancelWhenGracefulShutdown { try await Task.sleep(for: .seconds(3600)) }
                return Response(status: .serviceUnavailable)
            }
            if fault.revoked { return unauthorized() }
            let (limited, broken) = world.withLock { world in
                (world.random.chance(fault.rateLimitRate), world.random.chance(fault.errorRate))
            }
            if limited { return rateLimited(fault.retryAfter) }
            if broken { return failed(fault.errorStatus) }
            if (fault.failAfterApply > 0 || fault.hangAfterApply > 0) && request.method != .get {
                let due = world.withLock { world -> (fail: Bool, hang: Bool) in
                    // The same scope the fault was found under: the account's, else the provider's.
                    let scope = account.map { "\(provider):\($0)" }.flatMap { world.faults[$0] == nil ? nil : $0 } ?? provider
                    guard let current = world.faults[scope] else { return (false, false) }
                    if current.failAfterApply > 0 {
                        world.faults[scope]?.failAfterApply -= 1
                        return (true, false)
                    }
                    if current.hangAfterApply > 0 {
                        world.faults[scope]?.hangAfterApply -= 1
                        return (false, true)
                    }
                    return (false, false)
                }
                if due.fail {
                    _ = try await respond(body)
                    return failed(fault.errorStatus)
                }
                if due.hang {
                    _ = try await respond(body)
                    try? await cancelWhenGracefulShutdown { try await Task.sleep(for: .seconds(3600)) }
                    return Response(status: .serviceUnavailable)
                }
            }
        }
        return try await respond(body)
    }

    /// Checks `Authorization: Bearer <token>` against the provider's test key or an issued OAuth
    /// access token; nil when it passes, else the provider's 401.
    func authorize(_ provider: SandboxProvider, _ request: Request) -> Response? {
        guard let header = request.headers[.authorization] else { return ProviderErrors.unauthorized(provider) }
        var token = header
        for scheme in ["Bearer ", "bearer ", "OAuth ", "apikey "] where header.hasPrefix(scheme) { token = String(header.dropFirst(scheme.count)) }
        if header.hasPrefix("Basic "), let decoded = Data(base64Encoded: String(header.dropFirst(6))).map({ String(decoding: $0, as: UTF8.self) }) {
            // Mailchimp: any user name, the API key as password.
            token = String(decoded.split(separator: ":", maxSplits: 1).last ?? "")
        }
        if TestCredentials.accepts(provider, token) { return nil }
        if world.withLock({ $0.oauth.isValidAccessToken(token, provider: provider) }) { return nil }
        return ProviderErrors.unauthorized(provider)
    }
}

/// The credentials each provider accepts without OAuth, printed at start-up.
enum TestCredentials {
    static let squareToken = "sandbox-sq0atb-junction"
    static let quickBooksToken = "sandbox-qb-access-junction"
    static let mailchimpKey = "sandboxkey0000000000000000000000-us6"
    static let clientID = "junction-sandbox-client"
    static let clientSecret = "junction-sandbox-secret"

    static func accepts(_ provider: SandboxProvider, _ token: String) -> Bool {
        switch provider {
        case .stripe: token.hasPrefix("sk_test_") && token.count > 8
        case .square: token == squareToken
        case .quickbooks: token == quickBooksToken
        // Any sandbox key, each data centre (`-us6`, `-us21`) its own account.
        case .mailchimp: token.hasPrefix("sandboxkey") && Mailchimp.isDataCentre(token.split(separator: "-").last.map(String.init) ?? "")
        }
    }
}

/// A response kept as text, so it can be stored (idempotency) before it is sent.
struct Reply: Sendable {
    var status: Int
    var body: String
    var headers: HTTPFields = [:]

    init(status: Int, json: JSONValue, headers: HTTPFields = [:]) {
        self.status = status
        body = json.serialized
        self.headers = headers
    }

    /// An answer whose JSON text is already written.
    init(status: Int, text: String, headers: HTTPFields = [:]) {
        self.status = status
        body = text
        self.headers = headers
    }

    var response: Response { jsonText(body, status: status, headers: headers) }
}

/// JSON responses.
func json(_ value: JSONValue, status: HTTPResponse.Status = .ok, headers: HTTPFields = [:]) -> Response {
    var fields = headers
    fields[.contentType] = "application/json"
    return Response(status: status, headers: fields, body: .init(byteBuffer: ByteBuffer(string: value.serialized)))
}

func jsonText(_ text: String, status: Int, headers: HTTPFields = [:]) -> Response {
    var fields = headers
    fields[.contentType] = "application/json"
    return Response(status: .init(code: status), headers: fields, body: .init(byteBuffer: ByteBuffer(string: text)))
}

/// Each provider's error body.
enum ProviderErrors {
    static func unauthorized(_ provider: SandboxProvider) -> Response {
        switch provider {
        case .stripe:
            json(["error": ["type": "invalid_request_error", "message": "Invalid API Key provided: sk_test_****"]], status: .unauthorized)
        case .square:
            json(["errors": [["category": "AUTHENTICATION_ERROR", "code": "UNAUTHORIZED", "detail": "This request could not be authorized."]]], status: .unauthorized)
        case .mailchimp:
            problem(401, "API Key Invalid", "Your API key may be invalid, or you've attempted to access the wrong datacenter.")
        case .quickbooks:
            json(["fault": ["error": [["message": "message=AuthenticationFailed; errorCode=003200; statusCode=401", "code": "3200"]], "type": "AUTHENTICATION"],
                  "time": .string(Timestamp.format(Date()))], status: .unauthorized)
        }
    }

    static func rateLimited(_ provider: SandboxProvider, retryAfter: Int) -> Response {
        let headers: HTTPFields = [.retryAfter: "\(retryAfter)"]
        return switch provider {
        case .stripe:
            json(["error": ["type": "rate_limit_error", "code": "rate_limit", "message": "Too many requests hit the API too quickly."]], status: .tooManyRequests, headers: headers)
        case .square:
            json(["errors": [["category": "RATE_LIMIT_ERROR", "code": "RATE_LIMITED", "detail": "Rate limit exceeded."]]], status: .tooManyRequests, headers: headers)
        case .mailchimp:
            problem(429, "Too Many Requests", "You have exceeded the limit of 10 simultaneous connections.", headers: headers)
        case .quickbooks:
            json(["fault": ["error": [["message": "message=ThrottleExceeded; errorCode=003001; statusCode=429", "code": "003001"]], "type": "SERVICE"]],
                 status: .tooManyRequests, headers: headers)
        }
    }

    static func serverError(_ provider: SandboxProvider, status: Int) -> Response {
        switch provider {
        case .stripe:
            jsonText(#"{"error":{"type":"api_error","message":"Sandbox fault: simulated server error."}}"#, status: status, headers: [.init("Stripe-Should-Retry")!: "true"])
        case .square:
            jsonText(#"{"errors":[{"category":"API_ERROR","code":"INTERNAL_SERVER_ERROR","detail":"Sandbox fault."}]}"#, status: status)
        case .mailchimp:
            problem(status, "Internal Server Error", "Sandbox fault: simulated server error.")
        case .quickbooks:
            jsonText(#"{"fault":{"error":[{"message":"Sandbox fault","code":"10000"}],"type":"SERVICE"}}"#, status: status)
        }
    }

    /// Mailchimp's problem-detail shape.
    static func problem(_ status: Int, _ title: String, _ detail: String, headers: HTTPFields = [:]) -> Response {
        var fields = headers
        fields[.contentType] = "application/problem+json"
        let body: JSONValue = [
            "type": "https://mailchimp.com/developer/marketing/docs/errors/", "title": .string(title), "status": .integer(Int64(status)),
            "detail": .string(detail), "instance": .string(UUID().uuidString.lowercased()),
        ]
        return Response(status: .init(code: status), headers: fields, body: .init(byteBuffer: ByteBuffer(string: body.serialized)))
    }
}
