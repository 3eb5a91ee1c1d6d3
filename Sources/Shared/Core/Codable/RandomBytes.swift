#if canImport(Glibc)
import Glibc
import Synchronization
#endif

/// Random bytes from the kernel's CSPRNG, fetched 256 bytes (the most `getentropy` gives) at a
/// time.
///
/// `SystemRandomNumberGenerator` makes one `getrandom` system call per 8 bytes; a job id and its
/// trace id took four per job, a visible share of the ingress's time per webhook. This draws the
/// same kernel randomness in bulk and hands it out under a lock; a forked child discards what its
/// parent had drawn, so the two never hand out the same bytes. For identifiers, not for keys
/// (those use swift-crypto's key generation).
public enum RandomBytes {
    private struct Pool {
        var bytes = [UInt8](repeating: 0, count: 256)
        var used = 256
        /// ``forks`` when the bytes were drawn.
        var drawnAt = 0
    }

    /// Counts forks (only the child's count moves), so a child never reuses bytes drawn before
    /// it: an atomic, since a lock held by another thread at fork time stays held in the child.
    private static let forks = Atomic<Int>(0)

    private static let pool: Mutex<Pool> = {
        pthread_atfork(nil, nil) { RandomBytes.forks.add(1, ordering: .relaxed) }
        return Mutex(Pool())
    }()

    /// Two random 64-bit words.
    public static func twoWords() -> (UInt64, UInt64) {
        let generation = forks.load(ordering: .relaxed)
        return pool.withLock { pool in
            if pool.used + 16 > pool.bytes.count || pool.drawnAt != generation {
                let status = pool.bytes.withUnsafeMutableBytes { getentropy($0.baseAddress!, $0.count) }
                precondition(status == 0, "getentropy failed: errno \(errno)")
                pool.used = 0
                pool.drawnAt = generation
            }
            defer { pool.used += 16 }
            return pool.bytes.withUnsafeBytes { buffer in
                (buffer.loadUnaligned(fromByteOffset: pool.used, as: UInt64.self),
                 buffer.loadUnaligned(fromByteOffset: pool.used + 8, as: UInt64.self))
            }
        }
    }
}
