import Foundation
import JunctionCore
import NIOCore
import NIOHTTP1
import Synchronization

/// How long a client may take, and how many may be connected: what a public endpoint needs
/// against slow clients (slow-loris heads, stalled bodies, idle keep-alive sockets) and floods.
public struct ConnectionLimits: Sendable, Equatable {
    /// From a request's first byte (or a new connection) to the end of its head.
    public var header: Duration
    /// Longest pause between two pieces of a request's body.
    public var body: Duration
    /// Longest idle time between an answer and the next request's first byte.
    public var keepAlive: Duration
    /// Open connections the ingress accepts; past them a new connection is answered 503 and closed.
    public var maxConnections: Int

    public init(header: Duration = .seconds(10), body: Duration = .seconds(10), keepAlive: Duration = .seconds(60), maxConnections: Int = 10_000) {
        self.header = header
        self.body = body
        self.keepAlive = keepAlive
        self.maxConnections = maxConnections
    }

    /// `JUNCTION_INGRESS_HEADER_TIMEOUT` (10s), `_BODY_TIMEOUT` (10s), `_KEEPALIVE_TIMEOUT` (60s),
    /// `_MAX_CONNECTIONS` (10000).
    public init(environment: EnvironmentVariables) throws(ConfigurationError) {
        header = try environment.duration("JUNCTION_INGRESS_HEADER_TIMEOUT", default: "10s")
        body = try environment.duration("JUNCTION_INGRESS_BODY_TIMEOUT", default: "10s")
        keepAlive = try environment.duration("JUNCTION_INGRESS_KEEPALIVE_TIMEOUT", default: "60s")
        maxConnections = try environment.integer("JUNCTION_INGRESS_MAX_CONNECTIONS", default: 10_000, in: 1...1_000_000)
        for (name, value) in [("JUNCTION_INGRESS_HEADER_TIMEOUT", header), ("JUNCTION_INGRESS_BODY_TIMEOUT", body), ("JUNCTION_INGRESS_KEEPALIVE_TIMEOUT", keepAlive)]
        where value < .milliseconds(100) {
            throw ConfigurationError(variable: name, problem: "\(name) is invalid: must be at least 100ms", example: "10s")
        }
    }
}

/// The ingress's open connections, against ``ConnectionLimits/maxConnections``.
final class ConnectionCount: Sendable {
    private let open = Atomic<Int>(0)

    /// Counts `channel` until it closes; false (and not counted) when the limit is reached.
    func admit(_ channel: any Channel, limit: Int) -> Bool {
        let now = open.add(1, ordering: .relaxed).newValue
        guard now <= limit else {
            open.subtract(1, ordering: .relaxed)
            return false
        }
        channel.closeFuture.whenComplete { _ in self.open.subtract(1, ordering: .relaxed) }
        return true
    }

    /// What a connection past the limit is told before it is closed (it has sent nothing yet,
    /// or its request is not read: the answer goes out at once).
    static let refusal: String = {
        let body = #"{"type":"urn:junction:problem:too-many-connections","title":"Too many connections","status":503,"detail":"the ingress holds its maximum of open connections; retry shortly"}"#
        return "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/problem+json\r\nRetry-After: 1\r\nConnection: close\r\nContent-Length: \(body.utf8.count)\r\n\r\n\(body)"
    }()
}

/// One connection's deadline, shared by the two handlers that watch it (the raw bytes before the
/// HTTP decoder, the request parts after it). Both run on the connection's event loop.
final class ConnectionDeadline {
    enum Phase {
        /// Between requests, nothing of the next one read yet: the keep-alive timeout.
        case idle
        /// Some of a request's head has arrived (or the connection is new): the header timeout,
        /// counted from then, however slowly the rest trickles in.
        case head
        /// The head is read; the body is arriving: the body timeout, from the last piece.
        case body
        /// The request is read and its answer is being made: no client timeout (Redis's and
        /// the handlers' own limits apply).
        case answering
    }

    let limits: ConnectionLimits
    /// This connection's three timeouts, each up to a tenth longer (at most a second) by one
    /// fraction drawn when it opens. Connections opened together (a slow-loris crowd) then do not
    /// all time out in one instant: 1,500 of them answered 408 and closed in one turn of the loops
    /// held honest deliveries up for tens of milliseconds (docs/PERFORMANCE.md, "slow-loris").
    let header: TimeAmount
    let body: TimeAmount
    let keepAlive: TimeAmount
    private(set) var phase = Phase.head
    /// When the current phase runs out; nil while an answer is being made.
    private var expiry: NIODeadline?
    /// The one timer, due at or before ``expiry``. Moving the expiry costs a clock read, not a new
    /// timer (a request changes phase four times); when the timer fires early, it is set again for
    /// what is left. What the guards cost is measured in docs/PERFORMANCE.md, not settled yet.
    private var timer: Scheduled<Void>?
    private var timerAt: NIODeadline?
    /// Requests whose head is read and whose answer has not ended.
    private var owed = 0
    /// Whether an answer's head is written and its end is not.
    private var answerOpen = false
    /// Bytes arrived after the last head: a pipelined request has begun.
    private var bytesSinceHead = false

    /// The first handler's context (``RawActivityHandler``): a timeout writes and closes through it.
    var context: ChannelHandlerContext?

