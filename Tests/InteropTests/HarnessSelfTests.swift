import Foundation
import XCTest

/// The harness checked against the reference peers alone, without tessera: if these pass, a failing
/// tessera interop test points at tessera, not at the harness or the machine.
final class HarnessSelfTests: InteropTestCase {
    // MARK: Harness pieces

    func testPortAllocatorGivesDistinctFreeLoopbackPortsFrom61000() throws {
        var seen = Set<Int>()
        for _ in 0..<20 {
            let port = try PortAllocator.next()
            XCTAssertGreaterThanOrEqual(port, 61000)
            XCTAssertLessThanOrEqual(port, PortAllocator.highest)
            XCTAssertTrue(PortAllocator.isFree(port))
            XCTAssertFalse(PortAllocator.isListening(port))
            XCTAssertTrue(seen.insert(port).inserted, "port \(port) handed out twice")
        }
    }

    func testWaitForExitKillsAHangingPeerAndThrows() throws {
        let sleeper = try launch("sleeper", try Locations.requireTool("sleep", package: "coreutils"), ["30"], input: .null)
        let start = Date()
        XCTAssertThrowsError(try sleeper.waitForExit(timeout: 0.5)) { error in
            XCTAssertTrue("\(error)".contains("timeout"), "\(error)")
        }
        XCTAssertFalse(sleeper.isRunning)
        XCTAssertLessThan(Date().timeIntervalSince(start), 5)
    }

    /// 1 MiB through `cat`'s stdin pipe comes back whole, and closing stdin gives EOF even though
    /// another process was started after it (our pipe end must not leak into later children).
    func testStdinPipeCarriesAMebibyteAndClosesDespiteLaterChildren() throws {
        let payload = try Payload.random(in: workDirectory, name: "cat.in")
        let cat = try launch("cat", try Locations.requireTool("cat", package: "coreutils"), [])
        let bystander = try launch("bystander", try Locations.requireTool("sleep", package: "coreutils"), ["30"], input: .null)
        cat.write(payload.data)
        cat.closeStdin()
        XCTAssertEqual(try cat.waitForExit(timeout: 20), 0, cat.diagnostics)
        try ReceivedStream.exact.verify(cat.stdout(), payload, what: "cat")
        XCTAssertTrue(bystander.isRunning)
    }

    func testCertificateFixturesAreForLocalhostAndChainToTheCA() throws {
        let fixtures = try CertificateFixtures.shared()
        let openssl = try Locations.requireTool("openssl", package: "openssl")
        for identity in [fixtures.ecdsaP256, fixtures.ecdsaP384, fixtures.rsa2048, fixtures.leaf] {
            let text = try PeerProcess.run(openssl, ["x509", "-in", identity.certificate.path, "-noout", "-subject", "-ext", "subjectAltName"], in: workDirectory)
            XCTAssertEqual(text.status, 0, text.stderr)
            XCTAssertTrue(text.stdout.contains("CN = localhost") || text.stdout.contains("CN=localhost"), text.stdout)
            XCTAssertTrue(text.stdout.contains("DNS:localhost"), text.stdout)
            XCTAssertTrue(text.stdout.contains("IP Address:127.0.0.1"), text.stdout)
        }
        let keyTypes: [(CertificateFixtures.Identity, String)] = [
            (fixtures.ecdsaP256, "P-256"), (fixtures.ecdsaP384, "P-384"), (fixtures.rsa2048, "2048 bit"),
        ]
        for (identity, expected) in keyTypes {
            let text = try PeerProcess.run(openssl, ["x509", "-in", identity.certificate.path, "-noout", "-text"], in: workDirectory)
            XCTAssertTrue(text.stdout.contains(expected), "\(identity.name): \(expected) not in the certificate text")
        }
        let good = try PeerProcess.run(openssl, ["verify", "-CAfile", fixtures.ca.certificate.path, fixtures.leaf.certificate.path], in: workDirectory)
        XCTAssertEqual(good.status, 0, good.stdout + good.stderr)
        let bad = try PeerProcess.run(openssl, ["verify", "-CAfile", fixtures.unrelatedCA.certificate.path, fixtures.leaf.certificate.path], in: workDirectory)
        XCTAssertNotEqual(bad.status, 0, "the leaf must not verify under the unrelated CA")
    }

