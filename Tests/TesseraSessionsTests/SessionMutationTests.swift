import Foundation
import TesseraSessions
import TesseraWire
import XCTest

/// Garbage, truncated and wrong-version sessions: always a `SessionError`, never a crash.
final class SessionMutationTests: XCTestCase {
    func testGarbageIsNotDER() {
        for garbage in [[], [0x00], [0x30], [0x30, 0x80], [0x30, 0x05, 0x02], [0xFF, 0xFF, 0xFF], Array("hello".utf8)] as [[UInt8]] {
            assertSessionError(.notDER, "\(garbage)") { _ = try SessionState(derEncoded: garbage) }
        }
        // Well-formed DER that is not a SEQUENCE.
        assertSessionError(.notDER) { _ = try SessionState(derEncoded: [0x02, 0x01, 0x01]) }
        // A certificate is a SEQUENCE but not a session.
        assertSessionError(.invalidField) { _ = try SessionState(derEncoded: try certificateDER("server-ec.crt")) }
        // An empty SEQUENCE lacks everything.
        assertSessionError(.missingField) { _ = try SessionState(derEncoded: [0x30, 0x00]) }
    }

    func testEveryTruncationOfEveryVectorFailsCleanly() throws {
        for name in vectorNames {
            for der in [try derOfPEM(try vectorText("\(name).pem")), try vectorBytes("\(name).ticket-plaintext.der")] {
                for length in 0..<der.count {
                    do {
                        _ = try SessionState(derEncoded: Array(der.prefix(length)))
                        XCTFail("\(name) truncated to \(length) bytes decoded")
                    } catch {
                        XCTAssertFalse(error.message.isEmpty)
                    }
                }
                // Trailing bytes after the SEQUENCE are not a session either.
                assertSessionError(.notDER) { _ = try SessionState(derEncoded: der + [0x00]) }
            }
        }
    }

    func testWrongVersionsAreUnsupported() throws {
        let session = try SessionState(pemEncoded: try vectorText("nginx-tls12-key48.pem"))
        let der = session.derEncoded()
        // Byte 6 is the SSL_SESSION version's value (30 82 LL LL 02 01 01): 2 is unknown.
        var version2 = der
        XCTAssertEqual(Array(version2[4...6]), [0x02, 0x01, 0x01])
        version2[6] = 0x02
        assertSessionError(.unsupportedVersion) { _ = try SessionState(derEncoded: version2) }

        for protocolVersion: UInt16 in [0x0300, 0x0301, 0x0302, 0x0305, 0xFEFD, 0x7F1C] {
            var other = session
            other.version = ProtocolVersion(rawValue: protocolVersion)
            assertSessionError(.unsupportedVersion, "\(protocolVersion)") { _ = try SessionState(derEncoded: other.derEncoded()) }
        }
    }

    func testOutOfRangeFieldsAreInvalid() throws {
        let base = try SessionStateTests.syntheticSessions()[2].1
        var longID = base
        longID.sessionID = Array(repeating: 1, count: 33)
        assertSessionError(.invalidField) { _ = try SessionState(derEncoded: longID.derEncoded()) }
        var longContext = base
        longContext.sessionIDContext = Array(repeating: 1, count: 33)
        assertSessionError(.invalidField) { _ = try SessionState(derEncoded: longContext.derEncoded()) }
        var badHost = base
        badHost.hostname = "a\u{0}b"
        assertSessionError(.invalidField) { _ = try SessionState(derEncoded: badHost.derEncoded()) }
        // A host name that is not UTF-8: [6] { OCTET STRING FF FE }.
        var host = base
        host.hostname = "ab"
        var hostContent = SessionStateTests.sequenceContent(host.derEncoded())
        let hostAt = Self.index(ofTag: 0xA6, in: hostContent)
        XCTAssertEqual(Array(hostContent[hostAt..<hostAt + 6]), [0xA6, 0x04, 0x04, 0x02, 0x61, 0x62])
        hostContent.replaceSubrange(hostAt + 4..<hostAt + 6, with: [0xFF, 0xFE])
        assertSessionError(.invalidField) { _ = try SessionState(derEncoded: SessionStateTests.rewrap(hostContent)) }
        // An explicit tag written as a primitive: [2] 0x82 instead of 0xA2.
        var primitiveTag = SessionStateTests.sequenceContent(base.derEncoded())
        let timeoutAt = Self.index(ofTag: 0xA2, in: primitiveTag)
        XCTAssertLessThan(timeoutAt, primitiveTag.count)
        primitiveTag[timeoutAt] = 0x82
        assertSessionError(.invalidField) { _ = try SessionState(derEncoded: SessionStateTests.rewrap(primitiveTag)) }

        // [1] time twice: DER order is broken.
        let content = SessionStateTests.sequenceContent(base.derEncoded())
        let time: [UInt8] = [0xA1, 0x06, 0x02, 0x04, 0x3B, 0x9A, 0xCA, 0x00]
        assertSessionError(.invalidField) { _ = try SessionState(derEncoded: SessionStateTests.rewrap(content + time)) }
        // A 3-byte cipher.
        var cipher3 = content
        XCTAssertEqual(Array(cipher3[7...8]), [0x04, 0x02])
        cipher3[8] = 0x03
        cipher3.insert(0x00, at: 9)
        assertSessionError(.invalidField) { _ = try SessionState(derEncoded: SessionStateTests.rewrap(cipher3)) }
        // A negative timeout.
        let timeoutField: [UInt8] = [0xA2, 0x03, 0x02, 0x01, 0xFF]
        let withoutTimeout = Self.removing(tag: 0xA2, from: content)
        let insertAt = Self.index(ofTag: 0xA4, in: withoutTimeout)
        var negative = withoutTimeout
        negative.insert(contentsOf: timeoutField, at: insertAt)
        assertSessionError(.invalidField) { _ = try SessionState(derEncoded: SessionStateTests.rewrap(negative)) }
    }

