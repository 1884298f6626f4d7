import Foundation
import XCTest

/// TLS 1.3 interop of the `tessera` CLI with real peers: openssl (every TLS 1.3 suite with X25519,
/// P-256 and P-384, both directions), gnutls, Python's ssl, curl and tlslite-ng; HelloRetryRequest;
/// resumption across processes through session files; 0-RTT with replay refusal; KeyUpdate.
///
/// Gate: `TesseraCLI.require` (skipped unless the CLI is built, a failure under `TESSERA_INTEROP=1`).
/// Data moves with `DataMover` (1 MiB both ways) where the peer's harness supports it; the
/// resumption, 0-RTT and KeyUpdate tests exchange short marked lines instead, since what they
/// check is the handshake kind and the key changes, read from both sides' reports and openssl's
/// `-msg` trace.
final class TLS13InteropTests: InteropTestCase {
    static let suites = ["TLS_AES_128_GCM_SHA256", "TLS_AES_256_GCM_SHA384", "TLS_CHACHA20_POLY1305_SHA256"]
    static let gnutlsCiphers = [
        "TLS_AES_128_GCM_SHA256": "AES-128-GCM", "TLS_AES_256_GCM_SHA384": "AES-256-GCM",
        "TLS_CHACHA20_POLY1305_SHA256": "CHACHA20-POLY1305",
    ]
    static let tls13Priority = "NORMAL:-VERS-ALL:+VERS-TLS1.3"

    // MARK: 1. openssl, every suite and group

    func testTesseraClientWithOpenSSLServerEverySuiteAndGroup() throws {
        let tessera = try TesseraCLI.require(.client)
        let fixtures = try CertificateFixtures.shared()
        for suite in Self.suites {
            for group in NamedGroup.all {
                let label = "\(suite)/\(group)"
                try runLabeled(label) {
                    let port = try PortAllocator.next()
                    let server = try startOpenSSL13Server(port: port, identity: fixtures.ecdsaP256, extra: ["-ciphersuites", suite, "-groups", group.openssl], name: "openssl-\(port)")
                    let client = try startTessera13Client(tessera, port: port, name: "tessera-\(port)")
                    let (up, down) = try payloads(port)
                    let outcome = try withDiagnostics([server, client]) {
                        try DataMover.exchange(server: .stdio(server, .exact), client: .stdio(client, .embedded), toServer: up, toClient: down, serverExits: true)
                    }
                    XCTAssertEqual(outcome.clientStatus, 0, "\(label): tessera s_client\n\(client.diagnostics)")
                    XCTAssertEqual(outcome.serverStatus, 0, "\(label): openssl s_server\n\(server.diagnostics)")
                    assertTessera13Report(client, cipher: suite, label)
                    let brief = OpenSSLBriefReport(server.stderrText())
                    XCTAssertEqual(brief.protocolVersion, "TLSv1.3", label)
                    XCTAssertEqual(brief.cipher, suite, "\(label): openssl s_server\n\(server.diagnostics)")
                    let trace = messageTrace(server)
                    let hello = trace.serverHellos(sent: true).last
                    XCTAssertEqual(hello?.keyShareGroup, group.code, "\(label): the ServerHello's key_share group")
                    XCTAssertEqual(hello?.cipherSuite, Self.code(suite), "\(label): the ServerHello's suite")
                    XCTAssertTrue(trace.receivedCloseNotify, "\(label): openssl s_server got no close_notify from tessera")
                    XCTAssertEqual(trace.fatalAlerts, [], label)
                }
            }
        }
    }

    func testOpenSSLClientWithTesseraServerEverySuiteAndGroup() throws {
        let tessera = try TesseraCLI.require(.server)
        let fixtures = try CertificateFixtures.shared()
        for suite in Self.suites {
            for group in NamedGroup.all {
                let label = "\(suite)/\(group)"
                try runLabeled(label) {
                    let port = try PortAllocator.next()
                    let server = try startTessera13Server(tessera, port: port, identity: fixtures.ecdsaP256, name: "tessera-\(port)")
                    let client = try startOpenSSL13Client(port: port, extra: ["-ciphersuites", suite, "-groups", group.openssl], name: "openssl-\(port)")
                    let (up, down) = try payloads(port)
                    let outcome = try withDiagnostics([server, client]) {
                        try DataMover.exchange(server: .stdio(server, .embedded), client: .stdio(client, .exact), toServer: up, toClient: down, serverExits: false)
                    }
                    XCTAssertEqual(outcome.clientStatus, 0, "\(label): openssl s_client\n\(client.diagnostics)")
                    let brief = OpenSSLBriefReport(client.stderrText())
                    XCTAssertEqual(brief.protocolVersion, "TLSv1.3", label)
                    XCTAssertEqual(brief.cipher, suite, "\(label): openssl s_client\n\(client.diagnostics)")
                    XCTAssertEqual(brief.group, group, "\(label): Server Temp Key \(brief.serverTempKey ?? "none")")
                    let trace = messageTrace(client)
                    let hello = trace.serverHellos(sent: false).last
                    XCTAssertEqual(hello?.keyShareGroup, group.code, "\(label): the ServerHello's key_share group")
                    XCTAssertEqual(hello?.cipherSuite, Self.code(suite), "\(label): the ServerHello's suite")
                    XCTAssertTrue(trace.sentCloseNotify, label)
                    XCTAssertEqual(trace.fatalAlerts, [], label)
                    assertTessera13Report(server, cipher: suite, label)
                    server.terminate()
                }
            }
        }
    }

