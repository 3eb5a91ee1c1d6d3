import Hummingbird
import JunctionCore

/// An RFC 9457 problem answer: `application/problem+json` with a stable `type` per kind of error.
struct Problem: Error, Sendable {
    let status: HTTPResponse.Status
    /// The stable part of `type`: `urn:junction:problem:<slug>`.
    let slug: String
    let title: String
    let detail: String
    var headers: HTTPFields = [:]
    /// Each bad field of a request and what is wrong with it (`errors` in the answer).
    var errors: [(field: String, detail: String)] = []

    init(status: HTTPResponse.Status, slug: String, title: String, detail: String, headers: HTTPFields = [:], errors: [(field: String, detail: String)] = []) {
        self.status = status
        self.slug = slug
        self.title = title
        self.detail = detail
        self.headers = headers
        self.errors = errors
    }

    /// 422: the request names its fields' problems, each in `errors`.
    static func invalid(_ errors: [(String, String)]) -> Problem {
        Problem(status: .unprocessableContent, slug: "invalid-request", title: "The request is not valid",
                detail: errors.map { "\($0.0): \($0.1)" }.joined(separator: "; "), errors: errors.map { (field: $0.0, detail: $0.1) })
    }

    /// 404, the same for what does not exist and what belongs to another tenant.
    static func notFound(_ kind: String, _ id: String) -> Problem {
        Problem(status: .notFound, slug: "not-found", title: "Not found", detail: "no \(kind) \(id)")
    }

    var answer: WebhookAnswer {
        var body = #"{"type":"#
        JSONText.appendString("urn:junction:problem:\(slug)", to: &body)
        body += #","title":"#
        JSONText.appendString(title, to: &body)
        body += #","status":\#(status.code),"detail":"#
        JSONText.appendString(detail, to: &body)
        if !errors.isEmpty {
            body += #","errors":["#
            for (index, error) in errors.enumerated() {
                body += index == 0 ? #"{"field":"# : #",{"field":"#
                JSONText.appendString(error.field, to: &body)
                body += #","detail":"#
                JSONText.appendString(error.detail, to: &body)
                body += "}"
            }
            body += "]"
        }
        body += "}"
        return WebhookAnswer(status: status, contentType: "application/problem+json",
                             headers: headers.map { ($0.name.rawName, $0.value) }, body: body, reason: slug)
    }

    var response: Response {
        let answer = answer
        return Response(status: answer.status, headers: answer.fields, body: .init(byteBuffer: ByteBuffer(string: answer.body)))
    }
}
