import NIOCore
import TesseraCore
import TesseraCrypto
import TesseraSessions
import TesseraWire
import XCTest

/// Renegotiation is off by default (DESIGN.md §3): a ClientHello inside an established
/// connection gets a `no_renegotiation` warning and the connection goes on; a client answers a
/// HelloRequest the same way. Records are protected with keys rebuilt from the key log.
final class RenegotiationTests: XCTestCase {
    /// An established pair and both sides' record keys, advanced past the Finished messages.
    private struct Established {
        var pair: Pair
        var clientWrite: RecordProtection
        var serverWrite: RecordProtection
    }

    private func establish() throws -> Established {
        let log = KeyLogBox()
        var client = clientConfiguration()
        client.keyLog = log.append
        var pair = Pair(client: client)
        pair.handshake()
        let summary = try XCTUnwrap(pair.clientLog.summary)
        let line = try XCTUnwrap(log.lines.first)
        let parts = line.split(separator: " ")
        XCTAssertEqual(parts.first, "CLIENT_RANDOM")
        let clientRandom = try XCTUnwrap([UInt8](hexString: String(parts[1])))
        XCTAssertEqual(try XCTUnwrap([UInt8](hexString: String(parts[2]))), summary.masterSecret)

        // The server random is in the ServerHello the client received.
        let serverHello = try XCTUnwrap(pair.clientLog.traces.first { $0.kind == .handshake(.serverHello) })
        let serverRandom = Array(serverHello.bytes[6..<38])
        let parameters = try XCTUnwrap(summary.cipherSuite.parameters)
        let block = TLS12.keyBlock(
            masterSecret: summary.masterSecret, clientRandom: clientRandom, serverRandom: serverRandom,
            parameters: parameters)
        var clientWrite = try RecordProtection(parameters: parameters, key: block.clientWriteKey, iv: block.clientWriteIV)
        var serverWrite = try RecordProtection(parameters: parameters, key: block.serverWriteKey, iv: block.serverWriteIV)
        // Each side protected exactly one record so far: its Finished.
        var scratch = ByteBuffer()
        try clientWrite.seal(contentType: .handshake, plaintext: ByteBuffer(bytes: [0]).readableBytesView, into: &scratch)
        try serverWrite.seal(contentType: .handshake, plaintext: ByteBuffer(bytes: [0]).readableBytesView, into: &scratch)
        return Established(pair: pair, clientWrite: clientWrite, serverWrite: serverWrite)
    }

    func testServerAnswersRenegotiationWithWarningAndGoesOn() throws {
        var established = try establish()
        let hello = ClientHello(
            legacyVersion: .tls12, random: SecureRandom.bytes(32), sessionID: [],
            cipherSuites: [.ecdheECDSAWithAES128GCMSHA256], compressionMethods: [0],
            extensions: [.supportedGroups([.x25519]), .signatureAlgorithms([.ecdsaSecp256r1SHA256])])
        var record = ByteBuffer()
        try established.clientWrite.seal(
            contentType: .handshake, plaintext: HandshakeMessage.clientHello(hello).encoded(version: .tls12).readableBytesView,
            into: &record)
        let actions = established.pair.server.receive(record)
        var answer = ByteBuffer()
        for action in actions {
            if case .send(let bytes) = action { answer.writeImmutableBuffer(bytes) }
            if case .closed(let error) = action { XCTFail("server closed: \(String(describing: error))") }
        }
        // The answer is one protected alert: warning no_renegotiation.
        var reader = RecordParser()
        reader.append(answer)
        let alertRecord = try XCTUnwrap(reader.nextRecord())
        // `serverWrite` has sealed as many records as the server (its Finished): as a reader it
        // is at the alert's sequence number.
        var serverProtection = established.serverWrite
        let opened = try serverProtection.open(alertRecord)
        XCTAssertEqual(opened.contentType, .alert)
        XCTAssertEqual(try Alert(decoding: opened.plaintext), Alert(level: .warning, alertDescription: .noRenegotiation))
        XCTAssertFalse(established.pair.server.isClosed)

        // Application data still flows (sealed by our copy of the client's keys, which the
        // injected hello moved on by one record).
        var data = ByteBuffer()
        try established.clientWrite.seal(contentType: .applicationData, plaintext: ByteBuffer(string: "still here").readableBytesView, into: &data)
        established.pair.absorbServer(established.pair.server.receive(data))
        XCTAssertEqual(established.pair.serverLog.applicationData, Array("still here".utf8))
        XCTAssertFalse(established.pair.server.isClosed)
    }

