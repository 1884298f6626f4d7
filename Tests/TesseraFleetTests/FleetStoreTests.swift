import Crypto
import Foundation
import Logging
import NIOCore
import NIOPosix
import PostgresNIO
import TesseraCrypto
import TesseraSessions
import XCTest

@testable import TesseraFleet

/// The store against a real PostgreSQL started by `scripts/postgres-test-server` (skipped when the
/// binaries are missing, unless CI is set). Each test gets its own database. Windows are short
/// (rotate 2 s) and every wait has a deadline.
final class FleetStoreTests: XCTestCase {
    nonisolated(unsafe) static var availability: PostgresTestServer.Availability?

    override class func setUp() {
        super.setUp()
        availability = PostgresTestServer.start()
    }

    override class func tearDown() {
        if case .available(_, startedByUs: true) = availability {
            _ = PostgresTestServer.run("stop")
        }
        super.tearDown()
    }

    private var logger: Logger {
        var logger = Logger(label: "fleet-test")
        logger.logLevel = ProcessInfo.processInfo.environment["FLEET_TEST_LOG"] != nil ? .debug : .critical
        return logger
    }

    private func serverURL() throws -> String {
        switch Self.availability {
        case .available(let url, _)?:
            return url
        case .missing(let message)?:
            throw XCTSkip(message)
        case .broken(let message)?:
            XCTFail(message)
            throw FleetError.database(message)
        case nil:
            XCTFail("test server not set up")
            throw FleetError.database("test server not set up")
        }
    }

    /// A fresh database on the server at `url`, dropped when the test ends.
    private func makeDatabase(on url: String) async throws -> FleetDatabaseAddress {
        let server = try FleetDatabaseAddress(url: url)
        let admin = try await AdminConnection.connect(server)
        let name = "fleet_\(UInt32.random(in: 0...UInt32.max))"
        try await admin.execute("CREATE DATABASE \(unescaped: name)")
        await admin.close()
        addTeardownBlock {
            if let admin = try? await AdminConnection.connect(server) {
                try? await admin.execute("DROP DATABASE IF EXISTS \(unescaped: name) WITH (FORCE)")
                await admin.close()
            }
        }
        var address = server
        address.database = name
        return address
    }

    private func startStore(
        _ address: FleetDatabaseAddress, kek: KeyEncryptionKey, rotate: TimeInterval = 2, expire: TimeInterval = 6,
        poll: TimeInterval? = 0.25, notifications: Bool = true, name: String = "tessera-fleet"
    ) async throws -> FleetTicketKeyStore {
        let configuration = FleetConfiguration(
            rotate: rotate, expire: expire, pollInterval: poll, listensForNotifications: notifications,
            statementTimeout: 3, maximumReconnectDelay: 0.5, applicationName: name)
        let store = try await FleetTicketKeyStore.start(
            address: address, kek: kek, configuration: configuration,
            eventLoopGroup: MultiThreadedEventLoopGroup.singleton, logger: logger)
        addTeardownBlock { await store.shutdown() }
        return store
    }

    private func names(_ store: FleetTicketKeyStore) -> Set<[UInt8]> {
        Set(store.keys(at: Date()).map(\.key.name))
    }

    // MARK: Tests

    func testTwoStoresShareKeysAndTicketsCrossOver() async throws {
        let address = try await makeDatabase(on: try serverURL())
        let kek = KeyEncryptionKey.generate()
        let a = try await startStore(address, kek: kek)
        let b = try await startStore(address, kek: kek)

        let now = Date()
        XCTAssertEqual(a.keys(at: now).count, 2, "one active, one staged")
        XCTAssertEqual(names(a), names(b))
        let key = try XCTUnwrap(a.encryptionKey(at: now))
        XCTAssertEqual(b.encryptionKey(at: now), key)
        XCTAssertGreaterThan(a.lifetimeHint(at: now), 0)
        XCTAssertLessThanOrEqual(a.lifetimeHint(at: now), 6)

        // A ticket sealed on A opens on B.
        let ticket = TicketSealing.seal(Array("session state".utf8), key: key)
        guard case .valid(let found) = try b.lookup(keyName: Array(ticket.prefix(16)), at: now) else {
            return XCTFail("B does not resolve A's key")
        }
        XCTAssertEqual(try TicketSealing.open(ticket, key: found), Array("session state".utf8))
        XCTAssertEqual(try b.lookup(keyName: Array(repeating: 0, count: 16), at: now), .notFound(.unknownKey))

        // The table holds only sealed secrets.
        let admin = try await AdminConnection.connect(address)
        defer { Task { await admin.close() } }
        let rows = try await admin.rows("SELECT sealed FROM tessera_ticket_keys")
        XCTAssertEqual(rows.count, 2)
        for row in rows {
            let sealed = Array(try row.decode(ByteBuffer.self).readableBytesView)
            XCTAssertFalse(hexEncode(sealed).contains(hexEncode(key.aesKey)))
            XCTAssertFalse(hexEncode(sealed).contains(hexEncode(key.hmacKey)))
        }
    }