    // MARK: 2. gnutls, Python ssl, curl

    func testTesseraClientWithGnuTLSServer() throws {
        let tessera = try TesseraCLI.require(.client)
        let fixtures = try CertificateFixtures.shared()
        let port = try PortAllocator.next()
        let server = try startGnuTLSServer(port: port, identity: fixtures.ecdsaP256, priority: Self.tls13Priority)
        let client = try startTessera13Client(tessera, port: port)
        let text = try Payload.text(in: workDirectory, name: "lines")
        let outcome = try withDiagnostics([server, client]) {
            try DataMover.exchange(server: .selfDriven(server), client: .stdio(client, .embedded), toServer: text, toClient: text, serverExits: false)
        }
        XCTAssertEqual(outcome.clientStatus, 0, client.diagnostics)
        let cipher = TesseraReport(client).cipher ?? ""
        assertTessera13Report(client, cipher: nil, "gnutls-serv")
        usleep(200_000)
        let report = GnuTLSReport(server.stdoutText() + server.stderrText())
        XCTAssertTrue(report.version?.hasPrefix("TLS1.3") ?? false, "gnutls-serv: \(report.version ?? "no Description line")\n\(server.diagnostics)")
        XCTAssertEqual(report.cipher, Self.gnutlsCiphers[cipher], "gnutls-serv vs tessera's \(cipher)")
        XCTAssertFalse(report.sawUncleanClose, "gnutls-serv saw the connection end without close_notify")
    }

    func testGnuTLSClientWithTesseraServer() throws {
        let tessera = try TesseraCLI.require(.server)
        let fixtures = try CertificateFixtures.shared()
        let port = try PortAllocator.next()
        let server = try startTessera13Server(tessera, port: port, identity: fixtures.ecdsaP256)
        let client = try startGnuTLSClient(port: port, priority: Self.tls13Priority)
        let (up, down) = try payloads(port)
        let outcome = try withDiagnostics([server, client]) {
            try DataMover.exchange(server: .stdio(server, .embedded), client: .stdio(client, .exact), toServer: up, toClient: down, serverExits: false)
        }
        XCTAssertEqual(outcome.clientStatus, 0, client.diagnostics)
        let report = gnutlsClientReport(client)
        XCTAssertTrue(report.version?.hasPrefix("TLS1.3") ?? false, "gnutls-cli: \(report.version ?? "no Description line")")
        XCTAssertTrue(report.peerClosedCleanly, "tessera did not answer gnutls-cli's close_notify")
        let cipher = TesseraReport(server).cipher ?? ""
        assertTessera13Report(server, cipher: nil, "gnutls-cli")
        XCTAssertEqual(report.cipher, Self.gnutlsCiphers[cipher], "gnutls-cli vs tessera's \(cipher)")
    }

    func testTesseraClientWithPythonServer() throws {
        let tessera = try TesseraCLI.require(.client)
        let fixtures = try CertificateFixtures.shared()
        let port = try PortAllocator.next()
        let (up, down) = try payloads(port)
        let identity = fixtures.ecdsaP256
        let server = try launch("python-server", try python, [
            Locations.peersDirectory.appendingPathComponent("py_server.py").path,
            "--port", "\(port)", "--cert", identity.certificate.path, "--key", identity.key.path,
            "--send", down.file.path, "--expect-bytes", "\(up.count)", "--out", file("python-server.received").path,
        ], input: .null)
        try server.waitForListening(port: port)
        let client = try startTessera13Client(tessera, port: port)
        let outcome = try withDiagnostics([server, client]) {
            try DataMover.exchange(server: .selfDriven(server), client: .stdio(client, .embedded), toServer: up, toClient: down, serverExits: true)
        }
        XCTAssertEqual(outcome.clientStatus, 0, client.diagnostics)
        XCTAssertEqual(outcome.serverStatus, 0, server.diagnostics)
        let report = try PythonPeerReport.parse(server)
        XCTAssertEqual(report.version, "TLSv1.3")
        assertTessera13Report(client, cipher: report.cipher, "python server")
        XCTAssertTrue(report.closeNotifyReceived, "python got no close_notify from tessera: \(report.error ?? "")")
        try ReceivedStream.exact.verify(pythonReceived(server), up, what: "python server")
    }

