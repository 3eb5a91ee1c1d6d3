extension RedisConnection {
    /// Every key matching the glob `pattern`, sorted, walked with `SCAN` (never `KEYS`, which
    /// blocks the server): for the ops commands that list locks, breakers and limits.
    public func keys(matching pattern: String) throws(RedisError) -> [String] {
        var cursor = "0"
        var found: [String] = []
        repeat {
            let reply = try command("SCAN", RedisArgument(cursor), "MATCH", RedisArgument(pattern), "COUNT", "500").array()
            guard reply.count == 2 else { throw .unexpectedReply(expected: "SCAN cursor and keys", got: .array(reply)) }
            cursor = try reply[0].string() ?? "0"
            for key in try reply[1].array() { if let name = try key.string() { found.append(name) } }
        } while cursor != "0"
        return found.sorted()
    }
}
