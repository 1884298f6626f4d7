import Foundation
import TesseraCrypto
import TesseraSessions
import XCTest

/// nginx `ssl_session_ticket_key` files: 48 bytes name|aes|hmac, 80 bytes name|hmac|aes.
final class NginxTicketKeyFileTests: XCTestCase {
    func testBothVectorKeyFilesLoadWithNginxsLayout() throws {
        let raw48 = try vectorBytes("key48.key")
        let key48 = try NginxTicketKeyFile.load(path: vectorDirectory.appendingPathComponent("key48.key").path)
        XCTAssertEqual(key48.name, Array(raw48[0..<16]))
        XCTAssertEqual(key48.aesKey, Array(raw48[16..<32]))
        XCTAssertEqual(key48.hmacKey, Array(raw48[32..<48]))

        let raw80 = try vectorBytes("key80.key")
        let key80 = try NginxTicketKeyFile.load(path: vectorDirectory.appendingPathComponent("key80.key").path)
        XCTAssertEqual(key80.name, Array(raw80[0..<16]))
        XCTAssertEqual(key80.hmacKey, Array(raw80[16..<48]))
        XCTAssertEqual(key80.aesKey, Array(raw80[48..<80]))

        XCTAssertEqual(try NginxTicketKeyFile.encode(key48), raw48)
        XCTAssertEqual(try NginxTicketKeyFile.encode(key80), raw80)
    }

    func testWrongSizesAreRefusedNamingTheSize() throws {
        for size in [0, 1, 16, 32, 47, 49, 64, 79, 81, 96, 128] {
            assertSessionError(.invalidField, "size \(size)") {
                _ = try NginxTicketKeyFile.parse(Array(repeating: 0x5A, count: size))
            }
            do {
                _ = try NginxTicketKeyFile.parse(Array(repeating: 0x5A, count: size))
            } catch {
                XCTAssertTrue(error.message.contains("\(size) bytes"), error.message)
                XCTAssertTrue(error.message.contains("48 or 80"), error.message)
            }
        }
    }

    func testLoadExplainsMissingAndWrongSizedFiles() throws {
        let directory = try makeTemporaryDirectory(self)
        let missing = directory.appendingPathComponent("absent.key").path
        assertSessionError(.missingField) { _ = try NginxTicketKeyFile.load(path: missing) }
        do {
            _ = try NginxTicketKeyFile.load(path: missing)
        } catch {
            XCTAssertTrue(error.message.contains(missing), error.message)
            XCTAssertTrue(error.message.contains("does not exist"), error.message)
        }

        for size in [47, 81, 4096] {
            let path = directory.appendingPathComponent("bad-\(size).key").path
            XCTAssertTrue(FileManager.default.createFile(atPath: path, contents: Data(repeating: 1, count: size)))
            do {
                _ = try NginxTicketKeyFile.load(path: path)
                XCTFail("a \(size)-byte key file loaded")
            } catch {
                XCTAssertEqual(error.code, .invalidField)
                XCTAssertTrue(error.message.contains("\(size) bytes"), error.message)
            }
        }

        // A directory is not readable as a key file.
        assertSessionError(.missingField) { _ = try NginxTicketKeyFile.load(path: directory.path) }
    }

    func testGeneratedFilesParseAndTheirTicketsOpen() throws {
        let directory = try makeTemporaryDirectory(self)
        for size in [48, 80] {
            let bytes = NginxTicketKeyFile.generate(size: size)
            XCTAssertEqual(bytes.count, size)
            let path = directory.appendingPathComponent("generated-\(size).key").path
            XCTAssertTrue(FileManager.default.createFile(atPath: path, contents: Data(bytes)))
            let key = try NginxTicketKeyFile.load(path: path)
            XCTAssertEqual(key.aesKey.count, size == 48 ? 16 : 32)
            XCTAssertEqual(key.hmacKey.count, size == 48 ? 16 : 32)
            XCTAssertEqual(try NginxTicketKeyFile.encode(key), bytes)

            let state = try SessionStateTests.syntheticSessions()[0].1.derEncoded()
            let ticket = TicketSealing.seal(state, key: key)
            XCTAssertEqual(try TicketSealing.open(ticket, key: key), state)

            let ring = TicketKeyRing(nginxKeys: [key])
            XCTAssertEqual(ring.encryptionKey(at: Date()), key)
            XCTAssertEqual(try ring.lookup(keyName: key.name, at: Date()), .valid(key))
        }
        XCTAssertNotEqual(NginxTicketKeyFile.generate(size: 80), NginxTicketKeyFile.generate(size: 80))
    }

    func testKeysWithoutAnNginxLayoutCannotBeWritten() throws {
        let mixed = try TicketKey(name: Array(repeating: 0, count: 16), aesKey: Array(repeating: 1, count: 32), hmacKey: Array(repeating: 2, count: 16))
        assertSessionError(.invalidField) { _ = try NginxTicketKeyFile.encode(mixed) }
    }

    /// nginx with several key files: the first encrypts, the others only decrypt and their tickets
    /// are renewed.
    func testNginxRingRenewsTicketsUnderOlderFiles() throws {
        let first = try NginxTicketKeyFile.parse(NginxTicketKeyFile.generate(size: 80))
        let second = try NginxTicketKeyFile.parse(try vectorBytes("key48.key"))
        let now = Date(timeIntervalSince1970: 1_800_000_000)
        let ring = TicketKeyRing(nginxKeys: [first, second])
        XCTAssertEqual(ring.encryptionKey(at: now), first)
        XCTAssertEqual(try ring.lookup(keyName: first.name, at: now), .valid(first))
        XCTAssertEqual(try ring.lookup(keyName: second.name, at: now), .validRenew(second))
        XCTAssertEqual(ring.lifetimeHint(at: now), TicketKeyRing.maximumLifetimeHint)

        let ticket = try vectorBytes("nginx-tls12-key48.ticket.bin")
        guard case .validRenew(let key) = try ring.lookup(keyName: TicketSealing.keyName(of: ticket) ?? [], at: now) else {
            return XCTFail("the nginx ticket's key was not found")
        }
        XCTAssertEqual(try TicketSealing.open(ticket, key: key), try vectorBytes("nginx-tls12-key48.ticket-plaintext.der"))
    }
}