    // MARK: openssl <-> openssl

    /// Every suite and group of the matrix between openssl s_server and s_client: proves the data
    /// mover, the parsers and the option spellings the tessera tests use.
    func testOpenSSLServerAndClientMoveAMebibyteBothWaysOverTheMatrix() throws {
        let fixtures = try CertificateFixtures.shared()
        for tlsCase in TLSCase.all {
            let port = try PortAllocator.next()
            let server = try startOpenSSLServer(port: port, identity: fixtures.identity(for: tlsCase), options: .server(tlsCase), name: "server-\(tlsCase.suite.code)-\(tlsCase.group.code)")
            let client = try startOpenSSLClient(port: port, options: .client(tlsCase), name: "client-\(tlsCase.suite.code)-\(tlsCase.group.code)")
            let toServer = try Payload.random(in: workDirectory, name: "up-\(port)")
            let toClient = try Payload.random(in: workDirectory, name: "down-\(port)")
            let outcome = try withDiagnostics([server, client]) {
                try DataMover.exchange(server: .stdio(server, .exact), client: .stdio(client, .exact), toServer: toServer, toClient: toClient, serverExits: true)
            }
            XCTAssertEqual(outcome.clientStatus, 0, "\(tlsCase)\n\(client.diagnostics)")
            XCTAssertEqual(outcome.serverStatus, 0, "\(tlsCase)\n\(server.diagnostics)")
            try assertOpenSSLClient(client, negotiated: tlsCase)
            let serverBrief = OpenSSLBriefReport(server.stderrText())
            XCTAssertEqual(serverBrief.cipher, tlsCase.suite.openssl, "\(tlsCase): server")
            let serverTrace = messageTrace(server)
            XCTAssertTrue(serverTrace.receivedCloseNotify, "\(tlsCase): server got no close_notify")
            XCTAssertTrue(serverTrace.sentCloseNotify, "\(tlsCase): server sent no close_notify")
            XCTAssertEqual(serverTrace.serverKeyExchangeGroup, tlsCase.group, "\(tlsCase): server's ServerKeyExchange")
            XCTAssertEqual(serverTrace.fatalAlerts, [], "\(tlsCase)")
        }
    }

    /// What every openssl s_client run must show: TLS 1.2, the suite and group asked for, our
    /// close_notify sent, and no fatal alert.
    func assertOpenSSLClient(_ client: PeerProcess, negotiated tlsCase: TLSCase, file: StaticString = #filePath, line: UInt = #line) throws {
        let brief = OpenSSLBriefReport(client.stderrText())
        XCTAssertEqual(brief.protocolVersion, "TLSv1.2", "\(tlsCase)", file: file, line: line)
        XCTAssertEqual(brief.cipher, tlsCase.suite.openssl, "\(tlsCase)", file: file, line: line)
        XCTAssertEqual(brief.group, tlsCase.group, "\(tlsCase): Server Temp Key \(brief.serverTempKey ?? "missing")", file: file, line: line)
        let trace = messageTrace(client)
        XCTAssertEqual(trace.serverKeyExchangeGroup, tlsCase.group, "\(tlsCase)", file: file, line: line)
        XCTAssertTrue(trace.sentCloseNotify, "\(tlsCase): client sent no close_notify", file: file, line: line)
        XCTAssertEqual(trace.fatalAlerts, [], "\(tlsCase)", file: file, line: line)
    }