    func testOneRotatorAtATimeAndTakeover() async throws {
        let address = try await makeDatabase(on: try serverURL())
        let kek = KeyEncryptionKey.generate()
        let a = try await startStore(address, kek: kek, name: "fleet-a")
        let b = try await startStore(address, kek: kek, name: "fleet-b")
        XCTAssertTrue(a.status.isRotator)
        XCTAssertFalse(b.status.isRotator)

        // For a while (B polls for the lock every 0.25 s), exactly one rotator, and one lock holder.
        let admin = try await AdminConnection.connect(address)
        defer { Task { await admin.close() } }
        let lockKey = FleetConfiguration.defaultLockKey(table: FleetConfiguration.defaultTable)
        for _ in 0..<10 {
            XCTAssertEqual([a, b].filter { $0.status.isRotator }.count, 1)
            try await Task.sleep(for: .milliseconds(100))
        }
        let holders = try await admin.rows(
            """
            SELECT a.application_name FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
            WHERE l.locktype = 'advisory' AND l.granted
              AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
              AND l.classid = \(Int64(lockKey >> 32))::oid AND l.objid = \(Int64(lockKey & 0xffff_ffff))::oid
            """
        ).map { try $0.decode(String.self) }
        XCTAssertEqual(holders, ["fleet-a"])

        // The rotator dies (its connection closes without unlocking): B takes over and rotates.
        await a.shutdown()
        let tookOver = await eventually(timeout: 3) { b.status.isRotator }
        XCTAssertTrue(tookOver, "B did not take the rotator's lock")
        let published = await eventually(timeout: 4) { b.status.keysPublished > 0 }
        XCTAssertTrue(published, "B did not publish a key after taking over")

        // Its session killed from outside, B loses the lock and someone (here C) holds it again,
        // never two at once.
        let c = try await startStore(address, kek: kek, name: "fleet-c")
        try await admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'fleet-b'")
        var sawTwo = false
        let recovered = await eventually(timeout: 4) {
            let rotators = [b, c].filter { $0.status.isRotator }.count
            if rotators > 1 { sawTwo = true }
            return rotators == 1 && b.status.isConnected
        }
        XCTAssertTrue(recovered, "no rotator after the old one's session was terminated")
        XCTAssertFalse(sawTwo)

        // The chain in the table has no overlap: a single writer at a time.
        let windows = try await admin.rows(
            "SELECT activates_at, encrypts_until FROM tessera_ticket_keys ORDER BY activates_at"
        ).map { try $0.decode((Date, Date).self) }
        for (previous, next) in zip(windows, windows.dropFirst()) {
            XCTAssertGreaterThanOrEqual(next.0.timeIntervalSince(previous.1), -0.001, "overlapping keys")
        }
    }

