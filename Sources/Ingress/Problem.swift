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

    var answer: WebhookAnswer {
        var body = #"{"type":"#
        JSONText.appendString("urn:junction:problem:\(slug)", to: &body)
        body += #","title":"#
        JSONText.appendString(title, to: &body)
        body += #","status":\#(status.code),"detail":"#
        JSONText.appendString(detail, to: &body)
        body += "}"
        return WebhookAnswer(status: status, contentType: "application/problem+json",
                             headers: headers.map { ($0.name.rawName, $0.value) }, body: body)
    }

    var response: Response {
        let answer = answer
        return Response(status: answer.status, headers: answer.fields, body: .init(byteBuffer: ByteBuffer(string: answer.body)))
    }
}
