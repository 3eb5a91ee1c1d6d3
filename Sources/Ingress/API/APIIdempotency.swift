import Crypto
import Foundation
import Hummingbird
import JunctionCore

/// `Idempotency-Key` on the API's POSTs: a client that retries a request (a timeout, a dropped
/// connection) with the same key gets the first answer again, marked `Idempotent-Replayed: true`,
/// and nothing is done twice.
///
/// Kept in Redis per tenant and key (the key is hashed): first a `pending` marker for a minute
/// while the request runs (a second request with the key meanwhile answers 409 and may retry), then
/// the answer for 24 hours. An answer of 5xx is not kept: the retry runs the request again. The
/// same key with another method, path or body answers 422 and changes nothing. A process that dies
/// between doing the work and keeping its answer leaves only the marker, which expires: the
/// retry after it runs the request again.
extension APIRoutes {
    static let idempotencyTTL = 86_400
    static let pendingTTL = 60

    func idempotent(_ request: Request, key: String, tenant: TenantAuthenticator.Tenant, requestBody: ByteBuffer?,
                    _ body: () async throws -> WebhookAnswer) async throws -> WebhookAnswer {
        guard (1...255).contains(key.utf8.count), key.utf8.allSatisfy({ (0x21...0x7e).contains($0) }) else {
            throw Problem.invalid([("Idempotency-Key", "1 to 255 visible ASCII characters")])
        }
        var hash = SHA256()
        hash.update(data: Array("\(request.method.rawValue) \(request.uri.path)?\(request.uri.query ?? "")\n".utf8))
        if let requestBody { hash.update(data: Array(requestBody.readableBytesView)) }
        let fingerprint = hash.finalize().map { String(format: "%02x", $0) }.joined()
        let redisKey = RedisNamespace(queue.settings.keys.namespace).key(
            "api", "idempotency", tenant.id, SHA256.hash(data: Array(key.utf8)).map { String(format: "%02x", $0) }.joined())
        let pending: JSONValue = ["state": "pending", "fingerprint": .string(fingerprint)]
        let claimed = try await redis.command("SET", RedisArgument(redisKey), RedisArgument(pending.serialized), "NX", "EX", RedisArgument(String(Self.pendingTTL)))
        guard case .status = claimed else {
            let stored = try await redis.command("GET", RedisArgument(redisKey))
            guard let text = try? stored.string(), case .object(let kept)? = try? JSONValue(parsing: Array(text.utf8)) else {
                // Expired between the two calls: the client may simply retry.
                throw Problem(status: .conflict, slug: "idempotency-in-progress", title: "A request with this key is in progress",
                              detail: "retry in a moment", headers: [.retryAfter: "1"])
            }
            guard kept["fingerprint"]?.stringValue == fingerprint else {
                throw Problem(status: .unprocessableContent, slug: "idempotency-key-reused", title: "Idempotency-Key already used",
                              detail: "this key was used with another method, path or body in the last 24 hours; use a new key for a new request",
                              errors: [(field: "Idempotency-Key", detail: "used before for another request")])
            }
            guard kept["state"]?.stringValue == "done", let status = kept["status"]?.intValue, let answered = kept["body"]?.stringValue else {
                throw Problem(status: .conflict, slug: "idempotency-in-progress", title: "A request with this key is in progress",
                              detail: "the first request with this key has not finished; retry in a moment", headers: [.retryAfter: "1"])
            }
            return WebhookAnswer(status: HTTPResponse.Status(code: Int(status)), contentType: kept["content_type"]?.stringValue,
                                 headers: [("Cache-Control", "no-store"), ("Idempotent-Replayed", "true")], body: answered)
        }
        let answer: WebhookAnswer
        do {
            answer = try await body()
        } catch let problem as Problem where problem.status.code < 500 {
            answer = problem.answer
        } catch {
            _ = try? await redis.command("DEL", RedisArgument(redisKey))
            throw error
        }
        guard answer.status.code < 500 else {
            _ = try? await redis.command("DEL", RedisArgument(redisKey))
            return answer
        }
        var kept: [String: JSONValue] = ["state": "done", "fingerprint": .string(fingerprint), "status": .integer(Int64(answer.status.code)), "body": .string(answer.body)]
        kept["content_type"] = answer.contentType.map { .string($0) } ?? nil
        do {
            try await redis.command("SET", RedisArgument(redisKey), RedisArgument(JSONValue.object(kept).serialized), "EX", RedisArgument(String(Self.idempotencyTTL)))
        } catch {
            // The work is done; only its replay is lost. The marker expires within a minute.
            logger.warning("API: could not keep an idempotent answer", metadata: ["error": .string("\(error)")])
        }
        return answer
    }
}