    func testPEMErrors() throws {
        assertSessionError(.notPEM) { _ = try SessionState(pemEncoded: "") }
        assertSessionError(.notPEM) { _ = try SessionState(pemEncoded: "not pem at all") }
        assertSessionError(.notPEM) { _ = try SessionState(pemEncoded: try vectorText("server-ec.crt")) }
        assertSessionError(.notPEM) {
            _ = try SessionState(pemEncoded: "-----BEGIN SSL SESSION PARAMETERS-----\n!!!!\n-----END SSL SESSION PARAMETERS-----\n")
        }
        assertSessionError(.notDER) {
            _ = try SessionState(pemEncoded: "-----BEGIN SSL SESSION PARAMETERS-----\nAAAA\n-----END SSL SESSION PARAMETERS-----\n")
        }
        // A session after a certificate in the same file is found.
        let session = try vectorText("nginx-tls13-key80.pem")
        XCTAssertEqual(try SessionState(pemEncoded: try vectorText("server-ec.crt") + session), try SessionState(pemEncoded: session))
    }

    /// A small deterministic mutation loop: flip, set, insert and delete bytes of every vector's DER and
    /// PEM. Each result decodes or throws a `SessionError`; whatever decodes re-encodes and reads back.
    func testMutatedVectorsNeverCrash() throws {
        var random = SplitMix64(seed: 0x5E55_1035)
        var decoded = 0
        var rejected = 0
        for name in vectorNames {
            let pem = try vectorText("\(name).pem")
            let inputs = [try derOfPEM(pem), try vectorBytes("\(name).ticket-plaintext.der")]
            for original in inputs {
                for _ in 0..<1500 {
                    var mutated = original
                    for _ in 0...Int(random.next() % 3) {
                        let position = Int(random.next() % UInt64(max(mutated.count, 1)))
                        switch random.next() % 5 {
                        case 0 where !mutated.isEmpty: mutated[position] ^= UInt8(1) << UInt8(random.next() % 8)
                        case 1 where !mutated.isEmpty: mutated[position] = UInt8(truncatingIfNeeded: random.next())
                        case 2: mutated.insert(UInt8(truncatingIfNeeded: random.next()), at: min(position, mutated.count))
                        case 3 where !mutated.isEmpty: mutated.remove(at: position)
                        default: mutated = Array(mutated.prefix(position))
                        }
                    }
                    do {
                        let session = try SessionState(derEncoded: mutated)
                        decoded += 1
                        XCTAssertEqual(try SessionState(derEncoded: session.derEncoded()), session, "\(name): decode, encode, decode")
                        XCTAssertEqual(try SessionState(derEncoded: session.derEncoded()).derEncoded(), session.derEncoded())
                    } catch {
                        rejected += 1
                        XCTAssertFalse(error.message.isEmpty)
                    }
                }
            }
            var text = Array(pem.utf8)
            for _ in 0..<500 {
                let position = Int(random.next() % UInt64(text.count))
                let saved = text[position]
                text[position] = UInt8(truncatingIfNeeded: random.next() % 0x80)
                _ = try? SessionState(pemEncoded: String(decoding: text, as: UTF8.self))
                text[position] = saved
            }
        }
        XCTAssertGreaterThan(rejected, 0)
        XCTAssertGreaterThan(decoded, 0, "some mutations (inside octet strings) still decode")
    }

