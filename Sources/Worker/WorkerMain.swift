import JunctionShared

/// `junction-worker`: runs jobs; ops scale it by adding replicas. Until the job processors land
/// (the reliable-queue issue), it connects, reports, and stops cleanly on SIGTERM/SIGINT.
@main
struct WorkerMain {
    static func main() async throws {
        try await ConnectedProcess.main(process: "junction-worker", label: "junction.worker")
    }
}
