import Foundation
@testable import JunctionIngress
import JunctionCore
import NIOCore
import NIOPosix
import Testing

/// The webhook path's Redis connection (#20): driven by an event loop, pipelined, replies parsed
/// by hiredis's reader.
@Suite("Event-loop Redis connection")
struct EventLoopRedisConnectionTests {
    /// Sends `commands` back to back from the loop and collects every reply, in completion order.
    static func run(_ configuration: RedisConfiguration, on eventLoop: any EventLoop,
                    _ body: @escaping (EventLoopRedisConnection, @escaping (Result<RedisReply, RedisError>) -> Void) -> Int) async throws -> [Result<RedisReply, RedisError>] {
        try await eventLoop.flatSubmit {
            let connection = EventLoopRedisConnection(eventLoop: eventLoop, configuration: configuration)
            let promise = eventLoop.makePromise(of: [Result<RedisReply, RedisError>].self)
            var results: [Result<RedisReply, RedisError>] = []
            var expected = Int.max
            expected = body(connection) { result in
                results.append(result)
                if results.count == expected {
                    connection.close()
                    promise.succeed(results)
                }
            }
            return promise.futureResult
        }.get()
    }

    @Test func pipelinedCommandsAreAnsweredInOrderAcrossReads() async throws {
        let stack = try await TestStack.shared()
        let group = MultiThreadedEventLoopGroup.singleton
        let key = TestStack.uniqueKey()
        // Values large enough that the replies span many socket reads (4 MB in all: a loaded
        // machine answered 20 MB later than the 5 s command timeout).
        let value = String(repeating: "v", count: 4_000)
        let results = try await Self.run(stack.redis, on: group.next()) { connection, done in
            for _ in 0..<500 {
                connection.send(["INCR", RedisArgument(key)], completion: done)
                connection.send(["ECHO", RedisArgument(value)], completion: done)
            }
            return 1_000
        }
        let replies = try results.map { try $0.get() }
        #expect(replies.count == 1_000)
        #expect(replies.enumerated().allSatisfy { index, reply in
            index % 2 == 0 ? reply == .integer(Int64(index / 2 + 1)) : reply == .bulk(Array(value.utf8))
        })
    }

    @Test func aScriptFlushedFromRedisIsLoadedAgain() async throws {
        // A Redis of its own: SCRIPT FLUSH would make every other test's next script call reload.
        let stack = try await TestStack.dedicated(.redis)
        defer { Task { try await stack.down() } }
        let group = MultiThreadedEventLoopGroup.singleton
        let script = RedisScript(name: "test-echo", source: "return ARGV[1] .. '\(UUID().uuidString)'")
        let results = try await Self.run(stack.redis, on: group.next()) { connection, done in
            connection.evaluate((script, [], ["a"])) { first in
                done(first)
                connection.send(["SCRIPT", "FLUSH"]) { _ in
                    connection.evaluate((script, [], ["b"]), completion: done)
                }
            }
            return 2
        }
        let texts = try results.map { try $0.get().string() ?? "" }
        #expect(texts.count == 2 && texts[0].hasPrefix("a") && texts[1].hasPrefix("b"), "\(texts)")
    }

    @Test func refusedCredentialsAndAnUnreachableServerFailEveryWaitingCommand() async throws {
        let stack = try await TestStack.shared()
        let group = MultiThreadedEventLoopGroup.singleton
        var wrong = stack.redis
        wrong.password = "not-the-password"
        let refused = try await Self.run(wrong, on: group.next()) { connection, done in
            for _ in 0..<3 { connection.send(["PING"], completion: done) }
            return 3
        }
        #expect(refused.allSatisfy { if case .failure(.authenticationFailed) = $0 { true } else { false } }, "\(refused)")

        var nowhere = stack.redis
        nowhere.port = try closedPort()
        let unreachable = try await Self.run(nowhere, on: group.next()) { connection, done in
            for _ in 0..<3 { connection.send(["PING"], completion: done) }
            return 3
        }
        #expect(unreachable.allSatisfy { if case .failure(.connectionFailed) = $0 { true } else { false } }, "\(unreachable)")
    }
}
