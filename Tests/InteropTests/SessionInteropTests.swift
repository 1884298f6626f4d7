import Foundation
import XCTest

/// Session resumption across implementations (DESIGN.md §3–5, `shared/seed/000_*.txt`): a server
/// renews a ticket inside an abbreviated TLS 1.2 handshake (ServerHello, NewSessionTicket, CCS,
/// Finished); clients must accept that flight and keep the renewed session, which
/// `openssl s_client -sess_out` does not do.
///
/// Real processes rotate ticket keys on the wall clock, so some tests wait in real time, with
/// short windows (`-ticket_rotate 2 -ticket_expire 4`): a key encrypts during [t0, t0+2), is
/// retiring (decrypts, tickets renewed) during [t0+2, t0+4), and is gone from t0+4, where t0 is
/// when `tessera s_server` started, somewhere between our launch and it listening. Each timed step
/// checks it ran inside its window and says so when the machine was too slow.
///
/// Gate: `TesseraCLI.require` (skips without a usable `tessera` unless `TESSERA_INTEROP=1`).
final class SessionInteropTests: InteropTestCase {
    private let rotate: TimeInterval = 2
    private let expire: TimeInterval = 4

    // MARK: 1. openssl s_client against tessera s_server: resume, renewal, expiry

    /// openssl s_client -sess_out/-sess_in against `tessera s_server -ticket_rotate 2 -ticket_expire 4`:
    /// (a) New, session file written; (b) at once: Reused, no ticket in the flight; (c) with the
    /// first key retiring: Reused, and openssl's -msg trace shows the renewal flight
    /// ServerHello, NewSessionTicket, (CCS), Finished; (d) after the key expired, the same
    /// original file: a full handshake.
    func testOpenSSLClientResumesThroughRenewalAndExpiryOnTesseraServer() throws {
        let tessera = try TesseraCLI.require(.server)
        let identity = try CertificateFixtures.shared().ecdsaP256
        let port = try PortAllocator.next()
        let launched = Date()
        let server = try startSessionServer(tessera, port: port, identity: identity,
                                            extra: ["-ticket_rotate", "\(Int(rotate))", "-ticket_expire", "\(Int(expire))"])
        let listening = Date()
        let s1 = file("s1.pem")

        // (a) first connection: full handshake, a ticket under key 0, written to s1.
        let a = try runOpenSSLClient(port: port, caFile: identity.certificate, extra: ["-sess_out", s1.path], name: "openssl-a")
        XCTAssertEqual(a.exitStatus, 0, a.diagnostics)
        XCTAssertEqual(HandshakeReport.all(a.stdoutText()).first?.kind, .new, "(a) expected 'New, TLSv1.2'\n\(a.diagnostics)")
        let original = try SessionFile.load(s1)
        XCTAssertEqual(original.sslVersion, 0x0303)
        XCTAssertFalse(original.ticket?.isEmpty ?? true, "(a) openssl saved no ticket in s1")
        try waitForReports(server, count: 1)

        // (b) soon after (key 0 still encrypting): resumed, no renewal.
        let b = try runOpenSSLClient(port: port, caFile: identity.certificate, extra: ["-sess_in", s1.path], name: "openssl-b")
        let bDone = Date()
        XCTAssertLessThan(bDone.timeIntervalSince(launched), rotate,
                          "timing: step (b) ended \(seconds(bDone, launched)) after the server's launch, past the key's \(rotate) s; the machine is too slow for this test")
        XCTAssertEqual(b.exitStatus, 0, b.diagnostics)
        XCTAssertTrue(b.stdoutText().contains("Reused, TLSv1.2"), "(b) expected 'Reused, TLSv1.2'\n\(b.diagnostics)")
        XCTAssertEqual(messageTrace(b).handshakeFlight,
                       [">>> ClientHello", "<<< ServerHello", "<<< Finished", ">>> Finished"], "(b) abbreviated flight without renewal")
        let serverB = try waitForReports(server, count: 2)
        XCTAssertEqual(serverB.last?.kind, .reused, "(b) tessera s_server\n\(server.diagnostics)")
        XCTAssertEqual(serverB.last?.renewed, false, "(b) tessera s_server renewed a ticket under the active key\n\(server.diagnostics)")

        // (c) key 0 retiring: resumed, and the ticket renewed inside the abbreviated handshake.
        sleep(until: listening.addingTimeInterval(rotate + 0.4))
        let c = try runOpenSSLClient(port: port, caFile: identity.certificate, extra: ["-sess_in", s1.path], name: "openssl-c")
        let cDone = Date()
        XCTAssertLessThan(cDone.timeIntervalSince(launched), expire,
                          "timing: step (c) ended \(seconds(cDone, launched)) after the server's launch, past the key's \(expire) s")
        XCTAssertEqual(c.exitStatus, 0, c.diagnostics)
        XCTAssertTrue(c.stdoutText().contains("Reused, TLSv1.2"), "(c) expected 'Reused, TLSv1.2'\n\(c.diagnostics)")
        let trace = messageTrace(c)
        XCTAssertEqual(trace.handshakeFlight,
                       [">>> ClientHello", "<<< ServerHello", "<<< NewSessionTicket", "<<< Finished", ">>> Finished"],
                       "(c) expected the renewal flight (RFC 5077 §3.1 fig. 2)")
        // OpenSSL 3.0's trace shows no line for a received ChangeCipherSpec (only its record
        // header); if one shows, it must come after the NewSessionTicket.
        let received = trace.entries.filter { !$0.sent }.map(\.summary)
        let ticketAt = received.firstIndex { $0.hasSuffix("NewSessionTicket") }
        let helloAt = received.firstIndex { $0.hasSuffix("ServerHello") }
        let finishedAt = received.firstIndex { $0.hasSuffix("Finished") }
        let cssAt = received.firstIndex { $0.contains("ChangeCipherSpec") }
        if let ticketAt, let helloAt, let finishedAt {
            XCTAssertTrue(helloAt < ticketAt && ticketAt < finishedAt, "(c) order: \(received)")
            if let cssAt { XCTAssertLessThan(ticketAt, cssAt, "(c) NewSessionTicket after the server's CCS: \(received)") }
        }
        let serverC = try waitForReports(server, count: 3)
        XCTAssertEqual(serverC.last?.kind, .reused, "(c) tessera s_server\n\(server.diagnostics)")
        XCTAssertEqual(serverC.last?.renewed, true, "(c) tessera s_server did not renew a ticket under a retiring key\n\(server.diagnostics)")
        XCTAssertEqual(try SessionFile.load(s1).ticket, original.ticket, "(c) s1 must be untouched (no -sess_out)")

        // (d) key 0 expired: the original file falls back to a full handshake.
        sleep(until: listening.addingTimeInterval(expire + 0.4))
        let d = try runOpenSSLClient(port: port, caFile: identity.certificate, extra: ["-sess_in", s1.path], name: "openssl-d")
        XCTAssertEqual(d.exitStatus, 0, d.diagnostics)
        XCTAssertEqual(HandshakeReport.all(d.stdoutText()).first?.kind, .new, "(d) expected 'New, TLSv1.2' after expiry\n\(d.diagnostics)")
        XCTAssertTrue(messageTrace(d).handshakeFlight.contains("<<< Certificate"), "(d) no full handshake: \(messageTrace(d).handshakeFlight)")
        let serverD = try waitForReports(server, count: 4)
        XCTAssertEqual(serverD.last?.kind, .new, "(d) tessera s_server\n\(server.diagnostics)")
    }

