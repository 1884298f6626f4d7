import Foundation
import SwiftASN1
import TesseraWire
@testable import TesseraSessions
import XCTest

/// `SessionDERWriter` (the session encoder's own DER writing) against swift-asn1's serializer:
/// each field kind at its boundaries, then whole sessions, byte for byte.
final class SessionDERWriterTests: XCTestCase {
    private func swiftASN1(_ write: (inout DER.Serializer) throws -> Void) rethrows -> [UInt8] {
        var serializer = DER.Serializer()
        try write(&serializer)
        return serializer.serializedBytes
    }

    /// X.690 §8.3: the fewest octets that keep the sign, at every boundary where that grows.
    func testIntegersMatchSwiftASN1() throws {
        var values: [Int64] = [0, 1, -1, .max, .min, Int64(Int32.max), Int64(Int32.min), Int64(UInt32.max)]
        for bits in 1..<63 {
            let power = Int64(1) << bits
            values += [power - 1, power, power + 1, -power, -power - 1, -power + 1]
        }
        for value in values {
            var writer = SessionDERWriter()
            writer.integer(value)
            XCTAssertEqual(writer.bytes, try swiftASN1 { try $0.serialize(value) }, "INTEGER \(value)")
            var tagged = SessionDERWriter()
            tagged.integer(value, explicitTag: .ticketAgeAdd)
            XCTAssertEqual(
                tagged.bytes, try swiftASN1 { try $0.serialize(value, explicitlyTaggedWithTagNumber: 14, tagClass: .contextSpecific) },
                "[14] INTEGER \(value)")
        }
    }

    /// Short and long length forms, one to three length octets, for OCTET STRINGs, their EXPLICIT
    /// wrappers and an element written as it stands (a certificate).
    func testOctetStringsAndElementsMatchSwiftASN1() throws {
        for length in [0, 1, 2, 124, 125, 126, 127, 128, 129, 252, 253, 255, 256, 257, 65_531, 65_535, 65_536, 70_000] {
            let content = (0..<length).map { UInt8(truncatingIfNeeded: $0 &* 13 &+ 5) }
            var writer = SessionDERWriter()
            writer.octetString(content)
            XCTAssertEqual(writer.bytes, try swiftASN1 { try $0.serialize(ASN1OctetString(contentBytes: content[...])) }, "OCTET STRING \(length)")
            var tagged = SessionDERWriter()
            tagged.octetString(content, explicitTag: .ticket)
            XCTAssertEqual(
                tagged.bytes,
                try swiftASN1 { try $0.serialize(ASN1OctetString(contentBytes: content[...]), explicitlyTaggedWithTagNumber: 10, tagClass: .contextSpecific) },
                "[10] OCTET STRING \(length)")
            var element = SessionDERWriter()
            element.element(content, explicitTag: .peer)
            XCTAssertEqual(
                element.bytes, swiftASN1 { $0.serialize(explicitlyTaggedWithTagNumber: 3, tagClass: .contextSpecific) { $0.serializeRawBytes(content) } },
                "[3] element \(length)")
        }
    }

    /// Whole sessions, every field present or absent, zero or not, at random sizes (seeded, so a
    /// failure repeats): `derEncoded()` and each `derEncoded(variants:)` element equal the same
    /// session written through swift-asn1.
    func testSessionsMatchSwiftASN1Encoding() throws {
        var random = SplitMix64(seed: 0x5E55_1014)
        var certificates: [[UInt8]] = []
        for contentLength in [10, 300] {
            var certificate = DER.Serializer()
            try certificate.appendConstructedNode(identifier: .sequence) {
                try $0.serialize(ASN1OctetString(contentBytes: [UInt8](repeating: 0x05, count: contentLength)[...]))
            }
            certificates.append(certificate.serializedBytes)
        }
        func bytes(_ range: ClosedRange<Int>) -> [UInt8] {
            (0..<Int.random(in: range, using: &random)).map { _ in UInt8.random(in: 0...255, using: &random) }
        }
        func maybe<T>(_ make: () -> T) -> T? { Bool.random(using: &random) ? make() : nil }
        func integer() -> UInt32 {
            [0, 1, 0x7F, 0x80, 0xFFFF, 0x8000_0000, .max, UInt32.random(in: 0...UInt32.max, using: &random)].randomElement(using: &random) ?? 0
        }
        for index in 0..<400 {
            var session = SessionState(
                version: Bool.random(using: &random) ? .tls13 : .tls12,
                cipherSuite: CipherSuite(rawValue: UInt16.random(in: 0...0xFFFF, using: &random)),
                sessionID: bytes(0...32), masterSecret: bytes(0...200),
                time: Date(timeIntervalSince1970: TimeInterval([0, 1, 1_800_000_000, 4_000_000_000, -5].randomElement(using: &random) ?? 0)),
                timeout: integer(), peerCertificate: maybe { certificates.randomElement(using: &random) ?? [] },
                sessionIDContext: bytes(0...32),
                verifyResult: maybe { [0, 18, -1, Int(Int32.min), Int(Int32.max) + 5].randomElement(using: &random) ?? 0 },
                hostname: maybe { ["localhost", "example.com", "é.example", String(repeating: "a", count: 200)].randomElement(using: &random) ?? "" },
                ticketLifetimeHint: maybe(integer), ticket: maybe { bytes(0...400) },
                extendedMasterSecret: Bool.random(using: &random), ticketAgeAdd: maybe(integer), maxEarlyData: maybe(integer),
                alpn: maybe { bytes(0...20) }, keyExchangeGroup: maybe { NamedGroup(rawValue: UInt16(truncatingIfNeeded: integer())) })
            if index % 7 == 0 { session.peerCertificate = [0x04, 0x00] }  // not a SEQUENCE: left out by both
            XCTAssertEqual(session.derEncoded(), SwiftASN1SessionEncoder.derEncoded(session), "session \(index)")
            let variants = [(masterSecret: bytes(0...64), ticketAgeAdd: maybe(integer)), (masterSecret: bytes(0...64), ticketAgeAdd: maybe(integer))]
            for (variantIndex, encoded) in session.derEncoded(variants: variants).enumerated() {
                var single = session
                single.masterSecret = variants[variantIndex].masterSecret
                single.ticketAgeAdd = variants[variantIndex].ticketAgeAdd
                XCTAssertEqual(encoded, SwiftASN1SessionEncoder.derEncoded(single), "session \(index), variant \(variantIndex)")
            }
        }
    }
}
