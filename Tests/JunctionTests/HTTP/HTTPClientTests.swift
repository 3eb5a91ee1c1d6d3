import Foundation
import Hummingbird
import JunctionCore
import Testing

@Suite("HTTP client")
struct HTTPClientTests {
    /// A local server with the routes the tests call.
    static func router() -> Router<BasicRequestContext> {
        let router = Router()
        router.post("/echo") { request, _ -> Response in
            let body = try await request.body.collect(upTo: 1 << 20)
            var headers: HTTPFields = [.contentType: "application/octet-stream"]
            headers[.init("X-Seen-Method")!] = request.method.rawValue
            headers[.init("X-Seen-Token")!] = request.headers[.init("X-Token")!] ?? "none"
            return Response(status: .created, headers: headers, body: .init(byteBuffer: body))
        }
        router.get("/slow") { _, _ -> String in
            try await Task.sleep(for: .seconds(3))
            return "late"
        }
        router.get("/limited") { _, _ -> Response in
            Response(status: .tooManyRequests, headers: [.retryAfter: "7"])
        }
        router.get("/big") { _, _ -> Response in
            Response(status: .ok, body: .init(byteBuffer: ByteBuffer(repeating: 0x61, count: 64 * 1024)))
        }
        return router
    }

    @Test func responseCarriesStatusHeadersAndBody() async throws {
        try await withLiveServer(Self.router()) { port in
            let http = OutboundHTTPClient(connections: 1)
            let body: [UInt8] = Array("hello\u{0}world ✓".utf8)
            let response = try await http.send(OutboundRequest(
                method: "POST", url: "http://127.0.0.1:\(port)/echo",
                headers: [("X-Token", "abc"), ("Content-Type", "application/octet-stream")], body: body))
            #expect(response.status == 201)
            #expect(response.body == body)
            #expect(response.header("x-seen-method") == "POST")
            #expect(response.header("X-SEEN-TOKEN") == "abc")
            #expect(response.header("content-type") == "application/octet-stream")
            await http.shutdown()
        }
    }

    @Test func slowServerTimesOut() async throws {
        try await withLiveServer(Self.router()) { port in
            let http = OutboundHTTPClient(connections: 1)
            await #expect(throws: OutboundHTTPError.timeout) {
                try await http.send(OutboundRequest(url: "http://127.0.0.1:\(port)/slow", timeout: .milliseconds(300)))
            }
            await http.shutdown()
        }
    }

    @Test func closedPortIsConnectionRefused() async throws {
        let http = OutboundHTTPClient(connections: 1)
        await #expect {
            try await http.send(OutboundRequest(url: "http://127.0.0.1:\(try closedPort())/"))
        } throws: { error in
            guard case OutboundHTTPError.connectionRefused = error else { return false }
            return (error as? OutboundHTTPError)?.isRetryable == true
        }
        await http.shutdown()
    }

    @Test func retryAfterSecondsIsReadFromTheResponse() async throws {
        try await withLiveServer(Self.router()) { port in
            let http = OutboundHTTPClient(connections: 1)
            let response = try await http.send(OutboundRequest(url: "http://127.0.0.1:\(port)/limited"))
            #expect(response.status == 429)
            #expect(response.retryAfter() == .seconds(7))
            await http.shutdown()
        }
    }

    @Test func bodyLargerThanTheLimitIsRefused() async throws {
        try await withLiveServer(Self.router()) { port in
            let http = OutboundHTTPClient(connections: 1, maxResponseBytes: 1024)
            await #expect(throws: OutboundHTTPError.responseTooLarge(limit: 1024)) {
                try await http.send(OutboundRequest(url: "http://127.0.0.1:\(port)/big"))
            }
            await http.shutdown()
        }
    }

    @Test func unsupportedSchemeIsAnInvalidURL() async throws {
        let http = OutboundHTTPClient(connections: 1)
        await #expect {
            try await http.send(OutboundRequest(url: "file:///etc/passwd"))
        } throws: { error in
            if case OutboundHTTPError.invalidURL = error { return true }
            return false
        }
        await http.shutdown()
    }
}

@Suite("Retry-After")
struct RetryAfterTests {
    static let now = Date(timeIntervalSince1970: 784_111_777) // Sun, 06 Nov 1994 08:49:37 GMT

    @Test func secondsAreReadAsIs() {
        #expect(RetryAfter.parse("120", now: Self.now) == .seconds(120))
        #expect(RetryAfter.parse(" 0 ", now: Self.now) == .seconds(0))
    }

    @Test(arguments: [
        "Sun, 06 Nov 1994 08:50:07 GMT", // IMF-fixdate
        "Sunday, 06-Nov-94 08:50:07 GMT", // RFC 850
        "Sun Nov  6 08:50:07 1994", // asctime
    ])
    func httpDatesInEveryFormatGiveTheDelayUntilThen(value: String) {
        #expect(RetryAfter.parse(value, now: Self.now) == .seconds(30))
    }

    @Test func aDateInThePastMeansNoWait() {
        #expect(RetryAfter.parse("Sun, 06 Nov 1994 08:00:00 GMT", now: Self.now) == .seconds(0))
    }

    @Test(arguments: ["", "soon", "-5", "1.5", "Sun, 32 Nov 1994 08:50:07 GMT"])
    func unreadableValuesAreIgnored(value: String) {
        #expect(RetryAfter.parse(value, now: Self.now) == nil)
    }
}