    // MARK: 2. tessera s_client against nginx with two ticket key files

    /// nginx with 80-byte key files [A, B] (A encrypts, both decrypt, a ticket decrypted by a
    /// non-first key is renewed):
    /// tessera gets a ticket named A; with [B, A] it resumes, sees the renewal and saves the
    /// ticket named B; with [B] only, the renewed file resumes and the original falls back to a
    /// full handshake. openssl s_client -sess_out, in the renewed step, does not save the renewed ticket.
    func testTesseraClientKeepsTicketRenewedByNginxAcrossKeyRotation() throws {
        let tessera = try TesseraCLI.require(.client)
        let identity = try CertificateFixtures.shared().ecdsaP256
        let keyA = try makeNginxTicketKey("ticket-A.key")
        let keyB = try makeNginxTicketKey("ticket-B.key")
        let port = try PortAllocator.next()
        let nginx = try startNginx(port: port, identity: identity, ticketKeys: [keyA.file, keyB.file])
        let s1 = file("s1.pem"), s2 = file("s2.pem"), o1 = file("o1.pem"), o2 = file("o2.pem")

        // [A, B]: a full handshake, the ticket under A.
        let first = try runTesseraClient(tessera, port: port, caFile: identity.certificate, extra: ["-sess_out", s1.path], name: "tessera-1")
        XCTAssertEqual(first.exitStatus, 0, first.diagnostics)
        XCTAssertEqual(HandshakeReport.all(first.stdoutText()).first?.kind, .new, first.diagnostics)
        let session1 = try SessionFile.load(s1)
        XCTAssertEqual(session1.ticketKeyName, keyA.keyName,
                       "s1's ticket should start with A's name \(SessionFile.hex(keyA.keyName)), got \(SessionFile.hex(session1.ticketKeyName))")
        // The same read through `tessera sess_id -text`.
        let text1 = try sessIdText(tessera, s1)
        XCTAssertEqual(Array(text1.ticket.prefix(16)), keyA.keyName, "tessera sess_id -text's ticket dump")
        XCTAssertEqual(text1.ticket, session1.ticket ?? [], "tessera sess_id -text's ticket dump vs the DER")

        // The contrast: openssl's own session from the same server.
        let opensslFirst = try runOpenSSLClient(port: port, caFile: identity.certificate, extra: ["-sess_out", o1.path], name: "openssl-1")
        XCTAssertEqual(opensslFirst.exitStatus, 0, opensslFirst.diagnostics)
        XCTAssertEqual(try SessionFile.load(o1).ticketKeyName, keyA.keyName)

        // [B, A]: A only decrypts, so nginx resumes and renews under B.
        try nginx.reload(ticketKeys: [keyB.file, keyA.file])
        let renewed = try runTesseraClient(tessera, port: port, caFile: identity.certificate,
                                           extra: ["-sess_in", s1.path, "-sess_out", s2.path], name: "tessera-2")
        XCTAssertEqual(renewed.exitStatus, 0, renewed.diagnostics)
        let report2 = HandshakeReport.all(renewed.stdoutText()).first
        XCTAssertEqual(report2?.kind, .reused, "expected 'Reused, TLSv1.2'\n\(renewed.diagnostics)")
        XCTAssertEqual(report2?.renewed, true, "expected 'Session ticket renewed: yes'\n\(renewed.diagnostics)")
        if let session2 = try SessionFile.loadIfPresent(s2) {
            XCTAssertEqual(session2.ticketKeyName, keyB.keyName,
                           "s2 should hold the renewed ticket named B \(SessionFile.hex(keyB.keyName)), got \(SessionFile.hex(session2.ticketKeyName))")
            XCTAssertEqual(session2.masterKey, session1.masterKey, "a renewed ticket carries the same session")
        } else {
            XCTFail("tessera s_client -sess_out wrote no s2\n\(renewed.diagnostics)")
        }

        // openssl in the same step: it resumes and receives the renewed ticket (its trace and its
        // SSL-Session block show it) but `-sess_out` does not save it. With OpenSSL 3.0.19 it
        // writes no file at all: s_client saves sessions from its new-session callback, which
        // OpenSSL does not call for a resumed TLS 1.2 handshake.
        let opensslRenewed = try runOpenSSLClient(port: port, caFile: identity.certificate,
                                                  extra: ["-sess_in", o1.path, "-sess_out", o2.path], name: "openssl-2")
        XCTAssertEqual(opensslRenewed.exitStatus, 0, opensslRenewed.diagnostics)
        XCTAssertTrue(opensslRenewed.stdoutText().contains("Reused, TLSv1.2"), opensslRenewed.diagnostics)
        XCTAssertTrue(messageTrace(opensslRenewed).handshakeFlight.contains("<<< NewSessionTicket"), "nginx did not renew for openssl")
        XCTAssertEqual(Array(SessionText(opensslRenewed.stdoutText()).ticket.prefix(16)), keyB.keyName,
                       "openssl's SSL-Session block shows the renewed ticket")
        let saved = try SessionFile.loadIfPresent(o2)
        XCTAssertNil(saved, "OpenSSL 3.0.19's s_client -sess_out wrote no file in a resumed handshake before; now it wrote one with ticket \(SessionFile.hex(saved?.ticketKeyName))")
        XCTAssertNotEqual(saved?.ticketKeyName, keyB.keyName, "openssl s_client -sess_out saved the renewed ticket")

        // [B] only: the renewed session resumes, the original (under A) falls back.
        try nginx.reload(ticketKeys: [keyB.file])
        let third = try runTesseraClient(tessera, port: port, caFile: identity.certificate, extra: ["-sess_in", s2.path], name: "tessera-3")
        XCTAssertEqual(third.exitStatus, 0, third.diagnostics)
        let report3 = HandshakeReport.all(third.stdoutText()).first
        XCTAssertEqual(report3?.kind, .reused, "the renewed session (s2) should resume under [B]\n\(third.diagnostics)")
        XCTAssertEqual(report3?.renewed, false, "B encrypts: no renewal\n\(third.diagnostics)")

        let fallback = try runTesseraClient(tessera, port: port, caFile: identity.certificate, extra: ["-sess_in", s1.path], name: "tessera-4")
        XCTAssertEqual(fallback.exitStatus, 0, fallback.diagnostics)
        XCTAssertEqual(HandshakeReport.all(fallback.stdoutText()).first?.kind, .new, "s1 (ticket under A) should fall back to a full handshake under [B]\n\(fallback.diagnostics)")
        XCTAssertTrue(nginx.process.isRunning, "nginx died\n\(nginx.process.diagnostics)\nerror.log: \(nginx.errorLogTail)")
    }