    func testPythonClientWithTesseraServer() throws {
        let tessera = try TesseraCLI.require(.server)
        let fixtures = try CertificateFixtures.shared()
        let port = try PortAllocator.next()
        let identity = fixtures.ecdsaP256
        let server = try startTessera13Server(tessera, port: port, identity: identity)
        let (up, down) = try payloads(port)
        let client = try launch("python-client", try python, [
            Locations.peersDirectory.appendingPathComponent("py_client.py").path,
            "--port", "\(port)", "--send", up.file.path, "--expect-bytes", "\(down.count)",
            "--out", file("python-client.received").path, "--cafile", identity.certificate.path,
        ], input: .null)
        let outcome = try withDiagnostics([server, client]) {
            try DataMover.exchange(server: .stdio(server, .embedded), client: .selfDriven(client), toServer: up, toClient: down, serverExits: false)
        }
        let report = try PythonPeerReport.parse(client)
        XCTAssertEqual(outcome.clientStatus, 0, "py_client.py: \(report.error ?? "")\n\(client.diagnostics)")
        XCTAssertEqual(report.version, "TLSv1.3")
        XCTAssertTrue(report.closeNotifySent && report.closeNotifyReceived, "tessera did not answer close_notify: \(report.error ?? "")")
        try ReceivedStream.exact.verify(pythonReceived(client), down, what: "python client")
        assertTessera13Report(server, cipher: report.cipher, "python client")
    }

    /// curl --tlsv1.3 --tls-max 1.3 POSTs 1 MiB through tessera s_server and gets 1 MiB back.
    func testCurlWithTesseraServer() throws {
        let tessera = try TesseraCLI.require(.server)
        let fixtures = try CertificateFixtures.shared()
        let port = try PortAllocator.next()
        let identity = fixtures.ecdsaP256
        let server = try startTessera13Server(tessera, port: port, identity: identity)
        let (up, down) = try payloads(port)
        let body = file("curl.body")
        let curl = try launch("curl", try Locations.requireTool("curl", package: "curl"), [
            "-sS", "--max-time", "60", "--resolve", "localhost:\(port):127.0.0.1", "--cacert", identity.certificate.path,
            "--tlsv1.3", "--tls-max", "1.3", "-o", body.path,
            "-w", "%{http_code} %{size_download} %{size_upload} %{ssl_verify_result}\\n",
            "--data-binary", "@\(up.file.path)", "-H", "Content-Type: application/octet-stream",
            "https://localhost:\(port)/",
        ], input: .null)
        try withDiagnostics([server, curl]) {
            try DataMover.httpExchange(server: server, curl: curl, upload: up, download: down, curlOutput: body)
        }
        XCTAssertTrue(curl.stdoutText().hasPrefix("200 \(down.count) \(up.count) 0"), curl.stdoutText())
        assertTessera13Report(server, cipher: nil, "curl")
    }

    // MARK: 3. tlslite-ng

    func testTLSLiteClientWithTesseraServer() throws {
        let tessera = try TesseraCLI.require(.server)
        let fixtures = try CertificateFixtures.shared()
        try requireTLSLite()
        let port = try PortAllocator.next()
        let server = try startTessera13Server(tessera, port: port, identity: fixtures.ecdsaP256)
        let (up, down) = try payloads(port)
        let client = try launch("tlslite-client", try python, [
            Locations.peersDirectory.appendingPathComponent("tlslite_client.py").path,
            "--port", "\(port)", "--send", up.file.path, "--expect-bytes", "\(down.count)",
            "--out", file("tlslite.received").path,
        ], input: .null)
        let outcome = try withDiagnostics([server, client]) {
            try DataMover.exchange(server: .stdio(server, .embedded), client: .selfDriven(client), toServer: up, toClient: down, serverExits: false)
        }
        XCTAssertEqual(outcome.clientStatus, 0, client.diagnostics)
        XCTAssertTrue(client.stdoutText().contains("\"version\": \"TLS 1.3\""), client.stdoutText())
        try ReceivedStream.exact.verify((try? Data(contentsOf: file("tlslite.received"))) ?? Data(), down, what: "tlslite client")
        assertTessera13Report(server, cipher: nil, "tlslite")
    }

    /// tlslite-ng's server: a full handshake moving 1 MiB both ways, the session saved with
    /// `-sess_out`; a second connection from that file resumes with tlslite's ticket, which the
    /// server shows by sending no Certificate.
    func testTesseraClientWithTLSLiteServerResumesThroughSessionFile() throws {
        let tessera = try TesseraCLI.require(.client)
        let fixtures = try CertificateFixtures.shared()
        try requireTLSLite()
        let port = try PortAllocator.next()
        let (up, down) = try payloads(port)
        let server = try startTLSLiteServer(
            port: port, identity: fixtures.ecdsaP256, send: down, expectBytes: up.count, connections: 2)
        let session = file("tessera.sess")

        let first = try startTessera13Client(tessera, port: port, extra: ["-sess_out", session.path], name: "first")
        let firstOutcome = try withDiagnostics([server, first]) {
            try DataMover.exchange(server: .selfDriven(server), client: .stdio(first, .embedded), toServer: up, toClient: down, serverExits: false)
        }
        XCTAssertEqual(firstOutcome.clientStatus, 0, first.diagnostics)
        XCTAssertTrue(first.stdoutText().contains("New, TLSv1.3"), first.diagnostics)
        XCTAssertTrue(FileManager.default.fileExists(atPath: session.path), "tessera wrote no session file\n\(first.diagnostics)")

        let second = try startTessera13Client(tessera, port: port, extra: ["-sess_in", session.path], name: "second")
        let secondOutcome = try withDiagnostics([server, second]) {
            try DataMover.exchange(server: .selfDriven(server), client: .stdio(second, .embedded), toServer: up, toClient: down, serverExits: true)
        }
        XCTAssertEqual(secondOutcome.clientStatus, 0, second.diagnostics)
        XCTAssertEqual(secondOutcome.serverStatus, 0, server.diagnostics)
        XCTAssertTrue(second.stdoutText().contains("Reused, TLSv1.3"), "tessera did not resume\n\(second.diagnostics)")

        let reports = tlsliteServerReports(server)
        XCTAssertEqual(reports.map(\.connection), [1, 2], server.diagnostics)
        XCTAssertEqual(reports.map(\.version), ["TLS 1.3", "TLS 1.3"])
        XCTAssertEqual(reports.map(\.resumed), [false, true], "tlslite's flights: \(reports.map { $0.sentMessages ?? [] })")
        XCTAssertEqual(reports.map(\.error), [nil, nil])
        XCTAssertEqual(reports.map(\.closeNotifyReceived), [true, true], "tessera sent no close_notify")
        try ReceivedStream.exact.verify((try? Data(contentsOf: file("tlslite-server.received"))) ?? Data(), up, what: "tlslite server")
    }

