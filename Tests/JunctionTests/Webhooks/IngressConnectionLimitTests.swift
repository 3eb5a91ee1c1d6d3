import Crypto
import Foundation
@testable import JunctionIngress
import JunctionCore
import NIOCore
import Testing

/// A public endpoint against slow and numerous clients, probed as an attacker would: a head sent
/// one header at a time, a body that stops, idle keep-alive sockets, more connections than the
/// cap. Each is answered (408, 503) or closed, and honest deliveries go on meanwhile.
@Suite("Ingress connection limits")
struct IngressConnectionLimitTests {
    static func start(_ extra: [String: String]) async throws -> IngressWebhookTests.Running {
        try await IngressWebhookTests.start(try await TestStack.shared(), extra: extra)
    }

    static let short = ["JUNCTION_INGRESS_HEADER_TIMEOUT": "1s", "JUNCTION_INGRESS_BODY_TIMEOUT": "1s", "JUNCTION_INGRESS_KEEPALIVE_TIMEOUT": "1s"]

    /// Connections opened together must not all time out together (their 408s and closes in one
    /// turn of the loop held honest deliveries up): each runs its timeouts up to a tenth longer,
    /// at most a second, never shorter than configured.
    @Test func eachConnectionsTimeoutsAreStaggeredByAtMostATenthAndASecond() {
        let limits = ConnectionLimits(header: .seconds(10), body: .milliseconds(500), keepAlive: .seconds(60))
        let none = ConnectionDeadline(limits: limits, stagger: 0)
        #expect(none.header == .seconds(10) && none.body == .milliseconds(500) && none.keepAlive == .seconds(60))
        let most = ConnectionDeadline(limits: limits, stagger: 0.999_999)
        #expect(most.header > .milliseconds(10_999) && most.header < .seconds(11), "10 s: up to a tenth more")
        #expect(most.body > .milliseconds(549) && most.body < .milliseconds(550), "500 ms: up to a tenth more")
        #expect(most.keepAlive > .milliseconds(60_999) && most.keepAlive < .seconds(61), "60 s: a second more at most")
        // Drawn per connection: a crowd's deadlines spread over the whole allowance.
        let drawn = (0..<200).map { _ in ConnectionDeadline(limits: limits).header.nanoseconds }
        #expect(drawn.allSatisfy { $0 >= 10_000_000_000 && $0 < 11_000_000_000 })
        #expect(drawn.max()! - drawn.min()! > 500_000_000, "200 connections' header deadlines spread over more than half a second")
    }

    @Test func aHeadTrickledInPastTheHeaderTimeoutIsAnswered408AndClosed() async throws {
        let running = try await Self.start(Self.short)
        let (text, closed) = try await TestStack.onThread {
            let connection = try RawHTTPConnection(port: running.port)
            try connection.send("POST /webhooks/stripe HTTP/1.1\r\nHost: x\r\n")
            // One header every 300 ms, never the blank line: each byte is progress, none resets the clock.
            for index in 0..<12 {
                Thread.sleep(forTimeInterval: 0.3)
                guard (try? connection.send("X-Slow-\(index): y\r\n")) != nil else { break }
            }
            return connection.readUntilClosed()
        }
        #expect(closed, "the connection was closed")
        #expect(text.hasPrefix("HTTP/1.1 408 Request Timeout\r\n") && text.contains("urn:junction:problem:request-timeout"), "\(text)")
        #expect(try await running.jobs().isEmpty)
        _ = try await running.ingress.stop()
    }

    @Test func aBodyThatStopsIsAnswered408AndClosedAndASilentConnectionJustClosed() async throws {
        let running = try await Self.start(Self.short)
        let (stalled, silent) = try await TestStack.onThread {
            let connection = try RawHTTPConnection(port: running.port)
            try connection.send("POST /webhooks/stripe HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{\"id\":\"ev")
            let stalled = connection.readUntilClosed()
            let quiet = try RawHTTPConnection(port: running.port)
            return (stalled, quiet.readUntilClosed())
        }
        #expect(stalled.closed && stalled.text.hasPrefix("HTTP/1.1 408 "), "\(stalled.text)")
        #expect(silent.closed && silent.text.isEmpty, "a connection that sent nothing gets nothing: \(silent.text)")
        _ = try await running.ingress.stop()
    }

