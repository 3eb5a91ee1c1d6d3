import Crypto
import JunctionCore
import NIOCore
import NIOPosix

/// One connection to Redis driven by an event loop: the webhook path's (#20). Commands are
/// written straight into the channel as RESP, replies are parsed on the same loop by hiredis's
/// reader (``RedisReplyReader``), and nothing blocks or hops to another thread. Commands are
/// pipelined: each is written as soon as it is sent, and replies complete the senders in order.
///
/// Every method runs on ``eventLoop``, and so does every completion. The connection opens on
/// first use and again after it broke: a command in flight when the socket closes, or unanswered
/// within the configuration's `commandTimeout`, fails with ``RedisError/connectionLost(_:)`` or
/// ``RedisError/timeout``, and whether it took effect is unknown. Scripts run by their SHA1
/// (`EVALSHA`): loaded on each new connection, and again after a `NOSCRIPT` answer.
final class EventLoopRedisConnection {
    typealias Completion = (Result<RedisReply, RedisError>) -> Void

    let eventLoop: any EventLoop
    let configuration: RedisConfiguration
    private var state = State.idle
    /// Commands written and not yet answered, oldest first.
    private var inFlight = CircularBuffer<Pending>()
    /// Scripts this connection has run, by source: loaded again on every new connection.
    private var scripts: [String: String] = [:]

    private enum State {
        case idle
        /// Connecting: commands wait here, in order, and go out behind the handshake.
        case connecting(waiting: [(command: [RedisArgument], completion: Completion)])
        case connected(any Channel)
    }

    private struct Pending {
        var completion: Completion
        var timeout: Scheduled<Void>
    }

    init(eventLoop: any EventLoop, configuration: RedisConfiguration) {
        self.eventLoop = eventLoop
        self.configuration = configuration
    }

    /// Sends one command; `completion` gets its reply (an error reply as ``RedisReply/error(_:)``)
    /// or why there is none.
    func send(_ command: [RedisArgument], completion: @escaping Completion) {
        eventLoop.preconditionInEventLoop()
        switch state {
        case .connected(let channel):
            write(command, completion, on: channel)
        case .connecting(var waiting):
            waiting.append((command, completion))
            state = .connecting(waiting: waiting)
        case .idle:
            state = .connecting(waiting: [(command, completion)])
            connect()
        }
    }

    /// Runs `call` by `EVALSHA`; after a `NOSCRIPT` answer (a `SCRIPT FLUSH`) it loads the script
    /// and runs it once more. An error reply is thrown as ``RedisError/server(_:)``.
    func evaluate(_ call: ScriptCall, completion: @escaping Completion) {
        let sha = register(call.script)
        send(Self.evalsha(sha, call)) { [self] result in
            guard case .success(.error(let message)) = result, message.hasPrefix("NOSCRIPT") else { return completion(Self.checked(result)) }
            send(["SCRIPT", "LOAD", RedisArgument(call.script.source)]) { _ in }
            send(Self.evalsha(sha, call)) { completion(Self.checked($0)) }
        }
    }

    /// Closes the connection: commands in flight fail. The next command opens a new one.
    func close() {
        eventLoop.preconditionInEventLoop()
        if case .connected(let channel) = state { fail(with: .connectionLost("closed"), channel: channel) }
    }

    private static func checked(_ result: Result<RedisReply, RedisError>) -> Result<RedisReply, RedisError> {
        if case .success(.error(let message)) = result { return .failure(.server(message)) }
        return result
    }

    private func register(_ script: RedisScript) -> String {
        if let sha = scripts[script.source] { return sha }
        let sha = Insecure.SHA1.hash(data: Array(script.source.utf8)).map { String(format: "%02x", $0) }.joined()
        scripts[script.source] = sha
        return sha
    }

    private static func evalsha(_ sha: String, _ call: ScriptCall) -> [RedisArgument] {
        var command: [RedisArgument] = ["EVALSHA", RedisArgument(sha), RedisArgument(call.keys.count)]
        command.reserveCapacity(3 + call.keys.count + call.arguments.count)
        command.append(contentsOf: call.keys)
        command.append(contentsOf: call.arguments)
        return command
    }

