import JunctionWorker

/// `junction-worker`: everything it does is in `JunctionWorker`, so the tests can import it.
@main
struct WorkerMain {
    static func main() async throws {
        try await WorkerProcess.main()
    }
}
