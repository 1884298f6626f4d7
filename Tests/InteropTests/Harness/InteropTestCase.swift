import Foundation
import XCTest

/// Base class of the interop tests: a fresh folder per test, and every peer it starts is ended in
/// tearDown, pass or fail, so no test leaves a process behind (CI ends with none running).
///
/// The folder is removed after a passing test and kept after a failing one (its path is printed),
/// or always kept with `TESSERA_INTEROP_KEEP=1`.
class InteropTestCase: XCTestCase {
    private(set) var workDirectory = URL(fileURLWithPath: "/nonexistent")
    private var peers: [PeerProcess] = []
    private var peerNames: Set<String> = []
    private var reservedNames: Set<String> = []

    override func setUpWithError() throws {
        try super.setUpWithError()
        let safeName = name.filter { $0.isLetter || $0.isNumber }
        workDirectory = FileManager.default.temporaryDirectory
            .appendingPathComponent("tessera-interop-\(getpid())-\(safeName)-\(UUID().uuidString.prefix(6))")
        try FileManager.default.createDirectory(at: workDirectory, withIntermediateDirectories: true)
    }

    override func tearDown() {
        for peer in peers.reversed() { peer.terminate() }
        peers.removeAll()
        let failed = (testRun?.totalFailureCount ?? 0) > 0
        if failed || ProcessInfo.processInfo.environment["TESSERA_INTEROP_KEEP"] == "1" {
            print("interop: kept \(workDirectory.path)")
        } else {
            try? FileManager.default.removeItem(at: workDirectory)
        }
        super.tearDown()
    }

    /// Starts a peer whose lifetime this test owns. Names are made unique (`server`, `server-2`, ...).
    @discardableResult
    func launch(
        _ name: String,
        _ executable: URL,
        _ arguments: [String],
        environment: [String: String] = [:],
        input: PeerProcess.Input = .pipe
    ) throws -> PeerProcess {
        // A name reserved by a launcher is used as is; any other is made unique here.
        let unique = reservedNames.remove(name) != nil ? name : reserveName(name)
        reservedNames.remove(unique)
        let peer = PeerProcess(
            name: unique, executable: executable, arguments: arguments,
            environment: environment, workDirectory: workDirectory, input: input)
        peers.append(peer)
        try peer.start()
        return peer
    }

    /// A peer name not used yet in this test (`server`, `server-2`, ...), reserved for `launch`.
    /// Launchers call it before building arguments that name files after the peer.
    func reserveName(_ name: String) -> String {
        var unique = name
        var n = 2
        while peerNames.contains(unique) {
            unique = "\(name)-\(n)"
            n += 1
        }
        peerNames.insert(unique)
        reservedNames.insert(unique)
        return unique
    }

    /// A file in this test's folder.
    func file(_ name: String) -> URL { workDirectory.appendingPathComponent(name) }

    /// Attaches a peer's command and output to the failure message of a throwing check.
    func withDiagnostics<T>(_ peers: [PeerProcess], _ body: () throws -> T) throws -> T {
        do {
            return try body()
        } catch {
            let details = peers.map(\.diagnostics).joined(separator: "\n")
            throw HarnessError.mismatch("\(error)\n--- peers ---\n\(details)")
        }
    }

    /// A line each way (`<marker>-up`, `<marker>-down`), both waited for; then, with `close`, the
    /// client's stdin is closed and its exit (status 0) awaited.
    func lineExchange(server: PeerProcess, client: PeerProcess, marker: String, close: Bool = true) throws {
        let up = "\(marker)-up\n", down = "\(marker)-down\n"
        try withDiagnostics([server, client]) {
            client.write(up)
            try client.waitUntil("the server received \(marker)-up", timeout: 20) { server.stdoutText().contains(up) }
            server.write(down)
            try client.waitUntil("the client received \(marker)-down", timeout: 20) { client.stdoutText().contains(down) }
            if close {
                // Give a TLS 1.3 client a moment to take the tickets that follow the handshake.
                usleep(300_000)
                client.closeStdin()
                let status = try client.waitForExit(timeout: 20)
                if status != 0 { throw HarnessError.unexpectedExit("\(client.name) exited \(status)") }
            }
        }
    }
}