    func testStagedKeyDecryptsBeforeItEncryptsOnEveryStore() async throws {
        let address = try await makeDatabase(on: try serverURL())
        let kek = KeyEncryptionKey.generate()
        let a = try await startStore(address, kek: kek)
        let b = try await startStore(address, kek: kek)
        let c = try await startStore(address, kek: kek, notifications: false)
        let stores = [a, b, c]

        // Watch two rotations: each time, the staged key is held by every store, opens tickets on
        // every store, and is nobody's encryption key until it activates.
        var checked = 0
        var lastStaged: [UInt8]?
        let deadline = Date().addingTimeInterval(6)
        while checked < 2, Date() < deadline {
            let now = Date()
            guard let staged = a.keys(at: now).first(where: { $0.state(at: now) == .staged }),
                  staged.key.name != lastStaged,
                  staged.activatesAt.timeIntervalSince(now) > 0.5,
                  stores.allSatisfy({ names($0).contains(staged.key.name) })
            else {
                try await Task.sleep(for: .milliseconds(50))
                continue
            }
            let ticket = TicketSealing.seal([1, 2, 3], key: staged.key)
            for store in stores {
                XCTAssertNotEqual(store.encryptionKey(at: now), staged.key, "a staged key encrypts")
                guard case .valid(let key) = try store.lookup(keyName: staged.key.name, at: now) else {
                    XCTFail("a staged key does not decrypt")
                    continue
                }
                XCTAssertEqual(try TicketSealing.open(ticket, key: key), [1, 2, 3])
            }
            let activated = await eventually(timeout: 3) {
                let now = Date()
                return now >= staged.activatesAt && stores.allSatisfy { $0.encryptionKey(at: now) == staged.key }
            }
            XCTAssertTrue(activated, "the staged key did not become every store's encryption key")
            lastStaged = staged.key.name
            checked += 1
        }
        XCTAssertEqual(checked, 2, "did not see two staged keys")

        // In the table, every key after the first was published most of a period before activating.
        let admin = try await AdminConnection.connect(address)
        defer { Task { await admin.close() } }
        let rows = try await admin.rows(
            "SELECT created_at, activates_at FROM tessera_ticket_keys ORDER BY activates_at"
        ).map { try $0.decode((Date, Date).self) }
        XCTAssertGreaterThanOrEqual(rows.count, 3)
        for (created, activates) in rows.dropFirst() {
            XCTAssertGreaterThanOrEqual(activates.timeIntervalSince(created), 2 - 0.25 - 0.3)
        }
    }

    func testNotifyRefreshesQuicklyAndPollingWorksWithout() async throws {
        let address = try await makeDatabase(on: try serverURL())
        let kek = KeyEncryptionKey.generate()
        let rotator = try await startStore(address, kek: kek, poll: 0.1)
        let listening = try await startStore(address, kek: kek, poll: 30, notifications: true)
        let polling = try await startStore(address, kek: kek, poll: 0.3, notifications: false)
        let deaf = try await startStore(address, kek: kek, poll: 30, notifications: false)
        XCTAssertTrue(rotator.status.isRotator)

        let before = names(rotator)
        let published = await eventually(timeout: 3) { !self.names(rotator).subtracting(before).isEmpty }
        XCTAssertTrue(published, "no rotation in 3 s")
        let fresh = names(rotator).subtracting(before)
        let seenAt = Date()

        let viaNotify = await eventually(timeout: 0.5) { self.names(listening).isSuperset(of: fresh) }
        XCTAssertTrue(viaNotify, "LISTEN/NOTIFY did not deliver the new key within 0.5 s")
        let viaPolling = await eventually(timeout: 1.5) { self.names(polling).isSuperset(of: fresh) }
        XCTAssertTrue(viaPolling, "polling did not find the new key within 1.5 s")
        XCTAssertLessThan(Date().timeIntervalSince(seenAt), 2)
        // The control: neither listening nor polling soon, so it has not seen it.
        XCTAssertTrue(names(deaf).isDisjoint(with: fresh))
    }