    /// The same rotation in TLS 1.3 (issue 5): nginx [A, B] issues PSK tickets under A; with
    /// [B, A] it resumes a ticket under A and its NewSessionTickets (after every TLS 1.3
    /// handshake, RFC 8446 §4.6.1) are under B, which tessera keeps and `-sess_out` saves; with [B]
    /// only, that session resumes and the first falls back to a full handshake.
    func testTesseraClientKeepsTLS13TicketFromNginxAcrossKeyRotation() throws {
        let tessera = try TesseraCLI.require(.client)
        let identity = try CertificateFixtures.shared().ecdsaP256
        let keyA = try makeNginxTicketKey("ticket13-A.key")
        let keyB = try makeNginxTicketKey("ticket13-B.key")
        let port = try PortAllocator.next()
        let nginx = try startNginx(port: port, identity: identity, ticketKeys: [keyA.file, keyB.file], protocols: "TLSv1.3", name: "nginx13")
        let s1 = file("s13-1.pem"), s2 = file("s13-2.pem")
        // The tickets arrive after the handshake: send a request and read until nginx closes.
        let request = file("request13.txt")
        try Data("GET / HTTP/1.0\r\nHost: localhost\r\n\r\n".utf8).write(to: request)

        func run(_ extra: [String], _ name: String) throws -> PeerProcess {
            let args = ["s_client", "-connect", "127.0.0.1:\(port)", "-servername", "localhost", "-tls1_3", "-ign_eof",
                        "-CAfile", identity.certificate.path] + extra
            let client = try launch(name, tessera, args, input: .file(request))
            try client.waitForExit(timeout: 20)
            return client
        }

        // [A, B]: a full handshake, tickets under A.
        let first = try run(["-sess_out", s1.path], "tessera13-1")
        XCTAssertEqual(first.exitStatus, 0, first.diagnostics)
        XCTAssertEqual(HandshakeReport.all(first.stdoutText()).first?.kind, .new, first.diagnostics)
        XCTAssertTrue(first.stdoutText().contains("ok"), "no HTTP answer from nginx\n\(first.diagnostics)")
        let session1 = try SessionFile.load(s1)
        XCTAssertEqual(session1.sslVersion, 0x0304, "s1 should be a TLS 1.3 session")
        XCTAssertEqual(session1.ticketKeyName, keyA.keyName,
                       "s1's ticket should carry A's name \(SessionFile.hex(keyA.keyName)), got \(SessionFile.hex(session1.ticketKeyName))")

        // [B, A]: the ticket under A still decrypts; the new tickets are under B.
        try nginx.reload(ticketKeys: [keyB.file, keyA.file])
        let second = try run(["-sess_in", s1.path, "-sess_out", s2.path], "tessera13-2")
        XCTAssertEqual(second.exitStatus, 0, second.diagnostics)
        XCTAssertEqual(HandshakeReport.all(second.stdoutText()).first?.kind, .reused, "expected 'Reused, TLSv1.3'\n\(second.diagnostics)")
        if let session2 = try SessionFile.loadIfPresent(s2) {
            XCTAssertEqual(session2.ticketKeyName, keyB.keyName,
                           "s2 should hold a ticket named B \(SessionFile.hex(keyB.keyName)), got \(SessionFile.hex(session2.ticketKeyName))")
            XCTAssertNotEqual(session2.ticket, session1.ticket)
        } else {
            XCTFail("tessera s_client -sess_out wrote no s2\n\(second.diagnostics)")
        }

        // [B] only: the new session resumes, the one under A falls back to a full handshake.
        try nginx.reload(ticketKeys: [keyB.file])
        let third = try run(["-sess_in", s2.path], "tessera13-3")
        XCTAssertEqual(third.exitStatus, 0, third.diagnostics)
        XCTAssertEqual(HandshakeReport.all(third.stdoutText()).first?.kind, .reused, "s2 (ticket under B) should resume under [B]\n\(third.diagnostics)")
        let fallback = try run(["-sess_in", s1.path], "tessera13-4")
        XCTAssertEqual(fallback.exitStatus, 0, fallback.diagnostics)
        XCTAssertEqual(HandshakeReport.all(fallback.stdoutText()).first?.kind, .new, "s1 (ticket under A) should fall back under [B]\n\(fallback.diagnostics)")
        XCTAssertTrue(nginx.process.isRunning, "nginx died\n\(nginx.process.diagnostics)\nerror.log: \(nginx.errorLogTail)")
    }

