import Hummingbird
import JunctionCore

/// What `/v1` answers where no route matched: 405 with `Allow` when the path is an operation's
/// with another method, else a problem+json 404. Added to the router after every route (Hummingbird
/// runs a router's later middleware only for requests no route took).
struct APIMethodNotAllowed<Context: RequestContext>: RouterMiddleware {
    /// Each `/v1` path, as segments (a parameter, `{name}` or `:name`, matches any one), with the methods it takes.
    let templates: [(segments: [Substring], methods: [String])]

    init(routes: [(path: String, method: String)]) {
        var byPath: [String: Set<String>] = [:]
        for route in routes where route.path.hasPrefix("/v1/") { byPath[route.path, default: []].insert(route.method) }
        templates = byPath.map { (segments: $0.key.split(separator: "/"), methods: $0.value.sorted()) }
    }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let path = request.uri.path
        guard path.hasPrefix("/v1/") else { return try await next(request, context) }
        let parts = path.split(separator: "/")
        let allowed = Set(templates.filter { template in
            template.segments.count == parts.count && zip(template.segments, parts).allSatisfy { $0.hasPrefix(":") || $0.hasPrefix("{") || $0 == $1 }
        }.flatMap(\.methods)).sorted()
        guard !allowed.isEmpty else {
            return Problem(status: .notFound, slug: "no-such-operation", title: "No such operation", detail: "\(path) is not an operation of this API (GET /v1/openapi.json lists them)").response
        }
        return Problem(status: .methodNotAllowed, slug: "method-not-allowed", title: "Method not allowed",
                       detail: "\(path) takes \(allowed.joined(separator: ", "))", headers: [.allow: allowed.joined(separator: ", ")]).response
    }
}
