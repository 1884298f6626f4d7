import Crypto
import NIOCore
import TesseraWire
import XCTest

@testable import TesseraCrypto

final class RecordProtectionTests: XCTestCase {
    private func params(_ suite: CipherSuite) throws -> CipherSuiteParameters {
        try XCTUnwrap(suite.parameters, "\(suite)")
    }

    private func pair(_ suite: CipherSuite) throws -> (RecordProtection, RecordProtection) {
        let parameters = try params(suite)
        let key = [UInt8](repeating: 0x42, count: parameters.aead.keyLength)
        let iv = [UInt8]((0..<parameters.fixedIVLength).map { UInt8($0) })
        return (
            try RecordProtection(parameters: parameters, key: key, iv: iv),
            try RecordProtection(parameters: parameters, key: key, iv: iv)
        )
    }

    private func seal(_ protection: inout RecordProtection, _ type: ContentType, _ plaintext: [UInt8]) throws -> TLSRecord {
        var out = ByteBuffer()
        try protection.seal(contentType: type, plaintext: ByteBuffer(bytes: plaintext).readableBytesView, into: &out)
        return try parse(out)
    }

    private func parse(_ buffer: ByteBuffer) throws -> TLSRecord {
        let bytes = Array(buffer.readableBytesView)
        XCTAssertGreaterThanOrEqual(bytes.count, 5)
        let length = Int(bytes[3]) << 8 | Int(bytes[4])
        XCTAssertEqual(length, bytes.count - 5, "record length field")
        return TLSRecord(
            contentType: ContentType(rawValue: bytes[0]), version: ProtocolVersion(rawValue: UInt16(bytes[1]) << 8 | UInt16(bytes[2])),
            fragment: ByteBuffer(bytes: bytes[5...]))
    }

    private func assertCode(_ expected: TesseraCrypto.CryptoError.Code, file: StaticString = #filePath, line: UInt = #line, _ body: () throws -> Void) {
        do {
            try body()
            XCTFail("expected \(expected), no error", file: file, line: line)
        } catch let error as TesseraCrypto.CryptoError {
            XCTAssertEqual(error.code, expected, "\(error)", file: file, line: line)
        } catch {
            XCTFail("unexpected error \(error)", file: file, line: line)
        }
    }

    // MARK: - Independent cross-checks (Python `cryptography`, AESGCM / ChaCha20Poly1305)

    /// key = 00..0f, salt = a0a1a2a3, application_data "hello, TLS 1.2 record" at sequence numbers 0 and 1:
    /// nonce = salt || seq, explicit nonce = seq, AAD = seq || 17 03 03 || length.
    func testTLS12AESGCMRecordMatchesPythonCryptography() throws {
        let parameters = try params(.ecdheRSAWithAES128GCMSHA256)
        var sealer = try RecordProtection(parameters: parameters, key: [UInt8](0..<16), iv: hex("a0a1a2a3"))
        var opener = try RecordProtection(parameters: parameters, key: [UInt8](0..<16), iv: hex("a0a1a2a3"))
        let plaintext = Array("hello, TLS 1.2 record".utf8)
        let expected = [
            "170303002d0000000000000000e238a2f128a3143b1f950a125ff85bd209ebba8577b7edccf0b6379383a1a7cf4fe4444267",
            "170303002d00000000000000012e14709e03a85704cb3f6626f536b414749176f1f28e6b8dda9857d87c73a901d43d506643",
        ]
        for (sequence, expectedHex) in expected.enumerated() {
            var out = ByteBuffer()
            try sealer.seal(contentType: .applicationData, plaintext: ByteBuffer(bytes: plaintext).readableBytesView, into: &out)
            XCTAssertEqual(hexString(Array(out.readableBytesView)), expectedHex, "seq \(sequence)")
            // RFC 5288 §3: the explicit nonce on the wire is the sequence number.
            XCTAssertEqual(Array(out.readableBytesView)[5..<13], ArraySlice(withUnsafeBytes(of: UInt64(sequence).bigEndian) { Array($0) }))
            let opened = try opener.open(try parse(ByteBuffer(bytes: hex(expectedHex))))
            XCTAssertEqual(opened.contentType, .applicationData)
            XCTAssertEqual(Array(opened.plaintext.readableBytesView), plaintext)
        }
        XCTAssertEqual(sealer.sequenceNumber, 2)
        XCTAssertEqual(opener.sequenceNumber, 2)
    }