    // MARK: 3. Session files crossing between openssl and tessera

    /// A file from `openssl s_client -sess_out` resumes in `tessera s_client -sess_in`.
    func testOpenSSLSessionFileResumesInTesseraClient() throws {
        let tessera = try TesseraCLI.require(.client)
        let identity = try CertificateFixtures.shared().ecdsaP256
        let port = try PortAllocator.next()
        let server = try startSessionServer(tessera, port: port, identity: identity)
        let o1 = file("openssl.pem")
        let first = try runOpenSSLClient(port: port, caFile: identity.certificate, extra: ["-sess_out", o1.path], name: "openssl-1")
        XCTAssertEqual(first.exitStatus, 0, first.diagnostics)
        XCTAssertNotNil(try SessionFile.load(o1).ticket, "openssl saved no ticket")
        let resumed = try runTesseraClient(tessera, port: port, caFile: identity.certificate, extra: ["-sess_in", o1.path], name: "tessera-2")
        XCTAssertEqual(resumed.exitStatus, 0, resumed.diagnostics)
        XCTAssertEqual(HandshakeReport.all(resumed.stdoutText()).first?.kind, .reused, "expected 'Reused, TLSv1.2'\n\(resumed.diagnostics)")
        XCTAssertEqual(resumed.stderrText(), "", "tessera s_client complained about openssl's file")
        XCTAssertEqual(try waitForReports(server, count: 2).last?.kind, .reused, server.diagnostics)
    }

