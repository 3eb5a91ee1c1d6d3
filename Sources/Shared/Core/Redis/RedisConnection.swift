import CHiredis
import Foundation

/// One blocking connection to Redis over hiredis.
///
/// Not thread-safe, like the hiredis context it owns: one owner at a time (a ``BlockingPool``
/// thread, or a worker processor's own thread). Every call blocks its thread until Redis answers
/// or the command timeout passes, so never call it from the cooperative pool or an event loop;
/// use ``RedisClient`` from async code.
///
/// After any socket error (timeout, reset, server restart) the context is dropped and the caller
/// gets a typed ``RedisError``; the next call connects again, so a connection recovers by itself
/// once Redis is back.
public final class RedisConnection {
    public let configuration: RedisConfiguration
    private var context: UnsafeMutablePointer<redisContext>?
    /// SHA1s that `SCRIPT LOAD` returned on this connection, by script source.
    private var loadedScripts: [String: String] = [:]

    /// Connects at once; throws ``RedisError/connectionFailed(_:)`` or
    /// ``RedisError/authenticationFailed(_:)`` when that fails.
    public init(_ configuration: RedisConfiguration) throws(RedisError) {
        self.configuration = configuration
        try connect()
    }

    deinit {
        if let context { redisFree(context) }
    }

    /// True while a context is open (it may still find the server gone on its next command).
    public var isConnected: Bool { context != nil }

    /// Sends one command and waits for its reply. An error reply is thrown as
    /// ``RedisError/server(_:)``.
    @discardableResult
    public func command(_ arguments: RedisArgument...) throws(RedisError) -> RedisReply {
        try command(arguments)
    }

    /// Sends one command and waits for its reply. An error reply is thrown as
    /// ``RedisError/server(_:)``.
    @discardableResult
    public func command(_ arguments: [RedisArgument]) throws(RedisError) -> RedisReply {
        try pipeline([arguments])[0].check()
    }

    /// Sends one command whose reply may take up to `timeout` (a blocking command such as
    /// `BLMOVE … 5`): the socket timeout is raised for this call only. Pass a timeout a little
    /// longer than the command's own, so Redis, not the socket, ends the wait.
    @discardableResult
    public func command(_ arguments: [RedisArgument], timeout: Duration) throws(RedisError) -> RedisReply {
        let context = try openContext()
        redisSetTimeout(context, timeval(timeout))
        defer {
            if let context = self.context { redisSetTimeout(context, timeval(configuration.commandTimeout)) }
        }
        return try pipeline([arguments])[0].check()
    }

    /// Sends every command in one write and reads every reply: one round trip however many
    /// commands. Error replies come back in place as ``RedisReply/error(_:)``; a socket error
    /// throws (which of the commands took effect is then unknown).
    public func pipeline(_ commands: [[RedisArgument]]) throws(RedisError) -> [RedisReply] {
        guard !commands.isEmpty else { return [] }
        let context = try openContext()
        for command in commands {
            append(command, to: context)
        }
        var replies: [RedisReply] = []
        replies.reserveCapacity(commands.count)
        for _ in commands.indices {
            var raw: UnsafeMutableRawPointer?
            guard redisGetReply(context, &raw) == REDIS_OK, let raw else {
                throw failure(of: context)
            }
            let reply = raw.assumingMemoryBound(to: redisReply.self)
            replies.append(Self.convert(reply))
            freeReplyObject(raw)
        }
        return replies
    }

    /// Runs a Lua script by its SHA1 (`EVALSHA`), loading it first on this connection and again
    /// whenever Redis answers `NOSCRIPT` (after a restart or `SCRIPT FLUSH`). An error raised by
    /// the script is thrown as ``RedisError/server(_:)``.
    @discardableResult
    public func evaluate(_ script: RedisScript, keys: [RedisArgument], arguments: [RedisArgument]) throws(RedisError) -> RedisReply {
        let sha = try scriptSHA(script)
        let reply = try pipeline([Self.evalsha(sha, keys: keys, arguments: arguments)])[0]
        if case .error(let message) = reply, message.hasPrefix("NOSCRIPT") {
            loadedScripts[script.source] = nil
            let reloaded = try scriptSHA(script)
            return try pipeline([Self.evalsha(reloaded, keys: keys, arguments: arguments)])[0].check()
        }
        return try reply.check()
    }

    /// Runs several scripts in one round trip. A call answered `NOSCRIPT` is loaded and run again
    /// on its own, so use this only for calls that do not depend on each other's order.
    public func evaluate(_ calls: [(script: RedisScript, keys: [RedisArgument], arguments: [RedisArgument])]) throws(RedisError) -> [RedisReply] {
        var commands: [[RedisArgument]] = []
        commands.reserveCapacity(calls.count)
        for call in calls {
            commands.append(Self.evalsha(try scriptSHA(call.script), keys: call.keys, arguments: call.arguments))
        }
        var replies = try pipeline(commands)
        for index in replies.indices {
            if case .error(let message) = replies[index], message.hasPrefix("NOSCRIPT") {
                loadedScripts[calls[index].script.source] = nil
                replies[index] = try evaluate(calls[index].script, keys: calls[index].keys, arguments: calls[index].arguments)
            }
        }
        return replies
    }