    /// RFC 7905 §2: key = 00..1f, IV = 40..4b, nonce = IV XOR seq, handshake type, no explicit nonce.
    func testTLS12ChaChaRecordMatchesPythonCryptography() throws {
        let parameters = try params(.ecdheECDSAWithChaCha20Poly1305SHA256)
        var sealer = try RecordProtection(parameters: parameters, key: [UInt8](0..<32), iv: [UInt8](0x40..<0x4C))
        let plaintext = Array("hello, TLS 1.2 record".utf8)
        let expected = [
            "1603030025903110ed1d66ce55149cd63195dd4dbfd1af0c6a20cbc7f322c495f5e58be7355996a49d65",
            "1603030025c356de18c9000afb5c6db01f40dd1b396f282ca3f8d7e36788f684d672a62543af74fe0cf4",
        ]
        for expectedHex in expected {
            var out = ByteBuffer()
            try sealer.seal(contentType: .handshake, plaintext: ByteBuffer(bytes: plaintext).readableBytesView, into: &out)
            XCTAssertEqual(hexString(Array(out.readableBytesView)), expectedHex)
        }
    }

    // MARK: - Round trips

    func testRoundTripEverySuiteAndSize() throws {
        for parameters in CipherSuiteParameters.all {
            var (sealer, opener) = try pair(parameters.suite)
            for (index, size) in [0, 1, 15, 16, 17, 1000, 16383, 16384].enumerated() {
                let plaintext = (0..<size).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ index) }
                let type: ContentType = index % 2 == 0 ? .applicationData : .handshake
                let record = try seal(&sealer, type, plaintext)
                let overhead = parameters.explicitNonceLength + 16 + (parameters.version == .tls13 ? 1 : 0)
                XCTAssertEqual(record.fragment.readableBytes, size + overhead, "\(parameters.suite)")
                XCTAssertEqual(record.contentType, parameters.version == .tls13 ? .applicationData : type)
                XCTAssertEqual(record.version, .tls12)
                let opened = try opener.open(record)
                XCTAssertEqual(opened.contentType, type, "\(parameters.suite)")
                XCTAssertEqual(Array(opened.plaintext.readableBytesView), plaintext, "\(parameters.suite) size \(size)")
                XCTAssertEqual(sealer.sequenceNumber, UInt64(index + 1))
                XCTAssertEqual(opener.sequenceNumber, UInt64(index + 1))
            }
        }
    }

    func testSealAppendsToExistingBufferAndArrayConvenience() throws {
        var (sealer, opener) = try pair(.tlsAES256GCMSHA384)
        var out = ByteBuffer(bytes: [0xAA, 0xBB])
        try sealer.seal(contentType: .alert, plaintext: [1, 0], into: &out)
        XCTAssertEqual(out.readBytes(length: 2), [0xAA, 0xBB])
        let opened = try opener.open(try parse(out))
        XCTAssertEqual(opened.contentType, .alert)
        XCTAssertEqual(Array(opened.plaintext.readableBytesView), [1, 0])
    }

    /// The same plaintext at consecutive sequence numbers gives different ciphertexts (distinct nonces).
    func testNoncesDifferPerRecord() throws {
        for parameters in CipherSuiteParameters.all {
            var (sealer, _) = try pair(parameters.suite)
            let first = try seal(&sealer, .applicationData, [1, 2, 3])
            let second = try seal(&sealer, .applicationData, [1, 2, 3])
            XCTAssertNotEqual(first.fragment, second.fragment, "\(parameters.suite)")
        }
    }

    // MARK: - Tampering

    func testEveryFlippedBitIsBadRecordMAC() throws {
        for parameters in CipherSuiteParameters.all {
            var (sealer, opener) = try pair(parameters.suite)
            let record = try seal(&sealer, .applicationData, Array("attack at dawn".utf8))
            let fragment = Array(record.fragment.readableBytesView)
            for byteIndex in fragment.indices {
                for bit in 0..<8 {
                    var tampered = fragment
                    tampered[byteIndex] ^= 1 << bit
                    var copy = record
                    copy.fragment = ByteBuffer(bytes: tampered)
                    assertCode(.badRecordMAC) { _ = try opener.open(copy) }
                }
            }
            // The header is authenticated too (type and version are in the AAD in both versions).
            var wrongType = record
            wrongType.contentType = .handshake
            assertCode(.badRecordMAC) { _ = try opener.open(wrongType) }
            var wrongVersion = record
            wrongVersion.version = .tls11
            assertCode(.badRecordMAC) { _ = try opener.open(wrongVersion) }
            // Failures did not advance the sequence number: the genuine record still opens.
            XCTAssertEqual(opener.sequenceNumber, 0)
            XCTAssertEqual(Array(try opener.open(record).plaintext.readableBytesView), Array("attack at dawn".utf8))
        }
    }

    func testTruncatedFragmentsAreBadRecordMAC() throws {
        for parameters in CipherSuiteParameters.all {
            var (sealer, opener) = try pair(parameters.suite)
            let record = try seal(&sealer, .applicationData, Array("truncate me".utf8))
            let fragment = Array(record.fragment.readableBytesView)
            for length in 0..<fragment.count {
                var copy = record
                copy.fragment = ByteBuffer(bytes: fragment.prefix(length))
                assertCode(.badRecordMAC) { _ = try opener.open(copy) }
            }
        }
    }

    func testWrongKeyOrSequenceIsBadRecordMAC() throws {
        let parameters = try params(.ecdheECDSAWithAES128GCMSHA256)
        var sealer = try RecordProtection(parameters: parameters, key: [UInt8](repeating: 1, count: 16), iv: [1, 2, 3, 4])
        var wrongKey = try RecordProtection(parameters: parameters, key: [UInt8](repeating: 2, count: 16), iv: [1, 2, 3, 4])
        let record = try seal(&sealer, .applicationData, [9, 9, 9])
        assertCode(.badRecordMAC) { _ = try wrongKey.open(record) }

        // TLS 1.3: a replayed / reordered record fails because the nonce comes from our sequence number.
        var (sealer13, opener13) = try pair(.tlsChaCha20Poly1305SHA256)
        let first = try seal(&sealer13, .applicationData, [1])
        let second = try seal(&sealer13, .applicationData, [2])
        assertCode(.badRecordMAC) { _ = try opener13.open(second) }
        XCTAssertEqual(Array(try opener13.open(first).plaintext.readableBytesView), [1])
        assertCode(.badRecordMAC) { _ = try opener13.open(first) }
    }

    // MARK: - Limits

    func testOversizePlaintextIsRejected() throws {
        for parameters in CipherSuiteParameters.all {
            var (sealer, _) = try pair(parameters.suite)
            var out = ByteBuffer()
            assertCode(.recordOverflow) {
                try sealer.seal(contentType: .applicationData, plaintext: [UInt8](repeating: 0, count: 16385), into: &out)
            }
            XCTAssertEqual(out.readableBytes, 0, "nothing written on failure")
            XCTAssertEqual(sealer.sequenceNumber, 0, "no sequence number used on failure")
        }
    }

    func testOversizeCiphertextIsRecordOverflow() throws {
        var (_, opener12) = try pair(.ecdheRSAWithAES256GCMSHA384)
        let tooLong12 = TLSRecord(contentType: .applicationData, version: .tls12, fragment: ByteBuffer(bytes: [UInt8](repeating: 7, count: 16384 + 1 + 8 + 16)))
        assertCode(.recordOverflow) { _ = try opener12.open(tooLong12) }
        var (_, opener13) = try pair(.tlsAES128GCMSHA256)
        let tooLong13 = TLSRecord(contentType: .applicationData, version: .tls12, fragment: ByteBuffer(bytes: [UInt8](repeating: 7, count: 16384 + 257)))
        assertCode(.recordOverflow) { _ = try opener13.open(tooLong13) }
    }

    /// RFC 8446 §5.4: an inner plaintext that is all zeros has no content type.
    func testTLS13AllZeroInnerPlaintext() throws {
        var (sealer, opener) = try pair(.tlsAES128GCMSHA256)
        let record = try seal(&sealer, ContentType(rawValue: 0), [0, 0, 0])
        assertCode(.invalidInnerPlaintext) { _ = try opener.open(record) }
    }

    /// RFC 8446 §5.4: zero padding after the content type is stripped. Built with swift-crypto directly.
    func testTLS13PaddingIsStripped() throws {
        let parameters = try params(.tlsAES128GCMSHA256)
        let key = [UInt8](repeating: 0x42, count: 16)
        let iv = [UInt8](0..<12)
        var opener = try RecordProtection(parameters: parameters, key: key, iv: iv)
        let inner: [UInt8] = Array("abc".utf8) + [ContentType.applicationData.rawValue] + [UInt8](repeating: 0, count: 40)
        let header: [UInt8] = [0x17, 0x03, 0x03, 0x00, UInt8(inner.count + 16)]
        let box = try AES.GCM.seal(inner, using: SymmetricKey(data: key), nonce: AES.GCM.Nonce(data: iv), authenticating: header)
        let record = TLSRecord(contentType: .applicationData, version: .tls12, fragment: ByteBuffer(bytes: Array(box.ciphertext) + Array(box.tag)))
        let opened = try opener.open(record)
        XCTAssertEqual(opened.contentType, .applicationData)
        XCTAssertEqual(Array(opened.plaintext.readableBytesView), Array("abc".utf8))
    }

    func testSequenceNumberDoesNotWrap() throws {
        var (sealer, _) = try pair(.tlsAES128GCMSHA256)
        sealer.sequenceNumber = UInt64.max
        _ = try seal(&sealer, .applicationData, [1])
        assertCode(.sequenceOverflow) { _ = try seal(&sealer, .applicationData, [2]) }
    }

    func testInvalidKeyAndIVLengths() throws {
        let parameters = try params(.ecdheRSAWithAES128GCMSHA256)
        assertCode(.invalidKey) { _ = try RecordProtection(parameters: parameters, key: [UInt8](repeating: 0, count: 32), iv: [0, 0, 0, 0]) }
        assertCode(.invalidKey) { _ = try RecordProtection(parameters: parameters, key: [UInt8](repeating: 0, count: 16), iv: [UInt8](repeating: 0, count: 12)) }
    }

    func testSuiteParameters() throws {
        XCTAssertEqual(CipherSuiteParameters.all.count, 9)
        let gcm = try params(.ecdheECDSAWithAES256GCMSHA384)
        XCTAssertEqual(gcm.version, .tls12)
        XCTAssertEqual(gcm.keyExchange, .ecdheECDSA)
        XCTAssertEqual(gcm.aead, .aes256GCM)
        XCTAssertEqual(gcm.hash, .sha384)
        XCTAssertEqual(gcm.fixedIVLength, 4)
        XCTAssertEqual(gcm.explicitNonceLength, 8)
        let chacha = try params(.ecdheRSAWithChaCha20Poly1305SHA256)
        XCTAssertEqual(chacha.fixedIVLength, 12)
        XCTAssertEqual(chacha.explicitNonceLength, 0)
        let tls13 = try params(.tlsAES256GCMSHA384)
        XCTAssertEqual(tls13.version, .tls13)
        XCTAssertEqual(tls13.keyExchange, .tls13)
        XCTAssertEqual(tls13.hash, .sha384)
        XCTAssertEqual(tls13.fixedIVLength, 12)
        for unsupported: CipherSuite in [.rsaWithAES128GCMSHA256, .ecdheRSAWithAES128CBCSHA, .nullWithNullNull, .emptyRenegotiationInfoSCSV] {
            XCTAssertNil(unsupported.parameters, "\(unsupported)")
        }
    }

    /// RFC 5246 §6.3 key block partition, checked against the Python PRF (see TLS12PRFTests).
    func testKeyBlock() throws {
        let master = TLS12.masterSecret(preMasterSecret: [UInt8](0..<48), clientRandom: [UInt8](100..<132), serverRandom: [UInt8](200..<232), hash: .sha256)
        let keys = TLS12.keyBlock(masterSecret: master, clientRandom: [UInt8](100..<132), serverRandom: [UInt8](200..<232), parameters: try params(.ecdheRSAWithAES128GCMSHA256))
        let block = hex("3ae41ae23b6022c9f89a9777799ceeb99e46b1c581178a8ff8be0cacc87ae1ffb82a41a3dd9186d8")
        XCTAssertEqual(keys.clientWriteKey, Array(block[0..<16]))
        XCTAssertEqual(keys.serverWriteKey, Array(block[16..<32]))
        XCTAssertEqual(keys.clientWriteIV, Array(block[32..<36]))
        XCTAssertEqual(keys.serverWriteIV, Array(block[36..<40]))
        let chacha = TLS12.keyBlock(masterSecret: master, clientRandom: [UInt8](100..<132), serverRandom: [UInt8](200..<232), parameters: try params(.ecdheRSAWithChaCha20Poly1305SHA256))
        XCTAssertEqual(chacha.clientWriteKey.count, 32)
        XCTAssertEqual(chacha.serverWriteIV.count, 12)
    }
}
