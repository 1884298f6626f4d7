import Foundation
import SwiftASN1
import TesseraWire
@testable import TesseraSessions
import XCTest

/// What `SessionState`'s DER encoder does besides calling swift-asn1: the two headers it writes
/// itself (the outer SEQUENCE and the [3] peer certificate), and the batch encoding of tickets.
final class SessionDEREncodingTests: XCTestCase {
    /// Both sides of every length-form boundary: short form, one, two and three length octets.
    static let lengths = [0, 1, 2, 100, 127, 128, 129, 200, 255, 256, 257, 1000, 65_535, 65_536, 70_000]

    func testDERHeadersMatchSwiftASN1() throws {
        for length in Self.lengths {
            let content = (0..<length).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ 7) }

            var sequence = DER.Serializer()
            sequence.appendConstructedNode(identifier: .sequence) { $0.serializeRawBytes(content) }
            XCTAssertEqual(SessionState.derSequence(containing: content), sequence.serializedBytes, "SEQUENCE, \(length) bytes")

            var explicit = DER.Serializer()
            explicit.serialize(explicitlyTaggedWithTagNumber: 3, tagClass: .contextSpecific) { $0.serializeRawBytes(content) }
            var header = [UInt8]()
            SessionState.appendDERHeader(0xA3, length: length, to: &header)
            XCTAssertEqual(header + content, explicit.serializedBytes, "[3], \(length) bytes")
        }
    }

    /// A session whose content needs each length form still reads back as itself, with and
    /// without a peer certificate (which takes the [3] path).
    func testSessionsOfEveryLengthFormRoundTrip() throws {
        // Stand-ins for certificates: SEQUENCEs whose [3] wrapper takes the short and the long form.
        var peers: [[UInt8]?] = [nil]
        for contentLength in [10, 300] {
            var certificate = DER.Serializer()
            try certificate.appendConstructedNode(identifier: .sequence) {
                try $0.serialize(ASN1OctetString(contentBytes: [UInt8](repeating: 0x05, count: contentLength)[...]))
            }
            peers.append(certificate.serializedBytes)
        }
        for ticketLength in [1, 40, 200, 1000, 65_535] {
            for peerCertificate in peers {
                let session = SessionState(
                    version: .tls13, cipherSuite: .tlsAES128GCMSHA256, masterSecret: [UInt8](repeating: 1, count: 32),
                    time: Date(timeIntervalSince1970: 1_800_000_000), timeout: 7200, peerCertificate: peerCertificate,
                    ticket: [UInt8](repeating: 2, count: ticketLength), ticketAgeAdd: 99, maxEarlyData: 0)
                let encoded = session.derEncoded()
                XCTAssertEqual(try SessionState(derEncoded: encoded), session, "ticket \(ticketLength), peer \(peerCertificate != nil)")
                XCTAssertEqual(encoded.first, 0x30)
            }
        }
    }

    /// A batch encodes each variant exactly as the session with that variant's fields would,
    /// whatever the other fields hold, including an age_add of zero (omitted) and none.
    func testBatchEncodingEqualsEachSessionsOwnEncoding() throws {
        let variants: [(masterSecret: [UInt8], ticketAgeAdd: UInt32?)] = [
            ([UInt8](repeating: 1, count: 32), 0x8000_0000), ([UInt8](repeating: 2, count: 48), 0),
            ([UInt8](repeating: 3, count: 32), nil), ([UInt8](repeating: 4, count: 200), 7),
        ]
        var bases = [
            SessionState(
                version: .tls13, cipherSuite: .tlsAES128GCMSHA256, masterSecret: [],
                time: Date(timeIntervalSince1970: 1_800_000_000), timeout: 604_800, sessionIDContext: [9, 9],
                hostname: "example.com", extendedMasterSecret: true, maxEarlyData: 16_384, alpn: Array("h2".utf8)),
            SessionState(version: .tls12, cipherSuite: CipherSuite(0xC02B), masterSecret: [5], time: Date(timeIntervalSince1970: 0), timeout: 0),
        ]
        bases.append(SessionState(
            version: .tls13, cipherSuite: .tlsAES256GCMSHA384, sessionID: [1, 2, 3], masterSecret: [], time: Date(timeIntervalSince1970: 5),
            timeout: 1, verifyResult: 18, ticketLifetimeHint: 300, ticket: [UInt8](repeating: 6, count: 300), keyExchangeGroup: .x25519))
        for (baseIndex, base) in bases.enumerated() {
            let batch = base.derEncoded(variants: variants)
            XCTAssertEqual(batch.count, variants.count)
            for (index, variant) in variants.enumerated() {
                var single = base
                single.masterSecret = variant.masterSecret
                single.ticketAgeAdd = variant.ticketAgeAdd
                XCTAssertEqual(batch[index], single.derEncoded(), "base \(baseIndex), variant \(index)")
            }
        }
        XCTAssertTrue(bases[0].derEncoded(variants: []).isEmpty)
    }
}
