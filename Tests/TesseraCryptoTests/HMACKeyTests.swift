import Crypto
import XCTest

@testable import TesseraCrypto

/// `HMACKey` (RFC 2104 over swift-crypto's SHA-2) against published vectors and against
/// swift-crypto's own `HMAC` and `HKDF`.
final class HMACKeyTests: XCTestCase {
    /// RFC 4231 §4.2, §4.3 and §4.7 (the last has a 131-byte key, longer than the block).
    func testRFC4231Vectors() {
        let cases: [(key: [UInt8], data: [UInt8], sha256: String, sha384: String)] = [
            ([UInt8](repeating: 0x0B, count: 20), Array("Hi There".utf8),
             "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7",
             "afd03944d84895626b0825f4ab46907f15f9dadbe4101ec682aa034c7cebc59cfaea9ea9076ede7f4af152e8b2fa9cb6"),
            (Array("Jefe".utf8), Array("what do ya want for nothing?".utf8),
             "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843",
             "af45d2e376484031617f78d2b58a6b1b9c7ef464f5a01b47e42ec3736322445e8e2240ca5e69e2c78b3239ecfab21649"),
            ([UInt8](repeating: 0xAA, count: 131), Array("Test Using Larger Than Block-Size Key - Hash Key First".utf8),
             "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54",
             "4ece084485813e9088d2c63a041bc5b44f9ef1012a2b588f3cd11f05033ac4c60c2ef6ab4030fe8296248df163f44952"),
        ]
        for (index, vector) in cases.enumerated() {
            XCTAssertEqual(hexString(HMACKey(vector.key, hash: .sha256).mac(vector.data)), vector.sha256, "case \(index) SHA-256")
            XCTAssertEqual(hexString(HMACKey(vector.key, hash: .sha384).mac(vector.data)), vector.sha384, "case \(index) SHA-384")
            // The one-shot form (a key used once) gives the same MACs.
            XCTAssertEqual(hexString(HMACKey.mac(key: vector.key, hash: .sha256, vector.data)), vector.sha256, "case \(index) one-shot SHA-256")
            XCTAssertEqual(hexString(HMACKey.mac(key: vector.key, hash: .sha384, vector.data)), vector.sha384, "case \(index) one-shot SHA-384")
        }
    }

    /// Every key length from empty to past both block sizes (64 and 128 bytes), messages around
    /// the block size, and the same key used twice (the keyed state must not be consumed).
    func testMatchesSwiftCryptoHMACForEveryKeyLength() {
        var generator = SystemRandomNumberGenerator()
        for keyLength in 0...140 {
            let key = (0..<keyLength).map { _ in UInt8.random(in: 0...255, using: &generator) }
            let sha256 = HMACKey(key, hash: .sha256)
            let sha384 = HMACKey(key, hash: .sha384)
            for messageLength in [0, 1, 55, 56, 63, 64, 65, 127, 128, 129, 300] {
                let message = (0..<messageLength).map { _ in UInt8.random(in: 0...255, using: &generator) }
                let expected256 = Array(HMAC<SHA256>.authenticationCode(for: message, using: SymmetricKey(data: key)))
                let expected384 = Array(HMAC<SHA384>.authenticationCode(for: message, using: SymmetricKey(data: key)))
                XCTAssertEqual(sha256.mac(message), expected256, "key \(keyLength) B, message \(messageLength) B")
                XCTAssertEqual(sha256.mac(message), expected256, "second use, key \(keyLength) B")
                XCTAssertEqual(sha384.mac(message), expected384, "key \(keyLength) B, message \(messageLength) B")
                XCTAssertEqual(HMACKey.mac(key: key, hash: .sha256, message), expected256, "one-shot, key \(keyLength) B")
                XCTAssertEqual(HMACKey.mac(key: key, hash: .sha384, message), expected384, "one-shot, key \(keyLength) B")
                let written = HMACKey.mac(key: key, hash: .sha256, count: message.count) { $0.copyBytes(from: message) }
                XCTAssertEqual(written, expected256, "one-shot, written on the stack, key \(keyLength) B")
            }
        }
    }

    /// HKDF-Expand for one block, several blocks, odd lengths and past the 255-block cap.
    func testExpandMatchesSwiftCryptoHKDF() {
        var generator = SystemRandomNumberGenerator()
        for hash in [HashAlgorithm.sha256, .sha384] {
            let prk = (0..<hash.outputLength).map { _ in UInt8.random(in: 0...255, using: &generator) }
            let info = Array("tls13 derived".utf8)
            let keyed = HMACKey(prk, hash: hash)
            for length in [1, 12, 16, 31, 32, 33, 48, 64, 100, 255 * hash.outputLength] {
                let expected: [UInt8]
                switch hash {
                case .sha256:
                    expected = HKDF<SHA256>.expand(pseudoRandomKey: prk, info: info, outputByteCount: length).withUnsafeBytes { Array($0) }
                case .sha384:
                    expected = HKDF<SHA384>.expand(pseudoRandomKey: prk, info: info, outputByteCount: length).withUnsafeBytes { Array($0) }
                }
                XCTAssertEqual(keyed.expand(info: info, length: length), expected, "\(hash) \(length) B")
            }
            XCTAssertEqual(keyed.expand(info: info, length: 255 * hash.outputLength + 1).count, 255 * hash.outputLength)
            XCTAssertEqual(keyed.expand(info: info, length: 0), [])
        }
    }

    /// RFC 5869 appendix A.1: extract then expand.
    func testRFC5869CaseOne() {
        let ikm = [UInt8](repeating: 0x0B, count: 22)
        let salt = hex("000102030405060708090a0b0c")
        let info = hex("f0f1f2f3f4f5f6f7f8f9")
        let prk = TLS13.extract(salt: salt, ikm: ikm, hash: .sha256)
        XCTAssertEqual(hexString(prk), "077709362c2e32df0ddc3f0dc47bba6390b6c73bb50f9c3122ec844ad7c2b3e5")
        XCTAssertEqual(
            hexString(HMACKey(prk, hash: .sha256).expand(info: info, length: 42)),
            "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865")
    }
}