    @Test func anIdleKeepAliveConnectionIsClosedAfterItsAnswer() async throws {
        let running = try await Self.start(Self.short)
        let (first, rest) = try await TestStack.onThread {
            let connection = try RawHTTPConnection(port: running.port)
            try connection.send("GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
            let first = connection.read { $0.contains(#"{"status":"ok"}"#) }
            return (first, connection.readUntilClosed())
        }
        #expect(first.hasPrefix("HTTP/1.1 200 ") && !first.contains("onnection: close"), "kept alive at first: \(first)")
        #expect(rest.closed && rest.text.isEmpty, "then closed, nothing more written: \(rest.text)")
        _ = try await running.ingress.stop()
    }

    @Test func pastTheConnectionCapANewConnectionIsAnswered503AndAFreedSlotIsServedAgain() async throws {
        // Idle connections (the readiness probe's, kept alive by its client) are closed after 1 s;
        // the four held here never idle: each has begun its next request.
        let running = try await Self.start(["JUNCTION_INGRESS_MAX_CONNECTIONS": "4", "JUNCTION_INGRESS_HEADER_TIMEOUT": "60s",
                                            "JUNCTION_INGRESS_KEEPALIVE_TIMEOUT": "1s"])
        let (refused, served) = try await TestStack.onThread {
            // Four connections the ingress took (each answered): the readiness probe's own
            // keep-alive connection may hold a slot until its idle second is over, and one
            // refused then is not counted, so ask again until four are in.
            var held: [RawHTTPConnection] = []
            for _ in 0..<200 where held.count < 4 {
                let connection = try RawHTTPConnection(port: running.port)
                try? connection.send("GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
                if connection.read(until: { $0.contains(#"{"status":"ok"}"#) || $0.contains("503") }).contains(#"{"status":"ok"}"#) {
                    try connection.send("GET /health HTTP/1.1\r\n")  // the next request, begun: not idle
                    held.append(connection)
                } else {
                    Thread.sleep(forTimeInterval: 0.1)
                }
            }
            guard held.count == 4 else { throw StackError("the ingress never took four connections") }
            let refused = try RawHTTPConnection(port: running.port).readUntilClosed()
            held.removeLast()  // closes it
            // The slot frees once the ingress has seen that close: ask until it has (a bound
            // only against a hang).
            // A full local run once saw the slot stay taken for over 20 s (never alone, where it
            // frees at once): the bound is a minute, and a failure says how long it waited.
            var served = ""
            let freed = ContinuousClock.now
            for _ in 0..<600 where !served.contains(#"{"status":"ok"}"#) {
                Thread.sleep(forTimeInterval: 0.1)
                let again = try RawHTTPConnection(port: running.port)
                try? again.send("GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
                served = again.read { $0.contains(#"{"status":"ok"}"#) || $0.contains("503") }
            }
            withExtendedLifetime(held) {}
            return (refused, served + (served.contains(#"{"status":"ok"}"#) ? "" : "\n(still refused \(ContinuousClock.now - freed) after the close)"))
        }
        #expect(refused.closed && refused.text.hasPrefix("HTTP/1.1 503 Service Unavailable\r\n") && refused.text.contains("Retry-After: 1"), "\(refused.text)")
        #expect(refused.text.contains("urn:junction:problem:too-many-connections"))
        #expect(served.hasPrefix("HTTP/1.1 200 "), "a freed slot takes a new connection: \(served)")
        _ = try await running.ingress.stop()
    }

    @Test func aSlowLorisCrowdDoesNotStopHonestDeliveries() async throws {
        let running = try await Self.start(["JUNCTION_INGRESS_HEADER_TIMEOUT": "30s", "JUNCTION_INGRESS_MAX_CONNECTIONS": "1000"])
        // 300 connections, each with half a head sent, held open.
        let crowd = try await TestStack.onThread {
            try (0..<300).map { index in
                let connection = try RawHTTPConnection(port: running.port)
                try connection.send("POST /webhooks/stripe HTTP/1.1\r\nHost: x\r\nX-Loris-\(index): ")
                return connection
            }
        }
        var delivered = 0
        for index in 0..<20 {
            let body = #"{"id":"evt_loris_\#(index)","type":"customer.updated","data":{"object":{"id":"cus_\#(index)"}}}"#
            let answer = try await running.post("/webhooks/stripe", headers: [("Content-Type", "application/json"), ("Stripe-Signature", IngressWebhookTests.stripeSignature(body))], body: body)
            if answer.status == 200 && answer.text == #"{"received":1,"enqueued":1}"# { delivered += 1 }
        }
        #expect(delivered == 20, "every honest delivery answered and enqueued beside the crowd")
        let jobs = try await running.jobs()
        #expect(jobs.count == 20 && jobs.allSatisfy { $0.type == "webhook.process" })
        withExtendedLifetime(crowd) {}
        _ = try await running.ingress.stop()
    }
}
