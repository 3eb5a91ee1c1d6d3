import Foundation
import Synchronization

/// A child process started with `posix_spawn`, its output read and its exit reaped by threads
/// of its own.
///
/// Foundation's `Process` on Linux left children unreaped (zombies whose termination handler
/// never ran) when tests started several at once, and its pipes could leak into other children;
/// here every pipe is close-on-exec and each child has its own `waitpid` thread.
final class ChildProcess: Sendable {
    let name: String
    let pid: pid_t
    private let state = SharedState()

    /// The state the reader and reaper threads fill in (a class, so the threads can hold it).
    private final class SharedState: Sendable {
        private let mutex = Mutex(State())
        func withLock<T>(_ body: (inout State) -> T) -> T { mutex.withLock { body(&$0) } }
    }

    private struct State {
        var lines: [String] = []
        var partialLine = ""
        var errors = ""
        var exitStatus: Int32?
        var openStreams = 2
    }

    /// Starts `executable` with `arguments` and exactly `environment`; standard input is /dev/null.
    /// `input`, when given, is the child's standard input (otherwise /dev/null).
    init(_ executable: String, arguments: [String] = [], environment: [String: String], input: String? = nil) throws {
        name = URL(fileURLWithPath: executable).lastPathComponent
        // Pipes are made and marked close-on-exec under one lock with the spawn, so no other
        // child started by this process inherits them.
        let (pid, output, errors) = try Self.spawnLock.withLock { _ in try Self.spawn(executable, arguments, environment, input) }
        let state = self.state
        self.pid = pid
        startReader(output, isErrorStream: false)
        startReader(errors, isErrorStream: true)
        Thread {
            var status: Int32 = 0
            while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
            // Exited normally: the code; killed by a signal: 128 + the signal, as shells report it.
            let code = (status & 0x7f) == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
            state.withLock { $0.exitStatus = code }
        }.start()
    }

    private static let spawnLock = Mutex(())

    private static func spawn(_ executable: String, _ arguments: [String], _ environment: [String: String], _ input: String?) throws -> (pid_t, Int32, Int32) {
        var inputPath = "/dev/null"
        if let input {
            inputPath = FileManager.default.temporaryDirectory.appendingPathComponent("junction-stdin-\(UUID().uuidString)").path
            try Data(input.utf8).write(to: URL(fileURLWithPath: inputPath))
        }
        defer { if input != nil { unlink(inputPath) } }
        var output: [Int32] = [0, 0]
        var errors: [Int32] = [0, 0]
        guard pipe(&output) == 0, pipe(&errors) == 0 else {
            throw StackError("pipe failed: \(String(cString: strerror(errno)))")
        }
        for descriptor in output + errors {
            _ = fcntl(descriptor, F_SETFD, FD_CLOEXEC)
        }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, inputPath, O_RDONLY, 0)
        posix_spawn_file_actions_adddup2(&actions, output[1], 1)
        posix_spawn_file_actions_adddup2(&actions, errors[1], 2)

