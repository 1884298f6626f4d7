import Foundation
import XCTest

/// The `tessera` CLI against the reference peers (DESIGN.md §7): tessera s_client against openssl
/// s_server, gnutls-serv and Python's ssl; tessera s_server against openssl s_client, gnutls-cli,
/// curl and Python's ssl. Each run moves 1 MiB both ways (DataMover), checks the suite and group
/// both sides report, and that the close went through close_notify.
///
/// Gate (`TesseraCLI.require`): the tests run when the built `tessera` exists and
/// `tessera s_server -help` / `tessera s_client -help` exit 0 and mention `-accept` / `-connect`;
/// otherwise they are skipped, saying why. `TESSERA_INTEROP=1` turns a missing or unfinished CLI into a failure instead (for CI once
/// the CLI has landed). `TESSERA_BIN` points the tests at another binary.
///
/// What is assumed of the CLI (openssl's spelling and behaviour):
/// - `s_client -connect 127.0.0.1:PORT -servername localhost -tls1_2 [-CAfile F -verify_return_error]`
///   sends stdin, prints server data to stdout, and at stdin EOF sends close_notify and exits
///   (exit 0 after a clean close); it reports `New, TLSv1.2, Cipher is <openssl name>`.
/// - `s_server -accept 127.0.0.1:PORT -cert F -key F -tls1_2 [-www]` sends stdin to the client,
///   prints client data to stdout, answers a client's close_notify with its own, reports
///   `Cipher is` / `CIPHER is <openssl name>`, and serves until killed.
/// - The report may go to stdout or stderr; data and report may share stdout (`.embedded`).
final class TesseraInteropTests: InteropTestCase {
    // MARK: tessera s_client

    func testTesseraClientWithOpenSSLServer() throws {
        let tessera = try TesseraCLI.require(.client)
        let fixtures = try CertificateFixtures.shared()
        for tlsCase in TLSCase.all {
            try runCase(tlsCase) {
                let port = try PortAllocator.next()
                let server = try startOpenSSLServer(port: port, identity: fixtures.identity(for: tlsCase), options: .server(tlsCase))
                let client = try startTesseraClient(tessera, port: port)
                let (up, down) = try payloads(port)
                let outcome = try withDiagnostics([server, client]) {
                    try DataMover.exchange(server: .stdio(server, .exact), client: .stdio(client, .embedded), toServer: up, toClient: down, serverExits: true)
                }
                XCTAssertEqual(outcome.clientStatus, 0, "\(tlsCase): tessera s_client\n\(client.diagnostics)")
                XCTAssertEqual(outcome.serverStatus, 0, "\(tlsCase): openssl s_server\n\(server.diagnostics)")
                assertTesseraReport(client, tlsCase)
                XCTAssertEqual(OpenSSLBriefReport(server.stderrText()).cipher, tlsCase.suite.openssl, "\(tlsCase): openssl s_server")
                let trace = messageTrace(server)
                XCTAssertEqual(trace.serverKeyExchangeGroup, tlsCase.group, "\(tlsCase): group")
                XCTAssertTrue(trace.receivedCloseNotify, "\(tlsCase): openssl s_server got no close_notify from tessera")
                XCTAssertEqual(trace.fatalAlerts, [], "\(tlsCase)")
            }
        }
    }

