import NIOCore
import XCTest

@testable import TesseraWire

final class ValueTests: XCTestCase {
    func testHexRoundTrip() {
        XCTAssertEqual([UInt8](hexString: "00ff1A b2"), [0x00, 0xFF, 0x1A, 0xB2])
        XCTAssertEqual([0x00, 0xFF, 0x1A].hexString, "00ff1a")
        XCTAssertNil([UInt8](hexString: "abc"))
        XCTAssertNil([UInt8](hexString: "zz"))
        XCTAssertEqual([UInt8](hexString: ""), [])
    }

    /// `String(validatingUTF8Bytes:)`: ASCII takes a short path, everything else the standard
    /// library's validation; both must agree with a strict UTF-8 decoder.
    func testUTF8TextValidation() {
        XCTAssertEqual(String(validatingUTF8Bytes: Array("localhost".utf8)), "localhost")
        XCTAssertEqual(String(validatingUTF8Bytes: []), "")
        XCTAssertEqual(String(validatingUTF8Bytes: [0x00, 0x7F]), "\u{0}\u{7F}")
        XCTAssertEqual(String(validatingUTF8Bytes: Array("bücher.example".utf8)), "bücher.example")
        XCTAssertEqual(String(validatingUTF8Bytes: Array("h2 \u{1F600}".utf8)), "h2 \u{1F600}")
        XCTAssertNil(String(validatingUTF8Bytes: [0x61, 0x80]))  // lone continuation byte
        XCTAssertNil(String(validatingUTF8Bytes: [0xC0, 0xAF]))  // overlong '/'
        XCTAssertNil(String(validatingUTF8Bytes: [0xE2, 0x82]))  // truncated sequence
        XCTAssertNil(String(validatingUTF8Bytes: [0xED, 0xA0, 0x80]))  // a surrogate
        XCTAssertNil(String(validatingUTF8Bytes: [0xFF]))
        // A slice inside other bytes, as the decoders pass them.
        let framed: [UInt8] = [0xFF] + Array("abc".utf8) + [0xFF]
        XCTAssertEqual(String(validatingUTF8Bytes: framed[1..<4]), "abc")
        // Every single byte: ASCII alone is accepted.
        for byte in UInt8.min...UInt8.max {
            XCTAssertEqual(String(validatingUTF8Bytes: [byte]) != nil, byte < 0x80, "byte \(byte)")
        }
    }

    func testDescriptions() {
        XCTAssertEqual(ProtocolVersion.tls12.description, "TLSv1.2")
        XCTAssertEqual(ProtocolVersion.tls10.displayName, "TLS 1.0")
        XCTAssertEqual(ProtocolVersion(0x0305).displayName, "TLS 0x0305")
        XCTAssertEqual(CipherSuite.ecdheRSAWithAES128GCMSHA256.ianaName, "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256")
        XCTAssertEqual(CipherSuite.ecdheECDSAWithChaCha20Poly1305SHA256.openSSLName, "ECDHE-ECDSA-CHACHA20-POLY1305")
        XCTAssertEqual(CipherSuite.rsaWithAES256CBCSHA.openSSLName, "AES256-SHA")
        XCTAssertEqual(CipherSuite.tlsAES128GCMSHA256.openSSLName, "TLS_AES_128_GCM_SHA256")
        XCTAssertEqual(CipherSuite(0x1a2b).description, "0x1a2b")
        XCTAssertEqual(AlertDescription.unexpectedMessage.description, "unexpected_message")
        XCTAssertEqual(AlertDescription.noRenegotiation.description, "no_renegotiation")
        XCTAssertEqual(AlertDescription(0xEE).description, "0xee")
        XCTAssertEqual(HandshakeType.newSessionTicket.displayName, "NewSessionTicket")
        XCTAssertEqual(ContentType.applicationData.displayName, "ApplicationData")
        XCTAssertEqual(NamedGroup.secp256r1.description, "P-256")
        XCTAssertEqual(Alert(level: .fatal, alertDescription: .unexpectedMessage).description, "fatal unexpected_message")
    }

    func testAlertAndCCS() throws {
        let alert = try Alert(decoding: ByteBuffer(bytes: [0x02, 0x0A]))
        XCTAssertEqual(alert.level, .fatal)
        XCTAssertEqual(alert.alertDescription, .unexpectedMessage)
        var out = ByteBuffer()
        alert.encode(into: &out)
        XCTAssertEqual(Array(out.readableBytesView), [0x02, 0x0A])
        XCTAssertThrowsError(try Alert(decoding: ByteBuffer(bytes: [0x02])))
        XCTAssertThrowsError(try Alert(decoding: ByteBuffer(bytes: [0x02, 0x0A, 0x00])))
        XCTAssertNoThrow(try ChangeCipherSpec.validate(ByteBuffer(bytes: ChangeCipherSpec.body)))
        XCTAssertThrowsError(try ChangeCipherSpec.validate(ByteBuffer(bytes: [0x02])))
        XCTAssertThrowsError(try ChangeCipherSpec.validate(ByteBuffer(bytes: [])))
        XCTAssertThrowsError(try ChangeCipherSpec.validate(ByteBuffer(bytes: [0x01, 0x01])))
    }
}