    func testOpenSSLClientVerifiesTheCASignedLeafAndRejectsAnUnrelatedCA() throws {
        let fixtures = try CertificateFixtures.shared()
        for (ca, shouldPass) in [(fixtures.ca, true), (fixtures.unrelatedCA, false)] {
            let port = try PortAllocator.next()
            let server = try startOpenSSLServer(port: port, identity: fixtures.leaf, options: .init(extra: ["-cert_chain", fixtures.leafChain.path]))
            let client = try startOpenSSLClient(port: port, options: .init(caFile: ca.certificate))
            client.closeStdin()
            let status = try client.waitForExit(timeout: 20)
            server.terminate()
            let brief = OpenSSLBriefReport(client.stderrText())
            if shouldPass {
                XCTAssertEqual(status, 0, client.diagnostics)
                XCTAssertEqual(brief.verification, "OK", client.diagnostics)
            } else {
                XCTAssertNotEqual(status, 0, client.diagnostics)
                XCTAssertTrue(client.stderrText().contains("verify error"), client.diagnostics)
            }
        }
    }

    // MARK: Python ssl

    func testPythonServerAndOpenSSLClient() throws {
        let fixtures = try CertificateFixtures.shared()
        for tlsCase in [TLSCase(suite: .ecdheECDSAWithChaCha20Poly1305, group: .x25519), TLSCase(suite: .ecdheRSAWithAES256GCMSHA384, group: .p384)] {
            let port = try PortAllocator.next()
            let toServer = try Payload.random(in: workDirectory, name: "up-\(port)")
            let toClient = try Payload.random(in: workDirectory, name: "down-\(port)")
            let server = try startPythonServer(port: port, identity: fixtures.identity(for: tlsCase), send: toClient, expectBytes: toServer.count, tlsCase: tlsCase)
            let client = try startOpenSSLClient(port: port, options: .client(tlsCase))
            let outcome = try withDiagnostics([server, client]) {
                try DataMover.exchange(server: .selfDriven(server), client: .stdio(client, .exact), toServer: toServer, toClient: toClient, serverExits: true)
            }
            XCTAssertEqual(outcome.clientStatus, 0, client.diagnostics)
            XCTAssertEqual(outcome.serverStatus, 0, server.diagnostics)
            try assertOpenSSLClient(client, negotiated: tlsCase)
            let report = try PythonPeerReport.parse(server)
            XCTAssertEqual(report.version, "TLSv1.2")
            XCTAssertEqual(report.cipher, tlsCase.suite.openssl)
            XCTAssertEqual(report.received, toServer.count)
            XCTAssertTrue(report.closeNotifyReceived, "\(report)")
            XCTAssertNil(report.error)
            try ReceivedStream.exact.verify(pythonReceived(server), toServer, what: "python server")
        }
    }

    func testOpenSSLServerAndPythonClient() throws {
        let fixtures = try CertificateFixtures.shared()
        let tlsCase = TLSCase(suite: .ecdheECDSAWithAES128GCMSHA256, group: .p256)
        let port = try PortAllocator.next()
        let toServer = try Payload.random(in: workDirectory, name: "up")
        let toClient = try Payload.random(in: workDirectory, name: "down")
        let server = try startOpenSSLServer(port: port, identity: fixtures.leaf, options: .server(tlsCase))
        let client = try startPythonClient(port: port, caFile: fixtures.ca.certificate, send: toServer, expectBytes: toClient.count, ciphers: tlsCase.suite.openssl)
        let outcome = try withDiagnostics([server, client]) {
            try DataMover.exchange(server: .stdio(server, .exact), client: .selfDriven(client), toServer: toServer, toClient: toClient, serverExits: true)
        }
        XCTAssertEqual(outcome.clientStatus, 0, client.diagnostics)
        XCTAssertEqual(outcome.serverStatus, 0, server.diagnostics)
        let report = try PythonPeerReport.parse(client)
        XCTAssertEqual(report.cipher, tlsCase.suite.openssl)
        XCTAssertTrue(report.closeNotifySent && report.closeNotifyReceived, "\(report)")
        try ReceivedStream.exact.verify(pythonReceived(client), toClient, what: "python client")
        let trace = messageTrace(server)
        XCTAssertTrue(trace.receivedCloseNotify && trace.sentCloseNotify)
        XCTAssertEqual(trace.serverKeyExchangeGroup, .p256)
    }