    func testDatabaseOutageKeepsLookupsAndRecovers() async throws {
        _ = try serverURL()  // skip or fail like the others when PostgreSQL is missing
        let instance = "fleet-outage-\(getpid())"
        guard case .available(let url, _) = PostgresTestServer.start(instance: instance) else {
            return XCTFail("cannot start a second test server")
        }
        addTeardownBlock { _ = PostgresTestServer.run("stop", instance: instance) }
        let address = try await makeDatabase(on: url)
        let kek = KeyEncryptionKey.generate()
        let a = try await startStore(address, kek: kek, expire: 12)
        let b = try await startStore(address, kek: kek, expire: 12)

        let key = try XCTUnwrap(a.encryptionKey(at: Date()))
        let held = names(a)
        let ticket = TicketSealing.seal([9, 9], key: key)

        let paused = PostgresTestServer.run("pause", instance: instance)
        XCTAssertEqual(paused.status, 0, paused.stderr)
        let disconnected = await eventually(timeout: 3) { !a.status.isConnected && !b.status.isConnected }
        XCTAssertTrue(disconnected, "stores did not notice the database going away")

        // Without the database: the held keys still resolve, tickets still open, for a while.
        for _ in 0..<5 {
            for store in [a, b] {
                let now = Date()
                XCTAssertTrue(names(store).isSubset(of: held), "keys changed without a database")
                switch try store.lookup(keyName: key.name, at: now) {
                case .valid(let found), .validRenew(let found):
                    XCTAssertEqual(try TicketSealing.open(ticket, key: found), [9, 9])
                case .notFound(let reason):
                    XCTFail("held key lost during the outage: \(reason)")
                }
            }
            try await Task.sleep(for: .milliseconds(200))
        }

        let restarted = PostgresTestServer.run("start", instance: instance)
        XCTAssertEqual(restarted.status, 0, restarted.stderr)
        let reconnected = await eventually(timeout: 6) { a.status.isConnected && b.status.isConnected }
        XCTAssertTrue(reconnected, "stores did not reconnect")
        XCTAssertGreaterThanOrEqual(a.status.reconnections + b.status.reconnections, 2)
        // Rotation goes on, and both stores see the keys published after the outage.
        let rotating = await eventually(timeout: 4) {
            let fresh = self.names(a).subtracting(held)
            return [a, b].filter({ $0.status.isRotator }).count == 1 && !fresh.isEmpty
                && self.names(b).isSuperset(of: fresh)
        }
        XCTAssertTrue(rotating, "no new keys after the database came back")
    }

    func testAnotherKEKIsRefusedAtStart() async throws {
        let address = try await makeDatabase(on: try serverURL())
        _ = try await startStore(address, kek: KeyEncryptionKey.generate())
        do {
            _ = try await startStore(address, kek: KeyEncryptionKey.generate())
            XCTFail("a store with another KEK started")
        } catch FleetError.kekMismatch(let message) {
            XCTAssertTrue(message.contains("-ticket_kek_file"), message)
        }
    }

    func testBadRowsAreSkippedNotFatal() async throws {
        let address = try await makeDatabase(on: try serverURL())
        let kek = KeyEncryptionKey.generate()
        let a = try await startStore(address, kek: kek)
        let admin = try await AdminConnection.connect(address)
        defer { Task { await admin.close() } }

        // Garbage, a key sealed under another KEK, and secrets of an impossible size under ours.
        let garbageName = (0..<16).map { _ in UInt8.random(in: 0...255) }
        let foreign = TicketKey.generate()
        let foreignSealed = try TicketKeySealing.seal(foreign, under: KeyEncryptionKey.generate())
        let oddName = (0..<16).map { _ in UInt8.random(in: 0...255) }
        let odd = try AES.GCM.seal([5, 1, 2, 3, 4, 5, 6], using: kek.key, authenticating: oddName)
        let oddSealed = [UInt8(1)] + odd.nonce.withUnsafeBytes { Array($0) } + Array(odd.ciphertext) + Array(odd.tag)
        let now = Date()
        for (name, sealed) in [(garbageName, [UInt8](repeating: 1, count: 40)), (foreign.name, foreignSealed), (oddName, oddSealed)] {
            try await admin.execute(
                """
                INSERT INTO tessera_ticket_keys (name, sealed, activates_at, encrypts_until, decrypts_until)
                VALUES (\(ByteBuffer(bytes: name)), \(ByteBuffer(bytes: sealed)), \(now), \(now + 60), \(now + 120))
                """)
        }
        try await admin.execute("SELECT pg_notify('tessera_ticket_keys', 'test')")

        // Both the running store and a new one carry on with the good keys.
        let b = try await startStore(address, kek: kek)
        try await Task.sleep(for: .milliseconds(500))
        for store in [a, b] {
            XCTAssertEqual(store.keys(at: Date()).count, 2)
            XCTAssertNotNil(store.encryptionKey(at: Date()))
            for name in [garbageName, foreign.name, oddName] {
                XCTAssertEqual(try store.lookup(keyName: name, at: Date()), .notFound(.unknownKey))
            }
        }
    }

