import Foundation
import TesseraWire
import XCTest

@testable import TesseraCrypto

/// `PeerPublicKeyCache`: a certificate's key comes from the cache only when the same DER was parsed
/// before, it is the key parsing would give, and the cache stays bounded.
final class PeerPublicKeyCacheTests: XCTestCase {
    private static let message = Array("CertificateVerify content".utf8)

    private func leaf(_ key: SigningKey, _ name: String = "cache.test") throws -> [UInt8] {
        try XCTUnwrap(try CertificateChain.selfSigned(commonName: name, key: key).derEncoded.first)
    }

    /// The signature verifies under `peer` and under no other key's certificate.
    private func assertVerifies(_ peer: PeerPublicKey, _ key: SigningKey, file: StaticString = #filePath, line: UInt = #line) throws {
        let scheme = try XCTUnwrap(key.supportedSchemes(version: .tls13).first, file: file, line: line)
        let signature = try key.sign(Self.message, scheme: scheme)
        XCTAssertTrue(peer.verify(signature: signature, data: Self.message, scheme: scheme), file: file, line: line)
        var tampered = Self.message
        tampered[0] ^= 1
        XCTAssertFalse(peer.verify(signature: signature, data: tampered, scheme: scheme), file: file, line: line)
    }

    func testSecondParseOfACertificateComesFromTheCacheAndIsTheSameKey() throws {
        for key in [SigningKey.generateP256(), .generateP384(), .generateEd25519()] {
            let der = try leaf(key)
            let parsed = try PeerPublicKey(certificateDER: der)
            XCTAssertTrue(PeerPublicKeyCache.shared.contains(der))
            let cached = try XCTUnwrap(PeerPublicKeyCache.shared.key(for: der))
            let again = try PeerPublicKey(certificateDER: der)
            for peer in [parsed, cached, again] {
                try assertVerifies(peer, key)
                XCTAssertEqual(peer.bits, try PeerPublicKey(parsing: der).bits)
                XCTAssertEqual(peer.description, try PeerPublicKey(parsing: der).description)
            }
        }
    }

    func testAnotherCertificateGetsItsOwnKey() throws {
        let first = SigningKey.generateP256(), second = SigningKey.generateP256()
        let firstDER = try leaf(first), secondDER = try leaf(second)
        _ = try PeerPublicKey(certificateDER: firstDER)
        let peer = try PeerPublicKey(certificateDER: secondDER)
        try assertVerifies(peer, second)
        let scheme = SignatureScheme.ecdsaSecp256r1SHA256
        XCTAssertFalse(peer.verify(signature: try first.sign(Self.message, scheme: scheme), data: Self.message, scheme: scheme))
        // One byte changed: another certificate as far as the cache goes.
        var corrupted = secondDER
        corrupted[corrupted.count / 2] ^= 0xFF
        XCTAssertNil(PeerPublicKeyCache.shared.key(for: corrupted))
    }

    func testFailuresAreNotCachedAndFailAgain() throws {
        let garbage: [UInt8] = [0x30, 0x03, 0x02, 0x01, 0x01]
        for _ in 0..<2 {
            XCTAssertThrowsError(try PeerPublicKey(certificateDER: garbage)) { error in
                XCTAssertEqual((error as? CryptoError)?.code, .invalidCertificate)
            }
            XCTAssertFalse(PeerPublicKeyCache.shared.contains(garbage))
        }
    }

    func testLeastRecentlyUsedEntryGoesFirst() throws {
        let cache = PeerPublicKeyCache(capacity: 2, maximumCertificateLength: 8192)
        let keys = [SigningKey.generateP256(), .generateP256(), .generateP256()]
        let ders = try keys.map { try leaf($0) }
        let peers = try ders.map { try PeerPublicKey(parsing: $0) }
        cache.insert(peers[0], for: ders[0])
        cache.insert(peers[1], for: ders[1])
        XCTAssertNotNil(cache.key(for: ders[0]))  // now the most recent
        cache.insert(peers[2], for: ders[2])
        XCTAssertEqual(cache.count, 2)
        XCTAssertTrue(cache.contains(ders[0]))
        XCTAssertFalse(cache.contains(ders[1]))
        XCTAssertTrue(cache.contains(ders[2]))
        try assertVerifies(try XCTUnwrap(cache.key(for: ders[2])), keys[2])
        // Inserting a present certificate again keeps one entry.
        cache.insert(peers[2], for: ders[2])
        XCTAssertEqual(cache.count, 2)
    }

    func testLongCertificatesAndZeroCapacityAreNotKept() throws {
        let der = try leaf(.generateP256())
        let short = PeerPublicKeyCache(capacity: 4, maximumCertificateLength: der.count - 1)
        short.insert(try PeerPublicKey(parsing: der), for: der)
        XCTAssertEqual(short.count, 0)
        XCTAssertNil(short.key(for: der))
        let none = PeerPublicKeyCache(capacity: 0, maximumCertificateLength: 8192)
        none.insert(try PeerPublicKey(parsing: der), for: der)
        XCTAssertEqual(none.count, 0)
    }
}
