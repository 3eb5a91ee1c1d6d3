import NIOCore

extension TimeAmount {
    /// A configured `Duration` as NIO's timer amount (nanoseconds; finer parts are dropped).
    init(_ duration: Duration) {
        self = .nanoseconds(duration.components.seconds * 1_000_000_000 + duration.components.attoseconds / 1_000_000_000)
    }
}
