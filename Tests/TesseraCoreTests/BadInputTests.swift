import NIOCore
import TesseraCore
import TesseraWire
import XCTest

/// Truncated, oversized, reordered, garbage and wrong-version input to both sides: the right
/// alert and a closed connection, never a crash or a hang.
final class BadInputTests: XCTestCase {
    private func serverAnswer(_ bytes: [UInt8]) -> (SideLog, Alert?) {
        var pair = Pair()
        pair.absorbServer(pair.server.receive(ByteBuffer(bytes: bytes)))
        return (pair.serverLog, plaintextAlert(in: pair.serverLog.sent))
    }

    private func clientAnswer(_ bytes: [UInt8]) -> (SideLog, Alert?) {
        var pair = Pair()
        pair.start()
        pair.absorbClient(pair.client.receive(ByteBuffer(bytes: bytes)))
        return (pair.clientLog, plaintextAlert(in: pair.clientLog.sent))
    }

    func testHTTPRequestToServerIsWrongVersion() {
        let (log, alert) = serverAnswer(Array("GET / HTTP/1.1\r\nHost: x\r\n\r\n".utf8))
        XCTAssertEqual(log.closeError?.code, .protocolVersion)
        XCTAssertEqual(alert, Alert(level: .fatal, alertDescription: .protocolVersion))
    }

    func testOversizedRecordIsRecordOverflow() {
        // 2^14 + 2048 + 1 bytes announced.
        let (log, alert) = serverAnswer([0x16, 0x03, 0x03, 0x48, 0x01])
        XCTAssertEqual(log.closeError?.code, .recordOverflow)
        XCTAssertEqual(alert?.alertDescription, .recordOverflow)
    }

    func testPlaintextRecordOver16KiBIsRecordOverflow() {
        let (log, alert) = serverAnswer(Array(record(.handshake, [UInt8](repeating: 1, count: 16385)).readableBytesView))
        XCTAssertEqual(log.closeError?.code, .recordOverflow)
        XCTAssertEqual(alert?.alertDescription, .recordOverflow)
    }

    func testTruncatedRecordWaitsWithoutFailing() {
        var pair = Pair()
        pair.start()
        let hello = pair.toServer[0]
        pair.toServer = []
        let truncated = hello.getSlice(at: hello.readerIndex, length: hello.readableBytes - 10) ?? hello
        pair.absorbServer(pair.server.receive(truncated))
        XCTAssertFalse(pair.serverLog.isClosed)
        XCTAssertTrue(pair.serverLog.sent.isEmpty)
        // The rest arrives later: the handshake goes on.
        let rest = hello.getSlice(at: hello.readerIndex + hello.readableBytes - 10, length: 10) ?? hello
        pair.absorbServer(pair.server.receive(rest))
        pair.run()
        XCTAssertNotNil(pair.clientLog.summary)
    }

    func testTLS10ClientHelloIsRefusedWithProtocolVersion() {
        var pair = Pair()
        pair.start()
        // Rewrite the hello's legacy_version (after the 5-byte record and 4-byte message headers).
        var hello = Array(pair.toServer[0].readableBytesView)
        hello[9] = 0x03
        hello[10] = 0x01
        let (log, alert) = serverAnswer(hello)
        XCTAssertEqual(log.closeError?.code, .protocolVersion)
        XCTAssertEqual(alert?.alertDescription, .protocolVersion)
    }

    func testClientOfferingOnlyRSAKeyExchangeGetsHandshakeFailure() {
        for suite in [CipherSuite.rsaWithAES128GCMSHA256, .rsaWithAES256CBCSHA, .ecdheRSAWithAES128CBCSHA, .nullWithNullNull] {
            let hello = ClientHello(
                legacyVersion: .tls12, random: [UInt8](repeating: 7, count: 32), sessionID: [],
                cipherSuites: [suite], compressionMethods: [0],
                extensions: [.supportedGroups([.x25519]), .signatureAlgorithms([.ecdsaSecp256r1SHA256])])
            let (log, alert) = serverAnswer(Array(record(.handshake, Array(HandshakeMessage.clientHello(hello).encoded(version: .tls12).readableBytesView)).readableBytesView))
            XCTAssertEqual(log.closeError?.code, .handshakeFailure, "\(suite)")
            XCTAssertEqual(alert?.alertDescription, .handshakeFailure, "\(suite)")
        }
    }

