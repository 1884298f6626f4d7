import NIOCore
import XCTest

@testable import TesseraWire

final class MalformedTests: XCTestCase {
    private func decoder(_ name: String) throws -> BodyDecoder {
        try XCTUnwrap(BodyDecoder.all.first { $0.name == name }, name)
    }

    /// Where a prefix of a valid body is itself valid: a ClientHello/ServerHello cut right after the
    /// compression field is a hello without extensions (RFC 5246 §7.4.1.2); a Finished is opaque.
    private func validPrefixes(type: HandshakeType, body: [UInt8]) -> Set<Int> {
        switch type {
        case .clientHello:
            guard body.count > 35 else { return [] }
            var at = 35 + Int(body[34])
            guard at + 2 <= body.count else { return [] }
            at += 2 + (Int(body[at]) << 8 | Int(body[at + 1]))
            guard at < body.count else { return [] }
            return [at + 1 + Int(body[at])]
        case .serverHello:
            guard body.count > 35 else { return [] }
            return [35 + Int(body[34]) + 3]
        case .finished:
            return Set(1..<body.count)
        default:
            return []
        }
    }

    func testTruncationAtEveryPositionThrows() throws {
        var cuts = 0
        for (bytes, version) in try Corpus.allMessages() {
            let type = HandshakeType(bytes[0])
            let body = Array(bytes.dropFirst(4))
            guard let name = Corpus.decoderName(for: type, version: version) else { continue }
            let decode = try decoder(name).decode
            let allowed = validPrefixes(type: type, body: body)
            for cut in 0..<body.count where !allowed.contains(cut) {
                XCTAssertThrowsError(try decode(buffer(Array(body.prefix(cut)))), "\(name) cut at \(cut)/\(body.count)")
                cuts += 1
            }
            // The whole message cut anywhere is a framing error before any body is read.
            for cut in 0..<bytes.count {
                XCTAssertThrowsError(try RawHandshakeMessage(bytes: buffer(Array(bytes.prefix(cut)))))
            }
        }
        XCTAssertGreaterThan(cuts, 5000)
        for name in ["Alert", "ChangeCipherSpec"] {
            XCTAssertThrowsError(try decoder(name).decode(buffer([])))
        }
        XCTAssertThrowsError(try decoder("Alert").decode(buffer([0x02])))
    }

    func testTrailingByteIsRejected() throws {
        for (bytes, version) in try Corpus.allMessages() {
            let type = HandshakeType(bytes[0])
            let body = Array(bytes.dropFirst(4))
            guard let name = Corpus.decoderName(for: type, version: version), type != .finished else { continue }
            let decode = try decoder(name).decode
            let isHelloWithoutExtensions = (type == .clientHello || type == .serverHello) && validPrefixes(type: type, body: body + [0]).contains(body.count)
            // A hello without extensions reads a trailing byte as the start of an extensions block.
            let expected: WireError.Code = isHelloWithoutExtensions ? .truncated : .trailingBytes
            assertWireError(expected) { try decode(buffer(body + [0x00])) }
        }
        assertWireError(.trailingBytes) { _ = try Alert(decoding: buffer([2, 10, 0])) }
        assertWireError(.trailingBytes) { try ChangeCipherSpec.validate(buffer([1, 1])) }
    }

    // MARK: ClientHello field bounds

    private func clientHelloBody(
        sessionID: [UInt8] = [], suites: [UInt8] = [0x13, 0x01], compression: [UInt8] = [0], extensions: [UInt8]? = nil
    ) -> [UInt8] {
        var body: [UInt8] = [0x03, 0x03] + [UInt8](repeating: 0x5A, count: 32)
        body += [UInt8(truncatingIfNeeded: sessionID.count)] + sessionID
        body += [UInt8(truncatingIfNeeded: suites.count >> 8), UInt8(truncatingIfNeeded: suites.count)] + suites
        body += [UInt8(truncatingIfNeeded: compression.count)] + compression
        if let extensions {
            body += [UInt8(truncatingIfNeeded: extensions.count >> 8), UInt8(truncatingIfNeeded: extensions.count)] + extensions
        }
        return body
    }

