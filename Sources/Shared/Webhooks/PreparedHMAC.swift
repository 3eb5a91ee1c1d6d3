import Crypto
import Synchronization

/// HMAC-SHA256 (RFC 2104) for the webhook verifiers, with each secret's key schedule computed
/// once: the hash states after the padded inner and outer key blocks are kept, so a delivery costs
/// the blocks of its own message and one outer block, not a fresh key set-up (swift-crypto's
/// `HMAC` derives and allocates it anew for every code).
///
/// The states are kept per secret in memory, as the secrets themselves are; a process that has
/// seen more than ``limit`` distinct secrets (rotations over a long uptime) starts over. The
/// result is byte for byte `HMAC<SHA256>`'s (a test compares them).
public enum PreparedHMAC {
    private struct Prepared: @unchecked Sendable {
        // SHA256 is a value type whose state is copied on write: each code works on its own copy.
        var inner: SHA256
        var outer: SHA256
    }

    public static let limit = 1024
    private static let prepared = Mutex<[String: Prepared]>([:])

    /// HMAC-SHA256 of `message` under `key`.
    public static func sha256(key: String, _ message: [UInt8]) -> [UInt8] {
        var inner = states(for: key)
        inner.inner.update(data: message)
        return finish(inner)
    }

    /// HMAC-SHA256 of `prefix` followed by `message`, without joining them first.
    public static func sha256(key: String, prefix: String, _ message: [UInt8]) -> [UInt8] {
        var state = states(for: key)
        var prefix = prefix
        prefix.withUTF8 { state.inner.update(bufferPointer: UnsafeRawBufferPointer($0)) }
        state.inner.update(data: message)
        return finish(state)
    }

    private static func finish(_ state: Prepared) -> [UInt8] {
        var state = state
        let innerDigest = state.inner.finalize()
        innerDigest.withUnsafeBytes { state.outer.update(bufferPointer: $0) }
        return Array(state.outer.finalize())
    }

    private static func states(for key: String) -> Prepared {
        if let found = prepared.withLock({ $0[key] }) { return found }
        var block = Array(key.utf8)
        if block.count > SHA256.blockByteCount { block = Array(SHA256.hash(data: block)) }
        block += repeatElement(0, count: SHA256.blockByteCount - block.count)
        var states = Prepared(inner: SHA256(), outer: SHA256())
        states.inner.update(data: block.map { $0 ^ 0x36 })
        states.outer.update(data: block.map { $0 ^ 0x5C })
        prepared.withLock { cache in
            if cache.count >= limit { cache.removeAll() }
            cache[key] = states
        }
        return states
    }
}
