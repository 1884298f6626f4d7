import NIOCore
import XCTest

@testable import TesseraWire

final class MessageTests: XCTestCase {
    /// Hand-built messages of every type encode, decode back to the same value, and re-encode to
    /// the same bytes.
    func testSyntheticMessagesRoundTrip() throws {
        for (message, version) in Corpus.synthetic {
            let bytes = message.encoded(version: version)
            let raw = try RawHandshakeMessage(bytes: bytes)
            XCTAssertEqual(raw.type, message.type)
            let decoded = try HandshakeMessage(decoding: raw, version: version)
            XCTAssertEqual(decoded, message, "\(message.type)")
            XCTAssertEqual(decoded.encoded(version: version), bytes)
        }
    }

    func testEveryDecoderIsCovered() throws {
        var covered = Set<String>()
        for (bytes, version) in try Corpus.allMessages() {
            if let name = Corpus.decoderName(for: HandshakeType(bytes[0]), version: version) { covered.insert(name) }
        }
        let handshakeDecoders = Set(BodyDecoder.all.map(\.name)).subtracting(["Alert", "ChangeCipherSpec"])
        XCTAssertEqual(covered, handshakeDecoders)
    }

    func testServerKeyExchangeSignedParams() throws {
        let ske = ServerKeyExchange(
            group: .secp256r1, publicKey: [0x04, 0xAA, 0xBB], signatureScheme: .ecdsaSecp256r1SHA256, signature: [1])
        XCTAssertEqual(ske.signedParams, [0x03, 0x00, 0x17, 0x03, 0x04, 0xAA, 0xBB])
        // RFC 8422 §5.4: the signature covers client_random + server_random + the params.
        XCTAssertEqual(
            ske.signedContent(clientRandom: [0x11, 0x12], serverRandom: [0x21]),
            [0x11, 0x12, 0x21, 0x03, 0x00, 0x17, 0x03, 0x04, 0xAA, 0xBB])
        var body = WireWriter()
        ske.encode(into: &body)
        XCTAssertEqual(body.bytes, ske.signedParams + [0x04, 0x03, 0x00, 0x01, 0x01])
        // RFC 8422 §5.4: explicit curves are refused.
        assertWireError(.invalidValue) {
            _ = try ServerKeyExchange(decoding: buffer([0x01, 0x00, 0x17, 0x01, 0x04, 0x04, 0x03, 0x00, 0x00]))
        }
    }

    func testHelloRetryRequestIsAServerHelloOnTheWire() throws {
        let hrr = try XCTUnwrap(Corpus.synthetic.first { $0.0.isHelloRetryRequest }?.0)
        XCTAssertEqual(hrr.type, .serverHello)
        XCTAssertEqual(hrr.encoded(version: .tls13).bytes.first, 0x02)
        guard case .helloRetryRequest(let hello) = hrr else { return XCTFail() }
        XCTAssertEqual(hello.extension(.keyShare), .keyShareRetry(.secp384r1))
    }

    func testDowngradeSentinels() {
        XCTAssertEqual(String(decoding: ServerHello.downgradeTLS12Sentinel.prefix(7), as: UTF8.self), "DOWNGRD")
        XCTAssertEqual(ServerHello.downgradeTLS12Sentinel.last, 0x01)
        XCTAssertEqual(ServerHello.downgradeTLS11Sentinel.last, 0x00)
        XCTAssertEqual(ServerHello.helloRetryRequestRandom.count, 32)
    }

    func testUnknownHandshakeTypeDecodesAsUnknown() throws {
        let raw = RawHandshakeMessage(type: HandshakeType(0x99), body: buffer([1, 2]))
        XCTAssertEqual(try HandshakeMessage(decoding: raw, version: .tls12), .unknown(HandshakeType(0x99), [1, 2]))
        XCTAssertEqual(HandshakeType(0x99).displayName, "Unknown (0x99)")
    }

    func testVersionSelectsTheMessageForm() throws {
        // Same bytes, two meanings: a 1.2 NewSessionTicket or a truncated 1.3 one.
        let bytes = buffer([0x00, 0x00, 0x1C, 0x20, 0x00, 0x02, 0xAB, 0xCD])
        let raw = RawHandshakeMessage(type: .newSessionTicket, body: bytes)
        XCTAssertEqual(
            try HandshakeMessage(decoding: raw, version: .tls12),
            .newSessionTicket12(NewSessionTicket12(lifetimeHint: 7200, ticket: [0xAB, 0xCD])))
        XCTAssertThrowsError(try HandshakeMessage(decoding: raw, version: .tls13))
    }

    func testEncodedWithoutBindersCutsExactlyTheBinders() throws {
        guard case .clientHello(let hello) = try XCTUnwrap(Corpus.synthetic.first { $0.0.type == .clientHello }?.0) else {
            return XCTFail()
        }
        let full = HandshakeMessage.clientHello(hello).encoded(version: .tls12).bytes
        let prefix = try XCTUnwrap(hello.encodedWithoutBinders()).bytes
        // binders<33..>: 2-byte length, 1-byte length, 32 bytes of binder.
        XCTAssertEqual(full.count - prefix.count, 2 + 1 + 32)
        XCTAssertEqual(Array(full.prefix(prefix.count)), prefix)
        XCTAssertEqual(Array(full.suffix(35)), [0x00, 0x21, 0x20] + [UInt8](repeating: 0xB1, count: 32))
    }

