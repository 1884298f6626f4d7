import Foundation
import NIOCore
import TesseraCore
import TesseraCrypto
import TesseraSessions
import TesseraWire
import XCTest

/// RFC 5077 end to end on a fake clock: issue, resume, renew, reject, and the report's scenario.
final class TicketTests: XCTestCase {
    private let start = Date(timeIntervalSince1970: 1_800_000_000)

    private struct World {
        let clock: ManualClock
        var server: TLSConfiguration
        var client: TLSConfiguration
    }

    private func world(rotate: TimeInterval = 10, expire: TimeInterval = 20, renewal: RenewalPolicy = .whenKeyRetiring) -> World {
        let clock = ManualClock(start)
        var server = serverConfiguration()
        server.clock = clock
        server.ticketKeys = TicketKeyRing(rotate: rotate, expire: expire, renewal: renewal, start: start)
        var client = clientConfiguration()
        client.clock = clock
        return World(clock: clock, server: server, client: client)
    }

    private func connect(_ world: World, session: SessionState?, serverName: String = "localhost") -> Pair {
        var pair = Pair(client: world.client, server: world.server, serverName: serverName, session: session)
        pair.handshake()
        return pair
    }

    func testFullHandshakeIssuesTicketAndFollowsTheTable() throws {
        let pair = connect(world(), session: nil)
        let summary = try XCTUnwrap(pair.clientLog.summary)
        XCTAssertFalse(summary.resumed)
        XCTAssertEqual(ExpectedFlights.record(pair), ExpectedFlights.full12Ticket)
        let session = try XCTUnwrap(pair.clientLog.issued.last)
        XCTAssertEqual(session.ticket?.isEmpty, false)
        XCTAssertEqual(session.masterSecret, summary.masterSecret)
        XCTAssertTrue(session.extendedMasterSecret)
        XCTAssertLessThanOrEqual(session.ticketLifetimeHint ?? .max, 20)
    }

    func testResumptionWithClientGeneratedSessionID() throws {
        let w = world()
        let first = try XCTUnwrap(connect(w, session: nil).clientLog.issued.last)
        w.clock.advance(by: 5)
        let pair = connect(w, session: first)
        XCTAssertEqual(pair.clientLog.summary?.resumed, true)
        XCTAssertEqual(pair.serverLog.summary?.resumed, true)
        XCTAssertEqual(pair.clientLog.summary?.ticketRenewed, false)
        XCTAssertEqual(ExpectedFlights.record(pair), ExpectedFlights.resumed12)
        XCTAssertTrue(pair.clientLog.issued.isEmpty, "no new ticket, the stored session stays")
        XCTAssertEqual(pair.clientLog.summary?.masterSecret, first.masterSecret)
        exchange(pair)
    }

    func testResumptionWithEmptySessionIDIsToldByTheNextMessage() throws {
        var w = world()
        w.client.ticketSessionID = false
        let first = try XCTUnwrap(connect(w, session: nil).clientLog.issued.last)
        let resumed = connect(w, session: first)
        XCTAssertEqual(resumed.clientLog.summary?.resumed, true)
        XCTAssertEqual(ExpectedFlights.record(resumed), ExpectedFlights.resumed12)

        // And renewal with an empty session ID: the NewSessionTicket tells.
        w.clock.advance(by: 15)
        let renewed = connect(w, session: first)
        XCTAssertEqual(renewed.clientLog.summary?.resumed, true)
        XCTAssertEqual(renewed.clientLog.summary?.ticketRenewed, true)
        XCTAssertEqual(ExpectedFlights.record(renewed), ExpectedFlights.resumedRenewed12)
    }