    // MARK: GnuTLS

    func testGnuTLSEchoServerAndOpenSSLClient() throws {
        let fixtures = try CertificateFixtures.shared()
        let tlsCase = TLSCase(suite: .ecdheRSAWithChaCha20Poly1305, group: .x25519)
        let port = try PortAllocator.next()
        let server = try startGnuTLSServer(port: port, identity: fixtures.rsa2048, priority: tlsCase.gnutlsServerPriority)
        let client = try startOpenSSLClient(port: port, options: .client(tlsCase))
        let text = try Payload.text(in: workDirectory, name: "lines")
        let outcome = try withDiagnostics([server, client]) {
            // The echo server sends back what it gets: 1 MiB up, the same 1 MiB down.
            try DataMover.exchange(server: .selfDriven(server), client: .stdio(client, .exact), toServer: text, toClient: text, serverExits: false)
        }
        XCTAssertEqual(outcome.clientStatus, 0, client.diagnostics)
        try assertOpenSSLClient(client, negotiated: tlsCase)
        usleep(200_000)
        let report = GnuTLSReport(server.stdoutText() + server.stderrText())
        XCTAssertTrue(report.isTLS12, report.text.suffix(500).description)
        XCTAssertEqual(report.cipher, tlsCase.suite.gnutlsCipher)
        XCTAssertEqual(report.group, tlsCase.group)
        XCTAssertFalse(report.sawUncleanClose, "gnutls-serv saw no close_notify")
    }

    func testOpenSSLServerAndGnuTLSClient() throws {
        let fixtures = try CertificateFixtures.shared()
        let tlsCase = TLSCase(suite: .ecdheECDSAWithAES256GCMSHA384, group: .p384)
        let port = try PortAllocator.next()
        let server = try startOpenSSLServer(port: port, identity: fixtures.leaf, options: .server(tlsCase))
        // The leaf is P-256: the client offers P-384 (the cell's group) and P-256 (for the certificate).
        let client = try startGnuTLSClient(port: port, caFile: fixtures.ca.certificate, priority: tlsCase.gnutlsPriority(groups: [.p384, .p256]))
        let toServer = try Payload.random(in: workDirectory, name: "up")
        let toClient = try Payload.random(in: workDirectory, name: "down")
        let outcome = try withDiagnostics([server, client]) {
            try DataMover.exchange(server: .stdio(server, .exact), client: .stdio(client, .exact), toServer: toServer, toClient: toClient, serverExits: true)
        }
        XCTAssertEqual(outcome.clientStatus, 0, client.diagnostics)
        XCTAssertEqual(outcome.serverStatus, 0, server.diagnostics)
        let report = gnutlsClientReport(client)
        XCTAssertTrue(report.isTLS12)
        XCTAssertEqual(report.cipher, tlsCase.suite.gnutlsCipher)
        XCTAssertEqual(report.group, tlsCase.group)
        XCTAssertTrue(report.peerClosedCleanly, "gnutls-cli saw no close_notify reply:\n\(report.text)")
        let trace = messageTrace(server)
        XCTAssertTrue(trace.receivedCloseNotify && trace.sentCloseNotify)
        XCTAssertEqual(OpenSSLBriefReport(server.stderrText()).cipher, tlsCase.suite.openssl, server.diagnostics)
    }

    // MARK: curl