    func testExtensionDecodingByContext() throws {
        // supported_versions: a list in the ClientHello, one version in the ServerHello.
        XCTAssertEqual(
            try Extension(decoding: .supportedVersions, body: buffer([0x04, 0x03, 0x04, 0x03, 0x03]), context: .clientHello),
            .supportedVersionsOffered([.tls13, .tls12]))
        XCTAssertEqual(
            try Extension(decoding: .supportedVersions, body: buffer([0x03, 0x04]), context: .serverHello),
            .supportedVersionSelected(.tls13))
        // early_data: empty in EE, a limit in NewSessionTicket.
        XCTAssertEqual(
            try Extension(decoding: .earlyData, body: buffer([]), context: .encryptedExtensions),
            .earlyData(maxEarlyDataSize: nil))
        XCTAssertEqual(
            try Extension(decoding: .earlyData, body: buffer([0, 0, 0x40, 0]), context: .newSessionTicket),
            .earlyData(maxEarlyDataSize: 16384))
        // key_share in a HelloRetryRequest is only a group.
        XCTAssertEqual(
            try Extension(decoding: .keyShare, body: buffer([0x00, 0x17]), context: .helloRetryRequest),
            .keyShareRetry(.secp256r1))
        // A known type in a message where it has no defined body stays opaque.
        XCTAssertEqual(
            try Extension(decoding: .keyShare, body: buffer([0x00, 0x17]), context: .encryptedExtensions),
            .unknown(.keyShare, [0x00, 0x17]))
        // Non-zero padding and non-host_name SNI are kept verbatim.
        XCTAssertEqual(
            try Extension(decoding: .padding, body: buffer([0, 1]), context: .clientHello), .unknown(.padding, [0, 1]))
        XCTAssertEqual(
            try Extension(decoding: .serverName, body: buffer([0, 4, 7, 0, 1, 0x61]), context: .clientHello),
            .unknown(.serverName, [0, 4, 7, 0, 1, 0x61]))
        // A host_name kept as a String only when its bytes survive the round trip: ASCII and
        // valid UTF-8 do, a byte that is not UTF-8 leaves the whole extension verbatim.
        XCTAssertEqual(
            try Extension(decoding: .serverName, body: buffer([0, 4, 0, 0, 1, 0x61]), context: .clientHello), .serverName(["a"]))
        XCTAssertEqual(
            try Extension(decoding: .serverName, body: buffer([0, 5, 0, 0, 2, 0xC3, 0xA9]), context: .clientHello), .serverName(["é"]))
        XCTAssertEqual(
            try Extension(decoding: .serverName, body: buffer([0, 5, 0, 0, 2, 0x61, 0xFF]), context: .clientHello),
            .unknown(.serverName, [0, 5, 0, 0, 2, 0x61, 0xFF]))
        // RFC 7301 §3.1: the server picks exactly one protocol.
        assertWireError(.invalidValue) {
            _ = try Extension(decoding: .alpn, body: buffer([0, 6, 2, 0x68, 0x32, 2, 0x68, 0x33]), context: .encryptedExtensions)
        }
        assertWireError(.trailingBytes) {
            _ = try Extension(decoding: .extendedMasterSecret, body: buffer([0]), context: .clientHello)
        }
    }

    func testExtensionEncoding() {
        var out = WireWriter()
        Extension.serverName(["server"]).encode(into: &out)
        // Straight from RFC 8448 §3's ClientHello.
        XCTAssertEqual(out.bytes.hexString, "0000000b0009000006736572766572")
        out = WireWriter()
        Extension.padding(3).encode(into: &out)
        XCTAssertEqual(out.bytes, [0x00, 0x15, 0x00, 0x03, 0, 0, 0])
        out = WireWriter()
        ExtensionList.encode([], into: &out)
        XCTAssertEqual(out.bytes, [0, 0])
    }

    func testOversizedEncoderInputsAreCutNotTrapped() throws {
        // Encoders are given valid values; a too-long one must still not crash.
        let hello = ClientHello(
            legacyVersion: .tls12, random: [1, 2, 3], sessionID: [UInt8](repeating: 1, count: 40), cipherSuites: [.tlsAES128GCMSHA256],
            compressionMethods: [0], extensions: [.renegotiationInfo([UInt8](repeating: 0, count: 300))])
        let decoded = try HandshakeMessage(
            decoding: RawHandshakeMessage(bytes: HandshakeMessage.clientHello(hello).encoded(version: .tls12)), version: .tls12)
        guard case .clientHello(let back) = decoded else { return XCTFail() }
        XCTAssertEqual(back.random.count, 32)
        XCTAssertEqual(back.sessionID.count, 32)
        XCTAssertEqual(back.extension(.renegotiationInfo), .renegotiationInfo([UInt8](repeating: 0, count: 255)))
    }
}