    func testClientAnswersHelloRequestWithWarningAndGoesOn() throws {
        var established = try establish()
        var record = ByteBuffer()
        try established.serverWrite.seal(
            contentType: .handshake, plaintext: HandshakeMessage.helloRequest.encoded(version: .tls12).readableBytesView,
            into: &record)
        let actions = established.pair.client.receive(record)
        var sentAlert = false
        for action in actions {
            if case .send = action { sentAlert = true }
            if case .closed(let error) = action { XCTFail("client closed: \(String(describing: error))") }
        }
        XCTAssertTrue(sentAlert)
        let traced = established.pair.clientLog.traces.count
        established.pair.absorbClient(actions)
        let alerts = established.pair.clientLog.traces[traced...].compactMap { event -> Alert? in
            if case .alert(let alert) = event.kind, event.direction == .sent { return alert }
            return nil
        }
        XCTAssertEqual(alerts, [Alert(level: .warning, alertDescription: .noRenegotiation)])
        XCTAssertFalse(established.pair.client.isClosed)
    }
}

final class KeyLogBox: @unchecked Sendable {
    private let lock = NSLock()
    private var _lines: [String] = []

    var lines: [String] { lock.withLock { _lines } }

    @Sendable func append(_ line: String) {
        lock.withLock { _lines.append(line) }
    }
}

/// Renegotiation turned on (`-client_renegotiation`): a full handshake inside the connection,
/// RFC 5746 renegotiation_info both ways, data flowing before, during and after.
final class SecureRenegotiationTests: XCTestCase {
    func testRefusedRenegotiationLeavesTheConnectionAsItWas() {
        var pair = Pair()
        pair.handshake()
        pair.absorbClient(pair.client.renegotiate())
        pair.run()
        XCTAssertEqual(pair.clientLog.alertsReceived, [Alert(level: .warning, alertDescription: .noRenegotiation)])
        XCTAssertEqual(pair.clientLog.handshakes, 1)
        XCTAssertFalse(pair.client.isClosed)
        XCTAssertFalse(pair.server.isClosed)
        pair.absorbClient(pair.client.sendApplicationData(ByteBuffer(string: "after")))
        pair.run()
        XCTAssertEqual(pair.serverLog.applicationData, Array("after".utf8))
    }

    func testRenegotiationCompletesWithDataInterleaved() {
        var server = serverConfiguration()
        server.allowClientRenegotiation = true
        var pair = Pair(server: server)
        pair.handshake()
        let firstSecret = pair.clientLog.summary?.masterSecret
        pair.absorbClient(pair.client.renegotiate())
        // Data from both sides while the new handshake is under way.
        pair.absorbClient(pair.client.sendApplicationData(ByteBuffer(string: "c1")))
        pair.absorbServer(pair.server.sendApplicationData(ByteBuffer(string: "s1")))
        pair.run()
        XCTAssertEqual(pair.clientLog.handshakes, 2)
        XCTAssertEqual(pair.serverLog.handshakes, 2)
        XCTAssertNotEqual(pair.clientLog.summary?.masterSecret, firstSecret)
        XCTAssertEqual(pair.clientLog.summary?.masterSecret, pair.serverLog.summary?.masterSecret)
        XCTAssertEqual(pair.clientLog.summary?.secureRenegotiation, true)
        pair.absorbClient(pair.client.sendApplicationData(ByteBuffer(string: "c2")))
        pair.absorbServer(pair.server.sendApplicationData(ByteBuffer(string: "s2")))
        pair.run()
        XCTAssertEqual(pair.serverLog.applicationData, Array("c1c2".utf8))
        XCTAssertEqual(pair.clientLog.applicationData, Array("s1s2".utf8))
        XCTAssertNil(pair.clientLog.closeError)
        XCTAssertNil(pair.serverLog.closeError)
    }

    /// The report's last step: a renegotiation right after a renewed resumption.
    func testRenegotiationAfterRenewedResumption() throws {
        let start = Date(timeIntervalSince1970: 1_800_000_000)
        let clock = ManualClock(start)
        var server = serverConfiguration()
        server.clock = clock
        server.allowClientRenegotiation = true
        server.ticketKeys = TicketKeyRing(rotate: 10, expire: 20, start: start)
        var client = clientConfiguration()
        client.clock = clock

        var first = Pair(client: client, server: server)
        first.handshake()
        let session = try XCTUnwrap(first.clientLog.issued.last)
        clock.advance(by: 15)

        var pair = Pair(client: client, server: server, session: session)
        pair.handshake()
        XCTAssertEqual(pair.clientLog.summary?.ticketRenewed, true)
        pair.absorbClient(pair.client.renegotiate())
        pair.run()
        XCTAssertEqual(pair.clientLog.handshakes, 2)
        XCTAssertEqual(pair.serverLog.handshakes, 2)
        XCTAssertEqual(pair.clientLog.summary?.resumed, false)
        // The renegotiation's full handshake issues a fresh ticket, stored after its Finished.
        XCTAssertEqual(pair.clientLog.issued.count, 2)
        XCTAssertNil(pair.clientLog.closeError)
        XCTAssertNil(pair.serverLog.closeError)
        pair.absorbClient(pair.client.sendApplicationData(ByteBuffer(string: "ok")))
        pair.run()
        XCTAssertEqual(pair.serverLog.applicationData, Array("ok".utf8))
    }
}
