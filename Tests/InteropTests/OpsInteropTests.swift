import Foundation
import TesseraSessions
import XCTest

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The operator features of issue 4 with real processes on 127.0.0.1 (DESIGN.md §5, §7):
/// `ticket-key generate` files that nginx accepts; a fleet of `tessera s_server`s sharing
/// `-ticket_key_file`s, checked by `tessera resumption-check`, and servers with different keys
/// that it says do not share; rotation by SIGHUP without dropping connections; and nginx and
/// tessera reading the same key files: tickets carry the file's name, reordering the files and
/// reloading renews, removing a key falls back to full handshakes.
///
/// Gate: as `TesseraInteropTests` (the built `tessera`), plus nginx for the nginx tests; a missing
/// one skips, or fails under `TESSERA_INTEROP=1`.
final class OpsInteropTests: InteropTestCase {
    /// Waits in this file are bounded by this (a reload, a listener, a log line).
    let deadline: TimeInterval = 15

    func testGeneratedKeyFilesAreAcceptedByNginx() throws {
        let tessera = try TesseraCLI.require(.server)
        let nginx = try requireNginx()
        let fixtures = try CertificateFixtures.shared()
        let k80 = try generateKey(tessera, "generated-80.key")
        let k48 = try generateKey(tessera, "generated-48.key", size: 48)
        for (key, size) in [(k80, 80), (k48, 48)] {
            XCTAssertEqual(key.bytes.count, size)
            let attributes = try FileManager.default.attributesOfItem(atPath: key.url.path)
            XCTAssertEqual((attributes[.posixPermissions] as? NSNumber)?.intValue, 0o600, key.url.path)
        }
        let accepted = try nginxTest(nginx, keyFiles: [k80.url, k48.url], identity: fixtures.leaf)
        XCTAssertEqual(accepted.status, 0, accepted.stderr)
        XCTAssertTrue(accepted.stderr.contains("test is successful"), accepted.stderr)

        // nginx really reads them: a 47-byte file is refused (so the test above is not vacuous).
        let bad = file("bad.key")
        try Data(repeating: 1, count: 47).write(to: bad)
        let refused = try nginxTest(nginx, keyFiles: [bad], identity: fixtures.leaf)
        XCTAssertNotEqual(refused.status, 0, refused.stderr)
        XCTAssertTrue(refused.stderr.contains("48 or 80"), refused.stderr)

        // And tessera refuses sizes nginx has no layout for.
        let wrongSize = try PeerProcess.run(tessera, ["ticket-key", "generate", "-out", file("x.key").path, "-size", "64"], in: workDirectory, timeout: 30)
        XCTAssertNotEqual(wrongSize.status, 0)
        XCTAssertTrue(wrongSize.stderr.contains("48 or 80"), wrongSize.stderr)
    }

    /// Three servers sharing two key files: every ticket carries the first file's name and
    /// resumes on every server; `-stats` counts what one of them saw.
    func testFleetSharingKeyFilesResumesEverywhere() throws {
        let tessera = try TesseraCLI.require(.server)
        let fixtures = try CertificateFixtures.shared()
        let first = try generateKey(tessera, "fleet-1.key")
        let second = try generateKey(tessera, "fleet-2.key", size: 48)
        var ports: [Int] = []
        var servers: [PeerProcess] = []
        for index in 0..<3 {
            let port = try PortAllocator.next()
            let extra = index == 0 ? ["-stats", "1"] : []
            servers.append(try startServer(tessera, port: port, identity: fixtures.leaf, keyFiles: [first.url, second.url], extra: extra))
            ports.append(port)
        }
        let check = try resumptionCheck(tessera, ports: ports, caFile: fixtures.ca.certificate)
        XCTAssertEqual(check.status, 0, check.output)
        XCTAssertTrue(check.output.contains("tickets from A resume on B and C"), check.output)
        XCTAssertTrue(check.output.contains("verdict: every offered session resumed (5 of 5)"), check.output)
        let rows = check.rows
        XCTAssertEqual(rows.count, 6, check.output)
        XCTAssertEqual(rows.map(\.server), ["A", "B", "C", "A", "B", "C"])
        XCTAssertEqual(rows.map(\.resumed), ["no", "yes", "yes", "yes", "yes", "yes"])
        XCTAssertEqual(rows.dropFirst().map(\.by), Array(repeating: "ticket", count: 5))
        XCTAssertEqual(rows.map(\.keyName), Array(repeating: hex(first.name), count: 6), "tickets carry the first key file's name")
        XCTAssertTrue(rows.allSatisfy { Int($0.hint).map { $0 > 0 } ?? false }, check.output)

        // Server A saw the first (full) and the fourth (resumed) connection.
        try servers[0].waitUntil("a -stats line counting both handshakes", timeout: deadline) {
            servers[0].stderrText().contains("stats: handshakes full=1 resumed=1 renewed=0; tickets issued=1; resumption failures=0; key rotations=0; live keys=2")
        }
    }