    func testTesseraClientWithGnuTLSServer() throws {
        let tessera = try TesseraCLI.require(.client)
        let fixtures = try CertificateFixtures.shared()
        for tlsCase in TLSCase.all {
            try runCase(tlsCase) {
                let port = try PortAllocator.next()
                let server = try startGnuTLSServer(port: port, identity: fixtures.identity(for: tlsCase), priority: tlsCase.gnutlsServerPriority, name: "gnutls-\(port)")
                let client = try startTesseraClient(tessera, port: port)
                // gnutls-serv --echo returns each line: 1 MiB of text up, the same 1 MiB back.
                let text = try Payload.text(in: workDirectory, name: "lines-\(port)")
                let outcome = try withDiagnostics([server, client]) {
                    try DataMover.exchange(server: .selfDriven(server), client: .stdio(client, .embedded), toServer: text, toClient: text, serverExits: false)
                }
                XCTAssertEqual(outcome.clientStatus, 0, "\(tlsCase): tessera s_client\n\(client.diagnostics)")
                assertTesseraReport(client, tlsCase)
                usleep(200_000)  // let gnutls-serv log the end of the connection
                let report = GnuTLSReport(server.stdoutText() + server.stderrText())
                XCTAssertTrue(report.isTLS12, "\(tlsCase): \(report.version ?? "no Description line")")
                XCTAssertEqual(report.cipher, tlsCase.suite.gnutlsCipher, "\(tlsCase)")
                XCTAssertEqual(report.group, tlsCase.group, "\(tlsCase)")
                XCTAssertFalse(report.sawUncleanClose, "\(tlsCase): gnutls-serv saw the connection end without close_notify")
                server.terminate()
            }
        }
    }

    func testTesseraClientWithPythonServer() throws {
        let tessera = try TesseraCLI.require(.client)
        let fixtures = try CertificateFixtures.shared()
        for tlsCase in TLSCase.all {
            try runCase(tlsCase) {
                let port = try PortAllocator.next()
                let (up, down) = try payloads(port)
                let server = try startPythonServer(port: port, identity: fixtures.identity(for: tlsCase), send: down, expectBytes: up.count, tlsCase: tlsCase)
                let client = try startTesseraClient(tessera, port: port)
                let outcome = try withDiagnostics([server, client]) {
                    try DataMover.exchange(server: .selfDriven(server), client: .stdio(client, .embedded), toServer: up, toClient: down, serverExits: true)
                }
                XCTAssertEqual(outcome.clientStatus, 0, "\(tlsCase): tessera s_client\n\(client.diagnostics)")
                XCTAssertEqual(outcome.serverStatus, 0, "\(tlsCase): py_server.py\n\(server.diagnostics)")
                assertTesseraReport(client, tlsCase)
                let report = try PythonPeerReport.parse(server)
                XCTAssertEqual(report.version, "TLSv1.2", "\(tlsCase)")
                XCTAssertEqual(report.cipher, tlsCase.suite.openssl, "\(tlsCase)")
                XCTAssertTrue(report.closeNotifyReceived, "\(tlsCase): python got no close_notify from tessera: \(report.error ?? "")")
                try ReceivedStream.exact.verify(pythonReceived(server), up, what: "\(tlsCase): python server")
            }
        }
    }

    /// Certificate verification: the CA-signed leaf verifies against the CA (`Verify return code: 0`),
    /// and with an unrelated CA and `-verify_return_error` the handshake fails.
    func testTesseraClientVerifiesTheServerChain() throws {
        let tessera = try TesseraCLI.require(.client)
        let fixtures = try CertificateFixtures.shared()
        for (ca, shouldVerify) in [(fixtures.ca, true), (fixtures.unrelatedCA, false)] {
            let port = try PortAllocator.next()
            let server = try startOpenSSLServer(port: port, identity: fixtures.leaf, options: .init(extra: ["-cert_chain", fixtures.leafChain.path]), name: "server-\(port)")
            let client = try startTesseraClient(tessera, port: port, caFile: ca.certificate)
            client.closeStdin()
            let status = try client.waitForExit(timeout: 30)
            let report = TesseraReport(client)
            if shouldVerify {
                XCTAssertEqual(status, 0, client.diagnostics)
                XCTAssertEqual(report.verifyReturnCode, 0, "expected 'Verify return code: 0 (ok)'\n\(client.diagnostics)")
            } else {
                XCTAssertNotEqual(status, 0, "tessera accepted a chain it cannot verify\n\(client.diagnostics)")
                if let code = report.verifyReturnCode {
                    XCTAssertNotEqual(code, 0, "verification reported ok under an unrelated CA\n\(client.diagnostics)")
                }
            }
            server.terminate()
        }
    }