    func testClientHelloBounds() throws {
        XCTAssertNoThrow(try ClientHello(decoding: buffer(clientHelloBody(sessionID: [UInt8](repeating: 1, count: 32)))))
        assertWireError(.invalidLength) {
            _ = try ClientHello(decoding: buffer(self.clientHelloBody(sessionID: [UInt8](repeating: 1, count: 33))))
        }
        assertWireError(.invalidLength) { _ = try ClientHello(decoding: buffer(self.clientHelloBody(suites: [0x13, 0x01, 0x13]))) }
        assertWireError(.invalidLength) { _ = try ClientHello(decoding: buffer(self.clientHelloBody(suites: []))) }
        assertWireError(.invalidLength) { _ = try ClientHello(decoding: buffer(self.clientHelloBody(compression: []))) }
        // Random is exactly 32 bytes: with 31 every later field shifts and the input runs out.
        assertWireError(.truncated) { _ = try ClientHello(decoding: buffer([0x03, 0x03] + [UInt8](repeating: 0, count: 31))) }
        // An empty extensions block is accepted (RFC 5246 allows <0..2^16-1>).
        XCTAssertEqual(try ClientHello(decoding: buffer(clientHelloBody(extensions: []))).extensions, [])
    }

    func testDuplicateExtension() throws {
        let ems: [UInt8] = [0x00, 0x17, 0x00, 0x00]
        assertWireError(.duplicateExtension) {
            _ = try ClientHello(decoding: buffer(self.clientHelloBody(extensions: ems + ems)))
        }
        // Same type, different bodies: still a duplicate.
        let sni1: [UInt8] = [0x00, 0x00, 0x00, 0x00]
        let sni2: [UInt8] = [0x00, 0x00, 0x00, 0x06, 0x00, 0x04, 0x00, 0x00, 0x01, 0x61]
        assertWireError(.duplicateExtension) { _ = try EncryptedExtensions(decoding: buffer([0x00, 14] + sni1 + sni2)) }
        var block = buffer([0x00, 0x08] + ems + ems)
        assertWireError(.duplicateExtension) { _ = try ExtensionList.decode(&block, context: .serverHello) }
    }

    /// The duplicate check in each of its modes: types below 64 (a bitmask), up to four others
    /// (inline), and more (a set), on both sides of each boundary, in a ClientHello as a hostile
    /// peer could send it.
    func testDuplicateExtensionInEveryRangeOfTypes() throws {
        func empty(_ type: UInt16) -> [UInt8] { [UInt8(type >> 8), UInt8(type & 0xFF), 0x00, 0x00] }
        let high: [UInt16] = (0..<40).map { 0x1000 + $0 * 0x0101 }  // unknown types, none below 64
        for count in [1, 3, 4, 5, 16, 17, 40] {
            let distinct = empty(0x0017) + high.prefix(count).flatMap(empty)
            let decoded = try ClientHello(decoding: buffer(clientHelloBody(extensions: distinct)))
            XCTAssertEqual(decoded.extensions.count, count + 1, "\(count) distinct high types")
            for repeated in [UInt16(0x0017), high[0], high[count / 2], high[count - 1]] {
                assertWireError(.duplicateExtension) {
                    _ = try ClientHello(decoding: buffer(self.clientHelloBody(extensions: distinct + empty(repeated))))
                }
            }
        }
        // Type 63, the last bit of the mask, and 64, the first type past it.
        XCTAssertEqual(try ClientHello(decoding: buffer(clientHelloBody(extensions: empty(63) + empty(64)))).extensions.count, 2)
        assertWireError(.duplicateExtension) { _ = try ClientHello(decoding: buffer(self.clientHelloBody(extensions: empty(63) + empty(63)))) }
        assertWireError(.duplicateExtension) { _ = try ClientHello(decoding: buffer(self.clientHelloBody(extensions: empty(64) + empty(64)))) }
    }

