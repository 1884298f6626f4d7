import XCTest

@testable import TesseraCrypto

/// TLS 1.2 PRF and derivations. Expected values were computed independently with Python's `hmac`
/// module (P_hash written out from RFC 5246 §5).
final class TLS12PRFTests: XCTestCase {
    /// The widely used "TLS 1.2 PRF test vector" for P_SHA256.
    func testPRFSHA256KnownAnswer() {
        let output = TLS12.prf(
            secret: hex("9bbe436ba940f017b17652849a71db35"), label: "test label",
            seed: hex("a0ba9f936cda311827a6f796ffd5198c"), length: 100, hash: .sha256)
        XCTAssertEqual(
            hexString(output),
            "e3f229ba727be17b8d122620557cd453c2aab21d07c3d495329b52d4e61edb5a6b301791e90d35c9c9a46b4e14baf9af"
                + "0fa022f7077def17abfd3797c0564bab4fbc91666e9def9b97fce34f796789baa48082d122ee42c5a72e5a5110fff7"
                + "0187347b66")
    }

    /// The matching P_SHA384 vector (148 bytes, not a multiple of the 48-byte block).
    func testPRFSHA384KnownAnswer() {
        let output = TLS12.prf(
            secret: hex("b80b733d6ceefcdc71566ea48e5567df"), label: "test label",
            seed: hex("cd665cf6a8447dd6ff8b27555edb7465"), length: 148, hash: .sha384)
        XCTAssertEqual(
            hexString(output),
            "7b0c18e9ced410ed1804f2cfa34a336a1c14dffb4900bb5fd7942107e81c83cde9ca0faa60be9fe34f82b1233c9146a0"
                + "e534cb400fed2700884f9dc236f80edd8bfa961144c9e8d792eca722a7b32fc3d416d473ebc2c5fd4abfdad05d918425"
                + "9b5bf8cd4d90fa0d31e2dec479e4f1a26066f2eea9a69236a3e52655c9e9aee691c8f3a26854308d5eaa3be85e0990703d73e56f")
    }

    func testPRFLengthsArePrefixesOfEachOther() {
        let secret = hex("000102030405060708090a0b0c0d0e0f")
        let long = TLS12.prf(secret: secret, label: "x", seed: [1, 2, 3], length: 97, hash: .sha256)
        for length in [0, 1, 12, 31, 32, 33, 64, 96] {
            XCTAssertEqual(TLS12.prf(secret: secret, label: "x", seed: [1, 2, 3], length: length, hash: .sha256), Array(long.prefix(length)))
        }
    }

    // pre_master_secret = 00..2f, client_random = 64..83 (100..131), server_random = c8..e7 (200..231).
    private let preMaster = [UInt8](0..<48)
    private let clientRandom = [UInt8](100..<132)
    private let serverRandom = [UInt8](200..<232)

    func testMasterSecret() {
        XCTAssertEqual(
            hexString(TLS12.masterSecret(preMasterSecret: preMaster, clientRandom: clientRandom, serverRandom: serverRandom, hash: .sha256)),
            "e25039f679b6fa968aae7b5752a611e27e1a603f924837aaa59aa6dc01abcd38ec5adc9b9a894938a19e50d6cde9eaf7")
        XCTAssertEqual(
            hexString(TLS12.masterSecret(preMasterSecret: preMaster, clientRandom: clientRandom, serverRandom: serverRandom, hash: .sha384)),
            "3a7a024c7d162370f93d3ba2d421a1a8b7eae6e27404967d988bf90d783a009b5d47899499129debcff3b0607c514b8d")
    }

    func testExtendedMasterSecret() {
        let sessionHash256 = TLS13.digest(Array("handshake messages".utf8), hash: .sha256)
        XCTAssertEqual(
            hexString(TLS12.extendedMasterSecret(preMasterSecret: preMaster, sessionHash: sessionHash256, hash: .sha256)),
            "837a95d7e29469176bdd9f3b31a73809d8b5b68724a52db14fcdcd6b3371fe7b0a1db91b4f40b82ceb19ead85773987b")
        let sessionHash384 = TLS13.digest(Array("handshake messages".utf8), hash: .sha384)
        XCTAssertEqual(
            hexString(TLS12.extendedMasterSecret(preMasterSecret: preMaster, sessionHash: sessionHash384, hash: .sha384)),
            "80c86788fd1e5cf7c310e5a8bf5f0615371992fcda45e34fe611a66dbbdcb1507722942b5cd69c58fa5a373233c4fe92")
    }

    func testVerifyData() {
        let master = TLS12.masterSecret(preMasterSecret: preMaster, clientRandom: clientRandom, serverRandom: serverRandom, hash: .sha256)
        let handshakeHash = TLS13.digest(Array("handshake messages".utf8), hash: .sha256)
        let client = TLS12.verifyData(masterSecret: master, sender: .client, handshakeHash: handshakeHash, hash: .sha256)
        let server = TLS12.verifyData(masterSecret: master, sender: .server, handshakeHash: handshakeHash, hash: .sha256)
        XCTAssertEqual(hexString(client), "b588363455d088928c4af97a")
        XCTAssertEqual(hexString(server), "f8e6fec644d90d58e0e82ed9")
    }

    func testConstantTimeEquals() {
        XCTAssertTrue(constantTimeEquals([], []))
        XCTAssertTrue(constantTimeEquals([1, 2, 3], [1, 2, 3]))
        XCTAssertFalse(constantTimeEquals([1, 2, 3], [1, 2, 4]))
        XCTAssertFalse(constantTimeEquals([0x80, 2, 3], [0, 2, 3]))
        XCTAssertFalse(constantTimeEquals([1, 2, 3], [1, 2]))
    }

    func testSecureRandom() {
        XCTAssertEqual(SecureRandom.bytes(0), [])
        for count in [1, 7, 8, 9, 32, 33] {
            XCTAssertEqual(SecureRandom.bytes(count).count, count)
        }
        // 2^-256 chance of a false failure.
        XCTAssertNotEqual(SecureRandom.bytes(32), SecureRandom.bytes(32))
        XCTAssertNotEqual(SecureRandom.bytes(32), [UInt8](repeating: 0, count: 32))
    }

    func testNSSKeyLogLine() {
        XCTAssertEqual(
            NSSKeyLog.line(label: "CLIENT_RANDOM", clientRandom: [0x00, 0xAB, 0xFF], secret: [0x12, 0x34]),
            "CLIENT_RANDOM 00abff 1234")
    }
}