    // MARK: 4. HelloRetryRequest

    /// openssl s_client's first key share is X25519; tessera s_server allows only P-256, so it must
    /// answer with a HelloRetryRequest, and the second ClientHello completes the handshake on P-256.
    func testHelloRetryRequestFromTesseraServer() throws {
        let tessera = try TesseraCLI.require(.server)
        let fixtures = try CertificateFixtures.shared()
        let port = try PortAllocator.next()
        let server = try startTessera13Server(tessera, port: port, identity: fixtures.ecdsaP256, extra: ["-groups", "P-256"])
        let client = try startOpenSSL13Client(port: port, extra: ["-groups", "X25519:P-256"])
        let (up, down) = try payloads(port)
        let outcome = try withDiagnostics([server, client]) {
            try DataMover.exchange(server: .stdio(server, .embedded), client: .stdio(client, .exact), toServer: up, toClient: down, serverExits: false)
        }
        XCTAssertEqual(outcome.clientStatus, 0, client.diagnostics)
        let trace = messageTrace(client)
        let hellos = trace.serverHellos(sent: false)
        XCTAssertEqual(trace.handshakeFlight.filter { $0 == ">>> ClientHello" }.count, 2, "expected two ClientHellos: \(trace.handshakeFlight)")
        XCTAssertEqual(hellos.count, 2, "expected HelloRetryRequest + ServerHello: \(trace.handshakeFlight)")
        XCTAssertEqual(hellos.first?.isHelloRetryRequest, true, "the first ServerHello is not a HelloRetryRequest")
        XCTAssertEqual(hellos.first?.keyShareGroup, NamedGroup.p256.code, "the HRR must ask for P-256")
        XCTAssertEqual(hellos.last?.isHelloRetryRequest, false)
        XCTAssertEqual(hellos.last?.keyShareGroup, NamedGroup.p256.code)
        XCTAssertEqual(OpenSSLBriefReport(client.stderrText()).group, .p256)
        XCTAssertEqual(trace.fatalAlerts, [])
        assertTessera13Report(server, cipher: nil, "HRR")
    }

    /// The other way: openssl s_server allows only P-384, tessera s_client's first key share is
    /// not for it; openssl sends the HelloRetryRequest and tessera must retry.
    func testHelloRetryRequestToTesseraClient() throws {
        let tessera = try TesseraCLI.require(.client)
        let fixtures = try CertificateFixtures.shared()
        let port = try PortAllocator.next()
        let server = try startOpenSSL13Server(port: port, identity: fixtures.ecdsaP256, extra: ["-groups", "P-384"])
        let client = try startTessera13Client(tessera, port: port)
        let (up, down) = try payloads(port)
        let outcome = try withDiagnostics([server, client]) {
            try DataMover.exchange(server: .stdio(server, .exact), client: .stdio(client, .embedded), toServer: up, toClient: down, serverExits: true)
        }
        XCTAssertEqual(outcome.clientStatus, 0, client.diagnostics)
        let trace = messageTrace(server)
        let hellos = trace.serverHellos(sent: true)
        let firstShares = trace.clientHellos(sent: false).first?.keyShareGroups ?? []
        if firstShares.contains(NamedGroup.p384.code) {
            XCTAssertEqual(hellos.count, 1, "tessera offered a P-384 share; no HRR expected")
        } else {
            XCTAssertEqual(trace.clientHellos(sent: false).count, 2, "\(trace.handshakeFlight)")
            XCTAssertEqual(hellos.first?.isHelloRetryRequest, true, "\(trace.handshakeFlight)")
        }
        XCTAssertEqual(hellos.last?.keyShareGroup, NamedGroup.p384.code)
        XCTAssertEqual(trace.fatalAlerts, [])
        assertTessera13Report(client, cipher: nil, "HRR")
    }

    // MARK: 5. Resumption through session files

