import Foundation
import TesseraCrypto
import TesseraSessions
import XCTest

/// Swapping key rings under running lookups, nginx key-file sets read all-or-nothing, and key
/// files written with mode 0600 (DESIGN.md §5; the operator features of issue 4).
final class ReloadableTicketKeyProviderTests: XCTestCase {
    let now = Date(timeIntervalSince1970: 1_800_000_000)

    func testDelegatesToTheCurrentProviderAndSwaps() throws {
        let first = try NginxTicketKeyFile.parse(NginxTicketKeyFile.generate(size: 80))
        let second = try NginxTicketKeyFile.parse(NginxTicketKeyFile.generate(size: 48))
        let provider = ReloadableTicketKeyProvider(TicketKeyRing(nginxKeys: [first]))
        XCTAssertEqual(provider.encryptionKey(at: now), first)
        XCTAssertEqual(try provider.lookup(keyName: first.name, at: now), .valid(first))
        XCTAssertEqual(try provider.lookup(keyName: second.name, at: now), .notFound(.unknownKey))
        XCTAssertEqual(provider.lifetimeHint(at: now), TicketKeyRing.maximumLifetimeHint)
        XCTAssertEqual(provider.keys(at: now).map(\.key), [first])

        // nginx's rotation: the new file first, the old one kept to decrypt (and renew).
        let old = provider.replace(with: TicketKeyRing(nginxKeys: [second, first]))
        XCTAssertEqual(old.encryptionKey(at: now), first, "replace returns the provider it replaced")
        XCTAssertEqual(provider.encryptionKey(at: now), second)
        XCTAssertEqual(try provider.lookup(keyName: first.name, at: now), .validRenew(first))
        XCTAssertEqual(try provider.lookup(keyName: second.name, at: now), .valid(second))
        XCTAssertEqual(provider.keys(at: now).map(\.key), [second, first])

        // Removal: the old key's tickets now mean a full handshake.
        provider.replace(with: TicketKeyRing(nginxKeys: [second]))
        XCTAssertEqual(try provider.lookup(keyName: first.name, at: now), .notFound(.unknownKey))
    }

    /// Lookups on many threads while another thread swaps rings: every answer comes from one
    /// ring or the other, never a mix, and nothing deadlocks.
    func testLookupsRunConcurrentlyWithSwaps() throws {
        let keyA = try NginxTicketKeyFile.parse(NginxTicketKeyFile.generate(size: 80))
        let keyB = try NginxTicketKeyFile.parse(NginxTicketKeyFile.generate(size: 80))
        let ringA = TicketKeyRing(nginxKeys: [keyA])
        let ringB = TicketKeyRing(nginxKeys: [keyB, keyA])
        let provider = ReloadableTicketKeyProvider(ringA)
        let now = self.now
        let bad = Problems()
        DispatchQueue.concurrentPerform(iterations: 8) { worker in
            for round in 0..<2_000 {
                if worker == 0 {
                    provider.replace(with: round.isMultiple(of: 2) ? ringB : ringA)
                    continue
                }
                let encrypting = provider.encryptionKey(at: now)
                let lookup = try? provider.lookup(keyName: keyA.name, at: now)
                let fine = (encrypting == keyA || encrypting == keyB)
                    && (lookup == .valid(keyA) || lookup == .validRenew(keyA))
                if !fine {
                    bad.append("worker \(worker) round \(round): \(String(describing: encrypting)) \(String(describing: lookup))")
                }
            }
        }
        XCTAssertEqual(bad.all, [])
    }

    /// A key-file set loads every file or none; the error names the culprit.
    func testFileSetLoadsAllOrNothing() throws {
        let directory = try makeTemporaryDirectory(self)
        let first = directory.appendingPathComponent("first.key").path
        let second = directory.appendingPathComponent("second.key").path
        try NginxTicketKeyFile.write(NginxTicketKeyFile.generate(size: 80), to: first)
        try NginxTicketKeyFile.write(NginxTicketKeyFile.generate(size: 48), to: second)
        let keyFirst = try NginxTicketKeyFile.load(path: first)
        let keySecond = try NginxTicketKeyFile.load(path: second)

        let ring = try NginxTicketKeyFileSet(paths: [first, second], renewal: .whenKeyRetiring).load()
        XCTAssertEqual(ring.encryptionKey(at: now), keyFirst)
        XCTAssertEqual(try ring.lookup(keyName: keySecond.name, at: now), .validRenew(keySecond))
        let never = try NginxTicketKeyFileSet(paths: [first, second], renewal: .never).load()
        XCTAssertEqual(try never.lookup(keyName: keySecond.name, at: now), .valid(keySecond))

        let missing = directory.appendingPathComponent("missing.key").path
        let short = directory.appendingPathComponent("short.key").path
        XCTAssertTrue(FileManager.default.createFile(atPath: short, contents: Data(repeating: 7, count: 79)))
        for (paths, culprit, words) in [([first, missing], missing, "does not exist"), ([short, first], short, "79 bytes")] {
            do {
                _ = try NginxTicketKeyFileSet(paths: paths).load()
                XCTFail("loaded \(paths)")
            } catch {
                XCTAssertTrue(error.message.contains(culprit), error.message)
                XCTAssertTrue(error.message.contains(words), error.message)
            }
        }
        assertSessionError(.missingField) { _ = try NginxTicketKeyFileSet(paths: []).load() }
    }

    func testWrittenKeyFilesAreMode0600AndReplaceAtomically() throws {
        let directory = try makeTemporaryDirectory(self)
        let path = directory.appendingPathComponent("ticket.key").path
        let previous = umask(0)
        defer { umask(previous) }
        for size in [80, 48] {
            let bytes = NginxTicketKeyFile.generate(size: size)
            try NginxTicketKeyFile.write(bytes, to: path)
            XCTAssertEqual(FileManager.default.contents(atPath: path).map { [UInt8]($0) }, bytes)
            let attributes = try FileManager.default.attributesOfItem(atPath: path)
            XCTAssertEqual((attributes[.posixPermissions] as? NSNumber)?.intValue, 0o600, "size \(size)")
        }
        // No temporary files are left beside it.
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: directory.path), ["ticket.key"])

        // Bytes that are not a key file are refused before anything is written.
        assertSessionError(.invalidField) { try NginxTicketKeyFile.write([1, 2, 3], to: path) }
        XCTAssertEqual(try NginxTicketKeyFile.load(path: path).aesKey.count, 16, "the 48-byte file is still there")
        // A folder that does not exist: a clear error, no crash.
        let nowhere = directory.appendingPathComponent("no/such/dir/ticket.key").path
        assertSessionError(.missingField) { try NginxTicketKeyFile.write(NginxTicketKeyFile.generate(), to: nowhere) }
    }
}

/// Problems found on several threads.
private final class Problems: @unchecked Sendable {
    private let lock = NSLock()
    private var found: [String] = []

    func append(_ problem: String) { lock.withLock { found.append(problem) } }
    var all: [String] { lock.withLock { found } }
}
