/// The four priority lists. Fetch prefers the highest non-empty one, with a guard so `low` is
/// never starved forever.
public enum JobPriority: String, Sendable, Codable, CaseIterable, Comparable {
    /// Webhooks and OAuth exchanges.
    case critical
    /// User-triggered syncs, token refreshes.
    case high
    /// Scheduled syncs.
    case normal
    /// Backfills, cleanup.
    case low

    /// 1 for critical … 4 for low: the position of its list among the scripts' keys.
    public var index: Int {
        switch self {
        case .critical: 1
        case .high: 2
        case .normal: 3
        case .low: 4
        }
    }

    public static func < (lhs: JobPriority, rhs: JobPriority) -> Bool { lhs.index < rhs.index }
}
