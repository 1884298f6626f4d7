import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// One external program in an interop test: a TLS peer (openssl, gnutls, curl, python, tessera)
/// or a one-shot tool.
///
/// - stdout and stderr go to files (`<name>.stdout`, `<name>.stderr` in the test's folder), so a
///   peer can print megabytes without a pipe filling up, and a failing test can show them.
/// - stdin is a pipe the test writes to from a background thread; `closeStdin()` closes it once
///   everything queued is written (most peers treat stdin EOF as "close the connection").
///   Our end of the pipe is close-on-exec, so peers started later never inherit it and the EOF
///   really arrives.
/// - Every wait has a deadline. On timeout the process is killed and the wait throws, so a test
///   fails with the peer's output instead of hanging CI.
final class PeerProcess: @unchecked Sendable {
    enum Input {
        /// `/dev/null`: EOF at once.
        case null
        /// A file, read by the peer at its own pace.
        case file(URL)
        /// A pipe fed with `write(_:)` and closed with `closeStdin()`.
        case pipe
    }

    let name: String
    let executable: URL
    let arguments: [String]
    let stdoutURL: URL
    let stderrURL: URL

    private let process = Process()
    private let input: Input
    private var writer: StdinWriter?
    private var started = Date()

    init(
        name: String,
        executable: URL,
        arguments: [String],
        environment: [String: String] = [:],
        workDirectory: URL,
        currentDirectory: URL? = nil,
        input: Input = .pipe
    ) {
        self.name = name
        self.executable = executable
        self.arguments = arguments
        self.input = input
        self.stdoutURL = workDirectory.appendingPathComponent("\(name).stdout")
        self.stderrURL = workDirectory.appendingPathComponent("\(name).stderr")
        process.executableURL = executable
        process.arguments = arguments
        process.currentDirectoryURL = currentDirectory ?? workDirectory
        var env = ProcessInfo.processInfo.environment
        for (key, value) in environment { env[key] = value }
        process.environment = env
    }

    /// The command as a shell would show it, for logs.
    var commandLine: String {
        ([executable.path] + arguments).map { $0.contains(" ") ? "'\($0)'" : $0 }.joined(separator: " ")
    }

    var pid: Int32 { process.processIdentifier }
    var isRunning: Bool { process.isRunning }

    // MARK: Starting

    func start() throws {
        let out = try Self.openForWriting(stdoutURL)
        let err = try Self.openForWriting(stderrURL)
        defer {
            close(out)
            close(err)
        }
        process.standardOutput = FileHandle(fileDescriptor: out, closeOnDealloc: false)
        process.standardError = FileHandle(fileDescriptor: err, closeOnDealloc: false)

        var childStdin: Int32 = -1
        switch input {
        case .null:
            process.standardInput = FileHandle.nullDevice
        case .file(let url):
            childStdin = open(url.path, O_RDONLY | O_CLOEXEC)
            guard childStdin >= 0 else { throw HarnessError.launchFailed("\(name): cannot open \(url.path)") }
            process.standardInput = FileHandle(fileDescriptor: childStdin, closeOnDealloc: false)
        case .pipe:
            var fds: [Int32] = [-1, -1]
            guard pipe(&fds) == 0 else { throw HarnessError.launchFailed("\(name): pipe failed, errno \(errno)") }
            // Close-on-exec on both ends: only the dup2'ed copy (the child's fd 0) crosses exec.
            // Tests start peers from one thread, so no spawn can slip in between pipe() and here.
            _ = fcntl(fds[0], F_SETFD, FD_CLOEXEC)
            _ = fcntl(fds[1], F_SETFD, FD_CLOEXEC)
            childStdin = fds[0]
            process.standardInput = FileHandle(fileDescriptor: fds[0], closeOnDealloc: false)
            writer = StdinWriter(fd: fds[1], name: name)
        }
        defer { if childStdin >= 0 { close(childStdin) } }

        started = Date()
        do {
            try process.run()
        } catch {
            writer?.abandon()
            throw HarnessError.launchFailed("\(commandLine): \(error)")
        }
        writer?.start()
    }

    private static func openForWriting(_ url: URL) throws -> Int32 {
        let fd = open(url.path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw HarnessError.launchFailed("cannot create \(url.path), errno \(errno)") }
        return fd
    }

    // MARK: stdin