    /// Servers with different keys: the check says they do not share, and exits 1. The third one
    /// runs the in-process ring.
    func testServersWithDifferentKeysDoNotShare() throws {
        let tessera = try TesseraCLI.require(.server)
        let fixtures = try CertificateFixtures.shared()
        let keyA = try generateKey(tessera, "a.key")
        let keyB = try generateKey(tessera, "b.key")
        let portA = try PortAllocator.next()
        let portB = try PortAllocator.next()
        let portC = try PortAllocator.next()
        let serverA = try startServer(tessera, port: portA, identity: fixtures.leaf, keyFiles: [keyA.url])
        _ = try startServer(tessera, port: portB, identity: fixtures.leaf, keyFiles: [keyB.url])
        _ = try startServer(tessera, port: portC, identity: fixtures.leaf, keyFiles: [])
        let check = try resumptionCheck(tessera, ports: [portA, portB, portC], caFile: fixtures.ca.certificate, perServer: 1)
        XCTAssertEqual(check.status, 1, check.output)
        XCTAssertTrue(check.output.contains("tickets from A do not resume on B"), check.output)
        XCTAssertTrue(check.output.contains("tickets from B do not resume on C"), check.output)
        XCTAssertTrue(check.output.contains("verdict: 2 of 2 offered sessions did not resume"), check.output)
        let rows = check.rows
        XCTAssertEqual(rows.map(\.resumed), ["no", "no", "no"])
        XCTAssertEqual(rows.first?.keyName, hex(keyA.name))
        XCTAssertEqual(rows.dropFirst().first?.keyName, hex(keyB.name))

        // Two servers, two rounds: each says the other's tickets do not resume.
        let pair = try resumptionCheck(tessera, ports: [portA, portB], caFile: fixtures.ca.certificate)
        XCTAssertEqual(pair.status, 1, pair.output)
        XCTAssertTrue(pair.output.contains("tickets from A do not resume on B"), pair.output)
        XCTAssertTrue(pair.output.contains("tickets from B do not resume on A"), pair.output)
        // Server A logged why: the ticket's key is not one of its own.
        try serverA.waitUntil("a log line for the unknown key", timeout: deadline) {
            serverA.stderrText().contains("ticket not resumed; full handshake reason=unknown_key")
        }
    }