    /// A file from `tessera s_client -sess_out` resumes in `openssl s_client -sess_in`.
    ///
    /// OpenSSL's TLS 1.2 client tells a resumption only by the server echoing the session ID it
    /// sent (it sets one itself, SHA-256 of the ticket, when it stores a ticket; RFC 5077 §3.4
    /// allows that). With an empty Session-ID in the file, it sends an empty one, cannot tell the
    /// abbreviated handshake, expects Certificate and aborts with unexpected_message.
    func testTesseraSessionFileResumesInOpenSSLClient() throws {
        let tessera = try TesseraCLI.require(.client)
        let identity = try CertificateFixtures.shared().ecdsaP256
        let port = try PortAllocator.next()
        _ = try startSessionServer(tessera, port: port, identity: identity)
        let t1 = file("tessera.pem")
        let first = try runTesseraClient(tessera, port: port, caFile: identity.certificate, extra: ["-sess_out", t1.path], name: "tessera-1")
        XCTAssertEqual(first.exitStatus, 0, first.diagnostics)
        let session = try SessionFile.load(t1)
        XCTAssertNotNil(session.ticket, "tessera saved no ticket")
        XCTAssertFalse(session.sessionID.isEmpty,
                       "tessera's session file has an empty Session-ID with its ticket: OpenSSL's client cannot detect a ticket resumption without one")
        let resumed = try runOpenSSLClient(port: port, caFile: identity.certificate, extra: ["-sess_in", t1.path], name: "openssl-2")
        let trace = messageTrace(resumed)
        XCTAssertEqual(resumed.exitStatus, 0, "openssl s_client -sess_in <tessera file> failed: \(trace.fatalAlerts)\n\(resumed.diagnostics)")
        XCTAssertTrue(resumed.stdoutText().contains("Reused, TLSv1.2"),
                      "expected 'Reused, TLSv1.2'; flight \(trace.handshakeFlight), alerts \(trace.fatalAlerts)")
    }

    /// `openssl sess_id -in <tessera file> -noout -text` reads tessera's file, and its Protocol,
    /// Cipher and Master-Key lines (and ticket) match `tessera sess_id -text`'s.
    func testOpenSSLSessIdReadsTesseraSessionFile() throws {
        let tessera = try TesseraCLI.require(.client)
        let openssl = try Locations.requireTool("openssl", package: "openssl")
        let identity = try CertificateFixtures.shared().ecdsaP256
        let port = try PortAllocator.next()
        _ = try startSessionServer(tessera, port: port, identity: identity)
        let t1 = file("tessera.pem")
        let first = try runTesseraClient(tessera, port: port, caFile: identity.certificate, extra: ["-sess_out", t1.path], name: "tessera-1")
        XCTAssertEqual(first.exitStatus, 0, first.diagnostics)

        let theirs = try PeerProcess.run(openssl, ["sess_id", "-in", t1.path, "-noout", "-text"], in: workDirectory, name: "openssl-sess_id")
        XCTAssertEqual(theirs.status, 0, "openssl sess_id rejected tessera's file: \(theirs.stderr)")
        let ours = try PeerProcess.run(tessera, ["sess_id", "-in", t1.path, "-noout", "-text"], in: workDirectory, name: "tessera-sess_id")
        XCTAssertEqual(ours.status, 0, ours.stderr)
        let a = SessionText(theirs.stdout), b = SessionText(ours.stdout)
        for key in ["Protocol", "Cipher", "Master-Key"] {
            XCTAssertNotNil(a.fields[key], "openssl sess_id printed no \(key) line:\n\(theirs.stdout)")
            XCTAssertEqual(a.fields[key], b.fields[key], "\(key): openssl vs tessera sess_id -text")
        }
        XCTAssertEqual(a.fields["Protocol"], "TLSv1.2")
        XCTAssertEqual(a.ticket, b.ticket, "ticket dumps differ")
        let session = try SessionFile.load(t1)
        XCTAssertEqual(a.fields["Master-Key"], session.masterKey.map { String(format: "%02X", $0) }.joined())
        XCTAssertEqual(a.ticket, session.ticket ?? [])
    }

