import Foundation
import TesseraCrypto
import TesseraSessions
import XCTest

@testable import TesseraFleet

/// The parts that need no database: sealing, KEK files, URLs, the rotation plan.
final class SealingTests: XCTestCase {
    func testSealingRoundTrip() throws {
        let kek = KeyEncryptionKey.generate()
        let key = TicketKey.generate()
        let sealed = try TicketKeySealing.seal(key, under: kek)
        XCTAssertEqual(sealed.count, 1 + 12 + 1 + 32 + 32 + 16)
        let opened = try TicketKeySealing.open(sealed, name: key.name, under: kek)
        XCTAssertEqual(opened, key)
        // The secrets are not in the clear.
        XCTAssertFalse(contains(sealed, key.aesKey))
        XCTAssertFalse(contains(sealed, key.hmacKey))
        // Two seals of one key differ (random nonce).
        XCTAssertNotEqual(try TicketKeySealing.seal(key, under: kek), sealed)

        // nginx's 48-byte layout (AES-128, 16-byte HMAC key) round-trips too.
        let small = try TicketKey(name: Array(repeating: 7, count: 16), aesKey: Array(repeating: 1, count: 16), hmacKey: Array(repeating: 2, count: 16))
        XCTAssertEqual(try TicketKeySealing.open(TicketKeySealing.seal(small, under: kek), name: small.name, under: kek), small)
    }

    func testWrongKEKNameOrAlteredBlobFails() throws {
        let kek = KeyEncryptionKey.generate()
        let key = TicketKey.generate()
        let sealed = try TicketKeySealing.seal(key, under: kek)

        XCTAssertThrowsError(try TicketKeySealing.open(sealed, name: key.name, under: KeyEncryptionKey.generate())) { error in
            XCTAssertTrue("\(error)".contains("does not open"), "\(error)")
            XCTAssertFalse("\(error)".contains(hexEncode(key.aesKey)))
        }
        // The name is the AAD: the blob moved to another row does not open.
        var otherName = key.name
        otherName[0] ^= 1
        XCTAssertThrowsError(try TicketKeySealing.open(sealed, name: otherName, under: kek))
        // Every single-bit flip, truncation and garbage is refused (and nothing traps).
        for index in sealed.indices {
            var altered = sealed
            altered[index] ^= 0x80
            XCTAssertThrowsError(try TicketKeySealing.open(altered, name: key.name, under: kek), "flip at \(index)")
        }
        for length in 0..<sealed.count {
            XCTAssertThrowsError(try TicketKeySealing.open(Array(sealed.prefix(length)), name: key.name, under: kek))
        }
        XCTAssertThrowsError(try TicketKeySealing.open(sealed, name: Array(key.name.prefix(15)), under: kek))
        XCTAssertThrowsError(try TicketKeySealing.open([], name: key.name, under: kek))
    }

    func testKEKFiles() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("fleet-kek-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let bytes = (0..<32).map { UInt8($0 * 7 & 0xff) }

        let raw = directory.appendingPathComponent("raw").path
        try Data(bytes).write(to: URL(fileURLWithPath: raw))
        let hex = directory.appendingPathComponent("hex").path
        try Data((hexEncode(bytes) + "\n").utf8).write(to: URL(fileURLWithPath: hex))

        let key = TicketKey.generate()
        let fromRaw = try KeyEncryptionKey.load(path: raw)
        let fromHex = try KeyEncryptionKey.load(path: hex)
        XCTAssertEqual(try TicketKeySealing.open(TicketKeySealing.seal(key, under: fromRaw), name: key.name, under: fromHex), key)

        let short = directory.appendingPathComponent("short").path
        try Data(bytes.prefix(31)).write(to: URL(fileURLWithPath: short))
        XCTAssertThrowsError(try KeyEncryptionKey.load(path: short)) { XCTAssertTrue("\($0)".contains("31 bytes"), "\($0)") }
        let badHex = directory.appendingPathComponent("badhex").path
        try Data(String(repeating: "zz", count: 32).utf8).write(to: URL(fileURLWithPath: badHex))
        XCTAssertThrowsError(try KeyEncryptionKey.load(path: badHex))
        XCTAssertThrowsError(try KeyEncryptionKey.load(path: directory.appendingPathComponent("missing").path)) {
            XCTAssertTrue("\($0)".contains("cannot read"), "\($0)")
        }
        XCTAssertThrowsError(try KeyEncryptionKey(bytes: []))
        XCTAssertThrowsError(try KeyEncryptionKey.load(path: "/dev/zero")) { XCTAssertTrue("\($0)".contains("longer"), "\($0)") }
        XCTAssertThrowsError(try KeyEncryptionKey.load(path: directory.path), "a directory")
    }