    func testOpenSSLClientResumesWithTesseraServerThroughSessionFile() throws {
        let tessera = try TesseraCLI.require(.server)
        let fixtures = try CertificateFixtures.shared()
        let port = try PortAllocator.next()
        let server = try startTessera13Server(tessera, port: port, identity: fixtures.ecdsaP256)
        let session = file("openssl.sess")

        let first = try startOpenSSL13Client(port: port, extra: ["-sess_out", session.path], brief: false, name: "first")
        try lineExchange(server: server, client: first, marker: "first-connection")
        XCTAssertTrue(first.stdoutText().contains("New, TLSv1.3"), first.diagnostics)
        XCTAssertTrue(FileManager.default.fileExists(atPath: session.path), "openssl wrote no session file")

        let second = try startOpenSSL13Client(port: port, extra: ["-sess_in", session.path], brief: false, name: "second")
        try lineExchange(server: server, client: second, marker: "second-connection")
        XCTAssertTrue(second.stdoutText().contains("Reused, TLSv1.3"), "openssl did not resume\n\(second.diagnostics)")
        XCTAssertTrue(messageTrace(second).serverHellos(sent: false).last?.hasPreSharedKey ?? false, "no pre_shared_key in the ServerHello")
        XCTAssertTrue(server.stdoutText().contains("Reused, TLSv1.3"), "tessera s_server did not report the resumption\n\(server.diagnostics)")
    }

    // MARK: Ed25519 certificates (RFC 8446 §4.2.3, RFC 8410)

    /// An Ed25519 key and self-signed certificate for localhost, made by openssl.
    private func ed25519Identity() throws -> CertificateFixtures.Identity {
        let openssl = try Locations.requireTool("openssl", package: "openssl")
        let key = file("ed25519.key"), certificate = file("ed25519.crt")
        for args in [["genpkey", "-algorithm", "ed25519", "-out", key.path],
                     ["req", "-x509", "-new", "-key", key.path, "-out", certificate.path, "-days", "2", "-subj", "/CN=localhost",
                      "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1", "-addext", "basicConstraints=critical,CA:FALSE"]] {
            let result = try PeerProcess.run(openssl, args, in: workDirectory, timeout: 30)
            guard result.status == 0 else { throw HarnessError.mismatch("openssl \(args.joined(separator: " ")): \(result.stderr)") }
        }
        return CertificateFixtures.Identity(name: "ed25519", certificate: certificate, key: key)
    }

    /// tessera s_client verifies openssl s_server's Ed25519 certificate and signature, and the reverse.
    func testEd25519CertificatesBothWays() throws {
        let tessera = try TesseraCLI.require(.client)
        let identity = try ed25519Identity()
        try runLabeled("tessera client, openssl server") {
            let port = try PortAllocator.next()
            let server = try startOpenSSL13Server(port: port, identity: identity, name: "openssl-ed25519")
            let client = try startTessera13Client(tessera, port: port, extra: ["-CAfile", identity.certificate.path, "-verify_return_error"], name: "tessera-ed25519")
            try lineExchange(server: server, client: client, marker: "ed25519-a")
            let text = client.stdoutText()
            XCTAssertTrue(text.contains("Peer signature type: Ed25519"), client.diagnostics)
            XCTAssertTrue(text.contains("Verification: OK"), client.diagnostics)
            assertTessera13Report(client, cipher: nil, "Ed25519")
        }
        try runLabeled("openssl client, tessera server") {
            let port = try PortAllocator.next()
            let server = try startTessera13Server(tessera, port: port, identity: identity, name: "tessera-server-ed25519")
            let client = try startOpenSSL13Client(port: port, extra: ["-CAfile", identity.certificate.path, "-verify_return_error"], brief: false, name: "openssl-client-ed25519")
            try lineExchange(server: server, client: client, marker: "ed25519-b")
            let text = client.stdoutText()
            // OpenSSL names the scheme by its short name, "ED25519".
            XCTAssertTrue(text.lowercased().contains("peer signature type: ed25519"), client.diagnostics)
            XCTAssertTrue(text.contains("Verify return code: 0 (ok)"), client.diagnostics)
            server.terminate()
        }
    }

    func testTesseraClientResumesWithOpenSSLServerThroughSessionFile() throws {
        let tessera = try TesseraCLI.require(.client)
        let fixtures = try CertificateFixtures.shared()
        let port = try PortAllocator.next()
        let server = try startOpenSSL13Server(port: port, identity: fixtures.ecdsaP256, extra: ["-naccept", "2"], naccept1: false)
        let session = file("tessera.sess")

        let first = try startTessera13Client(tessera, port: port, extra: ["-sess_out", session.path], name: "first")
        try lineExchange(server: server, client: first, marker: "first-connection")
        XCTAssertTrue(first.stdoutText().contains("New, TLSv1.3"), first.diagnostics)
        XCTAssertTrue(FileManager.default.fileExists(atPath: session.path), "tessera wrote no session file\n\(first.diagnostics)")

        let second = try startTessera13Client(tessera, port: port, extra: ["-sess_in", session.path], name: "second")
        try lineExchange(server: server, client: second, marker: "second-connection")
        XCTAssertTrue(second.stdoutText().contains("Reused, TLSv1.3"), "tessera did not resume\n\(second.diagnostics)")
        XCTAssertEqual(try server.waitForExit(timeout: 10), 0, server.diagnostics)
        let hellos = messageTrace(server).serverHellos(sent: true)
        XCTAssertEqual(hellos.count, 2, "two handshakes expected")
        XCTAssertEqual(hellos.first?.hasPreSharedKey, false)
        XCTAssertEqual(hellos.last?.hasPreSharedKey, true, "openssl did not accept the PSK")
    }