    /// tlslite-ng's server pinned to TLS 1.2 (ECDHE-ECDSA; tlslite picks the suite), 1 MiB both ways.
    func testTesseraClientWithTLSLiteServer() throws {
        let tessera = try TesseraCLI.require(.client)
        let fixtures = try CertificateFixtures.shared()
        try requireTLSLite()
        let port = try PortAllocator.next()
        let (up, down) = try payloads(port)
        let server = try startTLSLiteServer(port: port, identity: fixtures.ecdsaP256, send: down, expectBytes: up.count, tls12: true)
        let client = try startTesseraClient(tessera, port: port)
        let outcome = try withDiagnostics([server, client]) {
            try DataMover.exchange(server: .selfDriven(server), client: .stdio(client, .embedded), toServer: up, toClient: down, serverExits: true)
        }
        XCTAssertEqual(outcome.clientStatus, 0, client.diagnostics)
        XCTAssertEqual(outcome.serverStatus, 0, server.diagnostics)
        let reports = tlsliteServerReports(server)
        XCTAssertEqual(reports.count, 1, server.diagnostics)
        XCTAssertEqual(reports.first?.version, "TLS 1.2")
        XCTAssertEqual(reports.first?.error, nil)
        XCTAssertEqual(reports.first?.closeNotifyReceived, true, "tessera sent no close_notify")
        XCTAssertTrue(client.stdoutText().contains("New, TLSv1.2, Cipher is ECDHE-ECDSA-"), client.diagnostics)
        try ReceivedStream.exact.verify((try? Data(contentsOf: file("tlslite-server.received"))) ?? Data(), up, what: "tlslite server")
    }

    // MARK: tessera s_server

    func testOpenSSLClientWithTesseraServer() throws {
        let tessera = try TesseraCLI.require(.server)
        let fixtures = try CertificateFixtures.shared()
        for tlsCase in TLSCase.all {
            try runCase(tlsCase) {
                let port = try PortAllocator.next()
                let server = try startTesseraServer(tessera, port: port, identity: fixtures.identity(for: tlsCase))
                let client = try startOpenSSLClient(port: port, options: .client(tlsCase))
                let (up, down) = try payloads(port)
                let outcome = try withDiagnostics([server, client]) {
                    try DataMover.exchange(server: .stdio(server, .embedded), client: .stdio(client, .exact), toServer: up, toClient: down, serverExits: false)
                }
                XCTAssertEqual(outcome.clientStatus, 0, "\(tlsCase): openssl s_client\n\(client.diagnostics)")
                let brief = OpenSSLBriefReport(client.stderrText())
                XCTAssertEqual(brief.protocolVersion, "TLSv1.2", "\(tlsCase)")
                XCTAssertEqual(brief.cipher, tlsCase.suite.openssl, "\(tlsCase)")
                assertGroup(brief.group, tlsCase, peer: "openssl s_client")
                let trace = messageTrace(client)
                XCTAssertTrue(trace.sentCloseNotify, "\(tlsCase)")
                XCTAssertEqual(trace.fatalAlerts, [], "\(tlsCase)")
                assertTesseraReport(server, tlsCase)
                server.terminate()
            }
        }
    }