    /// SIGHUP re-reads the files while a connection stays open; a missing file is reported and
    /// the old keys stay; a key removed from the files means a full handshake.
    func testTesseraReloadsKeyFilesOnSIGHUPWithoutDroppingConnections() throws {
        let tessera = try TesseraCLI.require(.server)
        let fixtures = try CertificateFixtures.shared()
        let k1 = try generateKey(tessera, "k1.bin")
        let k2 = try generateKey(tessera, "k2.bin", size: 48)
        let k3 = try generateKey(tessera, "k3.bin")
        let fileA = file("first.key")
        let fileB = file("second.key")
        try install(k1, at: fileA)
        try install(k2, at: fileB)
        let port = try PortAllocator.next()
        let server = try startServer(tessera, port: port, identity: fixtures.leaf, keyFiles: [fileA, fileB])

        let s1 = try connect(tessera, port: port, sessionIn: nil, name: "s1")
        XCTAssertFalse(s1.reused)
        XCTAssertEqual(s1.ticketName, k1.name)

        // A connection held open across the reloads.
        let open = try launch("open-client", tessera, ["s_client", "-connect", "127.0.0.1:\(port)", "-servername", "localhost", "-tls1_2", "-ign_eof"])
        try open.waitUntil("the open connection's handshake", timeout: deadline) { open.stdoutText().contains("Cipher is") }

        // Rotate: k2 first, k1 second. Its tickets resume and are renewed under k2.
        try install(k2, at: fileA)
        try install(k1, at: fileB)
        try sighup(server, expecting: "ticket key files reloaded", count: 1)
        let renewed = try connect(tessera, port: port, sessionIn: s1.sessionFile, name: "renewed")
        XCTAssertTrue(renewed.reused, renewed.output)
        XCTAssertTrue(renewed.renewed, renewed.output)
        XCTAssertEqual(renewed.ticketName, k2.name)

        // A missing file: reported, keys kept (k1 still resumes, renewed).
        try FileManager.default.removeItem(at: fileB)
        try sighup(server, expecting: "ticket key files not reloaded", count: 1)
        let report = server.stderrText()
        XCTAssertTrue(report.contains(fileB.path) && report.contains("does not exist") && report.contains("keeping the 2 keys"), report)
        XCTAssertTrue(server.isRunning)
        let kept = try connect(tessera, port: port, sessionIn: s1.sessionFile, name: "kept")
        XCTAssertTrue(kept.reused && kept.renewed, kept.output)

        // Removal: k1 replaced by k3, so s1 gets a full handshake and a ticket under k2.
        try install(k3, at: fileB)
        try sighup(server, expecting: "ticket key files reloaded", count: 2)
        let removed = try connect(tessera, port: port, sessionIn: s1.sessionFile, name: "removed")
        XCTAssertFalse(removed.reused, removed.output)
        XCTAssertEqual(removed.ticketName, k2.name)

        // The connection opened before the reloads still carries data.
        open.write("still here\n")
        try server.waitUntil("data from the connection opened before the reloads", timeout: deadline) {
            server.stdoutText().contains("still here")
        }
        XCTAssertTrue(open.isRunning, open.diagnostics)
    }