    /// The SHA1 of `script` as this connection's server knows it, loading it if needed.
    public func scriptSHA(_ script: RedisScript) throws(RedisError) -> String {
        if let sha = loadedScripts[script.source] { return sha }
        guard let sha = try command("SCRIPT", "LOAD", RedisArgument(script.source)).string() else {
            throw .unexpectedReply(expected: "script SHA1", got: .null)
        }
        loadedScripts[script.source] = sha
        return sha
    }

    /// Closes the connection; the next command opens a new one.
    public func close() {
        if let context {
            redisFree(context)
            self.context = nil
        }
    }

    // MARK: - Internals

    private static func evalsha(_ sha: String, keys: [RedisArgument], arguments: [RedisArgument]) -> [RedisArgument] {
        var command: [RedisArgument] = ["EVALSHA", RedisArgument(sha), RedisArgument(keys.count)]
        command.reserveCapacity(3 + keys.count + arguments.count)
        command.append(contentsOf: keys)
        command.append(contentsOf: arguments)
        return command
    }

    private func openContext() throws(RedisError) -> UnsafeMutablePointer<redisContext> {
        if context == nil { try connect() }
        guard let context else { throw .connectionFailed("no connection") }
        return context
    }

    private func connect() throws(RedisError) {
        close()
        guard let fresh = redisConnectWithTimeout(configuration.host, Int32(configuration.port), timeval(configuration.connectTimeout)) else {
            throw .connectionFailed("out of memory allocating the connection")
        }
        if fresh.pointee.err != 0 {
            let reason = Self.errorString(fresh)
            redisFree(fresh)
            throw .connectionFailed("\(configuration.host):\(configuration.port): \(reason)")
        }
        redisSetTimeout(fresh, timeval(configuration.commandTimeout))
        redisEnableKeepAlive(fresh)
        context = fresh
        loadedScripts = [:]

        var setup: [[RedisArgument]] = []
        if let password = configuration.password {
            setup.append(configuration.username.map { ["AUTH", RedisArgument($0), RedisArgument(password)] } ?? ["AUTH", RedisArgument(password)])
        }
        if configuration.database != 0 {
            setup.append(["SELECT", RedisArgument(configuration.database)])
        }
        if let name = configuration.clientName {
            setup.append(["CLIENT", "SETNAME", RedisArgument(name)])
        }
        let replies: [RedisReply]
        do {
            replies = try pipeline(setup)
        } catch {
            close()
            throw .connectionFailed("\(configuration.host):\(configuration.port): \(error)")
        }
        for reply in replies {
            if case .error(let message) = reply {
                close()
                throw .authenticationFailed(message)
            }
        }
    }

    private func append(_ command: [RedisArgument], to context: UnsafeMutablePointer<redisContext>) {
        // Formatted here, straight from each argument's bytes; hiredis copies the result into its
        // output buffer.
        let formatted = command.respEncoded()
        formatted.withUnsafeBytes { buffer in
            _ = redisAppendFormattedCommand(context, buffer.baseAddress!.assumingMemoryBound(to: CChar.self), buffer.count)
        }
    }

    /// Turns the context's error into a typed error and drops the context, so the next call
    /// reconnects instead of reusing a socket in an unknown state.
    private func failure(of context: UnsafeMutablePointer<redisContext>) -> RedisError {
        let code = errno
        let kind = context.pointee.err
        let reason = Self.errorString(context)
        close()
        if kind == REDIS_ERR_IO && (code == EAGAIN || code == EWOULDBLOCK) {
            return .timeout
        }
        return .connectionLost(reason.isEmpty ? "error \(kind)" : reason)
    }

    private static func errorString(_ context: UnsafeMutablePointer<redisContext>) -> String {
        withUnsafeBytes(of: context.pointee.errstr) { raw in
            String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
        }
    }

    static func convert(_ reply: UnsafeMutablePointer<redisReply>) -> RedisReply {
        let value = reply.pointee
        switch value.type {
        case REDIS_REPLY_STRING:
            return .bulk(bytes(value.str, value.len))
        case REDIS_REPLY_STATUS:
            return .status(String(decoding: bytes(value.str, value.len), as: UTF8.self))
        case REDIS_REPLY_ERROR:
            return .error(String(decoding: bytes(value.str, value.len), as: UTF8.self))
        case REDIS_REPLY_INTEGER:
            return .integer(Int64(value.integer))
        case REDIS_REPLY_ARRAY:
            var elements: [RedisReply] = []
            elements.reserveCapacity(value.elements)
            for index in 0..<value.elements {
                if let element = value.element[index] { elements.append(convert(element)) }
            }
            return .array(elements)
        default:
            return .null
        }
    }

    private static func bytes(_ pointer: UnsafeMutablePointer<CChar>?, _ length: Int) -> [UInt8] {
        guard let pointer, length > 0 else { return [] }
        return Array(UnsafeRawBufferPointer(start: pointer, count: length))
    }
}

extension timeval {
    /// A `timeval` for a Swift duration (at least one microsecond: zero would mean "no timeout").
    init(_ duration: Duration) {
        let micros = max(1, duration.components.seconds * 1_000_000 + duration.components.attoseconds / 1_000_000_000_000)
        self.init(tv_sec: Int(micros / 1_000_000), tv_usec: Int(micros % 1_000_000))
    }
}
