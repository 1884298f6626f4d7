import Foundation
import NIOCore
import TesseraCore
import TesseraCrypto
import TesseraSessions
import TesseraWire
import XCTest

/// TLS 1.3 (RFC 8446) between our client and server, and version negotiation with TLS 1.2.
final class TLS13Tests: XCTestCase {
    private func config13(_ base: TLSConfiguration) -> TLSConfiguration {
        var configuration = base
        configuration.maximumVersion = .tls13
        return configuration
    }

    static let full13: ExpectedFlights.Flight = [
        "C:ClientHello", "S:ServerHello", "S:CCS", "S:EncryptedExtensions", "S:Certificate", "S:CertificateVerify",
        "S:Finished", "C:CCS", "C:Finished",
    ]

    func testEverySuiteGroupAndKey() {
        let keys: [(String, (CertificateChain, SigningKey))] = [("P-256", Credentials.p256), ("P-384", Credentials.p384), ("RSA", Credentials.rsa)]
        for suite in [CipherSuite.tlsAES128GCMSHA256, .tlsAES256GCMSHA384, .tlsChaCha20Poly1305SHA256] {
            for group in [NamedGroup.x25519, .secp256r1, .secp384r1] {
                for (keyName, credentials) in keys {
                    var client = config13(clientConfiguration())
                    client.cipherSuites = [suite]
                    client.groups = [group]
                    var pair = Pair(client: client, server: config13(serverConfiguration(credentials)))
                    pair.handshake()
                    let label = "\(suite) \(group) \(keyName)"
                    guard let summary = pair.clientLog.summary else {
                        XCTFail("\(label): \(String(describing: pair.clientLog.closeError)) / \(String(describing: pair.serverLog.closeError))")
                        continue
                    }
                    XCTAssertEqual(summary.version, .tls13, label)
                    XCTAssertEqual(summary.cipherSuite, suite, label)
                    XCTAssertEqual(summary.group, group, label)
                    XCTAssertEqual(pair.serverLog.summary?.version, .tls13, label)
                    if keyName == "RSA" { XCTAssertEqual(summary.peerSignatureScheme, .rsaPSSRSAESHA256, label) }
                    exchange(&pair, label)
                }
            }
        }
    }

    /// RFC 8446 §4.2.3 / RFC 8422 §5.1.3 (as updated by RFC 8446): an Ed25519 certificate signs
    /// with the ed25519 scheme in both versions, end to end between our client and server.
    func testEd25519CertificateInBothVersions() throws {
        let key = SigningKey.generateEd25519()
        let chain = try CertificateChain.selfSigned(commonName: "localhost", key: key)
        for version in [ProtocolVersion.tls13, .tls12] {
            var client = clientConfiguration()
            client.maximumVersion = version
            var server = serverConfiguration((chain, key))
            server.maximumVersion = version
            var pair = Pair(client: client, server: server)
            pair.handshake()
            let label = "Ed25519 \(version)"
            guard let summary = pair.clientLog.summary else {
                XCTFail("\(label): \(String(describing: pair.clientLog.closeError)) / \(String(describing: pair.serverLog.closeError))")
                continue
            }
            XCTAssertEqual(summary.version, version, label)
            XCTAssertEqual(summary.peerSignatureScheme, .ed25519, label)
            exchange(&pair, label)
        }
    }

    /// A client that does not accept ed25519 cannot be served by an Ed25519-only server: the
    /// server has no signature scheme in common (RFC 8446 §4.4.2.2) and says handshake_failure.
    func testEd25519ServerWithClientRefusingEd25519Fails() throws {
        let key = SigningKey.generateEd25519()
        let chain = try CertificateChain.selfSigned(commonName: "localhost", key: key)
        var client = config13(clientConfiguration())
        client.signatureSchemes = [.ecdsaSecp256r1SHA256, .rsaPSSRSAESHA256]
        var pair = Pair(client: client, server: config13(serverConfiguration((chain, key))))
        pair.handshake()
        XCTAssertNil(pair.clientLog.summary)
        XCTAssertNil(pair.serverLog.summary)
        XCTAssertNotNil(pair.serverLog.closeError, "the server should refuse")
    }

