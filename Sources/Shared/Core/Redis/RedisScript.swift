import Foundation

/// A Lua script run with `EVALSHA`. Connections load it on first use and reload it after
/// `NOSCRIPT`, so callers never send the source on the hot path.
public struct RedisScript: Sendable, Hashable {
    /// A short name for logs and errors, such as `enqueue-3`.
    public let name: String
    /// The Lua source.
    public let source: String

    public init(name: String, source: String) {
        self.name = name
        self.source = source
    }

    /// Reads `<file>.lua` from `folder`.
    public init(file: String, in folder: URL) throws {
        self.init(name: file, source: try String(contentsOf: folder.appendingPathComponent("\(file).lua"), encoding: .utf8))
    }
}

/// A script to run with its keys and arguments: what the Swift type of each script builds, so a
/// call can be sent alone or pipelined with others.
public typealias ScriptCall = (script: RedisScript, keys: [RedisArgument], arguments: [RedisArgument])

extension RedisConnection {
    /// Runs one prepared script call.
    public func evaluate(_ call: ScriptCall) throws(RedisError) -> RedisReply {
        try evaluate(call.script, keys: call.keys, arguments: call.arguments)
    }
}

extension RedisArgument {
    /// `id, token, id, token, …`: how the scripts that act on leased jobs take them.
    public static func pairs(_ jobs: [(id: String, token: String)]) -> [RedisArgument] {
        var arguments: [RedisArgument] = []
        arguments.reserveCapacity(jobs.count * 2)
        for job in jobs {
            arguments.append(RedisArgument(job.id))
            arguments.append(RedisArgument(job.token))
        }
        return arguments
    }
}
