import Foundation
import SwiftASN1
import TesseraCrypto
import TesseraWire
@testable import TesseraSessions
import XCTest

/// `SessionState`'s DER encoding: its headers (the outer SEQUENCE and the [3] peer certificate)
/// against swift-asn1's, whole sessions read back, and the batch encoding of tickets. Field by field
/// against swift-asn1: `SessionDERWriterTests`.
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
            DERHeader.append(0xA3, length: length, to: &header)
            XCTAssertEqual(header + content, explicit.serializedBytes, "[3], \(length) bytes")
            XCTAssertEqual(header.count, DERHeader.size(forLength: length), "header size, \(length) bytes")
        }
    }

    /// The encoder writes every INTEGER as an Int64. X.690 §8.3 makes the DER a function of the
    /// value alone, so the bytes equal those of the field's own type (UInt32, Int32, UInt64) at
    /// each boundary where the minimal encoding grows or needs a leading zero octet.
    func testIntegersAsInt64EncodeAsTheirOwnTypes() throws {
        func der(_ write: (inout DER.Serializer) throws -> Void) rethrows -> [UInt8] {
            var serializer = DER.Serializer()
            try write(&serializer)
            return serializer.serializedBytes
        }
        let unsigned: [UInt32] = [0, 1, 0x7F, 0x80, 0xFF, 0x100, 0x7FFF, 0x8000, 0x7F_FFFF, 0x80_0000, 0x7FFF_FFFF, 0x8000_0000, 0xFFFF_FFFF]
        for value in unsigned {
            XCTAssertEqual(try der { try $0.serialize(Int64(value)) }, try der { try $0.serialize(value) }, "UInt32 \(value)")
            XCTAssertEqual(
                try der { try $0.serialize(Int64(value), explicitlyTaggedWithTagNumber: 14, tagClass: .contextSpecific) },
                try der { try $0.serialize(value, explicitlyTaggedWithTagNumber: 14, tagClass: .contextSpecific) }, "[14] UInt32 \(value)")
            XCTAssertEqual(
                try der { try $0.serialize(Int64(value), explicitlyTaggedWithTagNumber: 9, tagClass: .contextSpecific) },
                try der { try $0.serialize(UInt64(value), explicitlyTaggedWithTagNumber: 9, tagClass: .contextSpecific) }, "[9] UInt64 \(value)")
        }
        let signed: [Int32] = [.min, -0x8001, -0x8000, -0x81, -0x80, -1, 0, 1, 0x7F, 0x80, .max]
        for value in signed {
            XCTAssertEqual(try der { try $0.serialize(Int64(value)) }, try der { try $0.serialize(value) }, "Int32 \(value)")
        }
        // And a whole session with the widest values reads back as itself.
        var session = SessionState(
            version: .tls13, cipherSuite: .tlsAES128GCMSHA256, sessionID: [], masterSecret: [UInt8](repeating: 9, count: 32),
            time: Date(timeIntervalSince1970: 4_000_000_000), timeout: .max, peerCertificate: nil, sessionIDContext: [1],
            verifyResult: Int(Int32.min), hostname: "example.com", extendedMasterSecret: true, maxEarlyData: .max, alpn: [0x68, 0x32])
        session.ticketAgeAdd = .max
        session.ticketLifetimeHint = .max
        session.keyExchangeGroup = NamedGroup(rawValue: 0xFFFF)
        XCTAssertEqual(try SessionState(derEncoded: session.derEncoded()), session)
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