    func testFlightFollowsTheTable() {
        var pair = Pair(client: config13(clientConfiguration()), server: config13(serverConfiguration()))
        pair.handshake()
        XCTAssertEqual(ExpectedFlights.record(pair).filter { !$0.hasPrefix("S:NewSessionTicket") }, Self.full13)
    }

    func testHelloRetryRequestForAnotherGroup() {
        var client = config13(clientConfiguration())
        client.groups = [.x25519, .secp384r1]
        var server = config13(serverConfiguration())
        server.groups = [.secp384r1]
        var pair = Pair(client: client, server: server)
        pair.handshake()
        XCTAssertEqual(pair.clientLog.summary?.group, .secp384r1)
        XCTAssertEqual(pair.clientLog.sentFlight.filter { $0 == "ClientHello" }.count, 2)
        exchange(&pair, "HRR")
    }

    func testTLS12ServerWithTLS13ClientNegotiatesTLS12() {
        var pair = Pair(client: config13(clientConfiguration()), server: serverConfiguration())
        pair.handshake()
        XCTAssertEqual(pair.clientLog.summary?.version, .tls12)
        exchange(&pair, "1.3 client, 1.2 server")
    }

    func testTLS12ClientWithTLS13ServerNegotiatesTLS12() {
        var pair = Pair(client: clientConfiguration(), server: config13(serverConfiguration()))
        pair.handshake()
        XCTAssertEqual(pair.clientLog.summary?.version, .tls12)
    }

    /// RFC 8446 §4.1.3: a TLS 1.3 client refuses a TLS 1.2 ServerHello carrying the downgrade
    /// sentinel (a 1.3 server answered 1.2: something removed 1.3 from the hello).
    func testDowngradeSentinelIsRefused() throws {
        var client = ClientConnection(configuration: config13(clientConfiguration()), serverName: "localhost")
        _ = client.startHandshake()
        var random = SecureRandom.bytes(32)
        random.replaceSubrange(24..<32, with: ServerHello.downgradeTLS12Sentinel)
        let hello = ServerHello(
            legacyVersion: .tls12, random: random, sessionID: [], cipherSuite: .ecdheECDSAWithAES128GCMSHA256,
            compressionMethod: 0, extensions: [.renegotiationInfo([]), .extendedMasterSecret])
        let actions = client.receive(record(.handshake, Array(HandshakeMessage.serverHello(hello).encoded(version: .tls12).readableBytesView)))
        var error: TLSError?
        for case .closed(let e) in actions { error = e }
        XCTAssertEqual(error?.code, .illegalParameter)
    }

    /// RFC 8446 §4.2.8: key shares are for distinct groups the client also lists in
    /// supported_groups, else illegal_parameter; the same holds for long lists (checked with sets,
    /// so a hostile hello cannot make the server compare every share with every group). A
    /// well-formed long list still negotiates.
    func testKeySharesMustBeDistinctAndListed() throws {
        let x25519 = KeyShareEntry(group: .x25519, keyExchange: try EphemeralKeyExchange(group: .x25519).publicKeyBytes)
        let filler = (0..<12).map { KeyShareEntry(group: NamedGroup(rawValue: 0x0A00 + UInt16($0)), keyExchange: [1]) }
        let fillerGroups = filler.map(\.group)
        let cases: [(String, [KeyShareEntry], [NamedGroup], Bool)] = [
            ("short, duplicate", [x25519, x25519], [.x25519], false),
            ("short, unlisted", [x25519], [.secp256r1], false),
            ("long, duplicate", filler + [x25519, filler[3]], fillerGroups + [.x25519], false),
            ("long, unlisted", filler + [x25519], [.x25519], false),
            ("long, well formed", filler + [x25519], fillerGroups + [.x25519], true),
        ]
        for (name, shares, groups, accepted) in cases {
            let hello = ClientHello(
                legacyVersion: .tls12, random: SecureRandom.bytes(32), sessionID: [], cipherSuites: [.tlsAES128GCMSHA256],
                compressionMethods: [0],
                extensions: [
                    .supportedVersionsOffered([.tls13]), .signatureAlgorithms([.ecdsaSecp256r1SHA256]),
                    .supportedGroups(groups), .keyShareOffered(shares),
                ])
            var server = ServerConnection(configuration: config13(serverConfiguration()))
            let actions = server.receive(record(.handshake, Array(HandshakeMessage.clientHello(hello).encoded(version: .tls12).readableBytesView)))
            var error: TLSError?
            var sent = false
            for action in actions {
                if case .closed(let e) = action { error = e }
                if case .send = action { sent = true }
            }
            if accepted {
                XCTAssertNil(error, name)
                XCTAssertTrue(sent, name)
            } else {
                XCTAssertEqual(error?.code, .illegalParameter, name)
            }
        }
    }