    func testGnuTLSClientWithTesseraServer() throws {
        let tessera = try TesseraCLI.require(.server)
        let fixtures = try CertificateFixtures.shared()
        for tlsCase in TLSCase.all {
            try runCase(tlsCase) {
                let port = try PortAllocator.next()
                let server = try startTesseraServer(tessera, port: port, identity: fixtures.identity(for: tlsCase))
                let client = try startGnuTLSClient(port: port, priority: tlsCase.gnutlsClientPriority, name: "gnutls-\(port)")
                let (up, down) = try payloads(port)
                let outcome = try withDiagnostics([server, client]) {
                    try DataMover.exchange(server: .stdio(server, .embedded), client: .stdio(client, .exact), toServer: up, toClient: down, serverExits: false)
                }
                XCTAssertEqual(outcome.clientStatus, 0, "\(tlsCase): gnutls-cli\n\(client.diagnostics)")
                let report = gnutlsClientReport(client)
                XCTAssertTrue(report.isTLS12, "\(tlsCase)")
                XCTAssertEqual(report.cipher, tlsCase.suite.gnutlsCipher, "\(tlsCase)")
                assertGroup(report.group, tlsCase, peer: "gnutls-cli")
                XCTAssertTrue(report.peerClosedCleanly, "\(tlsCase): tessera did not answer gnutls-cli's close_notify")
                assertTesseraReport(server, tlsCase)
                server.terminate()
            }
        }
    }

    /// curl POSTs 1 MiB and gets 1 MiB back: tessera s_server (no -www) carries the raw HTTP both
    /// ways, and the test plays the web server on its stdin/stdout.
    func testCurlWithTesseraServer() throws {
        let tessera = try TesseraCLI.require(.server)
        let fixtures = try CertificateFixtures.shared()
        for tlsCase in TLSCase.all {
            try runCase(tlsCase) {
                let port = try PortAllocator.next()
                let identity = fixtures.identity(for: tlsCase)
                let server = try startTesseraServer(tessera, port: port, identity: identity)
                let (up, down) = try payloads(port)
                let body = file("curl-\(port).body")
                let curl = try startCurl(port: port, caFile: identity.certificate, upload: up, output: body, tlsCase: tlsCase, name: "curl-\(port)")
                try withDiagnostics([server, curl]) {
                    try DataMover.httpExchange(server: server, curl: curl, upload: up, download: down, curlOutput: body)
                }
                XCTAssertTrue(curl.stdoutText().hasPrefix("200 \(down.count) \(up.count) 0"), "\(tlsCase): \(curl.stdoutText())")
                assertTesseraReport(server, tlsCase)
                server.terminate()
            }
        }
    }

    /// `tessera s_server -www` answers GET / with a status page naming the cipher, like openssl's.
    func testCurlGetsTesseraStatusPage() throws {
        let tessera = try TesseraCLI.require(.server)
        let fixtures = try CertificateFixtures.shared()
        let tlsCase = TLSCase(suite: .ecdheECDSAWithAES128GCMSHA256, group: .x25519)
        let port = try PortAllocator.next()
        _ = try startTesseraServer(tessera, port: port, identity: fixtures.leaf, extra: ["-www"])
        let page = file("page.html")
        let curl = try startCurl(port: port, caFile: fixtures.ca.certificate, output: page, tlsCase: tlsCase, serverCertificateCurve: .p256)
        XCTAssertEqual(try curl.waitForExit(timeout: 30), 0, curl.diagnostics)
        XCTAssertTrue(curl.stdoutText().hasPrefix("200 "), curl.stdoutText())
        let html = (try? String(contentsOf: page, encoding: .utf8)) ?? ""
        XCTAssertTrue(html.range(of: "cipher is \(tlsCase.suite.openssl)", options: .caseInsensitive) != nil, html)
    }

    /// `-www` reads a request head to its blank line, CRLF or bare LF, and answers anything but
    /// GET / with 400.
    func testStatusPageRequestHeads() throws {
        let tessera = try TesseraCLI.require(.server)
        let fixtures = try CertificateFixtures.shared()
        let port = try PortAllocator.next()
        _ = try startTesseraServer(tessera, port: port, identity: fixtures.leaf, extra: ["-www"])
        for (index, (request, status)) in [("GET / HTTP/1.0\n\n", "200 ok"), ("PUT / HTTP/1.0\r\n\r\n", "400 bad request")].enumerated() {
            let client = try startOpenSSLClient(port: port, options: .init(extra: ["-ign_eof", "-quiet"]), name: "head-\(index)")
            try withDiagnostics([client]) {
                client.write(request)
                XCTAssertEqual(try client.waitForExit(timeout: 20), 0, client.diagnostics)
                XCTAssertTrue(client.stdoutText().hasPrefix("HTTP/1.0 \(status)\r\n"), client.stdoutText())
            }
        }
    }

