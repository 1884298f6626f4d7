import Foundation
import XCTest

/// Client certificates (mutual TLS) against openssl, both directions, TLS 1.2 and TLS 1.3:
/// `openssl s_client -cert -key` → `tessera s_server -Verify 1 -CAfile`, and
/// `tessera s_client -cert -key` → `openssl s_server -Verify 1 -CAfile`, each verifying the
/// client's chain (`-verify_return_error`); and a client without a certificate against
/// `-Verify`, which must fail with the alert openssl sends and expects: handshake_failure in
/// TLS 1.2 (RFC 5246 §7.4.6), certificate_required in TLS 1.3 (RFC 8446 §4.4.2.4).
final class ClientAuthInteropTests: InteropTestCase {
    static let versions = ["-tls1_2", "-tls1_3"]
    static let clientSubject = "Tessera Interop Client"

    /// A P-256 client certificate signed by the fixtures' CA, for client authentication.
    private func clientIdentity(_ fixtures: CertificateFixtures) throws -> CertificateFixtures.Identity {
        let openssl = try Locations.requireTool("openssl", package: "openssl")
        func run(_ args: [String]) throws {
            let result = try PeerProcess.run(openssl, args, in: workDirectory, timeout: 60)
            guard result.status == 0 else {
                throw HarnessError.unexpectedExit("openssl \(args.joined(separator: " ")) -> \(result.status)\n\(result.stderr)")
            }
        }
        let key = file("client.key"), csr = file("client.csr"), ext = file("client.ext"), cert = file("client.pem")
        try run(["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-pkeyopt", "ec_param_enc:named_curve", "-out", key.path])
        try run(["req", "-new", "-key", key.path, "-subj", "/CN=\(Self.clientSubject)", "-out", csr.path])
        try "basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=clientAuth\n"
            .write(to: ext, atomically: true, encoding: .utf8)
        try run(["x509", "-req", "-in", csr.path, "-CA", fixtures.ca.certificate.path, "-CAkey", fixtures.ca.key.path,
                 "-CAcreateserial", "-days", "30", "-sha256", "-extfile", ext.path, "-out", cert.path])
        return CertificateFixtures.Identity(name: "client", certificate: cert, key: key)
    }

    private func startTesseraAuthServer(_ tessera: URL, port: Int, version: String, fixtures: CertificateFixtures) throws -> PeerProcess {
        let server = try launch("tessera-server-\(port)", tessera, [
            "s_server", "-accept", "127.0.0.1:\(port)", "-cert", fixtures.ecdsaP256.certificate.path,
            "-key", fixtures.ecdsaP256.key.path, version, "-Verify", "1", "-CAfile", fixtures.ca.certificate.path,
            "-verify_return_error", "-no_ticket",
        ])
        try server.waitForListening(port: port)
        return server
    }

    private func startOpenSSLAuthServer(port: Int, version: String, fixtures: CertificateFixtures) throws -> PeerProcess {
        let name = reserveName("openssl-server-\(port)")
        let openssl = try Locations.requireTool("openssl", package: "openssl")
        let server = try launch(name, openssl, [
            "s_server", "-accept", "127.0.0.1:\(port)", "-cert", fixtures.ecdsaP256.certificate.path,
            "-key", fixtures.ecdsaP256.key.path, "-naccept", "1", "-brief", "-msg", "-msgfile", file("\(name).msg").path,
            version, "-Verify", "1", "-CAfile", fixtures.ca.certificate.path, "-verify_return_error",
        ])
        try server.waitForListening(port: port)
        return server
    }

    private func startOpenSSLClient(port: Int, version: String, identity: CertificateFixtures.Identity?) throws -> PeerProcess {
        let name = reserveName("openssl-client-\(port)")
        let openssl = try Locations.requireTool("openssl", package: "openssl")
        var args = ["s_client", "-connect", "127.0.0.1:\(port)", "-servername", "localhost", "-brief", "-nocommands",
                    "-msg", "-msgfile", file("\(name).msg").path, version]
        if let identity { args += ["-cert", identity.certificate.path, "-key", identity.key.path] }
        return try launch(name, openssl, args)
    }

    private func startTesseraClient(_ tessera: URL, port: Int, version: String, identity: CertificateFixtures.Identity?) throws -> PeerProcess {
        var args = ["s_client", "-connect", "127.0.0.1:\(port)", "-servername", "localhost", version]
        if let identity { args += ["-cert", identity.certificate.path, "-key", identity.key.path] }
        return try launch("tessera-client-\(port)", tessera, args)
    }