    /// FuzzSession's find: a TLS 1.2 session with zeros written in fields OpenSSL omits when zero
    /// ([5] verify_result, [9] lifetime hint, [14] age add, [15] max early data), a negative
    /// time and an application-class element. It must read back the same after re-encoding.
    func testWrittenZerosReadAsAbsent() throws {
        let found = try XCTUnwrap(Data(base64Encoded:
            "ATB8AgEBAgIDAwQCwCwEAAQwv1a5Je6vgLrDmKRBMmDuBZFoS0XzL4zhCMTIeB/b+KnINp0Q4ZM7tlh723J0Z/iqoQYCBP8cX4RgBAICASykFgQU0lEzDL2L3uUOgae3KEdx47EddXWmCwQJbG9jYWxob3N0qQMCAQC0AwIBHQ=="))
        let session = try SessionState(derEncoded: Array(found.dropFirst()))  // the fuzzer's mode byte first
        XCTAssertNil(session.ticketLifetimeHint, "[9] 0 reads as absent")
        XCTAssertEqual(try SessionState(derEncoded: session.derEncoded()), session)

        // The same zeros, each written out explicitly, for TLS 1.2 and TLS 1.3.
        for version in [ProtocolVersion.tls12, .tls13] {
            var plain = SessionState(
                version: version, cipherSuite: version == .tls13 ? .tlsAES128GCMSHA256 : .ecdheECDSAWithAES128GCMSHA256,
                sessionID: [], masterSecret: [UInt8](repeating: 1, count: 48), time: Date(timeIntervalSince1970: 1_800_000_000),
                timeout: 300, peerCertificate: nil, sessionIDContext: [], verifyResult: nil, hostname: nil)
            plain.ticketAgeAdd = version == .tls13 ? 0 : nil
            plain.maxEarlyData = version == .tls13 ? 0 : nil
            var der = plain.derEncoded()
            // Insert [5] 0, [9] 0, [14] 0, [15] 0 before [19] kex_group (tag order) and fix the length.
            let zeros: [UInt8] = [0xA5, 0x03, 0x02, 0x01, 0x00, 0xA9, 0x03, 0x02, 0x01, 0x00,
                                  0xAE, 0x03, 0x02, 0x01, 0x00, 0xAF, 0x03, 0x02, 0x01, 0x00]
            XCTAssertLessThan(der[1], 0x80 - UInt8(zeros.count), "short-form length")
            let groupStart = 2 + Self.index(ofTag: 0xB3, in: Array(der[2...]))
            der.insert(contentsOf: zeros, at: groupStart)
            der[1] = UInt8(der.count - 2)
            let read = try SessionState(derEncoded: der)
            XCTAssertEqual(read, plain, "\(version): written zeros read as absent")
            XCTAssertEqual(try SessionState(derEncoded: read.derEncoded()), read)
        }
    }

    // MARK: Helpers

    /// The index of the first top-level element with `tag` in a SEQUENCE body (short lengths only,
    /// long lengths skipped properly).
    static func index(ofTag tag: UInt8, in content: [UInt8]) -> Int {
        var index = 0
        while index < content.count {
            if content[index] == tag { return index }
            index = next(after: index, in: content)
        }
        return content.count
    }

    static func removing(tag: UInt8, from content: [UInt8]) -> [UInt8] {
        let start = index(ofTag: tag, in: content)
        guard start < content.count else { return content }
        var copy = content
        copy.removeSubrange(start..<next(after: start, in: content))
        return copy
    }

    private static func next(after index: Int, in content: [UInt8]) -> Int {
        let length = content[index + 1]
        if length < 0x80 { return index + 2 + Int(length) }
        let lengthBytes = Int(length & 0x7F)
        var value = 0
        for offset in 0..<lengthBytes { value = value << 8 | Int(content[index + 2 + offset]) }
        return index + 2 + lengthBytes + value
    }
}

/// A tiny deterministic PRNG so the mutation loop (and SessionDERWriterTests' random sessions)
/// repeat.
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
