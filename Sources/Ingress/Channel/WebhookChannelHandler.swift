import Foundation
import HTTPTypes
import JunctionCore
import JunctionProviders
import JunctionQueue
import NIOCore
import NIOHTTP1
import Tracing

/// Answers webhook deliveries, `POST /webhooks/{provider}[/{endpoint}]`, inside the channel
/// pipeline, and passes every other request on to Hummingbird's router unchanged.
///
/// Deliveries are the ingress's hot path, and answering them here skips what a routed request
/// costs: an async body stream, a task per request, and the conversion of every header field to
/// `HTTPFields`. A delivery is read into one buffer on its event loop, verified there (CPU work
/// only), and its jobs are handed to its event loop's ``EventLoopEnqueuer`` (a group commit over
/// that loop's own Redis connection); the answer is written once Redis has confirmed them. Nothing
/// here blocks, and nothing leaves the event loop: the Redis socket is driven by the same loop.
///
/// Order on a connection is kept: a request that arrives while another one's answer is pending
/// (HTTP pipelining, or a delivery behind a routed request) is held, and reading pauses, until
/// that answer is written. At shutdown, a delivery in progress is answered (with
/// `Connection: close`) before the connection closes.
final class WebhookChannelHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias InboundOut = HTTPServerRequestPart
    typealias OutboundIn = HTTPServerResponsePart
    typealias OutboundOut = HTTPServerResponsePart

    private struct Delivery {
        var head: HTTPRequestHead
        var endpoint: String?
        var scheme: any WebhookScheme
        var body: ByteBuffer?
    }

    private enum State {
        case idle
        /// A request for the router: its parts pass on until its end.
        case forwarding
        /// A delivery's body is arriving.
        case reading(Delivery)
        /// Answered before the body ended (unknown provider, too large): the rest is dropped.
        case draining(keepAlive: Bool)
        /// The delivery is read; its answer waits for Redis.
        case answering
    }

    private let intake: WebhookIntake
    private let enqueuers: EventLoopEnqueuers
    /// This connection's event loop's enqueuer (set when the handler is added).
    private var jobs: EventLoopEnqueuer?
    private var state = State.idle
    /// Requests passed to the router whose response has not ended yet.
    private var routerOpen = 0
    /// Parts that arrived while they could not be taken yet, in order.
    private var held = CircularBuffer<HTTPServerRequestPart>()
    /// The channel asked to read while parts were held: the read happens once they are taken.
    private var readDeferred = false
    /// The server is shutting down: close once the delivery in progress is answered.
    private var closeWhenAnswered = false
    private var date = HTTPDateHeader()
    /// The delivery being answered, for its metrics: its provider (`unknown` for a name that is
    /// none, so a scanner cannot make a series per path) and when its head arrived.
    private var measured: (provider: String, since: NIODeadline)?
    /// The delivery's trace id, answered in `X-Request-Id` (its jobs carry it too).
    private var traceID: String?
    /// The delivery's server span, when traces are exported (``Traces``): from its read body to its
    /// answer, with the jobs it enqueues as its children.
    private var span: (any Span)?
    private var meters = WebhookMeters()

    init(intake: WebhookIntake, jobs: EventLoopEnqueuers) {
        self.intake = intake
        self.enqueuers = jobs
    }

    func handlerAdded(context: ChannelHandlerContext) {
        jobs = enqueuers.on(context.eventLoop)
    }

    // MARK: Inbound

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let part = unwrapInboundIn(data)
        if held.isEmpty && canTake(part) {
            take(part, context: context)
        } else {
            held.append(part)
        }
    }

    func read(context: ChannelHandlerContext) {
        if held.isEmpty {
            context.read()
        } else {
            readDeferred = true
        }
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if event is ChannelShouldQuiesceEvent {
            switch state {
            case .reading, .draining, .answering:
                // Hummingbird would close the connection now, as it sees no request of its own in
                // progress: answer the delivery first, then close.
                closeWhenAnswered = true
                return
            case .idle, .forwarding:
                break
            }
        }
        context.fireUserInboundEventTriggered(event)
    }

    func channelInactive(context: ChannelHandlerContext) {
        held.removeAll()
        // The client left before its answer: the span still ends (its jobs may be stored).
        span?.attributes["junction.client_gone"] = true
        span?.end()
        span = nil
        context.fireChannelInactive()
    }

    /// Whether `part` can be handled now rather than after the answer in progress.
    private func canTake(_ part: HTTPServerRequestPart) -> Bool {
        switch state {
        case .answering:
            return false
        case .idle:
            // A delivery waits for the router's answers that are due before its own.
            if case .head(let head) = part, routerOpen > 0, Self.route(head) != nil { return false }
            return true
        case .forwarding, .reading, .draining:
            return true
        }
    }

    private func take(_ part: HTTPServerRequestPart, context: ChannelHandlerContext) {
        switch (state, part) {
        case (.idle, .head(let head)):
            guard let (provider, endpoint) = Self.route(head) else {
                routerOpen += 1
                state = .forwarding
                context.fireChannelRead(wrapInboundOut(part))
                return
            }
            let scheme: any WebhookScheme
            switch intake.scheme(named: provider) {
            case .success(let found):
                scheme = found
                measured = (provider, .now())
            case .failure(let problem):
                measured = ("unknown", .now())
                return answerEarly(problem.answer, head: head, context: context)
            }
            if let length = head.headers.first(name: "content-length").flatMap({ Int($0) }), length > intake.settings.maxBytes {
                return answerEarly(intake.tooLarge.answer, head: head, context: context)
            }
            if head.headers.first(name: "expect")?.lowercased() == "100-continue" {
                context.writeAndFlush(wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: .continue))), promise: nil)
            }
            state = .reading(Delivery(head: head, endpoint: endpoint, scheme: scheme, body: nil))

        case (.forwarding, _):
            if case .end = part { state = .idle }
            context.fireChannelRead(wrapInboundOut(part))

        case (.reading(var delivery), .body(var chunk)):
            let read = delivery.body?.readableBytes ?? 0
            guard read + chunk.readableBytes <= intake.settings.maxBytes else {
                return answerEarly(intake.tooLarge.answer, head: delivery.head, context: context)
            }
            state = .idle  // so that `delivery` holds the only reference to its buffer
            if delivery.body == nil {
                delivery.body = chunk
            } else {
                delivery.body!.writeBuffer(&chunk)
            }
            state = .reading(delivery)

        case (.reading(let delivery), .end):
            state = .answering
            answer(delivery, context: context)

        case (.reading, .head), (.draining, .head):
            // The decoder never sends a head before the previous end.
            context.fireErrorCaught(HTTPParserError.invalidInternalState)

        case (.draining(let keepAlive), .end):
            state = .idle
            if !keepAlive || closeWhenAnswered {
                context.close(promise: nil)
            } else {
                takeHeld(context: context)
            }

        case (.draining, .body):
            break

        case (.idle, .body), (.idle, .end), (.answering, _):
            // Not reachable: parts of a request always follow its head, and nothing is taken
            // while an answer is pending.
            context.fireChannelRead(wrapInboundOut(part))
        }
    }

    /// Parts held behind an answer, now that it is written.
    private func takeHeld(context: ChannelHandlerContext) {
        guard !held.isEmpty else { return }
        while let part = held.first, canTake(part) {
            held.removeFirst()
            take(part, context: context)
        }
        // Hummingbird's channel passes reads on at the end of a read burst: end the one these
        // parts make up, or the router would not see them until the next read from the socket.
        context.fireChannelReadComplete()
        if held.isEmpty && readDeferred {
            readDeferred = false
            context.read()
        }
    }

    // MARK: Answering

    private func answer(_ delivery: Delivery, context: ChannelHandlerContext) {
        var headers: [String: String] = [:]
        headers.reserveCapacity(delivery.head.headers.count)
        for (name, value) in delivery.head.headers { headers[name.lowercased()] = value }
        var request = WebhookRequest(
            scheme: delivery.scheme, endpoint: delivery.endpoint, target: delivery.head.uri,
            headers: headers, body: delivery.body.map { Array(buffer: $0) } ?? [])
        if Traces.isEnabled, let span = Traces.start("POST /webhooks/{provider}", kind: .server, parent: .topLevel, attributes: [
            ("http.request.method", "POST"), ("http.route", "/webhooks/{provider}"), ("junction.provider", request.provider),
        ]) {
            // The delivery's id is its span's trace id, so its answer, logs, jobs and spans share one.
            self.span = span
            if let parent = Traces.traceparent(of: span.context), let trace = Correlation.traceID(ofTraceparent: parent) {
                request.traceID = trace
                request.traceparent = parent
            }
        }
        traceID = request.traceID
        let keepAlive = delivery.head.isKeepAlive
        switch intake.accept(request) {
        case .answer(let answer):
            finish(answer, keepAlive: keepAlive, context: context)
        case .store(let requests, let events):
            // Answered on this event loop, once Redis has answered.
            let jobs = self.jobs ?? enqueuers.on(context.eventLoop)
            jobs.enqueue(requests) { [self] result in
                finish(intake.stored(result, request: request, events: events), keepAlive: keepAlive, context: context)
            }
        }
    }

    /// Answers before the body is read; the rest of it is dropped as it arrives.
    private func answerEarly(_ answer: WebhookAnswer, head: HTTPRequestHead, context: ChannelHandlerContext) {
        state = .draining(keepAlive: head.isKeepAlive)
        write(answer, keepAlive: head.isKeepAlive && !closeWhenAnswered, context: context)
    }

    private func finish(_ answer: WebhookAnswer, keepAlive: Bool, context: ChannelHandlerContext) {
        guard case .answering = state else { return }
        state = .idle
        let open = keepAlive && !closeWhenAnswered
        write(answer, keepAlive: open, context: context, thenClose: !open)
        if open { takeHeld(context: context) }
    }

    /// Counts the delivery's outcome and times it from its head to its answer.
    private func measure(_ answer: WebhookAnswer) {
        guard let (provider, since) = measured else { return }
        measured = nil
        let outcome = switch answer.status.code {
        case 200..<300: answer.headers.contains { $0.name == WebhookIntake.duplicateHeader } ? "duplicate" : "accepted"
        case 503: "unavailable"
        default: "rejected"
        }
        meters.record(provider: provider, outcome: outcome, reason: answer.reason ?? "", took: .nanoseconds((NIODeadline.now() - since).nanoseconds))
    }

    /// Writes the answer; with `thenClose`, closes the connection once it is written.
    private func write(_ answer: WebhookAnswer, keepAlive: Bool, context: ChannelHandlerContext, thenClose: Bool = false) {
        measure(answer)
        let body = answer.body.utf8.count
        var headers = HTTPHeaders()
        headers.reserveCapacity(answer.headers.count + 4)
        if let contentType = answer.contentType { headers.add(name: "Content-Type", value: contentType) }
        for field in answer.headers { headers.add(name: field.name, value: field.value) }
        headers.add(name: "X-Request-Id", value: traceID ?? Identifiers.traceID())
        traceID = nil
        if let span {
            span.attributes["http.response.status_code"] = Int(answer.status.code)
            if answer.status.code >= 500 { span.setStatus(SpanStatus(code: .error)) }
            span.end()
            self.span = nil
        }
        headers.add(name: "Content-Length", value: String(body))
        headers.add(name: "Date", value: date.now())
        if !keepAlive { headers.add(name: "Connection", value: "close") }
        let status = HTTPResponseStatus(statusCode: answer.status.code)
        context.write(wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: status, headers: headers))), promise: nil)
        if body > 0 {
            context.write(wrapOutboundOut(.body(.byteBuffer(context.channel.allocator.buffer(string: answer.body)))), promise: nil)
        }
        guard thenClose else { return context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil) }
        let promise = context.eventLoop.makePromise(of: Void.self)
        context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: promise)
        promise.futureResult.assumeIsolated().whenComplete { _ in context.close(promise: nil) }
    }

    // MARK: Outbound (the router's answers)

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        guard case .end = unwrapOutboundIn(data) else { return context.write(data, promise: promise) }
        routerOpen = max(0, routerOpen - 1)
        context.write(data, promise: promise)
        if routerOpen == 0 && !held.isEmpty {
            // Deliveries held behind the router's answer: taken on the next turn of the loop, not
            // from inside the router's write.
            let handler = NIOLoopBound((handler: self, context: context), eventLoop: context.eventLoop)
            context.eventLoop.execute { handler.value.handler.takeHeld(context: handler.value.context) }
        }
    }

    // MARK: Routing

    /// `(provider, endpoint)` for `POST /webhooks/{provider}` and `/webhooks/{provider}/{endpoint}`.
    static func route(_ head: HTTPRequestHead) -> (provider: String, endpoint: String?)? {
        guard head.method == .POST else { return nil }
        let uri = head.uri.utf8
        let prefix = "/webhooks/".utf8
        guard uri.starts(with: prefix) else { return nil }
        let path = uri.dropFirst(prefix.count).prefix { $0 != UInt8(ascii: "?") && $0 != UInt8(ascii: "#") }
        let segments = path.split(separator: UInt8(ascii: "/"), omittingEmptySubsequences: true)
        switch segments.count {
        case 1: return (String(Substring(segments[0])), nil)
        case 2: return (String(Substring(segments[0])), String(Substring(segments[1])))
        default: return nil
        }
    }
}

/// The `Date` header's value (RFC 9110 IMF-fixdate), formatted at most once a second.
struct HTTPDateHeader {
    private var second = Int.min
    private var text = ""

    mutating func now() -> String {
        var clock = timespec()
        clock_gettime(CLOCK_REALTIME, &clock)
        if clock.tv_sec != second {
            second = clock.tv_sec
            text = Self.format(time_t(clock.tv_sec))
        }
        return text
    }

    static func format(_ seconds: time_t) -> String {
        var time = seconds
        var parts = tm()
        gmtime_r(&time, &parts)
        let days = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"]
        let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
        func two(_ value: Int32) -> String { value < 10 ? "0\(value)" : "\(value)" }
        return "\(days[Int(parts.tm_wday)]), \(two(parts.tm_mday)) \(months[Int(parts.tm_mon)]) \(parts.tm_year + 1900) "
            + "\(two(parts.tm_hour)):\(two(parts.tm_min)):\(two(parts.tm_sec)) GMT"
    }
}