    /// `-loops N` sets the server's event-loop threads (SwiftNIO names them NIO-ELT-...); 0 is
    /// refused with a message.
    func testServerLoopsFlagSetsItsThreads() throws {
        let tessera = try TesseraCLI.require(.server)
        let fixtures = try CertificateFixtures.shared()
        for loops in [1, 3] {
            let port = try PortAllocator.next()
            let server = try startTesseraServer(tessera, port: port, identity: fixtures.leaf, extra: ["-www", "-loops", "\(loops)"], name: "loops-\(loops)")
            let taskDirectory = "/proc/\(server.pid)/task"
            let names = ((try? FileManager.default.contentsOfDirectory(atPath: taskDirectory)) ?? []).compactMap {
                try? String(contentsOfFile: "\(taskDirectory)/\($0)/comm", encoding: .utf8)
            }
            XCTAssertEqual(names.filter { $0.hasPrefix("NIO-ELT-") }.count, loops, "-loops \(loops): threads \(names)")
            server.terminate()
        }

        let refused = try PeerProcess.run(tessera, ["s_server", "-accept", "127.0.0.1:\(try PortAllocator.next())", "-loops", "0"],
                                          in: workDirectory, name: "loops-0", timeout: 30)
        XCTAssertNotEqual(refused.status, 0)
        XCTAssertTrue(refused.stderr.contains("-loops takes 1 to 1024"), refused.stderr)
    }

    func testPythonClientWithTesseraServer() throws {
        let tessera = try TesseraCLI.require(.server)
        let fixtures = try CertificateFixtures.shared()
        // Python's ssl cannot restrict a client's groups: one case per suite, any group of the three.
        for suite in CipherSuite.tls12 {
            let tlsCase = TLSCase(suite: suite, group: .x25519)
            try runCase(tlsCase) {
                let port = try PortAllocator.next()
                let identity = fixtures.identity(for: tlsCase)
                let server = try startTesseraServer(tessera, port: port, identity: identity)
                let (up, down) = try payloads(port)
                let client = try startPythonClient(port: port, caFile: identity.certificate, send: up, expectBytes: down.count, ciphers: suite.openssl, name: "python-\(port)")
                let outcome = try withDiagnostics([server, client]) {
                    try DataMover.exchange(server: .stdio(server, .embedded), client: .selfDriven(client), toServer: up, toClient: down, serverExits: false)
                }
                let report = try PythonPeerReport.parse(client)
                XCTAssertEqual(outcome.clientStatus, 0, "\(suite): py_client.py: \(report.error ?? "")\n\(client.diagnostics)")
                XCTAssertEqual(report.cipher, suite.openssl, "\(suite)")
                XCTAssertTrue(report.closeNotifySent && report.closeNotifyReceived, "\(suite): tessera did not answer close_notify: \(report.error ?? "")")
                try ReceivedStream.exact.verify(pythonReceived(client), down, what: "\(suite): python client")
                assertTesseraReport(server, tlsCase)
                server.terminate()
            }
        }
    }