    func testTicketsAreIssuedAndCarryTheResumptionPSK() throws {
        var server = config13(serverConfiguration())
        server.ticketKeys = TicketKeyRing(start: Date())
        var pair = Pair(client: config13(clientConfiguration()), server: server)
        pair.handshake()
        XCTAssertEqual(pair.clientLog.issued.count, 2)
        let session = try XCTUnwrap(pair.clientLog.issued.first)
        XCTAssertEqual(session.version, .tls13)
        XCTAssertNotNil(session.ticketAgeAdd)
        XCTAssertNotEqual(pair.clientLog.issued[0].masterSecret, pair.clientLog.issued[1].masterSecret, "per-ticket nonce")
        // The tickets' random values are drawn with the ServerHello's random: each ticket has its
        // own ticket_age_add and sealing IV (RFC 5077 §4 layout: name, then IV), and none repeats
        // the ServerHello's random.
        XCTAssertNotEqual(pair.clientLog.issued[0].ticketAgeAdd, pair.clientLog.issued[1].ticketAgeAdd)
        let ivs = try pair.clientLog.issued.map { Array(try XCTUnwrap($0.ticket)[16..<32]) }
        XCTAssertNotEqual(ivs[0], ivs[1])
        let serverHello = try XCTUnwrap(pair.serverLog.traces.first { $0.direction == .sent && $0.kind == .handshake(.serverHello) })
        let serverRandom = Array(serverHello.bytes[(4 + 2)..<(4 + 2 + 32)])  // header, legacy_version
        for iv in ivs {
            XCTAssertFalse(serverRandom.indices.dropLast(15).contains { Array(serverRandom[$0..<($0 + 16)]) == iv })
        }
        // The session survives OpenSSL's encoding (which writes absent counters as 0).
        let decoded = try SessionState(pemEncoded: session.pemEncoded())
        XCTAssertEqual(decoded.masterSecret, session.masterSecret)
        XCTAssertEqual(decoded.ticket, session.ticket)
        XCTAssertEqual(decoded.ticketAgeAdd, session.ticketAgeAdd)
        XCTAssertEqual(decoded.time, session.time)
        XCTAssertEqual(try SessionState(pemEncoded: decoded.pemEncoded()), decoded)
    }

    func testKeyLogHasTheTLS13Secrets() {
        let log = KeyLogBox()
        var client = config13(clientConfiguration())
        client.keyLog = log.append
        var pair = Pair(client: client, server: config13(serverConfiguration()))
        pair.handshake()
        let labels = Set(log.lines.compactMap { $0.split(separator: " ").first.map(String.init) })
        XCTAssertEqual(labels, ["CLIENT_HANDSHAKE_TRAFFIC_SECRET", "SERVER_HANDSHAKE_TRAFFIC_SECRET",
                                "CLIENT_TRAFFIC_SECRET_0", "SERVER_TRAFFIC_SECRET_0", "EXPORTER_SECRET"])
    }