    /// nginx and tessera s_server read the same key files: tickets from both carry the first
    /// file's name; reordering the files and reloading (nginx -s reload, SIGHUP) renews tickets
    /// under the new first key; removing the key means a full handshake.
    func testNginxAndTesseraReadTheSameKeyFiles() throws {
        let tessera = try TesseraCLI.require(.server)
        let nginx = try requireNginx()
        let fixtures = try CertificateFixtures.shared()
        let k1 = try generateKey(tessera, "k1.bin")
        let k2 = try generateKey(tessera, "k2.bin", size: 48)
        let k3 = try generateKey(tessera, "k3.bin")
        let fileA = file("first.key")
        let fileB = file("second.key")
        try install(k1, at: fileA)
        try install(k2, at: fileB)

        let nginxPort = try PortAllocator.next()
        let nginxServer = try startNginx(nginx, port: nginxPort, keyFiles: [fileA, fileB], identity: fixtures.leaf)
        let tesseraPort = try PortAllocator.next()
        let tesseraServer = try startServer(tessera, port: tesseraPort, identity: fixtures.leaf, keyFiles: [fileA, fileB])
        var reloads = 0
        let servers: [(name: String, port: Int, reload: () throws -> Void)] = [
            ("nginx", nginxPort, { [self] in try nginxReload(nginx, nginxServer) }),
            ("tessera", tesseraPort, { [self] in try sighup(tesseraServer, expecting: "ticket key files reloaded", count: reloads) }),
        ]

        var first: [String: Attempt] = [:]
        for server in servers {
            let attempt = try connect(tessera, port: server.port, sessionIn: nil, name: "\(server.name)-first")
            XCTAssertFalse(attempt.reused, "\(server.name): \(attempt.output)")
            XCTAssertEqual(attempt.ticketName, k1.name, "\(server.name): the ticket starts with the first key file's name")
            first[server.name] = attempt
        }

        // Rotation: k2 first, k1 second, reload: tickets under k1 resume and are renewed under k2.
        try install(k2, at: fileA)
        try install(k1, at: fileB)
        reloads += 1
        for server in servers {
            try server.reload()
            let session = try XCTUnwrap(first[server.name]?.sessionFile)
            let renewed = try retry("\(server.name): renewal after reordering the files") {
                let attempt = try connect(tessera, port: server.port, sessionIn: session, name: "\(server.name)-renewed")
                return attempt.renewed ? attempt : nil
            }
            XCTAssertTrue(renewed.reused, "\(server.name): \(renewed.output)")
            XCTAssertEqual(renewed.ticketName, k2.name, "\(server.name): renewed under the new first key")
        }

        // Removal: k1 is replaced by k3; its tickets get a full handshake (and a ticket under k2).
        try install(k3, at: fileB)
        reloads += 1
        for server in servers {
            try server.reload()
            let session = try XCTUnwrap(first[server.name]?.sessionFile)
            let full = try retry("\(server.name): full handshake after removing the key") {
                let attempt = try connect(tessera, port: server.port, sessionIn: session, name: "\(server.name)-removed")
                return attempt.reused ? nil : attempt
            }
            XCTAssertEqual(full.ticketName, k2.name, "\(server.name)")
        }
    }

    /// Scope (DESIGN.md §5): servers sharing keys but not certificates do not resume each other's
    /// tickets, unless they share `-context`.
    func testSharedKeysWithDifferentCertificatesNeedASharedContext() throws {
        let tessera = try TesseraCLI.require(.server)
        let fixtures = try CertificateFixtures.shared()
        let key = try generateKey(tessera, "shared.key")
        for context in [nil, "fleet-1"] {
            let extra = context.map { ["-context", $0] } ?? []
            let portA = try PortAllocator.next()
            let portB = try PortAllocator.next()
            let serverB = try startServer(tessera, port: portB, identity: fixtures.ecdsaP256, keyFiles: [key.url], extra: extra)
            _ = try startServer(tessera, port: portA, identity: fixtures.leaf, keyFiles: [key.url], extra: extra)
            let check = try resumptionCheck(tessera, ports: [portA, portB], caFile: nil, perServer: 1)
            if context == nil {
                XCTAssertEqual(check.status, 1, check.output)
                XCTAssertTrue(check.output.contains("tickets from A do not resume on B"), check.output)
                try serverB.waitUntil("a scope-mismatch log line", timeout: deadline) {
                    serverB.stderrText().contains("reason=scope_mismatch")
                }
            } else {
                XCTAssertEqual(check.status, 0, check.output)
                XCTAssertTrue(check.output.contains("tickets from A resume on B"), check.output)
            }
        }
    }

    // MARK: Helpers

    struct Key {
        let url: URL
        let bytes: [UInt8]
        var name: [UInt8] { Array(bytes.prefix(16)) }
    }

    /// `tessera ticket-key generate -out F [-size N]`.
    func generateKey(_ tessera: URL, _ name: String, size: Int? = nil) throws -> Key {
        let url = file(name)
        var arguments = ["ticket-key", "generate", "-out", url.path]
        if let size { arguments += ["-size", "\(size)"] }
        let result = try PeerProcess.run(tessera, arguments, in: workDirectory, timeout: 30)
        XCTAssertEqual(result.status, 0, result.stderr)
        let bytes = [UInt8](try Data(contentsOf: url))
        XCTAssertTrue(result.stderr.contains(hex(Array(bytes.prefix(16)))), "the key name is reported: \(result.stderr)")
        return Key(url: url, bytes: bytes)
    }