    /// A row dated 'infinity' (an operator's hand edit) neither traps nor stops rotation.
    func testInfiniteDatesInTheTable() async throws {
        let address = try await makeDatabase(on: try serverURL())
        let kek = KeyEncryptionKey.generate()
        await (try await startStore(address, kek: kek)).shutdown()  // creates the table
        let admin = try await AdminConnection.connect(address)
        defer { Task { await admin.close() } }
        let key = TicketKey.generate()
        try await admin.execute("TRUNCATE tessera_ticket_keys")
        try await admin.execute(
            """
            INSERT INTO tessera_ticket_keys (name, sealed, activates_at, encrypts_until, decrypts_until)
            VALUES (\(ByteBuffer(bytes: key.name)), \(ByteBuffer(bytes: try TicketKeySealing.seal(key, under: kek))),
                    \(Date() - 1), 'infinity', 'infinity')
            """)
        let store = try await startStore(address, kek: kek)
        XCTAssertEqual(store.encryptionKey(at: Date()), key)
        // The first store's session may still be ending (and holding the lock) for a moment.
        let successor = await eventually(timeout: 2) { store.keys(at: Date()).count == 2 }
        XCTAssertTrue(successor, "no staged successor next to the forever key")
        let staged = try XCTUnwrap(store.keys(at: Date()).first { $0.state(at: Date()) == .staged })
        XCTAssertLessThanOrEqual(staged.activatesAt.timeIntervalSinceNow, 2.1)
        let movedOn = await eventually(timeout: 3) { store.encryptionKey(at: Date()) == staged.key }
        XCTAssertTrue(movedOn, "the successor did not take over encryption")
    }

    func testKeysThatLeaveTheTableAreReportedExpired() async throws {
        let address = try await makeDatabase(on: try serverURL())
        let store = try await startStore(address, kek: KeyEncryptionKey.generate(), rotate: 1, expire: 1, poll: 0.1)
        let first = try XCTUnwrap(store.encryptionKey(at: Date()))
        // Expired after 1 s, deleted from the table a period later, then gone from the snapshot.
        let gone = await eventually(timeout: 5) { !self.names(store).contains(first.name) && store.status.keyCount <= 3 }
        XCTAssertTrue(gone)
        let dropped = await eventually(timeout: 2) {
            !store.state.currentSnapshot.keys.contains { $0.key.name == first.name }
        }
        XCTAssertTrue(dropped, "the deleted key is still in the snapshot")
        XCTAssertEqual(try store.lookup(keyName: first.name, at: Date()), .notFound(.expiredKey))
        XCTAssertNotNil(store.encryptionKey(at: Date()))
    }

    func testCLIFactory() async throws {
        let address = try await makeDatabase(on: try serverURL())
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("fleet-cli-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let kekFile = directory.appendingPathComponent("kek").path
        try Data((0..<32).map { _ in UInt8.random(in: 0...255) }).write(to: URL(fileURLWithPath: kekFile))

        let store = try await FleetTicketKeyStore.start(
            url: "postgres://\(address.username)@\(address.host):\(address.port)/\(address.database)",
            kekFile: kekFile, rotate: 2, expire: 4, renewal: .always,
            eventLoopGroup: MultiThreadedEventLoopGroup.singleton, logger: logger)
        addTeardownBlock { await store.shutdown() }
        let key = try XCTUnwrap(store.encryptionKey(at: Date()))
        XCTAssertEqual(try store.lookup(keyName: key.name, at: Date()), .validRenew(key), "renewal policy .always")

        do {
            _ = try await FleetTicketKeyStore.start(
                url: "postgres://\(address.username)@127.0.0.1:1/\(address.database)", kekFile: kekFile, rotate: 2,
                expire: 4, eventLoopGroup: MultiThreadedEventLoopGroup.singleton, logger: logger)
            XCTFail("started without a database")
        } catch FleetError.database(let message) {
            XCTAssertTrue(message.contains("cannot connect"), message)
        }
    }
}