    /// Bytes no TLS client sends must get a fatal alert record (15 03 03 00 02 02 XX) and a close,
    /// within a timeout; the server must then still serve a proper ClientHello.
    func testTesseraServerAnswersBadInputWithAFatalAlertAndCloses() throws {
        let tessera = try TesseraCLI.require(.server)
        let fixtures = try CertificateFixtures.shared()
        let port = try PortAllocator.next()
        let server = try startTesseraServer(tessera, port: port, identity: fixtures.ecdsaP256)
        for input in RawTLSClient.badInputs {
            let answer = try RawTLSClient.send(input.bytes, port: port, timeout: 10)
            XCTAssertEqual(Array(answer.bytes.prefix(6)), [0x15, 0x03, 0x03, 0x00, 0x02, 0x02], "\(input.name): expected a fatal alert record, got \(answer)")
            if let expected = input.expectedAlert {
                XCTAssertEqual(answer.alert?.description, expected, "\(input.name): \(answer)")
            }
            XCTAssertEqual(answer.bytes.count, 7, "\(input.name): bytes after the alert: \(answer)")
            XCTAssertTrue(answer.closed, "\(input.name): the connection stayed open after the alert")
            XCTAssertTrue(server.isRunning, "\(input.name): tessera s_server died\n\(server.diagnostics)")
        }
        let hello = try RawTLSClient.send(RawTLSClient.clientHelloRecord(), port: port, timeout: 3)
        XCTAssertEqual(hello.bytes.first, 0x16, "no handshake record after the bad inputs: \(hello)")
        XCTAssertEqual(hello.bytes.count > 5 ? hello.bytes[5] : nil, 0x02, "expected a ServerHello: \(hello)")
    }

    // MARK: tessera <-> tessera

    func testTesseraClientWithTesseraServer() throws {
        let server = try TesseraCLI.require(.server)
        let client = try TesseraCLI.require(.client)
        let fixtures = try CertificateFixtures.shared()
        let tlsCase = TLSCase(suite: .ecdheECDSAWithAES128GCMSHA256, group: .x25519)
        let port = try PortAllocator.next()
        let s = try startTesseraServer(server, port: port, identity: fixtures.identity(for: tlsCase))
        let c = try startTesseraClient(client, port: port)
        let (up, down) = try payloads(port)
        let outcome = try withDiagnostics([s, c]) {
            try DataMover.exchange(server: .stdio(s, .embedded), client: .stdio(c, .embedded), toServer: up, toClient: down, serverExits: false)
        }
        XCTAssertEqual(outcome.clientStatus, 0, c.diagnostics)
        XCTAssertNotNil(TesseraReport(c).cipher, c.diagnostics)
    }

    // MARK: Helpers

    func startTesseraClient(_ tessera: URL, port: Int, caFile: URL? = nil, name: String = "tessera-client") throws -> PeerProcess {
        var args = ["s_client", "-connect", "127.0.0.1:\(port)", "-servername", "localhost", "-tls1_2"]
        if let caFile { args += ["-CAfile", caFile.path, "-verify_return_error"] }
        return try launch(name, tessera, args)
    }

    func startTesseraServer(_ tessera: URL, port: Int, identity: CertificateFixtures.Identity, extra: [String] = [], name: String = "tessera-server") throws -> PeerProcess {
        let args = ["s_server", "-accept", "127.0.0.1:\(port)", "-cert", identity.certificate.path, "-key", identity.key.path, "-tls1_2"] + extra
        let server = try launch(name, tessera, args)
        try server.waitForListening(port: port)
        return server
    }

    func payloads(_ port: Int) throws -> (up: Payload, down: Payload) {
        (try Payload.random(in: workDirectory, name: "up-\(port)"), try Payload.random(in: workDirectory, name: "down-\(port)"))
    }

    /// Runs one matrix cell; a failure is recorded with the cell's name and the next cell runs.
    func runCase(_ tlsCase: TLSCase, file: StaticString = #filePath, line: UInt = #line, _ body: () throws -> Void) throws {
        do {
            try body()
        } catch {
            XCTFail("\(tlsCase): \(error)", file: file, line: line)
        }
    }

