import NIOCore
import TesseraWire
import XCTest

@testable import TesseraCrypto

final class TranscriptAndScheduleTests: XCTestCase {
    private let messages: [[UInt8]] = [[0x01, 0, 0, 2, 0xAA, 0xBB], [0x02, 0, 0, 1, 0xCC], [0x0B, 0, 0, 0]]

    func testBufferingThenSelectingMatchesDirectHashing() {
        var buffered = Transcript()
        XCTAssertNil(buffered.hashAlgorithm)
        XCTAssertEqual(buffered.currentHash(), [])
        buffered.append(bytes: messages[0])
        buffered.append(ByteBuffer(bytes: messages[1]))
        XCTAssertEqual(buffered.bufferedBytes, messages[0] + messages[1])
        buffered.selectHash(.sha384)
        XCTAssertEqual(buffered.hashAlgorithm, .sha384)
        XCTAssertEqual(buffered.bufferedBytes, [])
        XCTAssertEqual(buffered.currentHash(), TLS13.digest(messages[0] + messages[1], hash: .sha384))
        // currentHash does not disturb the running hash.
        buffered.append(bytes: messages[2])
        XCTAssertEqual(buffered.currentHash(), TLS13.digest(messages.flatMap { $0 }, hash: .sha384))
        // A second selection is ignored.
        buffered.selectHash(.sha256)
        XCTAssertEqual(buffered.hashAlgorithm, .sha384)

        var direct = Transcript(hash: .sha256)
        for message in messages { direct.append(bytes: message) }
        XCTAssertEqual(direct.currentHash(), TLS13.digest(messages.flatMap { $0 }, hash: .sha256))
    }

    /// A ByteBuffer with a non-zero reader index contributes only its readable bytes.
    func testAppendByteBufferUsesReadableBytes() {
        var buffer = ByteBuffer(bytes: [0xFF, 0xFF] + messages[0])
        buffer.moveReaderIndex(forwardBy: 2)
        var transcript = Transcript(hash: .sha256)
        transcript.append(buffer)
        XCTAssertEqual(transcript.currentHash(), TLS13.digest(messages[0], hash: .sha256))
    }

    /// RFC 8446 §4.4.1: message_hash = 0xFE 00 00 Hash.length Hash(ClientHello1).
    func testReplaceWithMessageHash() {
        var transcript = Transcript()
        transcript.append(bytes: messages[0])
        transcript.selectHash(.sha256)
        transcript.replaceWithMessageHash()
        let synthetic = [0xFE, 0, 0, 32] + TLS13.digest(messages[0], hash: .sha256)
        XCTAssertEqual(transcript.currentHash(), TLS13.digest(synthetic, hash: .sha256))
    }

    /// Expected values from Python's hmac/hashlib (HKDF-Expand-Label written out from RFC 8446 §7.1).
    func testKeyUpdateAndSHA384Expansion() throws {
        XCTAssertEqual(
            hexString(KeySchedule13.nextTrafficSecret([UInt8](0..<32), hash: .sha256)),
            "2cecd0a17506ef5fa73edc062d6e7b5397cf074ec1b4d8f99a120772932f0b45")
        XCTAssertEqual(
            hexString(KeySchedule13.nextTrafficSecret([UInt8](0..<48), hash: .sha384)),
            "401331b63e9d59f202e8f041042d9516f4cd7fa2e2ee14631d3b49fc340d7af37fc2c0c9f252d8036f81ec5b85cbe5db")
        let keys = KeySchedule13.trafficKeys(secret: [UInt8](0..<48), parameters: try XCTUnwrap(CipherSuite.tlsAES256GCMSHA384.parameters))
        XCTAssertEqual(hexString(keys.key), "6877d022f1c61d24ebb7487c16752d9a4798e40431c75b39320e537c90e23225")
        XCTAssertEqual(hexString(keys.iv), "42822531a0fe88648fc09e9f")
        XCTAssertEqual(
            hexString(TLS13.exporter(exporterMasterSecret: [UInt8](0..<32), label: "EXPORTER-test", context: Array("context".utf8), length: 20, hash: .sha256)),
            "f1a75acca477e4a419dd05ec070db6edbebe00f2")
    }

    /// psk_ke: no (EC)DHE input means Hash.length zeros (RFC 8446 §7.1).
    func testEmptySharedSecretStandsForZeros() {
        var a = KeySchedule13(hash: .sha256, psk: [UInt8](repeating: 7, count: 32))
        var b = a
        a.deriveHandshakeSecret(sharedSecret: [])
        b.deriveHandshakeSecret(sharedSecret: [UInt8](repeating: 0, count: 32))
        XCTAssertEqual(a.handshakeSecret, b.handshakeSecret)
        XCTAssertNotEqual(KeySchedule13(hash: .sha256, psk: nil).earlySecret, KeySchedule13(hash: .sha256, psk: [UInt8](repeating: 7, count: 32)).earlySecret)
        XCTAssertNotEqual(a.binderKey(external: true), a.binderKey(external: false))
    }
}
