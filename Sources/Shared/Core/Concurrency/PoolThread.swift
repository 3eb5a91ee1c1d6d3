import Foundation

/// Which ``BlockingPool`` thread, if any, the caller runs on: a POSIX thread-specific value set
/// by the pool's threads themselves, so it does not depend on Foundation's `Thread` objects.
///
/// ```swift
/// assert(PoolThread.name != nil, "blocking C calls belong on a pool thread")
/// ```
public enum PoolThread {
    private static let key: pthread_key_t = {
        var key = pthread_key_t()
        precondition(pthread_key_create(&key, { free($0) }) == 0, "pthread_key_create failed")
        return key
    }()

    /// The pool thread's name (`redis-0`, `postgres-1`, …), or nil off the pools.
    public static var name: String? {
        guard let value = pthread_getspecific(key) else { return nil }
        return String(cString: value.assumingMemoryBound(to: CChar.self))
    }

    /// Marks the calling thread; called once by each pool thread as it starts.
    static func mark(_ name: String) {
        pthread_setspecific(key, strdup(name))
    }
}