    // MARK: 4. Bad session files

    /// `tessera s_client -sess_in` with a bad file: a clear error on stderr naming the file, a full
    /// handshake, exit 0.
    func testTesseraClientFallsBackToFullHandshakeOnBadSessionFiles() throws {
        let tessera = try TesseraCLI.require(.client)
        let identity = try CertificateFixtures.shared().ecdsaP256
        let port = try PortAllocator.next()
        let server = try startSessionServer(tessera, port: port, identity: identity)

        let good = file("good.pem")
        let first = try runTesseraClient(tessera, port: port, caFile: identity.certificate, extra: ["-sess_out", good.path], name: "tessera-good")
        XCTAssertEqual(first.exitStatus, 0, first.diagnostics)
        let session = try SessionFile.load(good)
        let pemLines = session.pem.split(separator: "\n")

        var bad: [(name: String, contents: Data, mentions: String?)] = []
        var noise = [UInt8](repeating: 0, count: 300)
        for i in noise.indices { noise[i] = UInt8.random(in: 0...255) }
        bad.append(("garbage", Data(noise), nil))
        bad.append(("garbage-text", Data("hello, this is not a session\n".utf8), nil))
        // Cut off after a few lines: no END line.
        bad.append(("truncated-pem", Data((pemLines.prefix(3).joined(separator: "\n") + "\n").utf8), nil))
        // BEGIN/END intact, DER cut in half.
        bad.append(("truncated-der", Data(SessionFile.pem(Array(session.der.prefix(session.der.count / 2))).utf8), nil))
        bad.append(("tls10", Data(try session.withVersion(0x0301).pem.utf8), "version"))
        bad.append(("empty", Data(), nil))

        var connections = 1
        for item in bad {
            let url = file("\(item.name).pem")
            try item.contents.write(to: url)
            let client = try runTesseraClient(tessera, port: port, caFile: identity.certificate, extra: ["-sess_in", url.path], name: "tessera-\(item.name)")
            connections += 1
            XCTAssertEqual(client.exitStatus, 0, "\(item.name)\n\(client.diagnostics)")
            XCTAssertEqual(HandshakeReport.all(client.stdoutText()).first?.kind, .new, "\(item.name): expected a full handshake\n\(client.diagnostics)")
            let error = client.stderrText()
            XCTAssertTrue(error.contains(url.lastPathComponent), "\(item.name): stderr does not name the file: \(error)")
            XCTAssertTrue(error.localizedCaseInsensitiveContains("session"), "\(item.name): unclear error: \(error)")
            XCTAssertTrue(error.localizedCaseInsensitiveContains("full handshake"), "\(item.name): stderr does not say it goes on with a full handshake: \(error)")
            if let mention = item.mentions {
                XCTAssertTrue(error.localizedCaseInsensitiveContains(mention), "\(item.name): stderr does not mention \(mention): \(error)")
            }
            XCTAssertFalse(error.contains("Fatal error") || error.contains("Stack dump"), "\(item.name): crashed\n\(error)")
            XCTAssertEqual(try waitForReports(server, count: connections).last?.kind, .new, "\(item.name): tessera s_server\n\(server.diagnostics)")
        }
        XCTAssertTrue(server.isRunning, server.diagnostics)
    }

    // MARK: 5. Renegotiation after a renewed resumption

