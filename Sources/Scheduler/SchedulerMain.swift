import JunctionShared

/// `junction-scheduler`: enqueues periodic syncs and token refreshes. Until the scheduler's
/// leader election and ticks land (the scheduler issue), it connects, reports, and stops cleanly
/// on SIGTERM/SIGINT.
@main
struct SchedulerMain {
    static func main() async throws {
        try await ConnectedProcess.main(process: "junction-scheduler", label: "junction.scheduler")
    }
}