    /// Queues bytes for the peer's stdin; returns at once (a background thread writes them).
    func write(_ data: Data) {
        guard let writer else { preconditionFailure("\(name): stdin is not a pipe") }
        writer.enqueue(data)
    }

    func write(_ text: String) { write(Data(text.utf8)) }

    /// Closes stdin after everything queued so far has been written.
    func closeStdin() {
        writer?.finish()
    }

    /// Bytes of stdin the peer has taken so far.
    var stdinBytesWritten: Int { writer?.written ?? 0 }

    // MARK: Output

    var stdoutSize: Int { Self.fileSize(stdoutURL) }
    var stderrSize: Int { Self.fileSize(stderrURL) }
    func stdout() -> Data { (try? Data(contentsOf: stdoutURL)) ?? Data() }
    func stderr() -> Data { (try? Data(contentsOf: stderrURL)) ?? Data() }
    func stdoutText() -> String { String(decoding: stdout(), as: UTF8.self) }
    func stderrText() -> String { String(decoding: stderr(), as: UTF8.self) }

    static func fileSize(_ url: URL) -> Int {
        var info = stat()
        return stat(url.path, &info) == 0 ? Int(info.st_size) : 0
    }

    /// What a failure message needs: the command, the state, and the ends of both outputs.
    var diagnostics: String {
        let state = process.isRunning ? "running" : "exited \(exitStatus)"
        return """
            [\(name)] \(commandLine) (\(state), \(String(format: "%.1f", Date().timeIntervalSince(started))) s)
              stdout (\(stdoutSize) B): \(Self.printableTail(stdout()))
              stderr (\(stderrSize) B): \(Self.printableTail(stderr()))
            """
    }

    /// The last `limit` bytes as text, with binary bytes shown as dots.
    static func printableTail(_ data: Data, limit: Int = 1500) -> String {
        let tail = data.suffix(limit)
        let text = String(decoding: tail.map { (0x20...0x7E).contains($0) || $0 == 0x0A || $0 == 0x09 ? $0 : 0x2E }, as: UTF8.self)
        return (data.count > limit ? "…" : "") + text.replacingOccurrences(of: "\n", with: "\n    ")
    }

    // MARK: Waiting

    /// Polls `condition` every 20 ms until it holds. Throws (with diagnostics) on timeout or when
    /// the process exits first while `failOnExit` is set.
    func waitUntil(
        _ what: String,
        timeout: TimeInterval,
        failOnExit: Bool = true,
        _ condition: () -> Bool
    ) throws {
        let deadline = Date().addingTimeInterval(timeout)
        while true {
            if condition() { return }
            if failOnExit && !process.isRunning {
                if condition() { return }
                throw HarnessError.unexpectedExit("\(name) exited before \(what)\n\(diagnostics)")
            }
            if Date() > deadline {
                throw HarnessError.timeout("\(name): \(what) not within \(timeout) s\n\(diagnostics)")
            }
            usleep(20_000)
        }
    }

    /// Waits until something listens on `port` (read from /proc, no probe connection).
    func waitForListening(port: Int, timeout: TimeInterval = 10) throws {
        try waitUntil("listening on port \(port)", timeout: timeout) { PortAllocator.isListening(port) }
    }

    /// Waits until 127.0.0.1:port accepts a TCP connection (a short probe connect each 20 ms).
    /// Use only with peers that shrug off an empty connection; see `PortAllocator.isListening`.
    func waitForConnectable(port: Int, timeout: TimeInterval = 10) throws {
        try waitUntil("accepting on port \(port)", timeout: timeout) { PortAllocator.acceptsConnections(port) }
    }

    /// Waits for the process to end and returns its exit status (128 + signal when killed).
    /// On timeout it kills the process and throws: a test can never hang on a peer.
    @discardableResult
    func waitForExit(timeout: TimeInterval) throws -> Int32 {
        do {
            try waitUntil("exit", timeout: timeout, failOnExit: false) { !process.isRunning }
        } catch {
            terminate()
            throw error
        }
        writer?.abandon()
        return exitStatus
    }

    /// The exit status once the process has ended (128 + signal for a signal), -1 while it runs.
    var exitStatus: Int32 {
        guard !process.isRunning, started.timeIntervalSince1970 > 0 else { return -1 }
        switch process.terminationReason {
        case .exit: return process.terminationStatus
        case .uncaughtSignal: return 128 + process.terminationStatus
        @unknown default: return process.terminationStatus
        }
    }

