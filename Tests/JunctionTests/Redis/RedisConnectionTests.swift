import Foundation
import JunctionCore
import Testing

@Suite("Redis client")
struct RedisConnectionTests {
    @Test func pipelineOfTenThousandCommandsReturnsEveryReplyInOrder() async throws {
        let stack = try await TestStack.shared()
        let key = TestStack.uniqueKey()
        let replies = try await TestStack.onThread {
            let connection = try RedisConnection(stack.redis)
            return try connection.pipeline(Array(repeating: ["INCR", RedisArgument(key)], count: 10_000))
        }
        #expect(replies.count == 10_000)
        #expect(replies == (1...10_000).map { RedisReply.integer(Int64($0)) })
    }

    @Test func binaryValuesWithNulBytesRoundTripUnchanged() async throws {
        let stack = try await TestStack.shared()
        let key = Array(TestStack.uniqueKey().utf8) + [0, 255, 0]
        let value: [UInt8] = Array(0...255) + [0, 0, 10, 13, 0]
        let stored = try await TestStack.onThread {
            let connection = try RedisConnection(stack.redis)
            try connection.command("SET", RedisArgument(bytes: key), RedisArgument(bytes: value))
            return try connection.command("GET", RedisArgument(bytes: key)).bytes()
        }
        #expect(stored == value)
    }

    /// Arguments are written as the bytes of whatever they were made from: strings (multi-byte
    /// UTF-8, empty, larger than any buffer), integers and byte arrays, and the same bytes are the
    /// same argument however they were made.
    @Test func argumentsOfEveryKindReachRedisAsTheirBytes() async throws {
        let stack = try await TestStack.shared()
        let key = TestStack.uniqueKey() + ":é✓"
        let long = String(repeating: "0123456789abcdef", count: 20_000) + "✓"
        let stored = try await TestStack.onThread {
            let connection = try RedisConnection(stack.redis)
            try connection.command("RPUSH", RedisArgument(key), "", RedisArgument(long), RedisArgument(-1_234_567_890_123), RedisArgument(bytes: [0, 13, 10]), RedisArgument(2.5))
            return try connection.command("LRANGE", RedisArgument(key), 0, -1).array().map { try $0.bytes() }
        }
        #expect(stored == [[], Array(long.utf8), Array("-1234567890123".utf8), [0, 13, 10], Array("2.5".utf8)])
        #expect(RedisArgument("a✓") == RedisArgument(bytes: Array("a✓".utf8)))
        #expect(Set([RedisArgument("7"), RedisArgument(7), RedisArgument(bytes: [55])]).count == 1)
    }

    @Test func errorRepliesAreThrownForOneCommandAndKeptInPlaceInAPipeline() async throws {
        let stack = try await TestStack.shared()
        let key = TestStack.uniqueKey()
        try await TestStack.onThread {
            let connection = try RedisConnection(stack.redis)
            try connection.command("SET", RedisArgument(key), "not a number")
            #expect(throws: RedisError.server("ERR value is not an integer or out of range")) {
                try connection.command("INCR", RedisArgument(key))
            }
            let replies = try connection.pipeline([["GET", RedisArgument(key)], ["LPUSH", RedisArgument(key), "x"], ["STRLEN", RedisArgument(key)]])
            #expect(replies[0] == .bulk(Array("not a number".utf8)))
            guard case .error(let message) = replies[1] else {
                Issue.record("expected an error reply, got \(replies[1])")
                return
            }
            #expect(message.hasPrefix("WRONGTYPE"))
            #expect(replies[2] == .integer(12))
        }
    }

    @Test func typedRepliesCoverStatusIntegerArrayAndNil() async throws {
        let stack = try await TestStack.shared()
        let key = TestStack.uniqueKey()
        try await TestStack.onThread {
            let connection = try RedisConnection(stack.redis)
            #expect(try connection.command("PING") == .status("PONG"))
            #expect(try connection.command("RPUSH", RedisArgument(key), "a", "b") == .integer(2))
            #expect(try connection.command("LRANGE", RedisArgument(key), 0, -1) == .array([.bulk([97]), .bulk([98])]))
            #expect(try connection.command("GET", RedisArgument(key + ":missing")) == .null)
        }
    }

    @Test func scriptIsReloadedTransparentlyAfterScriptFlush() async throws {
        let stack = try await TestStack.dedicated(.redis)
        defer { Task { try await stack.down() } }
        let script = RedisScript(name: "sum-0", source: "return tonumber(ARGV[1]) + tonumber(ARGV[2])")
        try await TestStack.onThread {
            let connection = try RedisConnection(stack.redis)
            #expect(try connection.evaluate(script, keys: [], arguments: [2, 3]) == .integer(5))
            let sha = try connection.scriptSHA(script)
            try connection.command("SCRIPT", "FLUSH")
            #expect(try connection.command("SCRIPT", "EXISTS", RedisArgument(sha)) == .array([.integer(0)]))
            #expect(try connection.evaluate(script, keys: [], arguments: [40, 2]) == .integer(42))
            #expect(try connection.command("SCRIPT", "EXISTS", RedisArgument(sha)) == .array([.integer(1)]))
        }
    }

    @Test func scriptErrorsAreThrownAsServerErrors() async throws {
        let stack = try await TestStack.shared()
        let script = RedisScript(name: "fail-0", source: "return redis.error_reply('JUNCTION refused')")
        try await TestStack.onThread {
            let connection = try RedisConnection(stack.redis)
            #expect(throws: RedisError.server("JUNCTION refused")) {
                try connection.evaluate(script, keys: [], arguments: [])
            }
        }
    }

    @Test func serverRestartGivesATypedErrorThenTheConnectionRecovers() async throws {
        let stack = try await TestStack.dedicated(.redis)
        defer { Task { try await stack.down() } }
        let connection = try await TestStack.onThread { UncheckedBox(try RedisConnection(stack.redis)) }
        try await TestStack.onThread { try connection.value.command("SET", "before", "1") }
        try await stack.stop(.redis)
        let failure = try await TestStack.onThread { () -> RedisError? in
            do {
                try connection.value.command("GET", "before")
                return nil
            } catch let error as RedisError {
                return error
            }
        }
        let error = try #require(failure as RedisError?)
        #expect(error.isRetryable, "a lost server is worth retrying: \(error)")
        try await stack.start(.redis)
        let reply = try await TestStack.onThread { try connection.value.command("PING") }
        #expect(reply == .status("PONG"))
    }

    @Test func clientPoolRecoversAfterServerRestart() async throws {
        let stack = try await TestStack.dedicated(.redis)
        defer { Task { try await stack.down() } }
        let client = RedisClient(stack.redis, connections: 2)
        #expect(try await client.command("PING") == .status("PONG"))
        try await stack.stop(.redis)
        await #expect(throws: RedisError.self) { try await client.command("PING") }
        try await stack.start(.redis)
        // Each pool thread may hold a dead socket: at most one failure per connection, then it recovers.
        var answered = 0
        for _ in 0..<4 where (try? await client.command("PING")) == .status("PONG") { answered += 1 }
        #expect(answered >= 2)
        #expect(try await client.command("PING") == .status("PONG"))
        await client.shutdown()
    }

    @Test func commandTimeoutThrowsTimeoutAndTheConnectionIsUsableAfterwards() async throws {
        let stack = try await TestStack.shared()
        let configuration = { var copy = stack.redis; copy.commandTimeout = .milliseconds(200); return copy }()
        let key = TestStack.uniqueKey()
        try await TestStack.onThread {
            let connection = try RedisConnection(configuration)
            #expect(throws: RedisError.timeout) {
                try connection.command("BLPOP", RedisArgument(key), 2)
            }
            #expect(try connection.command("PING") == .status("PONG"))
            // A blocking command with its own, longer timeout is not cut short by the socket.
            #expect(try connection.command(["BLPOP", RedisArgument(key), "0.3"], timeout: .seconds(2)) == .null)
        }
    }

    @Test func wrongPasswordIsAnAuthenticationError() async throws {
        let stack = try await TestStack.shared()
        let configuration = { var copy = stack.redis; copy.password = "wrong"; return copy }()
        await #expect {
            try await TestStack.onThread { _ = try RedisConnection(configuration) }
        } throws: { error in
            guard case RedisError.authenticationFailed(let message) = error else { return false }
            return message.contains("WRONGPASS")
        }
    }

    @Test func connectingToAClosedPortFailsWithConnectionFailed() async throws {
        let configuration = RedisConfiguration(host: "127.0.0.1", port: try closedPort())
        await #expect {
            try await TestStack.onThread { _ = try RedisConnection(configuration) }
        } throws: { error in
            guard case RedisError.connectionFailed = error else { return false }
            return (error as? RedisError)?.isRetryable == true
        }
    }
}