    func testDatabaseURLs() throws {
        let address = try FleetDatabaseAddress(url: "postgres://fleet@db.example:6543/tickets")
        XCTAssertEqual(address, FleetDatabaseAddress(host: "db.example", port: 6543, username: "fleet", database: "tickets"))
        let withPassword = try FleetDatabaseAddress(url: "postgresql://u:s3cret@127.0.0.1/db?sslmode=disable")
        XCTAssertEqual(withPassword.port, 5432)
        XCTAssertEqual(withPassword.password, "s3cret")
        XCTAssertFalse(withPassword.description.contains("s3cret"))
        XCTAssertEqual(try FleetDatabaseAddress(url: "postgres://u@[::1]:7000/db").host, "::1")

        for bad in [
            "mysql://u@h/db", "postgres://h:5432/db", "postgres://u@h:5432/", "postgres://u@h/a/b",
            "postgres://u@h/db?sslmode=require", "not a url", "",
        ] {
            XCTAssertThrowsError(try FleetDatabaseAddress(url: bad), bad)
        }
        XCTAssertThrowsError(try FleetDatabaseAddress(url: "postgres://u:hunter2@h/db?sslmode=verify-full")) {
            XCTAssertFalse("\($0)".contains("hunter2"))
        }
    }

    func testConfigurationIsValidated() {
        XCTAssertThrowsError(try FleetConfiguration(rotate: 0.5).validated())
        XCTAssertThrowsError(try FleetConfiguration(rotate: 10, expire: 5).validated())
        XCTAssertThrowsError(try FleetConfiguration(rotate: .nan).validated())
        XCTAssertThrowsError(try FleetConfiguration(table: "keys; DROP TABLE x").validated())
        XCTAssertThrowsError(try FleetConfiguration(table: "1keys").validated())
        XCTAssertNoThrow(try FleetConfiguration(rotate: 2, expire: 2, table: "tickets_2").validated())
        XCTAssertEqual(FleetConfiguration(rotate: 2).pollInterval, 0.5)
        XCTAssertEqual(FleetConfiguration(rotate: 3600).pollInterval, 60)
        XCTAssertNotEqual(FleetConfiguration.defaultLockKey(table: "a"), FleetConfiguration.defaultLockKey(table: "b"))
    }

    /// The rotator's plan on a fake clock: the chain follows `TicketKeyRing`'s windows, every key but
    /// the very first is published a whole period (less one poll) before it activates, and exactly
    /// one key is active at any time.
    func testRotationPlanOnAFakeClock() {
        let start = Date(timeIntervalSince1970: 1_700_000_000)
        let rotate: TimeInterval = 10
        let expire: TimeInterval = 25
        let poll: TimeInterval = 2.5
        var table = [(window: KeyWindow, createdAt: Date)]()

        var now = start
        while now < start.addingTimeInterval(200) {
            let added = RotationPlanner.keysToAdd(existing: table.map(\.window), now: now, rotate: rotate, expire: expire)
            table += added.map { ($0, now) }
            let cutoff = RotationPlanner.deleteBefore(now: now, rotate: rotate)
            table.removeAll { $0.window.decryptsUntil <= cutoff }

            XCTAssertEqual(table.filter { $0.window.isActive(at: now) }.count, 1, "at +\(now.timeIntervalSince(start))")
            XCTAssertTrue(table.contains { $0.window.activatesAt > now }, "a staged key at +\(now.timeIntervalSince(start))")
            now += poll
        }
        let sorted = table.sorted { $0.window.activatesAt < $1.window.activatesAt }
        for (previous, next) in zip(sorted, sorted.dropFirst()) {
            XCTAssertEqual(next.window.activatesAt, previous.window.encryptsUntil)
            XCTAssertEqual(next.window.decryptsUntil.timeIntervalSince(next.window.activatesAt), expire)
            XCTAssertGreaterThanOrEqual(next.window.activatesAt.timeIntervalSince(next.createdAt), rotate - poll)
        }

        // First start: one key active now and its successor staged.
        let first = RotationPlanner.keysToAdd(existing: [], now: start, rotate: rotate, expire: expire)
        XCTAssertEqual(first.map(\.activatesAt), [start, start.addingTimeInterval(rotate)])
        // The fleet was away longer than a period: a fresh key now, plus a staged one.
        let stale = [KeyWindow(activatesAt: start, encryptsUntil: start + 10, decryptsUntil: start + 25)]
        let later = start.addingTimeInterval(100)
        XCTAssertEqual(
            RotationPlanner.keysToAdd(existing: stale, now: later, rotate: rotate, expire: expire).map(\.activatesAt),
            [later, later.addingTimeInterval(rotate)])
        // A row that encrypts "forever" does not push planned dates out of range.
        let forever = [KeyWindow(activatesAt: start - 5, encryptsUntil: .distantFuture, decryptsUntil: .distantFuture)]
        XCTAssertEqual(
            RotationPlanner.keysToAdd(existing: forever, now: start, rotate: rotate, expire: expire).map(\.activatesAt),
            [start.addingTimeInterval(rotate)])
        // Nothing to do when a key is active and one staged.
        XCTAssertEqual(RotationPlanner.keysToAdd(existing: first, now: start + 1, rotate: rotate, expire: expire), [])
    }