    /// SIGTERM, then SIGKILL after 2 s. Safe to call more than once and on processes never started.
    func terminate() {
        writer?.abandon()
        guard process.processIdentifier > 0, process.isRunning else { return }
        kill(process.processIdentifier, SIGTERM)
        let deadline = Date().addingTimeInterval(2)
        while process.isRunning && Date() < deadline { usleep(10_000) }
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            let hardDeadline = Date().addingTimeInterval(2)
            while process.isRunning && Date() < hardDeadline { usleep(10_000) }
        }
    }

    // MARK: One-shot tools

    struct Result {
        let status: Int32
        let stdout: String
        let stderr: String
    }

    /// Runs a tool to completion (certificate generation, `tessera s_server -help`, ...).
    static func run(
        _ executable: URL,
        _ arguments: [String],
        in workDirectory: URL,
        name: String? = nil,
        input: Data? = nil,
        timeout: TimeInterval = 60
    ) throws -> Result {
        let label = name ?? "\(executable.lastPathComponent)-\(UUID().uuidString.prefix(8))"
        let peer = PeerProcess(
            name: label, executable: executable, arguments: arguments,
            workDirectory: workDirectory, input: input == nil ? .null : .pipe)
        try peer.start()
        if let input {
            peer.write(input)
            peer.closeStdin()
        }
        let status = try peer.waitForExit(timeout: timeout)
        return Result(status: status, stdout: peer.stdoutText(), stderr: peer.stderrText())
    }
}

#if canImport(Glibc)
private let systemWrite = Glibc.write
#else
private let systemWrite = Darwin.write
#endif

/// Writes queued data to a non-blocking pipe from its own thread, so a test never blocks on a
/// peer that reads slowly (or not at all), and closes the pipe when told to finish.
private final class StdinWriter: @unchecked Sendable {
    private let fd: Int32
    private let name: String
    private let condition = NSCondition()
    private var queue: [Data] = []
    private var finishing = false
    private var abandoned = false
    private var closed = false
    private var threadStarted = false
    private var bytesWritten = 0

    init(fd: Int32, name: String) {
        self.fd = fd
        self.name = name
        _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
    }

    var written: Int {
        condition.lock()
        defer { condition.unlock() }
        return bytesWritten
    }

    func start() {
        condition.lock()
        threadStarted = true
        condition.unlock()
        let thread = Thread { [self] in run() }
        thread.name = "stdin-\(name)"
        thread.start()
    }

    func enqueue(_ data: Data) {
        condition.lock()
        queue.append(data)
        condition.signal()
        condition.unlock()
    }

    func finish() {
        condition.lock()
        finishing = true
        condition.signal()
        condition.unlock()
    }

    /// Stops writing and closes the pipe now, dropping anything queued (peer gone or test over).
    func abandon() {
        condition.lock()
        abandoned = true
        condition.signal()
        let closeHere = !threadStarted && !closed
        if closeHere { closed = true }
        condition.unlock()
        if closeHere { close(fd) }
    }

    private func run() {
        // Ignore SIGPIPE: a peer that exits while we write must give EPIPE, not kill the test run.
        signal(SIGPIPE, SIG_IGN)
        defer {
            condition.lock()
            closed = true
            condition.unlock()
            close(fd)
        }
        while true {
            condition.lock()
            while queue.isEmpty && !finishing && !abandoned { condition.wait() }
            if abandoned || (queue.isEmpty && finishing) {
                condition.unlock()
                return
            }
            let chunk = queue.removeFirst()
            condition.unlock()
            if !writeAll(chunk) { return }
        }
    }

    /// Writes one chunk, waiting for the pipe with poll(); false when the pipe broke or we were abandoned.
    private func writeAll(_ data: Data) -> Bool {
        var offset = 0
        return data.withUnsafeBytes { (buffer: UnsafeRawBufferPointer) -> Bool in
            guard let base = buffer.baseAddress else { return true }
            while offset < buffer.count {
                condition.lock()
                let stop = abandoned
                condition.unlock()
                if stop { return false }
                let n = systemWrite(fd, base + offset, min(65536, buffer.count - offset))
                if n > 0 {
                    offset += n
                    condition.lock()
                    bytesWritten += n
                    condition.unlock()
                } else if n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) {
                    var pfd = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
                    _ = poll(&pfd, 1, 50)
                } else {
                    return false  // EPIPE: the peer closed its stdin or exited
                }
            }
            return true
        }
    }
}