    /// Puts a key's bytes at `url` by rename, as an operator's deploy would.
    func install(_ key: Key, at url: URL) throws {
        try Data(key.bytes).write(to: url, options: .atomic)
    }

    func startServer(_ tessera: URL, port: Int, identity: CertificateFixtures.Identity, keyFiles: [URL], extra: [String] = []) throws -> PeerProcess {
        var arguments = ["s_server", "-accept", "127.0.0.1:\(port)", "-cert", identity.certificate.path, "-key", identity.key.path, "-tls1_2"]
        for keyFile in keyFiles { arguments += ["-ticket_key_file", keyFile.path] }
        let server = try launch("tessera-server", tessera, arguments + extra)
        try server.waitForListening(port: port, timeout: deadline)
        return server
    }

    struct Check {
        let status: Int32
        let output: String

        struct Row {
            var server: String
            var resumed: String
            var by: String
            var keyName: String
            var hint: String
        }

        /// The table's rows: `#  server  offered  resumed  by  renewed  key  hint`.
        var rows: [Row] {
            output.split(separator: "\n").compactMap { line in
                let cells = line.split(separator: " ", omittingEmptySubsequences: true).map(String.init)
                guard cells.count >= 8, Int(cells[0]) != nil else { return nil }
                // "offered" is "-" or "A (#1)": two cells.
                let shift = cells[2] == "-" ? 0 : 1
                guard cells.count >= 8 + shift else { return nil }
                return Row(server: cells[1], resumed: cells[3 + shift], by: cells[4 + shift], keyName: cells[6 + shift], hint: cells[7 + shift])
            }
        }
    }

    func resumptionCheck(_ tessera: URL, ports: [Int], caFile: URL?, perServer: Int = 2) throws -> Check {
        var arguments = ["resumption-check"] + ports.map { "127.0.0.1:\($0)" }
            + ["-n", "\(perServer)", "-servername", "localhost", "-timeout", "10"]
        if let caFile { arguments += ["-CAfile", caFile.path] }
        let result = try PeerProcess.run(tessera, arguments, in: workDirectory, timeout: 120)
        return Check(status: result.status, output: result.stdout + result.stderr)
    }

    struct Attempt {
        var reused: Bool
        var renewed: Bool
        var ticketName: [UInt8]?
        var sessionFile: URL
        var output: String
    }

    /// One `tessera s_client` connection, offering `sessionIn`, saving the newest session.
    func connect(_ tessera: URL, port: Int, sessionIn: URL?, name: String) throws -> Attempt {
        let sessionOut = file("\(name)-\(UUID().uuidString.prefix(6)).pem")
        var arguments = ["s_client", "-connect", "127.0.0.1:\(port)", "-servername", "localhost", "-tls1_2", "-sess_out", sessionOut.path]
        if let sessionIn { arguments += ["-sess_in", sessionIn.path] }
        let result = try PeerProcess.run(tessera, arguments, in: workDirectory, timeout: 30)
        let output = result.stdout + result.stderr
        XCTAssertEqual(result.status, 0, output)
        let session = try? SessionState(pemEncoded: String(contentsOf: sessionOut, encoding: .utf8))
        return Attempt(
            reused: output.contains("Reused, TLSv1.2"),
            renewed: output.contains("Session ticket renewed: yes"),
            ticketName: session?.ticket.map { Array($0.prefix(16)) },
            sessionFile: sessionOut,
            output: output)
    }

    /// Sends SIGHUP and waits until the server's log says `words` for the `count`-th time.
    func sighup(_ server: PeerProcess, expecting words: String, count: Int) throws {
        XCTAssertEqual(kill(server.pid, SIGHUP), 0)
        try server.waitUntil("'\(words)' \(count) time(s) in the log", timeout: deadline) {
            server.stderrText().components(separatedBy: words).count - 1 >= count
        }
    }