    func testMutatedServerFlightFails() {
        // Each server handshake record dropped or duplicated: the client fails (or waits when the
        // last one is dropped), never completes wrongly, never crashes.
        var reference = Pair(client: config13(clientConfiguration()), server: config13(serverConfiguration()))
        reference.start()
        let hello = reference.toServer
        var server = ServerConnection(configuration: config13(serverConfiguration()).unpacked)
        var flight: [ByteBuffer] = []
        for record in hello {
            for case .send(let bytes) in server.receive(record) { flight += splitRecords(bytes) }
        }
        XCTAssertGreaterThan(flight.count, 3)
        for index in flight.indices {
            for duplicate in [false, true] {
                var mutated = flight
                if duplicate { mutated.insert(flight[index], at: index) } else { mutated.remove(at: index) }
                var client = ClientConnection(configuration: config13(clientConfiguration()), serverName: "localhost")
                var actions: [TLSAction] = client.startHandshake()
                // Same client random is not needed: a fresh client rejects a foreign flight too.
                for record in mutated { actions += client.receive(record) }
                var completed = false
                for action in actions { if case .handshakeCompleted = action { completed = true } }
                XCTAssertFalse(completed, "record \(index) \(duplicate ? "duplicated" : "dropped")")
            }
        }
    }

    /// `ClientConnection` is a value: a copy taken in the middle of a TLS 1.3 handshake goes on
    /// by itself. The handshake state is one shared reference until a copy changes it
    /// (`ClientHandshake13`); both copies must answer the same server flight with the same
    /// Finished, and each must complete.
    func testClientCopiedMidHandshakeGoesOnByItself() {
        var pair = Pair(client: config13(clientConfiguration()), server: config13(serverConfiguration().unpacked))
        let flight = pair.serverFirstFlight()
        XCTAssertGreaterThan(flight.count, 3, "one message per record, after the ServerHello")
        var original = pair.client
        var originalOutput = original.receive(flight[0])  // the ServerHello: the handshake state is made
        var copy = original
        var copyOutput: [TLSAction] = []
        for record in flight.dropFirst() {
            originalOutput += original.receive(record)
            copyOutput += copy.receive(record)
        }
        // The chain check the harness answers (`Pair.verification`), for each copy.
        let verified = VerificationResult(isValid: true, code: 0, message: "ok")
        if originalOutput.contains(where: { if case .verifyPeer = $0 { return true } else { return false } }) {
            originalOutput += original.peerVerificationCompleted(verified)
            copyOutput += copy.peerVerificationCompleted(verified)
        }
        func sent(_ actions: [TLSAction]) -> [UInt8] {
            actions.flatMap { action -> [UInt8] in
                if case .send(let bytes) = action { return Array(bytes.readableBytesView) }
                return []
            }
        }
        func completed(_ actions: [TLSAction]) -> Bool {
            actions.contains { if case .handshakeCompleted = $0 { return true } else { return false } }
        }
        XCTAssertTrue(completed(originalOutput), "the original completes")
        XCTAssertTrue(completed(copyOutput), "the copy completes")
        XCTAssertFalse(sent(copyOutput).isEmpty)
        XCTAssertEqual(sent(copyOutput), sent(originalOutput).suffix(sent(copyOutput).count), "the same Finished from both")
        for record in splitRecords(ByteBuffer(bytes: sent(copyOutput))) { pair.absorbServer(pair.server.receive(record)) }
        XCTAssertNotNil(pair.serverLog.summary, "the server accepts the copy's Finished")
        XCTAssertNil(pair.serverLog.closeError)
    }

    /// RFC 8446 §4.6.3: KeyUpdate both ways, with and without update_requested; data keeps
    /// flowing under the new keys.
    func testKeyUpdateBothWays() {
        var pair = Pair(client: config13(clientConfiguration()), server: config13(serverConfiguration()))
        pair.handshake()
        pair.absorbClient(pair.client.updateKeys(requestPeerUpdate: true))
        pair.run()
        pair.absorbServer(pair.server.updateKeys(requestPeerUpdate: false))
        pair.run()
        let sentUpdates = pair.serverLog.traces.filter { $0.direction == .sent && $0.kind == .handshake(.keyUpdate) }.count
        XCTAssertEqual(sentUpdates, 2, "one answer to update_requested, one of its own")
        var copy = pair
        exchange(&copy, "after KeyUpdate")
    }

    func testTicketOnDemand() {
        var server = config13(serverConfiguration())
        server.ticketKeys = TicketKeyRing(start: Date())
        server.ticketCount13 = 0
        var pair = Pair(client: config13(clientConfiguration()), server: server)
        pair.handshake()
        XCTAssertTrue(pair.clientLog.issued.isEmpty)
        pair.absorbServer(pair.server.sendTicket())
        pair.run()
        XCTAssertEqual(pair.clientLog.issued.count, 1)
    }