    /// The report: rotate 10 s, expire 20 s; connect and save; 15 s later resume -> renewed;
    /// 25 s after the first connect resume with the renewed session -> resumed; the first
    /// session then -> full handshake.
    func testTheReportsScenario() throws {
        let w = world(rotate: 10, expire: 20)
        let first = try XCTUnwrap(connect(w, session: nil).clientLog.issued.last)

        w.clock.advance(by: 15)
        let renewal = connect(w, session: first)
        XCTAssertEqual(renewal.clientLog.summary?.resumed, true)
        XCTAssertEqual(renewal.clientLog.summary?.ticketRenewed, true)
        XCTAssertEqual(renewal.serverLog.summary?.ticketRenewed, true)
        XCTAssertEqual(ExpectedFlights.record(renewal), ExpectedFlights.resumedRenewed12)
        let renewed = try XCTUnwrap(renewal.clientLog.issued.last)
        XCTAssertNotEqual(renewed.ticket, first.ticket)
        XCTAssertNotEqual(renewed.ticket?.prefix(16), first.ticket?.prefix(16), "renewed under the new key")
        XCTAssertEqual(renewed.masterSecret, first.masterSecret)
        XCTAssertEqual(renewed.time, first.time, "renewal keeps the original authentication time")

        w.clock.advance(by: 10)
        let again = connect(w, session: renewed)
        XCTAssertEqual(again.clientLog.summary?.resumed, true)
        // Key B encrypted from 10 s to 20 s, so at 25 s it is retiring in its turn: renewed again.
        XCTAssertEqual(again.clientLog.summary?.ticketRenewed, true)

        let stale = connect(w, session: first)
        XCTAssertEqual(stale.clientLog.summary?.resumed, false)
        XCTAssertEqual(stale.serverLog.summary?.resumptionFailure, .expiredKey)
        XCTAssertEqual(stale.clientLog.rejected, 1)
        XCTAssertEqual(ExpectedFlights.record(stale), ExpectedFlights.full12Ticket)
        XCTAssertNotNil(stale.clientLog.issued.last?.ticket, "a fresh ticket replaces the dropped session")
    }

    func testRenewalPolicies() throws {
        for (policy, expectRenewal) in [(RenewalPolicy.always, true), (.never, false)] {
            let w = world(renewal: policy)
            let first = try XCTUnwrap(connect(w, session: nil).clientLog.issued.last)
            w.clock.advance(by: 2)
            let pair = connect(w, session: first)
            XCTAssertEqual(pair.clientLog.summary?.resumed, true, "\(policy)")
            XCTAssertEqual(pair.clientLog.summary?.ticketRenewed, expectRenewal, "\(policy)")
        }
    }

    func testEmptyTicketKeepsTheStoredSession() throws {
        var w = world()
        let first = try XCTUnwrap(connect(w, session: nil).clientLog.issued.last)
        // A hook that decrypts and asks for renewal, and whose key vanishes between the answer to
        // the hello and the sealing: the server sends an empty ticket (RFC 5077 §3.3).
        w.server.ticketKeys = VanishingKey(inner: try XCTUnwrap(w.server.ticketKeys))
        let pair = connect(w, session: first)
        XCTAssertEqual(pair.clientLog.summary?.resumed, true)
        XCTAssertEqual(pair.clientLog.summary?.ticketRenewed, false)
        XCTAssertTrue(pair.clientLog.issued.isEmpty)
        XCTAssertEqual(pair.clientLog.summary?.session?.ticket, first.ticket)
        XCTAssertEqual(ExpectedFlights.record(pair), ExpectedFlights.resumedRenewed12)
    }

