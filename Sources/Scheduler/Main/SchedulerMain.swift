import JunctionScheduler

/// `junction-scheduler`: everything it does is in `JunctionScheduler`, so the tests can import it.
@main
struct SchedulerMain {
    static func main() async throws {
        try await SchedulerProcess.main()
    }
}