    func testClientWithoutSignatureAlgorithmsGetsHandshakeFailure() {
        let hello = ClientHello(
            legacyVersion: .tls12, random: [UInt8](repeating: 7, count: 32), sessionID: [],
            cipherSuites: [.ecdheECDSAWithAES128GCMSHA256], compressionMethods: [0], extensions: [])
        let (log, _) = serverAnswer(Array(record(.handshake, Array(HandshakeMessage.clientHello(hello).encoded(version: .tls12).readableBytesView)).readableBytesView))
        XCTAssertEqual(log.closeError?.code, .handshakeFailure)
    }

    func testClientOfferingOnlyTLS13GetsProtocolVersion() {
        let hello = ClientHello(
            legacyVersion: .tls12, random: [UInt8](repeating: 7, count: 32), sessionID: [],
            cipherSuites: [.tlsAES128GCMSHA256], compressionMethods: [0],
            extensions: [.supportedVersionsOffered([.tls13])])
        let (log, alert) = serverAnswer(Array(record(.handshake, Array(HandshakeMessage.clientHello(hello).encoded(version: .tls12).readableBytesView)).readableBytesView))
        XCTAssertEqual(log.closeError?.code, .protocolVersion)
        XCTAssertEqual(alert?.alertDescription, .protocolVersion)
    }

    func testGarbageHandshakeBodyIsDecodeError() {
        let (log, alert) = serverAnswer(Array(record(.handshake, [0x01, 0x00, 0x00, 0x03, 0xff, 0xff, 0xff]).readableBytesView))
        XCTAssertEqual(log.closeError?.code, .decodeError)
        XCTAssertEqual(alert?.alertDescription, .decodeError)
    }

    func testUnknownContentTypeIsUnexpectedMessage() {
        let (log, alert) = serverAnswer(Array(record(ContentType(rawValue: 99), [1, 2, 3]).readableBytesView))
        XCTAssertEqual(log.closeError?.code, .unexpectedMessage)
        XCTAssertEqual(alert?.alertDescription, .unexpectedMessage)
    }

    func testApplicationDataBeforeHandshakeIsUnexpectedMessage() {
        for answer in [serverAnswer, clientAnswer] {
            let (log, alert) = answer(Array(record(.applicationData, [1, 2, 3]).readableBytesView))
            XCTAssertEqual(log.closeError?.code, .unexpectedMessage)
            XCTAssertEqual(alert?.alertDescription, .unexpectedMessage)
        }
    }

    func testEmptyHandshakeRecordIsUnexpectedMessage() {
        let (log, alert) = serverAnswer(Array(record(.handshake, []).readableBytesView))
        XCTAssertEqual(log.closeError?.code, .unexpectedMessage)
        XCTAssertEqual(alert?.alertDescription, .unexpectedMessage)
    }

    func testBadChangeCipherSpecBodyIsFatal() {
        let (log, alert) = clientAnswer(Array(record(.changeCipherSpec, [2]).readableBytesView))
        XCTAssertNotNil(log.closeError)
        XCTAssertEqual(alert?.level, .fatal)
        XCTAssertNil(log.summary)
    }

    func testServerHelloWithWrongVersionIsProtocolVersion() {
        let hello = ServerHello(
            legacyVersion: .tls11, random: [UInt8](repeating: 1, count: 32), sessionID: [],
            cipherSuite: .ecdheECDSAWithAES128GCMSHA256, compressionMethod: 0, extensions: [])
        let (log, alert) = clientAnswer(Array(record(.handshake, Array(HandshakeMessage.serverHello(hello).encoded(version: .tls12).readableBytesView)).readableBytesView))
        XCTAssertEqual(log.closeError?.code, .protocolVersion)
        XCTAssertEqual(alert?.alertDescription, .protocolVersion)
    }