    /// Polls `body` (nginx's old workers may answer for a moment after a reload).
    func retry<T>(_ what: String, _ body: () throws -> T?) throws -> T {
        let end = Date().addingTimeInterval(deadline)
        while true {
            if let value = try body() { return value }
            if Date() > end { throw HarnessError.timeout("\(what) not within \(deadline) s") }
            usleep(200_000)
        }
    }

    // MARK: nginx

    func requireNginx() throws -> URL {
        if let nginx = Locations.tool("nginx") { return nginx }
        if ProcessInfo.processInfo.environment["TESSERA_INTEROP"] == "1" {
            throw HarnessError.missingTool("TESSERA_INTEROP=1 but nginx is not installed (scripts/test installs nginx-light)")
        }
        throw XCTSkip("nginx not installed (scripts/test installs nginx-light)")
    }

    /// A minimal nginx: one TLS 1.2 server on `port` with `ssl_session_ticket_key` per file,
    /// every path inside the test's folder.
    func nginxConfiguration(port: Int, keyFiles: [URL], identity: CertificateFixtures.Identity) throws -> URL {
        let prefix = file("nginx-\(port)")
        try FileManager.default.createDirectory(at: prefix, withIntermediateDirectories: true)
        let keys = keyFiles.map { "    ssl_session_ticket_key \($0.path);" }.joined(separator: "\n")
        let text = """
        worker_processes 1;
        daemon off;
        master_process on;
        pid \(prefix.path)/nginx.pid;
        error_log \(prefix.path)/error.log notice;
        events { worker_connections 64; }
        http {
          access_log off;
          client_body_temp_path \(prefix.path)/body;
          proxy_temp_path \(prefix.path)/proxy;
          fastcgi_temp_path \(prefix.path)/fastcgi;
          uwsgi_temp_path \(prefix.path)/uwsgi;
          scgi_temp_path \(prefix.path)/scgi;
          server {
            listen 127.0.0.1:\(port) ssl;
            server_name localhost;
            ssl_certificate \(identity.certificate.path);
            ssl_certificate_key \(identity.key.path);
            ssl_protocols TLSv1.2;
            ssl_session_tickets on;
        \(keys)
            location / { return 200 "ok\\n"; }
          }
        }

        """
        let url = prefix.appendingPathComponent("nginx.conf")
        try text.write(to: url, atomically: true, encoding: .utf8)
        return url
    }

    func nginxTest(_ nginx: URL, keyFiles: [URL], identity: CertificateFixtures.Identity) throws -> PeerProcess.Result {
        let port = try PortAllocator.next()
        let configuration = try nginxConfiguration(port: port, keyFiles: keyFiles, identity: identity)
        return try PeerProcess.run(nginx, ["-t", "-c", configuration.path, "-p", configuration.deletingLastPathComponent().path], in: workDirectory, timeout: 30)
    }

    func startNginx(_ nginx: URL, port: Int, keyFiles: [URL], identity: CertificateFixtures.Identity) throws -> PeerProcess {
        let configuration = try nginxConfiguration(port: port, keyFiles: keyFiles, identity: identity)
        let server = try launch("nginx", nginx, ["-c", configuration.path, "-p", configuration.deletingLastPathComponent().path])
        try server.waitForListening(port: port, timeout: deadline)
        return server
    }

    /// `nginx -s reload` for the nginx started by `startNginx`.
    func nginxReload(_ nginx: URL, _ server: PeerProcess) throws {
        let configuration = try XCTUnwrap(server.arguments.dropFirst().first)
        let prefix = URL(fileURLWithPath: configuration).deletingLastPathComponent().path
        let result = try PeerProcess.run(nginx, ["-c", configuration, "-p", prefix, "-s", "reload"], in: workDirectory, timeout: 30)
        XCTAssertEqual(result.status, 0, result.stderr)
    }

    func hex(_ bytes: [UInt8]) -> String {
        bytes.map { String(format: "%02x", $0) }.joined()
    }
}
