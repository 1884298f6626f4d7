import TesseraWire
import XCTest

@testable import TesseraCrypto

final class KeyExchangeTests: XCTestCase {
    private func assertCode(_ expected: TesseraCrypto.CryptoError.Code, _ message: String = "", file: StaticString = #filePath, line: UInt = #line, _ body: () throws -> Void) {
        do {
            try body()
            XCTFail("expected \(expected), no error \(message)", file: file, line: line)
        } catch let error as TesseraCrypto.CryptoError {
            XCTAssertEqual(error.code, expected, "\(error) \(message)", file: file, line: line)
        } catch {
            XCTFail("unexpected error \(error)", file: file, line: line)
        }
    }

    func testAgreementBothDirections() throws {
        for (group, length) in [(NamedGroup.x25519, 32), (.secp256r1, 65), (.secp384r1, 97)] {
            let client = try EphemeralKeyExchange(group: group)
            let server = try EphemeralKeyExchange(group: group)
            XCTAssertEqual(client.group, group)
            XCTAssertEqual(client.publicKeyBytes.count, length, "\(group)")
            if group != .x25519 { XCTAssertEqual(client.publicKeyBytes.first, 0x04) }
            let a = try client.sharedSecret(peerPublicKey: server.publicKeyBytes)
            let b = try server.sharedSecret(peerPublicKey: client.publicKeyBytes)
            XCTAssertEqual(a, b, "\(group)")
            XCTAssertEqual(a.count, group == .secp384r1 ? 48 : 32, "\(group)")
            XCTAssertNotEqual(client.publicKeyBytes, server.publicKeyBytes)
        }
    }

    /// RFC 7748 §6.1 test vector.
    func testX25519KnownAnswer() throws {
        let alice = try EphemeralKeyExchange(group: .x25519, privateKey: hex("77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a"))
        XCTAssertEqual(hexString(alice.publicKeyBytes), "8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a")
        let shared = try alice.sharedSecret(peerPublicKey: hex("de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f"))
        XCTAssertEqual(hexString(shared), "4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742")
    }

    /// RFC 7748 §6.1 / RFC 8446 §7.4.2: low-order points give an all-zero secret, which must be refused.
    func testX25519LowOrderPointsAreInvalidSharedSecret() throws {
        let key = try EphemeralKeyExchange(group: .x25519)
        let lowOrder = [
            [UInt8](repeating: 0, count: 32),
            [1] + [UInt8](repeating: 0, count: 31),
            hex("e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800"),
            hex("5f9c95bca3508c24b1d0b1559c83ef5b04445cc4581c8e86d8224eddd09f1157"),
            hex("ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f"),
        ]
        for point in lowOrder {
            assertCode(.invalidSharedSecret, hexString(point)) { _ = try key.sharedSecret(peerPublicKey: point) }
        }
    }

    func testWrongLengthsAreInvalidPublicKey() throws {
        let x25519 = try EphemeralKeyExchange(group: .x25519)
        for length in [0, 1, 31, 33, 65] {
            assertCode(.invalidPublicKey, "x25519 \(length)") { _ = try x25519.sharedSecret(peerPublicKey: [UInt8](repeating: 9, count: length)) }
        }
        let p256 = try EphemeralKeyExchange(group: .secp256r1)
        let good256 = try EphemeralKeyExchange(group: .secp256r1).publicKeyBytes
        for bytes in [[], Array(good256.dropLast()), good256 + [0], Array(good256.prefix(33)), try EphemeralKeyExchange(group: .secp384r1).publicKeyBytes] {
            assertCode(.invalidPublicKey, "p256 \(bytes.count)") { _ = try p256.sharedSecret(peerPublicKey: bytes) }
        }
        let p384 = try EphemeralKeyExchange(group: .secp384r1)
        assertCode(.invalidPublicKey) { _ = try p384.sharedSecret(peerPublicKey: good256) }
    }

    func testCompressedPointsAreInvalidPublicKey() throws {
        for group in [NamedGroup.secp256r1, .secp384r1] {
            let key = try EphemeralKeyExchange(group: group)
            let peer = try EphemeralKeyExchange(group: group).publicKeyBytes
            let coordinate = (peer.count - 1) / 2
            let x = Array(peer[1...coordinate])
            let yIsOdd = (peer.last ?? 0) & 1 == 1
            let compressed = [yIsOdd ? 0x03 : 0x02] + x
            assertCode(.invalidPublicKey, "\(group) compressed") { _ = try key.sharedSecret(peerPublicKey: compressed) }
            // A full-length encoding with a compressed / hybrid marker is refused too.
            var hybrid = peer
            hybrid[0] = 0x06
            assertCode(.invalidPublicKey, "\(group) hybrid") { _ = try key.sharedSecret(peerPublicKey: hybrid) }
        }
    }

    func testOffCurvePointsAreInvalidPublicKey() throws {
        for group in [NamedGroup.secp256r1, .secp384r1] {
            let key = try EphemeralKeyExchange(group: group)
            var peer = try EphemeralKeyExchange(group: group).publicKeyBytes
            peer[peer.count - 1] ^= 0x01  // Y no longer matches X
            assertCode(.invalidPublicKey, "\(group) off curve") { _ = try key.sharedSecret(peerPublicKey: peer) }
            let zeros = [0x04] + [UInt8](repeating: 0, count: peer.count - 1)  // the point at infinity is not encodable
            assertCode(.invalidPublicKey, "\(group) zeros") { _ = try key.sharedSecret(peerPublicKey: zeros) }
        }
    }

    func testUnsupportedGroups() {
        for group in [NamedGroup.secp521r1, .x448, .ffdhe2048, NamedGroup(rawValue: 0x1234)] {
            assertCode(.unsupportedAlgorithm, "\(group)") { _ = try EphemeralKeyExchange(group: group) }
        }
    }

    func testKnownPrivateKeyMustBeValid() {
        assertCode(.invalidKey) { _ = try EphemeralKeyExchange(group: .x25519, privateKey: [1, 2, 3]) }
        assertCode(.invalidKey) { _ = try EphemeralKeyExchange(group: .secp256r1, privateKey: [UInt8](repeating: 0, count: 32)) }
    }
}