    func testRejectionReasonsFallBackToFullHandshake() throws {
        let w = world()
        let first = try XCTUnwrap(connect(w, session: nil).clientLog.issued.last)
        let ticket = try XCTUnwrap(first.ticket)

        func attempt(_ session: SessionState, server: TLSConfiguration? = nil) -> Pair {
            var custom = w
            if let server { custom.server = server }
            return connect(custom, session: session)
        }
        var cases: [(String, SessionState, TLSConfiguration?, ResumptionFailure)] = []

        var otherRing = w.server
        otherRing.ticketKeys = TicketKeyRing(rotate: 10, expire: 20, start: start)
        cases.append(("unknown key", first, otherRing, .unknownKey))

        for position in [16, 40, ticket.count / 2, ticket.count - 1] {
            var forged = first
            forged.ticket?[position] ^= 0x01
            cases.append(("bit flip at \(position)", forged, nil, .badMAC))
        }
        var truncated = first
        truncated.ticket = Array(ticket.prefix(40))
        cases.append(("truncated", truncated, nil, .undecodable))

        var otherScope = w.server
        otherScope.sessionIDContext = Array("another host".utf8)
        cases.append(("scope", first, otherScope, .scopeMismatch))

        var otherSuites = w.server
        otherSuites.cipherSuites = [.ecdheECDSAWithChaCha20Poly1305SHA256]
        cases.append(("cipher", first, otherSuites, .versionOrCipherMismatch))

        var shortLife = w.server
        shortLife.maxSessionLifetime = 0
        cases.append(("lifetime cap", first, shortLife, .lifetimeCap))

        for (label, session, server, reason) in cases {
            let pair = attempt(session, server: server)
            XCTAssertEqual(pair.clientLog.summary?.resumed, false, label)
            XCTAssertEqual(pair.serverLog.summary?.resumed, false, label)
            XCTAssertEqual(pair.serverLog.summary?.resumptionFailure, reason, label)
            XCTAssertEqual(pair.clientLog.rejected, 1, label)
            XCTAssertNil(pair.clientLog.closeError, label)
        }

        // Undecodable: a valid MAC over garbage needs the key itself.
        let w2 = world()
        let key = try XCTUnwrap(w2.server.ticketKeys?.encryptionKey(at: start))
        var garbage = first
        garbage.ticket = TicketSealing.seal([0x30, 0x03, 0x02, 0x01], key: key)
        let pair = connect(w2, session: garbage)
        XCTAssertEqual(pair.serverLog.summary?.resumptionFailure, .undecodable)
        XCTAssertEqual(pair.clientLog.summary?.resumed, false)
    }

    /// RFC 7627 §5.3: an EMS-less session is not resumed by a client offering EMS.
    func testSessionWithoutEMSIsNotResumedWhenClientOffersEMS() throws {
        var w = world()
        w.client.extendedMasterSecret = false
        let first = try XCTUnwrap(connect(w, session: nil).clientLog.issued.last)
        XCTAssertFalse(first.extendedMasterSecret)
        w.client.extendedMasterSecret = true
        let pair = connect(w, session: first)
        XCTAssertEqual(pair.clientLog.summary?.resumed, false)
        XCTAssertEqual(pair.serverLog.summary?.resumptionFailure, .emsMismatch)
        XCTAssertEqual(pair.clientLog.summary?.extendedMasterSecret, true)
    }

    /// RFC 7627 §5.3: a client offering an EMS session without EMS is refused outright.
    func testEMSSessionOfferedWithoutEMSAborts() throws {
        let w = world()
        let first = try XCTUnwrap(connect(w, session: nil).clientLog.issued.last)
        let hello = ClientHello(
            legacyVersion: .tls12, random: SecureRandom.bytes(32), sessionID: SecureRandom.bytes(32),
            cipherSuites: [first.cipherSuite], compressionMethods: [0],
            extensions: [
                .supportedGroups([.x25519]), .signatureAlgorithms([.ecdsaSecp256r1SHA256]),
                .sessionTicket(try XCTUnwrap(first.ticket)),
            ])
        var server = ServerConnection(configuration: w.server)
        let actions = server.receive(record(.handshake, Array(HandshakeMessage.clientHello(hello).encoded(version: .tls12).readableBytesView)))
        var error: TLSError?
        for case .closed(let e) in actions { error = e }
        XCTAssertEqual(error?.code, .handshakeFailure)
    }

