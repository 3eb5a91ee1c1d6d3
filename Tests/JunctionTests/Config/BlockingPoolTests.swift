import Foundation
import JunctionCore
import Synchronization
import Testing

@Suite("Blocking pool")
struct BlockingPoolTests {
    @Test func workRunsOnThePoolsOwnThreadsNeverTheCallers() async throws {
        let pool = BlockingPool<Int>(name: "probe", size: 2) { 0 }
        let names = try await withThrowingTaskGroup(of: String.self) { group in
            for _ in 0..<8 { group.addTask { try await pool.run { _ in PoolThread.name ?? "none" } } }
            return try await group.reduce(into: Set<String>()) { $0.insert($1) }
        }
        #expect(!names.isEmpty && names.isSubset(of: ["probe-0", "probe-1"]), "ran on \(names)")
        #expect(PoolThread.name == nil, "the caller is not a pool thread")
        await pool.shutdown()
    }

    @Test func eachThreadCreatesItsResourceOnceAndOnFirstUse() async throws {
        let created = Atomic<Int>(0)
        let pool = BlockingPool<Int>(name: "lazy", size: 3) { created.add(1, ordering: .relaxed).newValue }
        #expect(created.load(ordering: .relaxed) == 0)
        for _ in 0..<30 { _ = try await pool.run { $0 } }
        #expect((1...3).contains(created.load(ordering: .relaxed)))
        await pool.shutdown()
    }

    @Test func factoryErrorsReachTheCallerAndTheNextJobTriesAgain() async throws {
        struct Down: Error {}
        let attempts = Atomic<Int>(0)
        let pool = BlockingPool<String>(name: "flaky", size: 1) {
            if attempts.add(1, ordering: .relaxed).newValue == 1 { throw Down() }
            return "up"
        }
        await #expect(throws: Down.self) { try await pool.run { $0 } }
        #expect(try await pool.run { $0 } == "up")
        await pool.shutdown()
    }

    @Test func afterShutdownNewWorkIsRefused() async throws {
        let pool = BlockingPool<Int>(name: "closing", size: 1) { 1 }
        #expect(try await pool.run { $0 } == 1)
        await pool.shutdown()
        await #expect(throws: BlockingPoolError.shutDown) { try await pool.run { $0 } }
    }
}