    /// One version's run; a failure is recorded with its label and the next one runs.
    private func runVersion(_ label: String, file: StaticString = #filePath, line: UInt = #line, _ body: () throws -> Void) throws {
        do {
            try body()
        } catch {
            XCTFail("\(label): \(error)", file: file, line: line)
        }
    }

    // MARK: openssl s_client → tessera s_server

    func testOpenSSLClientCertificateToTesseraServer() throws {
        let tessera = try TesseraCLI.require(.server)
        let fixtures = try CertificateFixtures.shared()
        let identity = try clientIdentity(fixtures)
        for version in Self.versions {
            try runVersion(version) {
                let port = try PortAllocator.next()
                let server = try startTesseraAuthServer(tessera, port: port, version: version, fixtures: fixtures)
                let client = try startOpenSSLClient(port: port, version: version, identity: identity)
                try lineExchange(server: server, client: client, marker: "auth\(port)")
                let report = server.stdoutText()
                XCTAssertTrue(report.contains("Client certificate subject: CN=\(Self.clientSubject)"), "\(version): tessera s_server\n\(server.diagnostics)")
                XCTAssertTrue(report.contains("Client certificate verification: OK"), "\(version): tessera s_server\n\(server.diagnostics)")
                let trace = messageTrace(client)
                XCTAssertTrue(trace.entries.contains { $0.sent && $0.summary.hasSuffix("CertificateVerify") }, "\(version): openssl sent no CertificateVerify")
                XCTAssertTrue(trace.entries.contains { !$0.sent && $0.summary.hasSuffix("CertificateRequest") }, "\(version): no CertificateRequest")
                XCTAssertEqual(trace.fatalAlerts, [], version)
                server.terminate()
            }
        }
    }

    /// RFC 5246 §7.4.4 / RFC 8446 §4.2.4: tessera s_server -CAfile names the file's CA in its
    /// CertificateRequest; openssl s_client (without -brief) lists it under "Acceptable client
    /// certificate CA names".
    func testTesseraServerNamesItsClientCAsToOpenSSL() throws {
        let tessera = try TesseraCLI.require(.server)
        let fixtures = try CertificateFixtures.shared()
        let openssl = try Locations.requireTool("openssl", package: "openssl")
        let identity = try clientIdentity(fixtures)
        for version in Self.versions {
            try runVersion(version) {
                let port = try PortAllocator.next()
                let server = try startTesseraAuthServer(tessera, port: port, version: version, fixtures: fixtures)
                defer { server.terminate() }
                let result = try PeerProcess.run(openssl, [
                    "s_client", "-connect", "127.0.0.1:\(port)", "-servername", "localhost", version,
                    "-cert", identity.certificate.path, "-key", identity.key.path,
                ], in: workDirectory, input: Data(), timeout: 30)
                let names = result.stdout.components(separatedBy: "Acceptable client certificate CA names\n").dropFirst().first ?? ""
                XCTAssertTrue(names.hasPrefix("CN = Tessera Interop Test CA\n"), "\(version): openssl s_client\n\(result.stdout)\n\(result.stderr)")
            }
        }
    }

    /// RFC 5246 §7.4.6 / RFC 8446 §4.4.2.4: no certificate for `-Verify`: the alert openssl
    /// receives is handshake_failure in TLS 1.2 and certificate_required in TLS 1.3.
    func testOpenSSLClientWithoutCertificateIsRefusedByTesseraServer() throws {
        let tessera = try TesseraCLI.require(.server)
        let fixtures = try CertificateFixtures.shared()
        for (version, alert) in [("-tls1_2", "handshake_failure"), ("-tls1_3", "certificate_required")] {
            try runVersion(version) {
                let port = try PortAllocator.next()
                let server = try startTesseraAuthServer(tessera, port: port, version: version, fixtures: fixtures)
                let client = try startOpenSSLClient(port: port, version: version, identity: nil)
                try withDiagnostics([server, client]) {
                    try client.waitUntil("openssl s_client received an alert", timeout: 20, failOnExit: false) {
                        !self.messageTrace(client).fatalAlerts.isEmpty
                    }
                }
                client.closeStdin()
                _ = try? client.waitForExit(timeout: 10)
                let trace = messageTrace(client)
                XCTAssertEqual(trace.fatalAlerts.count, 1, "\(version): \(trace.fatalAlerts)\n\(client.diagnostics)")
                XCTAssertTrue(trace.fatalAlerts.first?.hasPrefix("<<< ") == true, "\(version): \(trace.fatalAlerts)")
                XCTAssertTrue(trace.fatalAlerts.first?.hasSuffix(" \(alert)") == true, "\(version): expected \(alert), got \(trace.fatalAlerts)")
                XCTAssertFalse(server.stdoutText().contains("Client certificate subject"), version)
                server.terminate()
            }
        }
    }

