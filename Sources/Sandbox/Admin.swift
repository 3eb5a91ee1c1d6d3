import Foundation
import Hummingbird
import JunctionCore

/// `/_sandbox/…`: faults, the request log, credentials, and data changes that fire webhooks.
///
/// | method, path | does |
/// |---|---|
/// | `GET /_sandbox/credentials` | the test credentials and webhook secrets |
/// | `PUT /_sandbox/webhook-url` | `{"url": "http://127.0.0.1:8080/webhooks", "signed_url": "https://public.example/webhooks"}`: where webhooks go from now on (`--webhook-url` at start), and optionally the public URL Square's signatures cover |
/// | `GET /_sandbox/oauth` | every provider's OAuth endpoints here (the four above, and the generic mode's seven) |
/// | `PUT /_sandbox/faults/{provider}[?account=A]` | JSON `{error_rate, error_status, rate_limit_rate, retry_after, latency_ms, hang, revoked, fail_after_apply, hang_after_apply}` (`fail_after_apply`: the next N writes applied, then answered `error_status`; `hang_after_apply`: the next N writes applied, then never answered) |
/// | `DELETE /_sandbox/faults` | clears every fault |
/// | `GET /_sandbox/requests[?provider=P]` | the requests received (credentials removed), oldest first |
/// | `DELETE /_sandbox/requests` | clears the log |
/// | `POST /_sandbox/stripe/{resource}[/{id}]` | creates or updates a Stripe object from a JSON object (fires its webhook) |
/// | `GET /_sandbox/counts` | how many records each provider holds |
enum AdminAPI {
    static func register(on router: Router<BasicRequestContext>, sandbox: Sandbox) {
        router.get("/_sandbox/credentials") { _, _ in
            json(credentials(sandbox))
        }
        router.put("/_sandbox/faults/:provider") { request, context in
            let provider = context.parameters.get("provider") ?? ""
            guard SandboxProvider(rawValue: provider) != nil || GenericOAuthAPI.providers.contains(where: { $0.id == provider }) else {
                return json(["error": "unknown provider"], status: .notFound)
            }
            var buffer = try await request.body.collect(upTo: 1 << 20)
            guard case .object(let input)? = try? JSONValue(parsing: buffer.readBytes(length: buffer.readableBytes) ?? []) else {
                return json(["error": "the body must be a JSON object"], status: .badRequest)
            }
            var fault = Fault()
            func number(_ key: String) -> Double? {
                switch input[key] {
                case .integer(let value)?: Double(value)
                case .number(let value)?: value
                default: nil
                }
            }
            fault.errorRate = number("error_rate") ?? 0
            fault.errorStatus = Int(number("error_status") ?? 500)
            fault.rateLimitRate = number("rate_limit_rate") ?? 0
            fault.retryAfter = Int(number("retry_after") ?? 1)
            fault.latencyMs = Int(number("latency_ms") ?? 0)
            fault.hang = input["hang"]?.boolValue ?? false
            fault.revoked = input["revoked"]?.boolValue ?? false
            fault.failAfterApply = Int(number("fail_after_apply") ?? 0)
            fault.hangAfterApply = Int(number("hang_after_apply") ?? 0)
            guard (0...1).contains(fault.errorRate), (0...1).contains(fault.rateLimitRate), (500...599).contains(fault.errorStatus) else {
                return json(["error": "rates are 0 to 1 and error_status 500 to 599"], status: .badRequest)
            }
            let scope = FormBody.query(request.uri.query)["account"].map { "\(provider):\($0)" } ?? provider
            sandbox.world.withLock { $0.faults[scope] = fault }
            return json(["scope": .string(scope)])
        }
        router.put("/_sandbox/webhook-url") { request, _ in
            var buffer = try await request.body.collect(upTo: 1 << 16)
            guard case .object(let input)? = try? JSONValue(parsing: buffer.readBytes(length: buffer.readableBytes) ?? []),
                  let url = input["url"]?.stringValue, url.hasPrefix("http://") || url.hasPrefix("https://") else {
                return json(["error": "the body must be {\"url\": \"http(s)://…\"}"], status: .badRequest)
            }
            sandbox.webhooks.webhookURL.withLock { $0 = url.hasSuffix("/") ? String(url.dropLast()) : url }
            let signed = input["signed_url"]?.stringValue
            sandbox.webhooks.signedURL.withLock { $0 = signed.map { $0.hasSuffix("/") ? String($0.dropLast()) : $0 } }
            return json(["url": .string(url), "signed_url": signed.map(JSONValue.string) ?? .null])
        }
        router.delete("/_sandbox/faults") { _, _ in
            sandbox.world.withLock { $0.faults.removeAll() }
            return Response(status: .noContent)
        }
        router.get("/_sandbox/requests") { request, _ in
            let provider = FormBody.query(request.uri.query)["provider"]
            let entries = sandbox.world.withLock { world in world.log.filter { provider == nil || $0.provider == provider } }
            return json(.array(entries.map { entry in
                ["provider": .string(entry.provider), "method": .string(entry.method), "path": .string(entry.path), "query": .string(entry.query),
                 "headers": .object(entry.headers.mapValues(JSONValue.string)), "body": .string(entry.body), "at": .string(Timestamp.format(entry.at))]
            }))
        }
        router.delete("/_sandbox/requests") { _, _ in
            sandbox.world.withLock { $0.log.removeAll() }
            return Response(status: .noContent)
        }
        router.get("/_sandbox/counts") { _, _ in
            sandbox.world.withLock { world in
                json(["stripe": .object(world.stripe.mapValues { .integer(Int64($0.count)) }),
                      "square": .object(world.square.mapValues { .integer(Int64($0.count)) }),
                      "mailchimp": .object(world.mailchimp.mapValues { .integer(Int64($0.count)) }),
                      "quickbooks": .object(world.quickbooks.mapValues { .integer(Int64($0.count)) })])
            }
        }
        router.post("/_sandbox/stripe/:resource") { request, context in
            try await adminStripe(request, resource: context.parameters.get("resource") ?? "", id: nil, sandbox: sandbox)
        }
        router.post("/_sandbox/stripe/:resource/:id") { request, context in
            try await adminStripe(request, resource: context.parameters.get("resource") ?? "", id: context.parameters.get("id"), sandbox: sandbox)
        }
    }

