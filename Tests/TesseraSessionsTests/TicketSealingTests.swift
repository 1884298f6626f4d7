import Crypto
import _CryptoExtras
import Foundation
import TesseraCrypto
import TesseraSessions
import XCTest

/// RFC 5077 §4 tickets as nginx / OpenSSL seal them: real tickets open, forged ones never do.
final class TicketSealingTests: XCTestCase {
    func testEveryNginxTicketOpensToItsPlaintextAndDecodes() throws {
        for name in vectorNames {
            let key = try NginxTicketKeyFile.parse(try vectorBytes(keyFileName(forVector: name)))
            let ticket = try vectorBytes("\(name).ticket.bin")
            XCTAssertEqual(TicketSealing.keyName(of: ticket), key.name, name)
            let plaintext = try TicketSealing.open(ticket, key: key)
            XCTAssertEqual(plaintext, try vectorBytes("\(name).ticket-plaintext.der"), name)
            let state = try SessionState(derEncoded: plaintext)
            XCTAssertEqual(state.hostname, "localhost", name)
        }
    }

    func testTicketsUnderOneKeyFileDoNotOpenWithTheOther() throws {
        let key48 = try NginxTicketKeyFile.parse(try vectorBytes("key48.key"))
        let key80 = try NginxTicketKeyFile.parse(try vectorBytes("key80.key"))
        for name in vectorNames {
            let ticket = try vectorBytes("\(name).ticket.bin")
            let (right, wrong) = name.hasSuffix("key48") ? (key48, key80) : (key80, key48)
            assertCryptoError(.invalidKey, name) { try TicketSealing.open(ticket, key: wrong) }
            // The right name with the other file's secrets: only the MAC can tell, and it does.
            let impostor = try TicketKey(name: right.name, aesKey: wrong.aesKey, hmacKey: wrong.hmacKey)
            assertCryptoError(.badRecordMAC, name) { try TicketSealing.open(ticket, key: impostor) }
            // The right secrets with one HMAC bit changed.
            var nearMiss = right
            nearMiss.hmacKey[0] ^= 0x01
            assertCryptoError(.badRecordMAC, name) { try TicketSealing.open(ticket, key: nearMiss) }
            // The right MAC key with one AES key bit changed: the MAC passes, the state does not come back.
            var otherCipher = right
            otherCipher.aesKey[0] ^= 0x01
            XCTAssertNotEqual(try? TicketSealing.open(ticket, key: otherCipher), try vectorBytes("\(name).ticket-plaintext.der"), name)
            otherCipher.aesKey[0] ^= 0x01
            XCTAssertEqual(try TicketSealing.open(ticket, key: otherCipher), try vectorBytes("\(name).ticket-plaintext.der"), name)
        }
    }

    func testSealOpenRoundTripsWithBothKeySizes() throws {
        let state = try SessionStateTests.syntheticSessions()[1].1.derEncoded()
        let key48 = try NginxTicketKeyFile.parse(NginxTicketKeyFile.generate(size: 48))
        for key in [TicketKey.generate(), key48] {
            for plaintext in [state, [], [0x30], Array(repeating: 0xAA, count: 16), Array(repeating: 0xBB, count: 1000)] {
                let ticket = TicketSealing.seal(plaintext, key: key)
                let padded = (plaintext.count / 16 + 1) * 16
                XCTAssertEqual(ticket.count, 16 + 16 + padded + 32)
                XCTAssertEqual(Array(ticket.prefix(16)), key.name)
                XCTAssertEqual(try TicketSealing.open(ticket, key: key), plaintext)
            }
            // A fresh IV each time: two seals of one state differ.
            XCTAssertNotEqual(TicketSealing.seal(state, key: key), TicketSealing.seal(state, key: key))
        }
    }

    /// Our sealing is nginx's: a ticket we seal with nginx's key opens with an independent
    /// AES-CBC + HMAC implementation (OpenSSL's `enc`), and the MAC is HMAC-SHA256 over all before it.
    func testOurTicketsHaveNginxLayout() throws {
        let key = try NginxTicketKeyFile.parse(try vectorBytes("key80.key"))
        let plaintext = try vectorBytes("nginx-tls13-key80.ticket-plaintext.der")
        let iv = Array(repeating: UInt8(0x24), count: 16)
        let ticket = TicketSealing.seal(plaintext, key: key, iv: iv)
        let macStart = ticket.count - 32
        let mac = HMAC<SHA256>.authenticationCode(for: ticket[..<macStart], using: SymmetricKey(data: key.hmacKey))
        XCTAssertEqual(Array(mac), Array(ticket[macStart...]))

        let directory = try makeTemporaryDirectory(self)
        let ciphertextFile = directory.appendingPathComponent("ciphertext")
        try Data(ticket[32..<macStart]).write(to: ciphertextFile)
        let decrypted = try openssl([
            "enc", "-d", "-aes-256-cbc", "-K", hexString(key.aesKey), "-iv", hexString(iv), "-in", ciphertextFile.path,
        ])
        XCTAssertEqual([UInt8](decrypted), plaintext)
    }