    init(limits: ConnectionLimits, stagger: Double = Double.random(in: 0..<1)) {
        self.limits = limits
        func staggered(_ timeout: Duration) -> TimeAmount {
            TimeAmount(timeout + min(timeout / 10, .seconds(1)) * stagger)
        }
        header = staggered(limits.header)
        body = staggered(limits.body)
        keepAlive = staggered(limits.keepAlive)
    }

    func start() { arm(.head, after: header) }

    func bytesArrived() {
        bytesSinceHead = true
        if case .idle = phase { arm(.head, after: header) }
    }

    func headRead() {
        owed += 1
        bytesSinceHead = false
        arm(.body, after: body)
    }

    func bodyRead() {
        if case .body = phase { arm(.body, after: body) }
    }

    func requestRead() {
        // Answered before its end (a refusal while the body still came): back to waiting.
        if owed == 0 { return settle() }
        phase = .answering
        expiry = nil
    }

    func answerStarted() { answerOpen = true }

    func answerEnded() {
        answerOpen = false
        owed = max(0, owed - 1)
        if owed == 0, case .answering = phase { settle() }
    }

    /// Nothing owed: wait for the next request, which may have begun already.
    private func settle() {
        if bytesSinceHead { arm(.head, after: header) } else { arm(.idle, after: keepAlive) }
    }

    func stop() {
        timer?.cancel()
        timer = nil
        timerAt = nil
        expiry = nil
        context = nil
    }

    private func arm(_ next: Phase, after delay: TimeAmount) {
        phase = next
        let at = NIODeadline.now() + delay
        expiry = at
        // A shorter phase than the timer allows (a head after an idle wait): due sooner.
        if let timerAt, timerAt <= at { return }
        timer?.cancel()
        schedule(at)
    }

    private func schedule(_ at: NIODeadline) {
        guard let context else { return }
        let bound = NIOLoopBound(self, eventLoop: context.eventLoop)
        timerAt = at
        timer = context.eventLoop.scheduleTask(deadline: at) { bound.value.fired() }
    }

    private func fired() {
        timer = nil
        timerAt = nil
        guard let expiry else { return }  // answering: set again when the answer ends
        if expiry <= .now() { expired() } else { schedule(expiry) }
    }

    /// The client took too long: a request half read is answered 408 (nothing else was written
    /// for it), an idle connection is just closed.
    private func expired() {
        guard let context else { return }
        switch phase {
        case .idle, .answering:
            context.close(promise: nil)
        case .head where !bytesSinceHead:
            // A connection that never sent a byte of a request: nothing to answer.
            context.close(promise: nil)
        case .head, .body:
            guard !answerOpen, owed <= 1 else { return context.close(promise: nil) }
            let body = #"{"type":"urn:junction:problem:request-timeout","title":"Request timeout","status":408,"detail":"the request was not received in time"}"#
            var buffer = context.channel.allocator.buffer(capacity: 256)
            buffer.writeString("HTTP/1.1 408 Request Timeout\r\nContent-Type: application/problem+json\r\nConnection: close\r\nContent-Length: \(body.utf8.count)\r\n\r\n\(body)")
            // Straight to the socket (this handler's context is the first), past the HTTP encoder.
            context.writeAndFlush(NIOAny(buffer)).whenComplete { _ in context.close(promise: nil) }
        }
    }
}

/// First in the pipeline: sees a request's first bytes before the decoder has a head, and writes
/// the 408 straight to the socket (its context's writes go to the socket directly). Inbound only,
/// so the answers' writes and flushes do not pass through it.
final class RawActivityHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer

    let deadline: ConnectionDeadline

    init(deadline: ConnectionDeadline) { self.deadline = deadline }

    func handlerAdded(context: ChannelHandlerContext) {
        deadline.context = context
        if context.channel.isActive { deadline.start() }
    }

    func channelActive(context: ChannelHandlerContext) {
        deadline.start()
        context.fireChannelActive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        deadline.bytesArrived()
        context.fireChannelRead(data)
    }

    func channelInactive(context: ChannelHandlerContext) {
        deadline.stop()
        context.fireChannelInactive()
    }
}

/// Right after the HTTP decoder: sees each request's head, body and end, and each answer's head
/// and end, whoever writes them (the webhook handler or the router).
final class RequestProgressHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias InboundOut = HTTPServerRequestPart
    typealias OutboundIn = HTTPServerResponsePart
    typealias OutboundOut = HTTPServerResponsePart

    let deadline: ConnectionDeadline

    init(deadline: ConnectionDeadline) { self.deadline = deadline }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head: deadline.headRead()
        case .body: deadline.bodyRead()
        case .end: deadline.requestRead()
        }
        context.fireChannelRead(data)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        switch unwrapOutboundIn(data) {
        case .head(let head) where head.status.code >= 200: deadline.answerStarted()
        case .end: deadline.answerEnded()
        default: break
        }
        context.write(data, promise: promise)
    }
}

/// First in the pipeline of a connection past the cap: answers 503 at once, reads nothing, closes.
final class RefusingHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer

    func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive { refuse(context) }
    }

    func channelActive(context: ChannelHandlerContext) { refuse(context) }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {}

    private var refused = false

    private func refuse(_ context: ChannelHandlerContext) {
        guard !refused else { return }
        refused = true
        let buffer = context.channel.allocator.buffer(string: ConnectionCount.refusal)
        context.writeAndFlush(NIOAny(buffer)).whenComplete { _ in context.close(promise: nil) }
    }
}