    // MARK: 6. 0-RTT

    func testOpenSSLEarlyDataToTesseraServerAcceptedOnceThenReplayRejected() throws {
        let tessera = try TesseraCLI.require(.server)
        let fixtures = try CertificateFixtures.shared()
        let port = try PortAllocator.next()
        let server = try startTessera13Server(tessera, port: port, identity: fixtures.ecdsaP256, extra: ["-early_data"])
        let session = file("openssl.sess")
        let early = file("early.txt")
        let marker = "EARLY-\(UUID().uuidString)"
        try Data((marker + "\n").utf8).write(to: early)

        let first = try startOpenSSL13Client(port: port, extra: ["-sess_out", session.path], brief: false, name: "first")
        try lineExchange(server: server, client: first, marker: "full-handshake")
        XCTAssertTrue(FileManager.default.fileExists(atPath: session.path), "openssl wrote no session file")

        let zeroRTT = try startOpenSSL13Client(port: port, extra: ["-sess_in", session.path, "-early_data", early.path], brief: false, name: "zero-rtt")
        try withDiagnostics([server, zeroRTT]) {
            try zeroRTT.waitUntil("the early data at the server", timeout: 20) { server.stdoutText().contains(marker) }
        }
        try lineExchange(server: server, client: zeroRTT, marker: "after-early-data")
        XCTAssertTrue(zeroRTT.stdoutText().contains("Reused, TLSv1.3"), zeroRTT.diagnostics)
        XCTAssertTrue(zeroRTT.stdoutText().contains("Early data was accepted"), "openssl: \(zeroRTT.diagnostics)")
        XCTAssertTrue(server.stdoutText().contains("Early data was accepted"), server.diagnostics)

        // The same session file again: the ticket was used for 0-RTT, so its early data must be refused.
        let replay = try startOpenSSL13Client(port: port, extra: ["-sess_in", session.path, "-early_data", early.path], brief: false, name: "replay")
        try lineExchange(server: server, client: replay, marker: "after-replay")
        XCTAssertTrue(replay.stdoutText().contains("Early data was rejected"), "replayed 0-RTT not rejected\n\(replay.diagnostics)")
        XCTAssertTrue(server.stdoutText().contains("Early data was rejected"), server.diagnostics)
        XCTAssertEqual(server.stdoutText().components(separatedBy: marker).count - 1, 1, "the replayed early data reached the application\n\(server.diagnostics)")
    }

    func testTesseraEarlyDataToOpenSSLServerAccepted() throws {
        let tessera = try TesseraCLI.require(.client)
        let fixtures = try CertificateFixtures.shared()
        let port = try PortAllocator.next()
        let server = try startOpenSSL13Server(port: port, identity: fixtures.ecdsaP256, extra: ["-naccept", "2", "-early_data"], naccept1: false)
        let session = file("tessera.sess")
        let early = file("early.txt")
        let marker = "EARLY-\(UUID().uuidString)"
        try Data((marker + "\n").utf8).write(to: early)

        let first = try startTessera13Client(tessera, port: port, extra: ["-sess_out", session.path], name: "first")
        try lineExchange(server: server, client: first, marker: "full-handshake")
        XCTAssertTrue(FileManager.default.fileExists(atPath: session.path), "tessera wrote no session file\n\(first.diagnostics)")

        let zeroRTT = try startTessera13Client(tessera, port: port, extra: ["-sess_in", session.path, "-early_data", early.path], name: "zero-rtt")
        try withDiagnostics([server, zeroRTT]) {
            try zeroRTT.waitUntil("the early data at openssl", timeout: 20) { server.stdoutText().contains(marker) }
        }
        try lineExchange(server: server, client: zeroRTT, marker: "after-early-data")
        XCTAssertTrue(zeroRTT.stdoutText().contains("Reused, TLSv1.3"), zeroRTT.diagnostics)
        XCTAssertTrue(zeroRTT.stdoutText().contains("Early data was accepted"), zeroRTT.diagnostics)
        XCTAssertEqual(server.stdoutText().components(separatedBy: marker).count - 1, 1, "early data not delivered exactly once\n\(server.diagnostics)")
        XCTAssertEqual(try server.waitForExit(timeout: 10), 0, server.diagnostics)
        XCTAssertTrue(messageTrace(server).entries.contains { !$0.sent && $0.summary.hasSuffix("EndOfEarlyData") }, "openssl got no EndOfEarlyData")
    }

    // MARK: 7. KeyUpdate