    func testCurlGetsTheOpenSSLStatusPage() throws {
        let fixtures = try CertificateFixtures.shared()
        let tlsCase = TLSCase(suite: .ecdheECDSAWithAES128GCMSHA256, group: .x25519)
        let port = try PortAllocator.next()
        let server = try startOpenSSLServer(port: port, identity: fixtures.leaf, options: .init(tls12: true, www: true))
        let page = file("page.html")
        let curl = try startCurl(port: port, caFile: fixtures.ca.certificate, output: page, tlsCase: tlsCase)
        XCTAssertEqual(try curl.waitForExit(timeout: 30), 0, curl.diagnostics)
        XCTAssertTrue(curl.stdoutText().hasPrefix("200 "), curl.stdoutText())
        let html = (try? String(contentsOf: page, encoding: .utf8)) ?? ""
        XCTAssertTrue(html.contains("Cipher is \(tlsCase.suite.openssl)"), html)
        XCTAssertEqual(try server.waitForExit(timeout: 20), 0, server.diagnostics)
    }

    func testCurlPostsAndReceivesAMebibyteThroughOpenSSLServer() throws {
        let fixtures = try CertificateFixtures.shared()
        let tlsCase = TLSCase(suite: .ecdheRSAWithAES128GCMSHA256, group: .p256)
        let port = try PortAllocator.next()
        // The RSA suite needs an RSA certificate; the self-signed one is its own CA.
        let server = try startOpenSSLServer(port: port, identity: fixtures.rsa2048, options: .server(tlsCase))
        let upload = try Payload.random(in: workDirectory, name: "up")
        let download = try Payload.random(in: workDirectory, name: "down")
        let body = file("curl.body")
        let curl = try startCurl(port: port, caFile: fixtures.rsa2048.certificate, upload: upload, output: body, tlsCase: tlsCase)
        try withDiagnostics([server, curl]) {
            try DataMover.httpExchange(server: server, curl: curl, upload: upload, download: download, curlOutput: body)
        }
        XCTAssertTrue(curl.stdoutText().hasPrefix("200 \(download.count) \(upload.count) 0"), curl.stdoutText())
        XCTAssertEqual(try server.waitForExit(timeout: 20), 0, server.diagnostics)
        let trace = messageTrace(server)
        XCTAssertTrue(trace.receivedCloseNotify, "curl sent no close_notify")
        XCTAssertEqual(OpenSSLBriefReport(server.stderrText()).cipher, tlsCase.suite.openssl)
        XCTAssertEqual(trace.serverKeyExchangeGroup, .p256)
    }

    // MARK: Raw records

    /// The hand-made bad records reach a real server and its alerts parse: the same inputs
    /// then go to tessera s_server. OpenSSL's answers are its own (it drops plain HTTP without
    /// an alert and answers SSL 3.0 with handshake_failure), so only a few are pinned here.
    func testRawClientReadsOpenSSLAlerts() throws {
        let fixtures = try CertificateFixtures.shared()
        let expected: [String: UInt8] = [
            "application data before the handshake": 10, "truncated ClientHello": 50, "oversized record": 22,
        ]
        for input in RawTLSClient.badInputs where expected[input.name] != nil {
            let port = try PortAllocator.next()
            let server = try startOpenSSLServer(port: port, identity: fixtures.ecdsaP256, options: .init(tls12: false), name: "server-\(port)")
            let answer = try RawTLSClient.send(input.bytes, port: port, timeout: 10)
            XCTAssertTrue(answer.closed, "\(input.name): \(answer)")
            XCTAssertEqual(answer.alert?.level, 2, "\(input.name): \(answer)")
            XCTAssertEqual(answer.alert?.description, expected[input.name], "\(input.name): \(answer)")
            _ = try server.waitForExit(timeout: 10)
        }
        // And a well-formed ClientHello gets a ServerHello (handshake record) back.
        let port = try PortAllocator.next()
        _ = try startOpenSSLServer(port: port, identity: fixtures.ecdsaP256, name: "server-hello")
        let answer = try RawTLSClient.send(RawTLSClient.clientHelloRecord(), port: port, timeout: 2)
        XCTAssertEqual(answer.bytes.first, 0x16, "\(answer)")
        XCTAssertEqual(answer.bytes.count > 5 ? answer.bytes[5] : nil, 0x02, "ServerHello expected: \(answer)")
    }
}