    func assertTesseraReport(_ peer: PeerProcess, _ tlsCase: TLSCase, file: StaticString = #filePath, line: UInt = #line) {
        // The report may trail the data (another stream, a pipe in between): give it 5 s.
        try? peer.waitUntil("a 'Cipher is' line", timeout: 5, failOnExit: false) { TesseraReport(peer).cipher != nil }
        let report = TesseraReport(peer)
        XCTAssertEqual(report.cipher, tlsCase.suite.openssl, "\(tlsCase): \(peer.name)'s 'Cipher is' line\n\(peer.diagnostics)", file: file, line: line)
        if let version = report.protocolVersion {
            XCTAssertEqual(version, "TLSv1.2", "\(tlsCase): \(peer.name)", file: file, line: line)
        }
    }

    /// With one group offered, the peer reports exactly it; with the ECDSA certificate's curve
    /// offered too (see `TLSCase`), tessera may pick either.
    func assertGroup(_ group: NamedGroup?, _ tlsCase: TLSCase, peer: String, file: StaticString = #filePath, line: UInt = #line) {
        if tlsCase.groupIsForced {
            XCTAssertEqual(group, tlsCase.group, "\(tlsCase): \(peer)", file: file, line: line)
        } else {
            XCTAssertTrue(group.map { tlsCase.clientGroups.contains($0) } ?? false, "\(tlsCase): \(peer) reports group \(group?.description ?? "none")", file: file, line: line)
        }
    }
}

/// Whether the built `tessera` can run these tests, decided once per test process.
enum TesseraCLI {
    enum Role: String {
        case client = "s_client"
        case server = "s_server"

        /// The flag the subcommand's help must mention: exit 0 alone is not enough, since an
        /// ArgumentParser root command without the subcommand prints its own help and exits 0.
        var requiredFlag: String { self == .client ? "-connect" : "-accept" }
    }

    /// The binary when `tessera <role> -help` works; otherwise throws XCTSkip, or fails when
    /// `TESSERA_INTEROP=1` demands the interop tests.
    static func require(_ role: Role) throws -> URL {
        let state = probe(role)
        if let url = state.url { return url }
        if ProcessInfo.processInfo.environment["TESSERA_INTEROP"] == "1" {
            throw HarnessError.missingTool("TESSERA_INTEROP=1 but \(state.reason)")
        }
        throw XCTSkip("tessera interop skipped: \(state.reason) (set TESSERA_INTEROP=1 to make this a failure)")
    }

    private struct State {
        let url: URL?
        let reason: String
    }

    private static let lock = NSLock()
    nonisolated(unsafe) private static var cache: [Role: State] = [:]

    private static func probe(_ role: Role) -> State {
        lock.lock()
        defer { lock.unlock() }
        if let known = cache[role] { return known }
        let state = check(role)
        cache[role] = state
        return state
    }

    private static func check(_ role: Role) -> State {
        guard let binary = Locations.tesseraExecutable else {
            return State(url: nil, reason: "no tessera executable (looked at \(Locations.tesseraCandidates.map(\.path).joined(separator: ", ")))")
        }
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("tessera-probe-\(getpid())-\(UUID().uuidString.prefix(6))")
        defer { try? FileManager.default.removeItem(at: scratch) }
        do {
            try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
            let result = try PeerProcess.run(binary, [role.rawValue, "-help"], in: scratch, timeout: 20)
            let output = result.stdout + result.stderr
            let summary = output.split(separator: "\n").prefix(3).joined(separator: " | ")
            guard result.status == 0 else {
                return State(url: nil, reason: "`\(binary.path) \(role.rawValue) -help` exited \(result.status): \(summary)")
            }
            guard output.contains(role.requiredFlag) else {
                return State(url: nil, reason: "`\(binary.path) \(role.rawValue) -help` does not mention \(role.requiredFlag) (no \(role.rawValue) yet): \(summary)")
            }
            return State(url: binary, reason: "")
        } catch {
            return State(url: nil, reason: "`\(binary.path) \(role.rawValue) -help` failed: \(error)")
        }
    }
}