    /// tessera s_client's `K` line: a KeyUpdate with update_requested; openssl must answer with its
    /// own KeyUpdate, and data must flow both ways under the new keys.
    func testTesseraClientKeyUpdateWithOpenSSLServer() throws {
        let tessera = try TesseraCLI.require(.client)
        let fixtures = try CertificateFixtures.shared()
        let port = try PortAllocator.next()
        let server = try startOpenSSL13Server(port: port, identity: fixtures.ecdsaP256)
        let client = try startTessera13Client(tessera, port: port)
        try lineExchange(server: server, client: client, marker: "before-update", close: false)
        client.write("K\n")
        try withDiagnostics([server, client]) {
            try client.waitUntil("openssl received the KeyUpdate", timeout: 10) {
                self.messageTrace(server).keyUpdates(sent: false).count == 1
            }
        }
        try lineExchange(server: server, client: client, marker: "after-update", close: true)
        XCTAssertEqual(try server.waitForExit(timeout: 10), 0, server.diagnostics)
        let trace = messageTrace(server)
        XCTAssertEqual(trace.keyUpdates(sent: false).map(\.bytes), [[0x18, 0x00, 0x00, 0x01, 0x01]], "tessera's KeyUpdate (update_requested)")
        XCTAssertEqual(trace.keyUpdates(sent: true).count, 1, "openssl did not answer with its own KeyUpdate")
        XCTAssertTrue(client.stdoutText().contains("KEYUPDATE"), client.diagnostics)
        XCTAssertEqual(trace.fatalAlerts, [])
    }

    /// openssl s_client's `K` command against tessera s_server: tessera must update its own keys
    /// in answer (a KeyUpdate with update_not_requested) and keep exchanging data.
    func testOpenSSLClientKeyUpdateWithTesseraServer() throws {
        let tessera = try TesseraCLI.require(.server)
        let fixtures = try CertificateFixtures.shared()
        let port = try PortAllocator.next()
        let server = try startTessera13Server(tessera, port: port, identity: fixtures.ecdsaP256)
        let client = try startOpenSSL13Client(port: port, commands: true)
        try lineExchange(server: server, client: client, marker: "before-update", close: false)
        client.write("K\n")
        try withDiagnostics([server, client]) {
            try client.waitUntil("tessera's answering KeyUpdate", timeout: 10) {
                self.messageTrace(client).keyUpdates(sent: false).count == 1
            }
        }
        try lineExchange(server: server, client: client, marker: "after-update", close: true)
        let trace = messageTrace(client)
        XCTAssertEqual(trace.keyUpdates(sent: true).map(\.bytes), [[0x18, 0x00, 0x00, 0x01, 0x01]], "openssl's KeyUpdate")
        XCTAssertEqual(trace.keyUpdates(sent: false).map(\.bytes), [[0x18, 0x00, 0x00, 0x01, 0x00]], "tessera's answer must be update_not_requested")
        XCTAssertEqual(trace.fatalAlerts, [])
        XCTAssertTrue(server.isRunning, server.diagnostics)
    }

    // MARK: Helpers

    func startTessera13Server(_ tessera: URL, port: Int, identity: CertificateFixtures.Identity, extra: [String] = [], name: String = "tessera-server") throws -> PeerProcess {
        let args = ["s_server", "-accept", "127.0.0.1:\(port)", "-cert", identity.certificate.path, "-key", identity.key.path, "-tls1_3"] + extra
        let server = try launch(name, tessera, args)
        try server.waitForListening(port: port)
        return server
    }

    func startTessera13Client(_ tessera: URL, port: Int, extra: [String] = [], name: String = "tessera-client") throws -> PeerProcess {
        try launch(name, tessera, ["s_client", "-connect", "127.0.0.1:\(port)", "-servername", "localhost", "-tls1_3"] + extra)
    }

    /// `openssl s_server -tls1_3 -brief -msg -msgfile F [-naccept 1]`: stdout is the data received.
    func startOpenSSL13Server(port: Int, identity: CertificateFixtures.Identity, extra: [String] = [], naccept1: Bool = true, name: String = "openssl-server") throws -> PeerProcess {
        let name = reserveName(name)
        let openssl = try Locations.requireTool("openssl", package: "openssl")
        var args = ["s_server", "-accept", "127.0.0.1:\(port)", "-cert", identity.certificate.path, "-key", identity.key.path,
                    "-tls1_3", "-brief", "-msg", "-msgfile", file("\(name).msg").path]
        if naccept1 { args += ["-naccept", "1"] }
        let server = try launch(name, openssl, args + extra)
        try server.waitForListening(port: port)
        return server
    }

    /// `openssl s_client -tls1_3 -msg -msgfile F`, with `-brief -nocommands` unless told otherwise
    /// (without `-brief` its stdout carries the session report, `Reused, TLSv1.3`, `Early data was ...`).
    func startOpenSSL13Client(port: Int, extra: [String] = [], brief: Bool = true, commands: Bool = false, name: String = "openssl-client") throws -> PeerProcess {
        let name = reserveName(name)
        let openssl = try Locations.requireTool("openssl", package: "openssl")
        var args = ["s_client", "-connect", "127.0.0.1:\(port)", "-servername", "localhost", "-tls1_3",
                    "-msg", "-msgfile", file("\(name).msg").path]
        if brief { args.append("-brief") }
        if !commands { args.append("-nocommands") }
        return try launch(name, openssl, args + extra)
    }

    func payloads(_ port: Int) throws -> (up: Payload, down: Payload) {
        (try Payload.random(in: workDirectory, name: "up-\(port)"), try Payload.random(in: workDirectory, name: "down-\(port)"))
    }

    func runLabeled(_ label: String, file: StaticString = #filePath, line: UInt = #line, _ body: () throws -> Void) throws {
        do {
            try body()
        } catch {
            XCTFail("\(label): \(error)", file: file, line: line)
        }
    }