    /// Keys that leave the table are remembered: their tickets count as expired, not unknown.
    func testSnapshotRemembersDroppedNames() throws {
        let now = Date(timeIntervalSince1970: 1_700_000_000)
        let key = ManagedTicketKey(key: TicketKey.generate(), activatesAt: now - 5, encryptsUntil: now + 5, decryptsUntil: now + 15)
        let older = ManagedTicketKey(key: TicketKey.generate(), activatesAt: now - 15, encryptsUntil: now - 5, decryptsUntil: now + 5)
        let state = FleetSharedState(renewal: .whenKeyRetiring)
        state.install(keys: [older, key], renewal: .whenKeyRetiring, now: now)
        XCTAssertEqual(state.currentSnapshot.keys.map(\.key), [key.key, older.key], "newest first")
        XCTAssertEqual(state.currentSnapshot.ring.encryptionKey(at: now), key.key)
        XCTAssertEqual(try state.currentSnapshot.ring.lookup(keyName: older.key.name, at: now), .validRenew(older.key))
        state.install(keys: [key], renewal: .whenKeyRetiring, now: now)
        XCTAssertEqual(state.currentSnapshot.retiredNames, [older.key.name])
    }

    /// With no active key (nothing new loaded in time), the newest activated key that still
    /// decrypts goes on sealing, its hint ending with its decrypt window; staged keys never seal.
    func testEncryptingKeyWhenNoKeyIsActive() {
        let now = Date(timeIntervalSince1970: 1_700_000_000)
        let old = ManagedTicketKey(key: TicketKey.generate(), activatesAt: now - 20, encryptsUntil: now - 18, decryptsUntil: now + 1)
        let newer = ManagedTicketKey(key: TicketKey.generate(), activatesAt: now - 18, encryptsUntil: now - 16, decryptsUntil: now + 2.5)
        let staged = ManagedTicketKey(key: TicketKey.generate(), activatesAt: now + 5, encryptsUntil: now + 7, decryptsUntil: now + 25)
        let snapshot = KeySnapshot.empty(renewal: .whenKeyRetiring).replacing(keys: [old, newer, staged], renewal: .whenKeyRetiring)
        XCTAssertEqual(snapshot.encryptingKey(at: now)?.key, newer.key)
        XCTAssertEqual(snapshot.lifetimeHint(at: now), 2)
        XCTAssertNil(snapshot.encryptingKey(at: now + 2), "less than a second of decrypt window left")
        XCTAssertEqual(snapshot.lifetimeHint(at: now + 2), 0)
        XCTAssertEqual(snapshot.encryptingKey(at: now + 5)?.key, staged.key, "activated")
        XCTAssertEqual(snapshot.lifetimeHint(at: now + 5), 20)
    }

    private func contains(_ haystack: [UInt8], _ needle: [UInt8]) -> Bool {
        guard needle.count <= haystack.count else { return false }
        return (0...(haystack.count - needle.count)).contains { Array(haystack[$0..<($0 + needle.count)]) == needle }
    }
}

func hexEncode(_ bytes: [UInt8]) -> String {
    bytes.map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined()
}