    func testPreSharedKeyMustBeLastInClientHello() throws {
        let psk: [UInt8] =
            [0x00, 0x29, 0x00, 0x2F]  // type, length 47
            + [0x00, 0x0A, 0x00, 0x04, 0xAA, 0xBB, 0xCC, 0xDD, 0x00, 0x00, 0x00, 0x01]  // identities
            + [0x00, 0x21, 0x20] + [UInt8](repeating: 0xB0, count: 32)  // binders
        let ems: [UInt8] = [0x00, 0x17, 0x00, 0x00]
        let good = try ClientHello(decoding: buffer(clientHelloBody(extensions: ems + psk)))
        XCTAssertEqual(good.extensions.last?.type, .preSharedKey)
        XCTAssertNotNil(good.encodedWithoutBinders())
        assertWireError(.invalidValue) { _ = try ClientHello(decoding: buffer(self.clientHelloBody(extensions: psk + ems))) }
        // In a ServerHello pre_shared_key is a uint16 and may sit anywhere.
        var serverBlock = buffer([0x00, 0x0A, 0x00, 0x29, 0x00, 0x02, 0x00, 0x00] + ems)
        XCTAssertEqual(
            try ExtensionList.decode(&serverBlock, context: .serverHello), [.preSharedKeySelected(0), .extendedMasterSecret])
    }

    func testPreSharedKeyBinderCountMustMatch() {
        let body: [UInt8] =
            [0x00, 0x0A, 0x00, 0x04, 0xAA, 0xBB, 0xCC, 0xDD, 0x00, 0x00, 0x00, 0x01]
            + [0x00, 0x42, 0x20] + [UInt8](repeating: 0xB0, count: 32) + [0x20] + [UInt8](repeating: 0xB1, count: 32)
        assertWireError(.invalidValue) { _ = try Extension(decoding: .preSharedKey, body: buffer(body), context: .clientHello) }
        // A 31-byte binder is below PskBinderEntry<32..255>.
        let short: [UInt8] =
            [0x00, 0x0A, 0x00, 0x04, 0xAA, 0xBB, 0xCC, 0xDD, 0x00, 0x00, 0x00, 0x01]
            + [0x00, 0x21, 0x1F] + [UInt8](repeating: 0xB0, count: 32)
        assertWireError(.invalidLength) { _ = try Extension(decoding: .preSharedKey, body: buffer(short), context: .clientHello) }
    }

    func testExtensionBodyBounds() {
        // supported_groups with an odd length, signature_algorithms empty, empty cookie, empty
        // key_exchange, ALPN with an empty protocol name, HostName of zero length.
        let cases: [(ExtensionType, [UInt8], ExtensionContext, WireError.Code)] = [
            (.supportedGroups, [0x00, 0x03, 0x00, 0x1D, 0x00], .clientHello, .invalidLength),
            (.signatureAlgorithms, [0x00, 0x00], .clientHello, .invalidLength),
            (.cookie, [0x00, 0x00], .helloRetryRequest, .invalidLength),
            (.keyShare, [0x00, 0x1D, 0x00, 0x00], .serverHello, .invalidLength),
            (.alpn, [0x00, 0x02, 0x00, 0x00], .clientHello, .invalidLength),
            (.serverName, [0x00, 0x03, 0x00, 0x00, 0x00], .clientHello, .invalidLength),
            (.supportedVersions, [0x03, 0x03, 0x04, 0x03], .clientHello, .invalidLength),
            (.pskKeyExchangeModes, [0x00], .clientHello, .invalidLength),
            (.ecPointFormats, [0x00], .clientHello, .invalidLength),
            (.supportedVersions, [0x03, 0x04, 0x00], .serverHello, .trailingBytes),
            (.renegotiationInfo, [0x05, 0x00], .serverHello, .truncated),
            (.earlyData, [0x00, 0x00, 0x00], .newSessionTicket, .truncated),
        ]
        for (type, body, context, code) in cases {
            assertWireError(code) { _ = try Extension(decoding: type, body: buffer(body), context: context) }
        }
    }

    func testKeyUpdateAndCCSValues() {
        assertWireError(.invalidValue) { _ = try KeyUpdate(decoding: buffer([0x02])) }
        assertWireError(.invalidValue) { try ChangeCipherSpec.validate(buffer([0x00])) }
        assertWireError(.invalidLength) { _ = try Finished(decoding: buffer([])) }
        assertWireError(.invalidLength) { _ = try NewSessionTicket13(decoding: buffer([0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 0, 0])) }
    }