    /// A client certificate the server's -CAfile does not vouch for (a self-signed one) is
    /// refused with unknown_ca under -verify_return_error, as openssl s_server does.
    func testUntrustedOpenSSLClientCertificateIsRefusedByTesseraServer() throws {
        let tessera = try TesseraCLI.require(.server)
        let fixtures = try CertificateFixtures.shared()
        for version in Self.versions {
            try runVersion(version) {
                let port = try PortAllocator.next()
                let server = try startTesseraAuthServer(tessera, port: port, version: version, fixtures: fixtures)
                let client = try startOpenSSLClient(port: port, version: version, identity: fixtures.ecdsaP384)
                try withDiagnostics([server, client]) {
                    try client.waitUntil("openssl s_client received an alert", timeout: 20, failOnExit: false) {
                        !self.messageTrace(client).fatalAlerts.isEmpty
                    }
                }
                client.closeStdin()
                _ = try? client.waitForExit(timeout: 10)
                let alerts = messageTrace(client).fatalAlerts
                XCTAssertEqual(alerts.count, 1, "\(version): \(alerts)\n\(client.diagnostics)")
                XCTAssertTrue(alerts.first.map { $0.hasPrefix("<<< ") && $0.hasSuffix(" unknown_ca") } == true, "\(version): \(alerts)")
                server.terminate()
            }
        }
    }

    // MARK: tessera s_client → openssl s_server

    func testTesseraClientCertificateToOpenSSLServer() throws {
        let tessera = try TesseraCLI.require(.client)
        let fixtures = try CertificateFixtures.shared()
        let identity = try clientIdentity(fixtures)
        for version in Self.versions {
            try runVersion(version) {
                let port = try PortAllocator.next()
                let server = try startOpenSSLAuthServer(port: port, version: version, fixtures: fixtures)
                let client = try startTesseraClient(tessera, port: port, version: version, identity: identity)
                try lineExchange(server: server, client: client, marker: "auth\(port)")
                let brief = server.stderrText()
                // openssl s_server -brief: "Peer certificate: CN = ..." once the chain verified.
                XCTAssertTrue(brief.contains("Peer certificate:") && brief.contains(Self.clientSubject), "\(version): openssl s_server\n\(server.diagnostics)")
                let report = client.stdoutText()
                XCTAssertTrue(report.contains("Client certificate requested: yes"), "\(version): tessera s_client\n\(client.diagnostics)")
                // openssl s_server -CAfile names its CA in the CertificateRequest.
                XCTAssertTrue(report.contains("Acceptable client certificate CA names\nCN=Tessera Interop Test CA\n"),
                              "\(version): tessera s_client\n\(client.diagnostics)")
                XCTAssertTrue(report.contains("Client certificate sent: yes"), "\(version): tessera s_client\n\(client.diagnostics)")
                let trace = messageTrace(server)
                XCTAssertTrue(trace.entries.contains { !$0.sent && $0.summary.hasSuffix("CertificateVerify") }, "\(version): openssl got no CertificateVerify")
                XCTAssertEqual(trace.fatalAlerts, [], version)
                _ = try? server.waitForExit(timeout: 10)
            }
        }
    }

    func testTesseraClientWithoutCertificateIsRefusedByOpenSSLServer() throws {
        let tessera = try TesseraCLI.require(.client)
        let fixtures = try CertificateFixtures.shared()
        for (version, alert) in [("-tls1_2", "handshake_failure"), ("-tls1_3", "certificate_required")] {
            try runVersion(version) {
                let port = try PortAllocator.next()
                let server = try startOpenSSLAuthServer(port: port, version: version, fixtures: fixtures)
                let client = try startTesseraClient(tessera, port: port, version: version, identity: nil)
                let status = try withDiagnostics([server, client]) { try client.waitForExit(timeout: 30) }
                XCTAssertNotEqual(status, 0, "\(version): tessera s_client succeeded without the required certificate\n\(client.diagnostics)")
                let trace = messageTrace(server)
                XCTAssertTrue(trace.fatalAlerts.contains { $0.hasPrefix(">>> ") && $0.hasSuffix(" \(alert)") }, "\(version): expected openssl to send \(alert), got \(trace.fatalAlerts)")
                XCTAssertTrue(client.stdoutText().contains("Client certificate sent: no") || client.stderrText().contains("fatal alert"), "\(version): \(client.diagnostics)")
                server.terminate()
            }
        }
    }
}