    /// The seed report's last step, done right: tessera s_client resumes with renewal against
    /// `tessera s_server -client_renegotiation`, then renegotiates (`R`): a second handshake runs
    /// inside the connection, starting with ServerHello (not a bare NewSessionTicket), and data
    /// still flows both ways.
    func testRenegotiationAfterRenewedResumption() throws {
        let tessera = try TesseraCLI.require(.server)
        let identity = try CertificateFixtures.shared().ecdsaP256
        let port = try PortAllocator.next()
        let launched = Date()
        let server = try startSessionServer(tessera, port: port, identity: identity,
                                            extra: ["-client_renegotiation", "-ticket_rotate", "\(Int(rotate))", "-ticket_expire", "\(Int(expire))"])
        let listening = Date()
        let s1 = file("s1.pem"), s2 = file("s2.pem")
        let first = try runTesseraClient(tessera, port: port, caFile: identity.certificate, extra: ["-sess_out", s1.path], name: "tessera-1")
        XCTAssertEqual(first.exitStatus, 0, first.diagnostics)
        try waitForReports(server, count: 1)

        sleep(until: listening.addingTimeInterval(rotate + 0.4))
        let client = try launch("tessera-2", tessera, ["s_client", "-connect", "127.0.0.1:\(port)", "-servername", "localhost",
                                                       "-CAfile", identity.certificate.path, "-msg",
                                                       "-sess_in", s1.path, "-sess_out", s2.path])
        try withDiagnostics([server, client]) {
            try client.waitUntil("the resumed handshake", timeout: 10) { HandshakeReport.all(client.stdoutText()).count >= 1 }
            XCTAssertLessThan(Date().timeIntervalSince(launched), expire, "timing: the resumption ended past the first key's \(expire) s")
            client.write("hello-before\n")
            try server.waitUntil("hello-before", timeout: 10) { server.stdoutText().contains("hello-before") }
            client.write("R\n")
            try client.waitUntil("a second handshake (client)", timeout: 10) { HandshakeReport.all(client.stdoutText()).count >= 2 }
            try server.waitUntil("a second handshake (server)", timeout: 10) { HandshakeReport.all(server.stdoutText()).count >= 3 }
            client.write("hello-after\n")
            try server.waitUntil("hello-after", timeout: 10) { server.stdoutText().contains("hello-after") }
            server.write("reply-after\n")
            try client.waitUntil("reply-after", timeout: 10) { client.stdoutText().contains("reply-after") }
        }
        client.closeStdin()
        XCTAssertEqual(try client.waitForExit(timeout: 15), 0, client.diagnostics)

        let clientReports = HandshakeReport.all(client.stdoutText())
        XCTAssertEqual(clientReports.first?.kind, .reused, client.diagnostics)
        XCTAssertEqual(clientReports.first?.renewed, true, "the resumption was not renewed\n\(client.diagnostics)")
        XCTAssertEqual(clientReports.count, 2, "\(clientReports)")
        let serverReports = HandshakeReport.all(server.stdoutText())
        XCTAssertEqual(serverReports.dropFirst().first?.kind, .reused, server.diagnostics)
        XCTAssertEqual(serverReports.dropFirst().first?.renewed, true, server.diagnostics)
        XCTAssertEqual(serverReports.count, 3, "\(serverReports)")

        // tessera's -msg lines are openssl's: the second handshake's first message from the server
        // must be ServerHello.
        let flight = OpenSSLMessageTrace(client.stdoutText()).handshakeFlight
        let hellos = flight.indices.filter { flight[$0] == ">>> ClientHello" }
        XCTAssertEqual(hellos.count, 2, "\(flight)")
        if hellos.count == 2 {
            let answer = flight[(hellos[1] + 1)...].first { $0.hasPrefix("<<< ") }
            XCTAssertEqual(answer, "<<< ServerHello", "renegotiation: \(flight)")
        }
        XCTAssertEqual(OpenSSLMessageTrace(client.stdoutText()).fatalAlerts, [])
        XCTAssertNotNil(try SessionFile.loadIfPresent(s2)?.ticket, "no session written after renegotiation")
    }

    /// Without -client_renegotiation, `R` gets a no_renegotiation warning and the connection goes on.
    func testRenegotiationRefusedWithWarningWhenNotEnabled() throws {
        let tessera = try TesseraCLI.require(.server)
        let identity = try CertificateFixtures.shared().ecdsaP256
        let port = try PortAllocator.next()
        let server = try startSessionServer(tessera, port: port, identity: identity)
        let client = try launch("tessera-client", tessera, ["s_client", "-connect", "127.0.0.1:\(port)", "-servername", "localhost",
                                                            "-CAfile", identity.certificate.path, "-msg"])
        try withDiagnostics([server, client]) {
            try client.waitUntil("the handshake", timeout: 10) { HandshakeReport.all(client.stdoutText()).count >= 1 }
            client.write("hello-before\n")
            try server.waitUntil("hello-before", timeout: 10) { server.stdoutText().contains("hello-before") }
            client.write("R\n")
            try client.waitUntil("no_renegotiation", timeout: 10) { client.stdoutText().contains("warning no_renegotiation") }
            client.write("hello-after\n")
            try server.waitUntil("hello-after", timeout: 10) { server.stdoutText().contains("hello-after") }
            server.write("reply-after\n")
            try client.waitUntil("reply-after", timeout: 10) { client.stdoutText().contains("reply-after") }
        }
        client.closeStdin()
        XCTAssertEqual(try client.waitForExit(timeout: 15), 0, client.diagnostics)
        let trace = OpenSSLMessageTrace(client.stdoutText())
        XCTAssertTrue(trace.entries.contains { !$0.sent && $0.summary.hasSuffix("warning no_renegotiation") }, "\(trace.entries.map(\.summary))")
        XCTAssertEqual(trace.fatalAlerts, [])
        XCTAssertEqual(HandshakeReport.all(client.stdoutText()).count, 1, client.diagnostics)
        XCTAssertEqual(HandshakeReport.all(server.stdoutText()).count, 1, server.diagnostics)
        XCTAssertTrue(server.isRunning, server.diagnostics)
    }