    private func write(_ command: [RedisArgument], _ completion: @escaping Completion, on channel: any Channel) {
        let bound = NIOLoopBound(self, eventLoop: eventLoop)
        let timeout = eventLoop.scheduleTask(in: TimeAmount(configuration.commandTimeout)) {
            // No reply in time: the connection is dropped, and every command on it fails.
            bound.value.fail(with: .timeout, channel: channel)
        }
        inFlight.append(Pending(completion: completion, timeout: timeout))
        var buffer = channel.allocator.buffer(capacity: 0)
        buffer.writeBytes(command.respEncoded())
        channel.writeAndFlush(buffer, promise: nil)
    }

    private func connect() {
        let bound = NIOLoopBound(self, eventLoop: eventLoop)
        ClientBootstrap(group: eventLoop)
            .connectTimeout(TimeAmount(configuration.connectTimeout))
            .channelOption(.socketOption(.so_keepalive), value: 1)
            .channelOption(.tcpOption(.tcp_nodelay), value: 1)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(RedisReplyHandler(connection: bound))
                }
            }
            .connect(host: configuration.host, port: configuration.port)
            .whenComplete { result in
                switch result {
                case .success(let channel): bound.value.connected(channel)
                case .failure(let error): bound.value.connectFailed(error)
                }
            }
    }

    private func connected(_ channel: any Channel) {
        guard case .connecting(let waiting) = state else { return channel.close(promise: nil) }
        state = .connected(channel)
        // The handshake first, pipelined with what waited: Redis runs them in order, and a
        // refused AUTH or SELECT fails everything behind it.
        var handshake: [[RedisArgument]] = []
        if let password = configuration.password {
            handshake.append(configuration.username.map { ["AUTH", RedisArgument($0), RedisArgument(password)] } ?? ["AUTH", RedisArgument(password)])
        }
        if configuration.database != 0 { handshake.append(["SELECT", RedisArgument(configuration.database)]) }
        if let name = configuration.clientName { handshake.append(["CLIENT", "SETNAME", RedisArgument(name)]) }
        for source in scripts.keys.sorted() { handshake.append(["SCRIPT", "LOAD", RedisArgument(source)]) }
        for command in handshake {
            write(command, { [self] result in
                if case .success(.error(let message)) = result { fail(with: .authenticationFailed(message), channel: channel) }
            }, on: channel)
        }
        for (command, completion) in waiting { write(command, completion, on: channel) }
    }

    private func connectFailed(_ error: any Error) {
        guard case .connecting(let waiting) = state else { return }
        state = .idle
        let failure = RedisError.connectionFailed("\(configuration.host):\(configuration.port): \(error)")
        for (_, completion) in waiting { completion(.failure(failure)) }
    }

    /// A reply arrived: it answers the oldest command in flight.
    fileprivate func received(_ reply: RedisReply) {
        guard let pending = inFlight.popFirst() else { return }
        pending.timeout.cancel()
        pending.completion(.success(reply))
    }

    /// `channel` closed or failed: if it is the current connection, every command in flight on
    /// it fails with `error` (a late notice from an older connection changes nothing).
    fileprivate func fail(with error: RedisError, channel: any Channel) {
        guard case .connected(let current) = state, current === channel else { return }
        state = .idle
        current.close(promise: nil)
        let failed = inFlight
        inFlight.removeAll()
        for pending in failed {
            pending.timeout.cancel()
            pending.completion(.failure(error))
        }
    }
}

/// Parses the connection's bytes into replies with hiredis's reader, on the event loop.
private final class RedisReplyHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer

    private let connection: NIOLoopBound<EventLoopRedisConnection>
    private let reader = RedisReplyReader()

    init(connection: NIOLoopBound<EventLoopRedisConnection>) {
        self.connection = connection
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let buffer = unwrapInboundIn(data)
        do {
            try buffer.withUnsafeReadableBytes { bytes throws(RedisError) in try reader.feed(bytes) }
            while let reply = try reader.next() { connection.value.received(reply) }
        } catch {
            connection.value.fail(with: error, channel: context.channel)
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        connection.value.fail(with: .connectionLost("the server closed the connection"), channel: context.channel)
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        connection.value.fail(with: .connectionLost("\(error)"), channel: context.channel)
    }
}