    static func adminStripe(_ request: Request, resource name: String, id: String?, sandbox: Sandbox) async throws -> Response {
        guard let resource = StripeAPI.resources.first(where: { $0.path == name }) else { return json(["error": "unknown resource"], status: .notFound) }
        var buffer = try await request.body.collect(upTo: 1 << 20)
        guard case .object(let input)? = try? JSONValue(parsing: buffer.readBytes(length: buffer.readableBytes) ?? []) else {
            return json(["error": "the body must be a JSON object"], status: .badRequest)
        }
        let reply = id.map { StripeAPI.update(resource, $0, input, sandbox: sandbox) } ?? StripeAPI.create(resource, input, sandbox: sandbox)
        return reply.response
    }

    static func credentials(_ sandbox: Sandbox) -> JSONValue {
        [
            "stripe": ["secret_key": "sk_test_ followed by anything, such as sk_test_junction", "oauth_client_id": .string(TestCredentials.clientID)],
            "square": ["access_token": .string(TestCredentials.squareToken), "square_version": "2024-06-04"],
            "mailchimp": ["api_key": .string(TestCredentials.mailchimpKey), "list_id": .string(Seed.mailchimpList)],
            "quickbooks": ["access_token": .string(TestCredentials.quickBooksToken), "realm_id": .string(Seed.quickBooksRealm)],
            "oauth": ["client_id": .string(TestCredentials.clientID), "client_secret": .string(TestCredentials.clientSecret)],
            "webhook_secrets": .object(sandbox.options.webhookSecrets.mapValues(JSONValue.string)),
        ]
    }
}