    // MARK: Helpers

    /// `tessera s_server -accept 127.0.0.1:PORT -cert C -key K -tls1_2 ...` (stdin a pipe, kept
    /// open), once it listens.
    private func startSessionServer(_ tessera: URL, port: Int, identity: CertificateFixtures.Identity,
                                    extra: [String] = [], name: String = "tessera-server") throws -> PeerProcess {
        let args = ["s_server", "-accept", "127.0.0.1:\(port)", "-cert", identity.certificate.path,
                    "-key", identity.key.path, "-tls1_2"] + extra
        let server = try launch(name, tessera, args)
        try server.waitForListening(port: port)
        return server
    }

    /// `tessera s_client` with stdin /dev/null: connect, handshake, close; returns once it exited.
    private func runTesseraClient(_ tessera: URL, port: Int, caFile: URL?, extra: [String], name: String,
                                  timeout: TimeInterval = 20) throws -> PeerProcess {
        var args = ["s_client", "-connect", "127.0.0.1:\(port)", "-servername", "localhost", "-tls1_2"]
        if let caFile { args += ["-CAfile", caFile.path] }
        let client = try launch(name, tessera, args + extra, input: .null)
        try client.waitForExit(timeout: timeout)
        return client
    }

    /// `openssl s_client -tls1_2 -msg -msgfile F` (full report on stdout, for `Reused, TLSv1.2`),
    /// stdin /dev/null; returns once it exited.
    private func runOpenSSLClient(port: Int, caFile: URL?, extra: [String], name: String,
                                  timeout: TimeInterval = 20) throws -> PeerProcess {
        let openssl = try Locations.requireTool("openssl", package: "openssl")
        let name = reserveName(name)
        var args = ["s_client", "-connect", "127.0.0.1:\(port)", "-servername", "localhost", "-tls1_2",
                    "-msg", "-msgfile", file("\(name).msg").path]
        if let caFile { args += ["-CAfile", caFile.path] }
        let client = try launch(name, openssl, args + extra, input: .null)
        try client.waitForExit(timeout: timeout)
        return client
    }

    private func sessIdText(_ tessera: URL, _ url: URL) throws -> SessionText {
        let result = try PeerProcess.run(tessera, ["sess_id", "-in", url.path, "-noout", "-text"], in: workDirectory)
        guard result.status == 0 else { throw HarnessError.mismatch("tessera sess_id -in \(url.path): \(result.status) \(result.stderr)") }
        return SessionText(result.stdout)
    }

    /// Waits until the server has reported `count` handshakes and returns them all.
    @discardableResult
    private func waitForReports(_ server: PeerProcess, count: Int, timeout: TimeInterval = 5) throws -> [HandshakeReport] {
        try server.waitUntil("\(count) handshake report(s)", timeout: timeout) {
            HandshakeReport.all(server.stdoutText()).count >= count
        }
        return HandshakeReport.all(server.stdoutText())
    }

    private func sleep(until date: Date) {
        let wait = date.timeIntervalSinceNow
        if wait > 0 { usleep(UInt32(wait * 1_000_000)) }
    }

    private func seconds(_ a: Date, _ b: Date) -> String { String(format: "%.2f s", a.timeIntervalSince(b)) }
}

/// One handshake as tessera (s_client / s_server) and openssl s_client report it:
/// `New, TLSv1.2, Cipher is X` or `Reused, TLSv1.2, Cipher is X`, and tessera's
/// `Session ticket renewed: yes|no` after a resumed one.
struct HandshakeReport: Equatable {
    enum Kind: Equatable { case new, reused }
    let kind: Kind
    let version: String
    var renewed: Bool?

    static func all(_ text: String) -> [HandshakeReport] {
        var result: [HandshakeReport] = []
        for line in text.split(separator: "\n") {
            let kind: Kind? = line.hasPrefix("New, TLS") ? .new : line.hasPrefix("Reused, TLS") ? .reused : nil
            if let kind, line.contains("Cipher is") {
                let version = line.split(separator: ",").dropFirst().first?.trimmingCharacters(in: .whitespaces) ?? ""
                result.append(HandshakeReport(kind: kind, version: version))
            } else if line.hasPrefix("Session ticket renewed: "), !result.isEmpty {
                result[result.count - 1].renewed = line.hasSuffix("yes")
            }
        }
        return result
    }
}