    /// A ServerHello that echoes our session ID but changes the suite is refused.
    func testClientRefusesResumptionWithAnotherSuite() throws {
        let w = world()
        let first = try XCTUnwrap(connect(w, session: nil).clientLog.issued.last)
        var client = ClientConnection(configuration: w.client, serverName: "localhost", session: first)
        var hello: ClientHello?
        for case .send(let bytes) in client.startHandshake() {
            var reassembler = HandshakeReassembler()
            reassembler.append(bytes.getSlice(at: 5, length: bytes.readableBytes - 5) ?? bytes)
            if let raw = try reassembler.nextMessage(), case .clientHello(let decoded) = try HandshakeMessage(decoding: raw, version: .tls12) {
                hello = decoded
            }
        }
        let offered = try XCTUnwrap(hello)
        XCTAssertEqual(offered.sessionID.count, 32)
        let other = offered.cipherSuites.first { $0 != first.cipherSuite } ?? .ecdheRSAWithAES128GCMSHA256
        let serverHello = ServerHello(
            legacyVersion: .tls12, random: SecureRandom.bytes(32), sessionID: offered.sessionID,
            cipherSuite: other, compressionMethod: 0, extensions: [.extendedMasterSecret, .renegotiationInfo([])])
        let actions = client.receive(record(.handshake, Array(HandshakeMessage.serverHello(serverHello).encoded(version: .tls12).readableBytesView)))
        var error: TLSError?
        for case .closed(let e) in actions { error = e }
        XCTAssertEqual(error?.code, .illegalParameter)
    }

    func testTicketsForOneHostDoNotResumeOnAnother() throws {
        let w = world()
        let first = try XCTUnwrap(connect(w, session: nil, serverName: "a.example").clientLog.issued.last)
        let pair = connect(w, session: first, serverName: "b.example")
        XCTAssertEqual(pair.clientLog.summary?.resumed, false)
        XCTAssertEqual(pair.serverLog.summary?.resumptionFailure, .scopeMismatch)
    }

    /// Issue 4: when no key can encrypt (only staged or retiring keys), the server does not
    /// acknowledge the SessionTicket extension, sends no NewSessionTicket, and full handshakes go
    /// on; tickets under a retiring key still resume, without renewal.
    func testNoEncryptingKeyMeansNoTicketAndNoAcknowledgement() throws {
        var w = world()
        let key = TicketKey.generate()
        w.server.ticketKeys = TicketKeyRing(
            keys: [ManagedTicketKey(key: key, activatesAt: start.addingTimeInterval(-100),
                                    encryptsUntil: start.addingTimeInterval(5), decryptsUntil: start.addingTimeInterval(100))],
            renewal: .whenKeyRetiring)
        let issuing = connect(w, session: nil)
        XCTAssertEqual(issuing.serverLog.summary?.ticketIssued, true)
        let first = try XCTUnwrap(issuing.clientLog.issued.last)
        XCTAssertEqual(first.ticket.map { Array($0.prefix(16)) }, key.name)

        w.clock.advance(by: 10)  // the only key is retiring: nothing can encrypt
        let full = connect(w, session: nil)
        XCTAssertNotNil(full.clientLog.summary, "the full handshake completes")
        XCTAssertNil(full.clientLog.closeError)
        XCTAssertEqual(ExpectedFlights.record(full), ExpectedFlights.full12)
        XCTAssertTrue(full.clientLog.issued.isEmpty)
        XCTAssertEqual(full.serverLog.summary?.ticketIssued, false)
        XCTAssertFalse(sentServerHello(full).contains(.sessionTicket), "SessionTicket extension acknowledged")

        let resumed = connect(w, session: first)
        XCTAssertEqual(resumed.clientLog.summary?.resumed, true)
        XCTAssertEqual(resumed.serverLog.summary?.ticketRenewed, false, "nothing to renew under")
        XCTAssertEqual(resumed.serverLog.summary?.ticketIssued, false)
        XCTAssertEqual(ExpectedFlights.record(resumed), ExpectedFlights.resumed12)
        XCTAssertFalse(sentServerHello(resumed).contains(.sessionTicket))

        // A ring with only a staged key: the same.
        w.server.ticketKeys = TicketKeyRing(
            keys: [ManagedTicketKey(key: key, activatesAt: start.addingTimeInterval(1000),
                                    encryptsUntil: start.addingTimeInterval(2000), decryptsUntil: start.addingTimeInterval(3000))],
            renewal: .always)
        let staged = connect(w, session: nil)
        XCTAssertEqual(ExpectedFlights.record(staged), ExpectedFlights.full12)
        XCTAssertTrue(staged.clientLog.issued.isEmpty)
    }