    /// We pad (PKCS#7) before AES-CBC ourselves: for every length around the block size the
    /// encrypted state is what swift-crypto's own padding mode produces with the same key and IV.
    func testOwnPaddingMatchesSwiftCryptoPaddingAtEveryLength() throws {
        let key = TicketKey.generate()
        let iv = SecureRandom.bytes(16)
        for length in 0...49 {
            let plaintext = (0..<length).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ 1) }
            let ticket = TicketSealing.seal(plaintext, key: key, iv: iv)
            let expected = try AES._CBC.encrypt(plaintext, using: SymmetricKey(data: key.aesKey), iv: AES._CBC.IV(ivBytes: iv))
            XCTAssertEqual(Array(ticket[32..<(ticket.count - 32)]), Array(expected), "length \(length)")
            XCTAssertEqual(try TicketSealing.open(ticket, key: key), plaintext, "length \(length)")
        }
    }

    /// The batch form (a TLS 1.3 server's tickets) gives, ticket for ticket, what `seal` gives with
    /// the same IV, and each opens to its own state.
    func testBatchSealingEqualsSealingOneByOne() throws {
        let key = TicketKey.generate()
        for count in 0...3 {
            let plaintexts = (0..<count).map { index in (0..<(40 + 17 * index)).map { UInt8(truncatingIfNeeded: $0 &+ index) } }
            let ivs = SecureRandom.bytes(16 * count)
            let batch = TicketSealing.seal(plaintexts, key: key, ivs: ivs)
            XCTAssertEqual(batch.count, count)
            for index in 0..<count {
                let iv = Array(ivs[(16 * index)..<(16 * (index + 1))])
                XCTAssertEqual(batch[index], TicketSealing.seal(plaintexts[index], key: key, iv: iv), "ticket \(index) of \(count)")
                XCTAssertEqual(try TicketSealing.open(batch[index], key: key), plaintexts[index])
            }
        }
        // IVs that do not match the count: no tickets rather than reused or missing IVs.
        XCTAssertEqual(TicketSealing.seal([[1, 2, 3], [4]], key: key, ivs: SecureRandom.bytes(16)), [[], []])
    }

    func testFlippingAnyBitOfATicketIsRejected() throws {
        for name in vectorNames {
            let key = try NginxTicketKeyFile.parse(try vectorBytes(keyFileName(forVector: name)))
            let ticket = try vectorBytes("\(name).ticket.bin")
            var opened = 0
            for bit in 0..<(ticket.count * 8) {
                var forged = ticket
                forged[bit / 8] ^= UInt8(1) << UInt8(bit % 8)
                do {
                    _ = try TicketSealing.open(forged, key: key)
                    opened += 1
                } catch {
                    // The name bits fail the name check, every other bit the MAC.
                    XCTAssertEqual(error.code, bit < 128 ? .invalidKey : .badRecordMAC, "\(name) bit \(bit)")
                }
            }
            XCTAssertEqual(opened, 0, name)
        }
    }

    func testEveryTruncationAndExtensionIsRejected() throws {
        let key = try NginxTicketKeyFile.parse(try vectorBytes("key48.key"))
        let ticket = try vectorBytes("nginx-tls12-key48.ticket.bin")
        for length in 0..<ticket.count {
            let truncated = Array(ticket.prefix(length))
            XCTAssertThrowsError(try TicketSealing.open(truncated, key: key), "length \(length)")
            if length < TicketSealing.minimumTicketLength {
                XCTAssertNil(TicketSealing.keyName(of: truncated))
            }
            // Dropping bytes from the front shifts every field: still no crash, still rejected.
            XCTAssertThrowsError(try TicketSealing.open(Array(ticket.suffix(length)), key: key), "suffix \(length)")
        }
        for extra in 1...33 {
            XCTAssertThrowsError(try TicketSealing.open(ticket + Array(repeating: 0, count: extra), key: key))
        }
    }

    func testWrongKeyNameIsRejectedBeforeTheMAC() throws {
        let key = TicketKey.generate()
        var ticket = TicketSealing.seal(Array(repeating: 1, count: 64), key: key)
        ticket.replaceSubrange(0..<16, with: Array(repeating: 0xFF, count: 16))
        assertCryptoError(.invalidKey) { try TicketSealing.open(ticket, key: key) }
    }

    func testOversizedTicketsAreRejectedUnread() throws {
        let key = TicketKey.generate()
        let oversized = key.name + Array(repeating: 0, count: TicketSealing.maximumTicketLength)
        XCTAssertNil(TicketSealing.keyName(of: oversized))
        assertCryptoError(.badRecordMAC) { try TicketSealing.open(oversized, key: key) }
        // And we never issue what we would refuse: an empty ticket means "none" (RFC 5077 §3.3).
        XCTAssertEqual(TicketSealing.seal(Array(repeating: 0, count: TicketSealing.maximumTicketLength), key: key), [])
        XCTAssertEqual(TicketSealing.seal([1, 2, 3], key: key, iv: [1, 2, 3]), [])
    }

    /// The PKCS#7 padding of a ticket whose MAC verifies (only a key holder can make one): every
    /// pad length opens to the state before it; a wrong byte anywhere in the pad, a zero pad
    /// length or one over 16 is refused.
    func testPaddingIsCheckedByteForByte() throws {
        let key = TicketKey.generate()
        func ticket(_ padded: [UInt8]) throws -> [UInt8] {
            let iv = SecureRandom.bytes(16)
            let ciphertext = try AES._CBC.encrypt(padded, using: SymmetricKey(data: key.aesKey), iv: AES._CBC.IV(ivBytes: iv), noPadding: true)
            let unsigned = key.name + iv + Array(ciphertext)
            return unsigned + Array(HMAC<SHA256>.authenticationCode(for: unsigned, using: SymmetricKey(data: key.hmacKey)))
        }
        for padLength in 1...16 {
            let state = (0..<(32 - padLength)).map { UInt8(truncatingIfNeeded: $0 &* 5 &+ 3) }
            let padded = state + Array(repeating: UInt8(padLength), count: padLength)
            XCTAssertEqual(try TicketSealing.open(ticket(padded), key: key), state, "pad \(padLength)")
            for position in (32 - padLength)..<32 {
                var wrong = padded
                wrong[position] ^= 0x01
                assertCryptoError(.badRecordMAC, "pad \(padLength), byte \(position)") { try TicketSealing.open(try ticket(wrong), key: key) }
            }
        }
        for last: UInt8 in [0, 17, 0xFF] {
            let padded = Array(repeating: last, count: 32)
            assertCryptoError(.badRecordMAC, "last byte \(last)") { try TicketSealing.open(try ticket(padded), key: key) }
        }
    }

    func testMisalignedCiphertextWithAValidMACIsRejected() throws {
        // Only a key holder can produce this; it must still fail cleanly, not crash. A fixed key:
        // under a random one, the "garbage padding" below decrypts to valid PKCS#7 padding about
        // once in 256 runs, and the test failed then.
        let key = try TicketKey(name: Array(repeating: 1, count: 16), aesKey: Array(repeating: 2, count: 32), hmacKey: Array(repeating: 3, count: 32))
        var ticket = key.name + Array(repeating: 0, count: 16) + Array(repeating: 7, count: 17)
        ticket += HMAC<SHA256>.authenticationCode(for: ticket, using: SymmetricKey(data: key.hmacKey))
        assertCryptoError(.badRecordMAC) { try TicketSealing.open(ticket, key: key) }
        // Whole blocks but garbage padding, with a valid MAC.
        var badPadding = key.name + Array(repeating: 0, count: 16) + Array(repeating: 9, count: 32)
        badPadding += HMAC<SHA256>.authenticationCode(for: badPadding, using: SymmetricKey(data: key.hmacKey))
        XCTAssertThrowsError(try TicketSealing.open(badPadding, key: key))
    }

    func testTicketKeyValidatesSizesAndHidesSecrets() throws {
        XCTAssertThrowsError(try TicketKey(name: [1], aesKey: Array(repeating: 0, count: 16), hmacKey: Array(repeating: 0, count: 16)))
        XCTAssertThrowsError(try TicketKey(name: Array(repeating: 0, count: 16), aesKey: Array(repeating: 0, count: 24), hmacKey: Array(repeating: 0, count: 16)))
        XCTAssertThrowsError(try TicketKey(name: Array(repeating: 0, count: 16), aesKey: Array(repeating: 0, count: 16), hmacKey: []))
        let key = TicketKey.generate()
        XCTAssertEqual(key.aesKey.count, 32)
        XCTAssertEqual(key.hmacKey.count, 32)
        XCTAssertEqual(key.name.count, 16)
        XCTAssertFalse("\(key)".contains(hexString(key.aesKey).lowercased()))
        XCTAssertNotEqual(TicketKey.generate().name, key.name)
    }
}

func assertCryptoError(
    _ code: TesseraCrypto.CryptoError.Code,
    _ context: @autoclosure () -> String = "",
    file: StaticString = #filePath,
    line: UInt = #line,
    _ body: () throws -> [UInt8]
) {
    do {
        _ = try body()
        XCTFail("expected CryptoError(\(code)) \(context())", file: file, line: line)
    } catch let error as TesseraCrypto.CryptoError {
        XCTAssertEqual(error.code, code, "\(error) \(context())", file: file, line: line)
    } catch {
        XCTFail("expected CryptoError(\(code)), got \(error) \(context())", file: file, line: line)
    }
}