@Suite("Redis URLs")
struct RedisConfigurationTests {
    @Test func urlWithPercentEncodedPasswordAndDatabaseIsParsed() throws {
        let configuration = try RedisConfiguration(url: "redis://ops:p%40ss%2Fword@redis.internal:6380/3")
        #expect(configuration.host == "redis.internal")
        #expect(configuration.port == 6380)
        #expect(configuration.username == "ops")
        #expect(configuration.password == "p@ss/word")
        #expect(configuration.database == 3)
        #expect(configuration.redactedURL == "redis://ops:***@redis.internal:6380/3")
    }

    @Test func urlWithoutPortOrDatabaseUsesDefaults() throws {
        let configuration = try RedisConfiguration(url: "redis://localhost")
        #expect(configuration.port == 6379)
        #expect(configuration.database == 0)
        #expect(configuration.password == nil)
    }

    @Test(arguments: [
        ("http://localhost:6379", "scheme"),
        ("rediss://localhost:6379", "TLS"),
        ("redis://localhost:6379/abc", "database number"),
        ("redis://:6379", "no host"),
    ])
    func invalidURLsAreRejectedWithTheReason(url: String, reason: String) {
        #expect {
            _ = try RedisConfiguration(url: url)
        } throws: { error in
            (error as? InvalidValue)?.reason.contains(reason) == true
        }
    }
}

/// Moves a connection, which is used by one thread at a time, between test threads.
struct UncheckedBox<T>: @unchecked Sendable {
    let value: T
    init(_ value: T) { self.value = value }
}

/// A loopback port with nothing listening on it (bound, read, released).
func closedPort() throws -> Int {
    let socket = Foundation.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    defer { close(socket) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    address.sin_port = 0
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    let bound = withUnsafeMutablePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(socket, $0, length) == 0 && getsockname(socket, $0, &length) == 0 }
    }
    guard bound else { throw StackError("could not bind a loopback socket") }
    return Int(UInt16(bigEndian: address.sin_port))
}

/// A loopback port whose connections the kernel completes but no one ever reads or answers:
/// a server that hangs. Closed by ``close()``.
struct SilentListener {
    let port: Int
    private let socket: Int32

    init() throws {
        socket = Foundation.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let listening = withUnsafeMutablePointer(to: &address) { [socket] in
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(socket, $0, length) == 0 && getsockname(socket, $0, &length) == 0 && listen(socket, 64) == 0
            }
        }
        guard listening else {
            Foundation.close(socket)
            throw StackError("could not listen on a loopback socket")
        }
        port = Int(UInt16(bigEndian: address.sin_port))
    }

    func close() { Foundation.close(socket) }
}