    func testTicketIssuedIsReportedForFullAndRenewedHandshakes() throws {
        let w = world(rotate: 10, expire: 20)
        let full = connect(w, session: nil)
        XCTAssertEqual(full.serverLog.summary?.ticketIssued, true)
        let first = try XCTUnwrap(full.clientLog.issued.last)
        w.clock.advance(by: 2)
        XCTAssertEqual(connect(w, session: first).serverLog.summary?.ticketIssued, false, "resumed, not renewed")
        w.clock.advance(by: 10)
        let renewed = connect(w, session: first)
        XCTAssertEqual(renewed.serverLog.summary?.ticketRenewed, true)
        XCTAssertEqual(renewed.serverLog.summary?.ticketIssued, true)
    }

    /// The extensions of the ServerHello the server sent, from its trace.
    private func sentServerHello(_ pair: Pair) -> [ExtensionType] {
        for event in pair.serverLog.traces where event.direction == .sent && event.kind == .handshake(.serverHello) {
            var reassembler = HandshakeReassembler()
            reassembler.append(ByteBuffer(bytes: event.bytes))
            if let raw = try? reassembler.nextMessage(),
               case .serverHello(let hello)? = try? HandshakeMessage(decoding: raw, version: .tls12) {
                return hello.extensions.map(\.type)
            }
        }
        XCTFail("no ServerHello in the server's trace")
        return []
    }

    func testNoTicketsWithoutKeyHook() throws {
        var w = world()
        w.server.ticketKeys = nil
        let pair = connect(w, session: nil)
        XCTAssertTrue(pair.clientLog.issued.isEmpty)
        XCTAssertEqual(ExpectedFlights.record(pair), ExpectedFlights.full12)
    }

    private func exchange(_ pair: Pair) {
        var pair = pair
        pair.absorbClient(pair.client.sendApplicationData(ByteBuffer(string: "ping")))
        pair.absorbServer(pair.server.sendApplicationData(ByteBuffer(string: "pong")))
        pair.run()
        XCTAssertEqual(pair.serverLog.applicationData, Array("ping".utf8))
        XCTAssertEqual(pair.clientLog.applicationData, Array("pong".utf8))
    }
}

/// Decrypts with the inner hook and always asks for renewal; its encryption key is there for the
/// first ask only (the server's check before it acknowledges the extension), then gone.
final class VanishingKey: TicketKeyProvider, @unchecked Sendable {
    let inner: any TicketKeyProvider
    private let lock = NSLock()
    private var asked = false

    init(inner: any TicketKeyProvider) {
        self.inner = inner
    }

    func encryptionKey(at now: Date) -> TicketKey? {
        let first = lock.withLock {
            defer { asked = true }
            return !asked
        }
        return first ? inner.encryptionKey(at: now) : nil
    }

    func lookup(keyName: [UInt8], at now: Date) throws -> TicketKeyLookup {
        switch try inner.lookup(keyName: keyName, at: now) {
        case .valid(let key), .validRenew(let key): return .validRenew(key)
        case .notFound(let reason): return .notFound(reason)
        }
    }

    func lifetimeHint(at now: Date) -> UInt32 { 0 }
}
