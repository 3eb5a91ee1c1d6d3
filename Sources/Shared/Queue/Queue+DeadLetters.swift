import Foundation
import JunctionCore

/// One entry of the dead letters.
public struct DeadLetter: Sendable, Equatable {
    public let envelope: JobEnvelope
    /// The member as stored, byte for byte (what `redis-cli` shows).
    public let raw: String
    public let diedAt: Date
}

extension Queue {
    /// Dead letters, newest first, optionally of one type only.
    public func deadLetters(on connection: RedisConnection, limit: Int, type: String? = nil) throws -> [DeadLetter] {
        var letters: [DeadLetter] = []
        var offset = 0
        let page = 500
        while letters.count < limit {
            let reply = try connection.command("ZREVRANGE", RedisArgument(keys.dead), RedisArgument(offset), RedisArgument(offset + page - 1), "WITHSCORES").array()
            if reply.isEmpty { break }
            var index = 0
            while index + 1 < reply.count && letters.count < limit {
                let raw = try reply[index].string() ?? ""
                let score = try reply[index + 1].string().flatMap(Double.init) ?? 0
                if let envelope = try? JobEnvelope.decode(raw), type == nil || envelope.type == type {
                    letters.append(DeadLetter(envelope: envelope, raw: raw, diedAt: Date(timeIntervalSince1970: score / 1000)))
                }
                index += 2
            }
            offset += page
        }
        return letters
    }

    /// One dead letter by job id.
    public func deadLetter(id: String, on connection: RedisConnection) throws -> DeadLetter? {
        guard let raw = try connection.command("HGET", RedisArgument(keys.deadIndex), RedisArgument(id)).string() else { return nil }
        let score = try connection.command("ZSCORE", RedisArgument(keys.dead), RedisArgument(raw)).string().flatMap(Double.init) ?? 0
        return DeadLetter(envelope: try JobEnvelope.decode(raw), raw: raw, diedAt: Date(timeIntervalSince1970: score / 1000))
    }

    /// Puts a dead letter back on its list with attempt 1 (its error history kept). False when
    /// it is no longer in the dead letters.
    public func replay(_ letter: DeadLetter, on connection: RedisConnection) throws -> Bool {
        var envelope = letter.envelope
        envelope.attempt = 1
        return try ReplayScript.replayed(try connection.evaluate(replayScript.call(id: envelope.id, dead: letter.raw, run: envelope)))
    }

    /// Deletes dead letters that died at or before `cutoff` (all of them when nil), then the
    /// oldest beyond `keepAtMost` (when given).
    public func purgeDead(diedAtOrBefore cutoff: Date?, keepAtMost: Int? = nil, on connection: RedisConnection, batch: Int = 1000) throws -> Int {
        var total = 0
        while true {
            let removed = try PurgeScript.removed(try connection.evaluate(purgeScript.call(diedAtOrBefore: cutoff, batch: batch, keepAtMost: keepAtMost)))
            total += removed
            if removed < batch { return total }
        }
    }
}