    func testServerHelloWithUnofferedSuiteIsIllegalParameter() {
        let hello = ServerHello(
            legacyVersion: .tls12, random: [UInt8](repeating: 1, count: 32), sessionID: [],
            cipherSuite: .rsaWithAES128GCMSHA256, compressionMethod: 0, extensions: [])
        let (log, alert) = clientAnswer(Array(record(.handshake, Array(HandshakeMessage.serverHello(hello).encoded(version: .tls12).readableBytesView)).readableBytesView))
        XCTAssertEqual(log.closeError?.code, .illegalParameter)
        XCTAssertEqual(alert?.alertDescription, .illegalParameter)
    }

    func testServerHelloWithUnofferedExtensionIsUnsupportedExtension() {
        let hello = ServerHello(
            legacyVersion: .tls12, random: [UInt8](repeating: 1, count: 32), sessionID: [],
            cipherSuite: .ecdheECDSAWithAES128GCMSHA256, compressionMethod: 0, extensions: [.cookie([1])])
        let (log, alert) = clientAnswer(Array(record(.handshake, Array(HandshakeMessage.serverHello(hello).encoded(version: .tls12).readableBytesView)).readableBytesView))
        XCTAssertEqual(log.closeError?.code, .unsupportedExtension)
        XCTAssertEqual(alert?.alertDescription, .unsupportedExtension)
    }

    func testRunOfWarningAlertsIsCutOff() {
        var bytes: [UInt8] = []
        for _ in 0..<10 { bytes += Array(record(.alert, [1, 90]).readableBytesView) }
        let (log, _) = serverAnswer(bytes)
        XCTAssertEqual(log.closeError?.code, .unexpectedMessage)
    }

    func testFatalAlertFromPeerClosesWithoutAnswer() {
        let (log, alert) = serverAnswer(Array(record(.alert, [2, 40]).readableBytesView))
        XCTAssertEqual(log.closeError?.code, .peerAlert(.handshakeFailure))
        XCTAssertNil(alert)
        XCTAssertTrue(log.sent.isEmpty)
    }

    func testInputAfterCloseIsIgnored() {
        var pair = Pair()
        pair.absorbServer(pair.server.receive(record(.applicationData, [1])))
        XCTAssertTrue(pair.server.isClosed)
        XCTAssertTrue(pair.server.receive(record(.handshake, [1, 0, 0, 0])).isEmpty)
    }

    func testCorruptedEncryptedRecordIsBadRecordMAC() {
        var pair = Pair()
        pair.handshake()
        var data: ByteBuffer?
        for case .send(let bytes) in pair.client.sendApplicationData(ByteBuffer(string: "hello")) { data = bytes }
        guard var corrupted = data else { return XCTFail("nothing sent") }
        let last = corrupted.writerIndex - 1
        corrupted.setInteger((corrupted.getInteger(at: last, as: UInt8.self) ?? 0) ^ 1, at: last)
        pair.absorbServer(pair.server.receive(corrupted))
        XCTAssertEqual(pair.serverLog.closeError?.code, .badRecordMAC)
    }

    /// Random bytes fed to a fresh server, in random chunk sizes: it must fail or wait, never
    /// crash; deterministic seed.
    func testRandomGarbageNeverCrashes() {
        var seed: UInt64 = 0x9e37_79b9_7f4a_7c15
        func next() -> UInt64 {
            seed ^= seed << 13
            seed ^= seed >> 7
            seed ^= seed << 17
            return seed
        }
        var hello: [UInt8] = []
        do {
            var pair = Pair()
            pair.start()
            hello = Array(pair.toServer[0].readableBytesView)
        }
        var failures = 0
        for _ in 0..<2000 {
            var bytes = hello
            for _ in 0..<(1 + Int(next() % 4)) {
                let index = Int(next() % UInt64(bytes.count))
                bytes[index] = UInt8(truncatingIfNeeded: next())
            }
            var server = ServerConnection(configuration: serverConfiguration())
            var offset = 0
            while offset < bytes.count {
                let size = 1 + Int(next() % 64)
                let end = min(bytes.count, offset + size)
                let actions = server.receive(ByteBuffer(bytes: bytes[offset..<end]))
                for action in actions { if case .closed = action { failures += 1 } }
                offset = end
            }
        }
        // Most mutations are caught; the rest are harmless fields (random bytes, extension order).
        XCTAssertGreaterThan(failures, 100)
    }
}
