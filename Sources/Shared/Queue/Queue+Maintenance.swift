import JunctionCore


extension Queue {
    /// Promotes due delayed jobs and recovers expired leases, if no other process did so within
    /// `interval` (a `SET NX PX` lock shared by the fleet). Returns nil when another process holds
    /// the turn.
    public func maintain(on connection: RedisConnection, interval: Duration, owner: String) throws -> (promoted: Int, requeued: Int, dead: Int)? {
        let turn = try connection.command("SET", RedisArgument(settings.keys.maintenanceLock), RedisArgument(owner), "NX", "PX", RedisArgument(max(1, Milliseconds.of(interval))))
        guard turn != .null else { return nil }
        let promoted = try promoteDue(on: connection)
        let (requeued, dead) = try recoverExpired(on: connection)
        return (promoted, requeued, dead)
    }
}