    // MARK: RFC 8446 §4.2 table

    func testValidateTLS13ExtensionsTable() {
        let keyShare = Extension.keyShareSelected(KeyShareEntry(group: .x25519, keyExchange: [1]))
        let notAllowed: [(Extension, ExtensionContext)] = [
            (keyShare, .encryptedExtensions),
            (.sessionTicket([]), .serverHello),
            (.extendedMasterSecret, .encryptedExtensions),
            (.cookie([1]), .serverHello),
            (.padding(1), .encryptedExtensions),
            (.unknown(ExtensionType(0x4A4A), []), .encryptedExtensions),
            (.unknown(ExtensionType(0x4A4A), []), .serverHello),
            (.unknown(.oidFilters, []), .clientHello),
            (.signatureAlgorithms([.ed25519]), .encryptedExtensions),
            (.earlyData(maxEarlyDataSize: nil), .serverHello),
            (.alpn([[0x68]]), .certificate),
            (.preSharedKeySelected(0), .helloRetryRequest),
            (.pskKeyExchangeModes([.pskDHEKE]), .newSessionTicket),
            (.supportedVersionSelected(.tls13), .encryptedExtensions),
        ]
        for (ext, context) in notAllowed {
            assertWireError(.extensionNotAllowed) { try validateTLS13Extensions([ext], in: context) }
        }
        let allowed: [(Extension, ExtensionContext)] = [
            (keyShare, .serverHello),
            (.keyShareRetry(.x25519), .helloRetryRequest),
            (.cookie([1]), .helloRetryRequest),
            (.earlyData(maxEarlyDataSize: 1), .newSessionTicket),
            (.earlyData(maxEarlyDataSize: nil), .encryptedExtensions),
            (.statusRequest([]), .certificate),
            (.serverName([]), .encryptedExtensions),
            (.alpn([[0x68]]), .encryptedExtensions),
            (.signatureAlgorithms([.ed25519]), .certificateRequest),
            (.unknown(.oidFilters, []), .certificateRequest),
            (.unknown(ExtensionType(0x4A4A), []), .clientHello),
            (.unknown(ExtensionType(0x4A4A), []), .newSessionTicket),
            (.unknown(ExtensionType(0x4A4A), []), .certificateRequest),
            (.sessionTicket([]), .clientHello),
            (.renegotiationInfo([]), .clientHello),
            (.unknown(.recordSizeLimit, [0x40, 0x01]), .encryptedExtensions),
        ]
        for (ext, context) in allowed {
            XCTAssertNoThrow(try validateTLS13Extensions([ext], in: context), "\(ext) in \(context)")
        }
    }

    func testTLS13OnlyMessagesApplyTheTable() {
        // EncryptedExtensions carrying key_share.
        assertWireError(.extensionNotAllowed) {
            _ = try EncryptedExtensions(decoding: buffer([0x00, 0x08, 0x00, 0x33, 0x00, 0x04, 0x00, 0x1D, 0x00, 0x00]))
        }
        // A TLS 1.3 ServerHello (supported_versions = 0x0304) carrying session_ticket.
        var body: [UInt8] = [0x03, 0x03] + [UInt8](repeating: 1, count: 32) + [0x00, 0x13, 0x01, 0x00]
        body += [0x00, 0x0A, 0x00, 0x2B, 0x00, 0x02, 0x03, 0x04, 0x00, 0x23, 0x00, 0x00]
        assertWireError(.extensionNotAllowed) { _ = try ServerHello(decoding: buffer(body)) }
        // The same extensions with 0x0303 are a TLS 1.2 ServerHello: judged by the client, not here.
        body[body.count - 5] = 0x03
        XCTAssertNoThrow(try ServerHello(decoding: buffer(body)))
        // NewSessionTicket13 with a ClientHello-only extension.
        assertWireError(.extensionNotAllowed) {
            _ = try NewSessionTicket13(
                decoding: buffer([0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 1, 0xAA, 0x00, 0x06, 0x00, 0x2D, 0x00, 0x02, 0x01, 0x01]))
        }
    }
}