        let argv = ([executable] + arguments).map { strdup($0) } + [nil]
        let envp = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer {
            argv.forEach { free($0) }
            envp.forEach { free($0) }
        }
        var child: pid_t = 0
        let result = posix_spawn(&child, executable, &actions, nil, argv, envp)
        close(output[1])
        close(errors[1])
        guard result == 0 else {
            close(output[0])
            close(errors[0])
            throw StackError("cannot start \(executable): \(String(cString: strerror(result)))")
        }
        return (child, output[0], errors[0])
    }

    /// Starts one of Junction's executables from the build folder, with PATH added.
    convenience init(junction binary: String, arguments: [String] = [], environment: [String: String], input: String? = nil) throws {
        try self.init(
            TestStack.binDirectory.appendingPathComponent(binary).path, arguments: arguments,
            environment: environment.merging(["PATH": ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"]) { own, _ in own },
            input: input)
    }

    deinit {
        if state.withLock({ $0.exitStatus == nil }) { kill(pid, SIGKILL) }
    }

    /// Standard output so far, one entry per complete line.
    var lines: [String] { state.withLock { $0.lines } }
    var standardOutput: String { state.withLock { $0.lines.map { $0 + "\n" }.joined() + $0.partialLine } }
    var standardError: String { state.withLock { $0.errors } }
    var isRunning: Bool { state.withLock { $0.exitStatus == nil } }

    /// Waits until a line of output contains `text`; throws if the process exits first or
    /// `limit` passes (a generous bound that only turns a hang into a failure).
    func waitForLine(containing text: String, limit: Duration = .seconds(60)) async throws {
        let deadline = ContinuousClock.now + limit
        while ContinuousClock.now < deadline {
            let (found, finished) = state.withLock { state in
                (state.lines.contains { $0.contains(text) }, state.exitStatus != nil && state.openStreams == 0)
            }
            if found { return }
            if finished {
                throw StackError("\(name) exited (\(state.withLock { $0.exitStatus ?? -1 })) before printing \"\(text)\"; stderr: \(standardError); stdout: \(lines.suffix(5))")
            }
            try await Task.sleep(for: .milliseconds(20))
        }
        throw StackError("\(name) did not print \"\(text)\"; stdout: \(lines.suffix(5))")
    }

    /// Starts `junction-ingress` on a free loopback port and waits until it listens. The port is
    /// found free, then released for the ingress to bind, and in that gap any process's outgoing
    /// connection may take it as its local port; a start that meets "Address already in use" is
    /// therefore retried on another port.
    static func ingress(environment: [String: String]) async throws -> (process: ChildProcess, port: Int) {
        var attempt = 1
        while true {
            let port = try closedPort()
            let process = try ChildProcess(junction: "junction-ingress", environment: environment.merging(["JUNCTION_INGRESS_PORT": "\(port)"]) { $1 })
            do {
                try await process.waitForLine(containing: "\"msg\":\"listening\"")
                return (process, port)
            } catch where attempt < 5 && process.standardError.contains("Address already in use") {
                attempt += 1
            }
        }
    }

    /// Sends `signal` and waits for the exit status.
    func stop(signal: Int32 = SIGTERM, limit: Duration = .seconds(60)) async throws -> Int32 {
        kill(pid, signal)
        return try await exitStatus(limit: limit)
    }

    /// Waits for the process to exit and its output to be read to the end.
    func exitStatus(limit: Duration = .seconds(120)) async throws -> Int32 {
        let deadline = ContinuousClock.now + limit
        while true {
            let (status, open) = state.withLock { ($0.exitStatus, $0.openStreams) }
            if let status, open == 0 { return status }
            guard ContinuousClock.now < deadline else {
                kill(pid, SIGKILL)
                throw StackError("\(name) did not exit")
            }
            try await Task.sleep(for: .milliseconds(20))
        }
    }

    /// Runs to completion, blocking the calling thread (for the exit-time cleanup only).
    static func runBlocking(_ executable: String, arguments: [String]) {
        var child: pid_t = 0
        let argv = ([executable] + arguments).map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        guard posix_spawn(&child, executable, nil, nil, argv, environ) == 0 else { return }
        var status: Int32 = 0
        while waitpid(child, &status, 0) < 0 && errno == EINTR {}
    }

    private func startReader(_ descriptor: Int32, isErrorStream: Bool) {
        let state = self.state
        Thread {
            var buffer = [UInt8](repeating: 0, count: 65_536)
            while true {
                let count = read(descriptor, &buffer, buffer.count)
                if count < 0 && errno == EINTR { continue }
                if count <= 0 { break }
                let chunk = String(decoding: buffer[0..<count], as: UTF8.self)
                state.withLock { state in
                    if isErrorStream {
                        state.errors += chunk
                        return
                    }
                    state.partialLine += chunk
                    var parts = state.partialLine.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
                    state.partialLine = parts.removeLast()
                    state.lines += parts
                }
            }
            close(descriptor)
            state.withLock { $0.openStreams -= 1 }
        }.start()
    }
}
