import Foundation

/// Milliseconds: the unit of every time and duration Junction keeps in Redis (scores, TTLs,
/// script arguments), so the conversion is written once.
public enum Milliseconds {
    /// A date as milliseconds since 1970, rounded to the nearest.
    public static func of(_ date: Date) -> Int64 { Int64((date.timeIntervalSince1970 * 1000).rounded()) }

    /// A duration in whole milliseconds (truncated).
    public static func of(_ duration: Duration) -> Int64 {
        duration.components.seconds * 1000 + duration.components.attoseconds / 1_000_000_000_000_000
    }
}