    // MARK: PSK resumption (RFC 8446 §2.2, §4.2.11)

    static let resumed13: ExpectedFlights.Flight = [
        "C:ClientHello", "S:ServerHello", "S:CCS", "S:EncryptedExtensions", "S:Finished", "C:CCS", "C:Finished",
    ]

    private struct World13 {
        let clock: ManualClock
        var server: TLSConfiguration
        var client: TLSConfiguration
    }

    private func world13() -> World13 {
        let clock = ManualClock(Date(timeIntervalSince1970: 1_800_000_000))
        var server = config13(serverConfiguration())
        server.clock = clock
        server.ticketKeys = TicketKeyRing(rotate: 3600, expire: 7200, start: clock.now())
        var client = config13(clientConfiguration())
        client.clock = clock
        return World13(clock: clock, server: server, client: client)
    }

    private func connect13(_ world: World13, session: SessionState?) -> Pair {
        var pair = Pair(client: world.client, server: world.server, session: session)
        pair.handshake()
        return pair
    }

    func testResumptionWithATicket() throws {
        let world = world13()
        let first = connect13(world, session: nil)
        let ticket = try XCTUnwrap(first.clientLog.issued.first)
        let pair = connect13(world, session: ticket)
        XCTAssertEqual(pair.clientLog.summary?.resumed, true)
        XCTAssertEqual(pair.serverLog.summary?.resumed, true)
        XCTAssertEqual(pair.clientLog.summary?.version, .tls13)
        XCTAssertEqual(ExpectedFlights.record(pair).filter { !$0.hasPrefix("S:NewSessionTicket") }, Self.resumed13)
        XCTAssertEqual(pair.clientLog.issued.count, 1, "one new ticket after a resumption")
        var copy = pair
        exchange(&copy, "resumed 1.3")
        // The ticket a resumption issues (its PSK derived without keying the resumption master
        // secret, as the only one of its batch) resumes in turn.
        let next = try XCTUnwrap(pair.clientLog.issued.first)
        let again = connect13(world, session: next)
        XCTAssertEqual(again.clientLog.summary?.resumed, true, "the ticket issued in a resumption resumes")
        XCTAssertEqual(again.serverLog.summary?.resumed, true)
    }

    func testTicketUnderAnotherKeyFallsBackToFullHandshake() throws {
        let world = world13()
        let ticket = try XCTUnwrap(connect13(world, session: nil).clientLog.issued.first)
        var other = world
        other.server.ticketKeys = TicketKeyRing(start: Date())
        let pair = connect13(other, session: ticket)
        XCTAssertEqual(pair.clientLog.summary?.resumed, false)
        XCTAssertEqual(pair.clientLog.rejected, 1)
        XCTAssertEqual(pair.clientLog.issued.count, 2)
    }

    func testForgedBinderAborts() throws {
        let world = world13()
        var ticket = try XCTUnwrap(connect13(world, session: nil).clientLog.issued.first)
        // A wrong PSK gives a binder the server computes differently: decrypt_error.
        ticket.masterSecret = [UInt8](repeating: 0x42, count: ticket.masterSecret.count)
        let pair = connect13(world, session: ticket)
        XCTAssertEqual(pair.serverLog.closeError?.code, .decryptError)
        XCTAssertNil(pair.clientLog.summary)
    }

    func testTicketPastItsLifetimeIsNotOffered() throws {
        let world = world13()
        let ticket = try XCTUnwrap(connect13(world, session: nil).clientLog.issued.first)
        world.clock.advance(by: 7300)
        let pair = connect13(world, session: ticket)
        XCTAssertEqual(pair.clientLog.summary?.resumed, false)
    }

    func testResumptionAfterHelloRetryRequest() throws {
        var world = world13()
        world.client.groups = [.x25519, .secp256r1]
        let ticket = try XCTUnwrap(connect13(world, session: nil).clientLog.issued.first)
        world.server.groups = [.secp256r1]
        let pair = connect13(world, session: ticket)
        XCTAssertEqual(pair.clientLog.summary?.resumed, true)
        XCTAssertEqual(pair.clientLog.summary?.group, .secp256r1)
    }