    /// tessera's `New, TLSv1.3, Cipher is X` (or `Reused, ...`): TLS 1.3 and, when given, the suite.
    func assertTessera13Report(_ peer: PeerProcess, cipher: String?, _ label: String, file: StaticString = #filePath, line: UInt = #line) {
        try? peer.waitUntil("a 'Cipher is' line", timeout: 5, failOnExit: false) { TesseraReport(peer).cipher != nil }
        let report = TesseraReport(peer)
        XCTAssertTrue(report.text.contains(", TLSv1.3, Cipher is "), "\(label): \(peer.name) reports no TLSv1.3 handshake\n\(peer.diagnostics)", file: file, line: line)
        if let cipher {
            XCTAssertEqual(report.cipher, cipher, "\(label): \(peer.name)'s 'Cipher is' line", file: file, line: line)
        } else {
            XCTAssertTrue(Self.suites.contains(report.cipher ?? ""), "\(label): \(peer.name): \(report.cipher ?? "no cipher")", file: file, line: line)
        }
    }

    static func code(_ suite: String) -> UInt16? {
        ["TLS_AES_128_GCM_SHA256": 0x1301, "TLS_AES_256_GCM_SHA384": 0x1302, "TLS_CHACHA20_POLY1305_SHA256": 0x1303][suite]
    }
}

/// TLS 1.3 hello messages as openssl's `-msg` trace shows them (hex of the handshake message).
struct TLS13Hello {
    static let helloRetryRandom: [UInt8] = [
        0xCF, 0x21, 0xAD, 0x74, 0xE5, 0x9A, 0x61, 0x11, 0xBE, 0x1D, 0x8C, 0x02, 0x1E, 0x65, 0xB8, 0x91,
        0xC2, 0xA2, 0x11, 0x16, 0x7A, 0xBB, 0x8C, 0x5E, 0x07, 0x9E, 0x09, 0xE2, 0xC8, 0xA8, 0x33, 0x9C,
    ]

    let bytes: [UInt8]
    let extensions: [(type: UInt16, body: ArraySlice<UInt8>)]
    let cipherSuite: UInt16?

    /// ServerHello / HRR: type 2, len(3), version(2), random(32), session id, suite(2), compression(1), extensions.
    /// ClientHello: type 1, len(3), version(2), random(32), session id, suites, compressions, extensions.
    init(_ bytes: [UInt8]) {
        self.bytes = bytes
        var extensions: [(UInt16, ArraySlice<UInt8>)] = []
        var suite: UInt16?
        func u16(_ i: Int) -> Int? { i + 1 < bytes.count ? Int(bytes[i]) << 8 | Int(bytes[i + 1]) : nil }
        var i = 4 + 2 + 32
        if i < bytes.count {
            i += 1 + Int(bytes[i])  // session id
            if bytes.first == 0x02 {
                suite = u16(i).map { UInt16($0) }
                i += 3
            } else {
                i += 2 + (u16(i) ?? 0)  // cipher suites
                if i < bytes.count { i += 1 + Int(bytes[i]) }  // compression methods
            }
            if let total = u16(i) {
                var j = i + 2
                let end = min(bytes.count, j + total)
                while j + 4 <= end, let type = u16(j), let length = u16(j + 2), j + 4 + length <= end {
                    extensions.append((UInt16(type), bytes[(j + 4)..<(j + 4 + length)]))
                    j += 4 + length
                }
            }
        }
        self.extensions = extensions
        self.cipherSuite = suite
    }

    var isHelloRetryRequest: Bool { bytes.count >= 38 && Array(bytes[6..<38]) == Self.helloRetryRandom }
    var hasPreSharedKey: Bool { extensions.contains { $0.type == 0x0029 } }

    /// ServerHello: the key_share's group (HRR: the selected group).
    var keyShareGroup: UInt16? {
        guard let body = extensions.first(where: { $0.type == 0x0033 })?.body, body.count >= 2 else { return nil }
        return UInt16(body[body.startIndex]) << 8 | UInt16(body[body.startIndex + 1])
    }

    /// ClientHello: the groups of the key shares offered.
    var keyShareGroups: [UInt16] {
        guard let body = extensions.first(where: { $0.type == 0x0033 })?.body, body.count >= 2 else { return [] }
        var groups: [UInt16] = []
        var j = body.startIndex + 2
        while j + 4 <= body.endIndex {
            groups.append(UInt16(body[j]) << 8 | UInt16(body[j + 1]))
            j += 4 + (Int(body[j + 2]) << 8 | Int(body[j + 3]))
        }
        return groups
    }
}

extension OpenSSLMessageTrace {
    func serverHellos(sent: Bool) -> [TLS13Hello] {
        entries.filter { $0.sent == sent && $0.summary.hasSuffix(", ServerHello") }.map { TLS13Hello($0.bytes) }
    }

    func clientHellos(sent: Bool) -> [TLS13Hello] {
        entries.filter { $0.sent == sent && $0.summary.hasSuffix(", ClientHello") }.map { TLS13Hello($0.bytes) }
    }

    func keyUpdates(sent: Bool) -> [Entry] {
        entries.filter { $0.sent == sent && $0.summary.hasSuffix(", KeyUpdate") }
    }
}