    // MARK: 0-RTT (RFC 8446 §2.3, §4.2.10, §8)

    private func earlyWorld() -> World13 {
        var world = world13()
        world.server.maxEarlyData = 16384
        world.server.earlyDataReplay = EarlyDataReplayCache()
        return world
    }

    private func connectEarly(_ world: World13, session: SessionState, data: String) -> Pair {
        var pair = Pair(client: world.client, server: world.server, session: session, earlyData: ByteBuffer(string: data))
        pair.handshake()
        return pair
    }

    func testEarlyDataAcceptedOnceAndReplayRefused() throws {
        let world = earlyWorld()
        let ticket = try XCTUnwrap(connect13(world, session: nil).clientLog.issued.first)
        XCTAssertEqual(ticket.maxEarlyData, 16384)
        world.clock.advance(by: 1)

        let first = connectEarly(world, session: ticket, data: "GET /early")
        XCTAssertEqual(first.clientLog.summary?.earlyDataAccepted, true)
        XCTAssertEqual(first.serverLog.summary?.earlyDataAccepted, true)
        XCTAssertEqual(first.serverLog.applicationData, Array("GET /early".utf8))
        XCTAssertTrue(first.clientLog.sentFlight.contains("EndOfEarlyData"))

        // The same ticket again (a replay): resumed, early data refused, the client sends it after
        // the handshake, and the server sees it exactly once.
        let replay = connectEarly(world, session: ticket, data: "GET /early")
        XCTAssertEqual(replay.clientLog.summary?.resumed, true)
        XCTAssertEqual(replay.clientLog.summary?.earlyDataAccepted, false)
        XCTAssertEqual(replay.serverLog.applicationData, Array("GET /early".utf8))
        XCTAssertNil(replay.serverLog.closeError)
    }

    func testEarlyDataToServerWithoutZeroRTTIsSkippedAndResent() throws {
        let world = earlyWorld()
        let ticket = try XCTUnwrap(connect13(world, session: nil).clientLog.issued.first)
        var off = world
        off.server.maxEarlyData = 0
        let pair = connectEarly(off, session: ticket, data: "hello")
        XCTAssertEqual(pair.clientLog.summary?.resumed, true)
        XCTAssertEqual(pair.clientLog.summary?.earlyDataAccepted, false)
        XCTAssertEqual(pair.serverLog.applicationData, Array("hello".utf8))
        XCTAssertNil(pair.serverLog.closeError)
    }

    func testStaleTicketAgeRefusesEarlyData() throws {
        let world = earlyWorld()
        var ticket = try XCTUnwrap(connect13(world, session: nil).clientLog.issued.first)
        // The client thinks the ticket is 60 s older than the server does.
        ticket.time = ticket.time - 60
        world.clock.advance(by: 1)
        let pair = connectEarly(world, session: ticket, data: "x")
        XCTAssertEqual(pair.clientLog.summary?.resumed, true)
        XCTAssertEqual(pair.clientLog.summary?.earlyDataAccepted, false)
        XCTAssertEqual(pair.serverLog.applicationData, Array("x".utf8))
    }

    private func exchange(_ pair: inout Pair, _ label: String) {
        let up = (0..<40_000).map { UInt8(truncatingIfNeeded: $0) }
        let down = (0..<30_000).map { UInt8(truncatingIfNeeded: $0 &* 3) }
        pair.absorbClient(pair.client.sendApplicationData(ByteBuffer(bytes: up)))
        pair.absorbServer(pair.server.sendApplicationData(ByteBuffer(bytes: down)))
        pair.run()
        XCTAssertTrue(pair.serverLog.applicationData == up, "\(label): server got \(pair.serverLog.applicationData.count) of \(up.count) bytes")
        XCTAssertTrue(pair.clientLog.applicationData == down, "\(label): client got \(pair.clientLog.applicationData.count) of \(down.count) bytes")
        pair.absorbClient(pair.client.close())
        pair.run()
        XCTAssertNil(pair.clientLog.closeError, label)
        XCTAssertNil(pair.serverLog.closeError, label)
        XCTAssertTrue(pair.serverLog.isClosed, label)
    }
}
