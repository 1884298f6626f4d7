import Foundation
import Logging
import Metrics
import MetricsTestKit
import NIOCore
import NIOEmbedded
import TesseraCore
import TesseraCrypto
import TesseraNIO
import TesseraSessions
import TesseraWire
import XCTest

/// Ticket metrics and logs from real handshakes through the NIO handlers, on a fake clock
/// (DESIGN.md §5; issue 4): handshakes by kind, tickets issued, failures by reason, rotations,
/// live keys; and SIGHUP-style reloads of nginx key files that keep the old keys on failure.
final class TicketMetricsTests: XCTestCase {
    let start = Date(timeIntervalSince1970: 1_800_000_000)

    func testHandshakesRotationsAndFailuresAreCountedAndLogged() throws {
        let clock = ManualClock(start)
        let ring = TicketKeyRing(rotate: 10, expire: 20, renewal: .whenKeyRetiring, start: start)
        let world = try MetricsWorld(keys: ring, clock: clock)

        // t=0: full handshake, ticket under key A.
        let first = try world.connect(session: nil)
        XCTAssertFalse(first.server.resumed)
        let session = try XCTUnwrap(first.issued)
        XCTAssertEqual(try world.count(TicketMetrics.Label.handshakes, ["kind": "full"]), 1)
        XCTAssertEqual(try world.count(TicketMetrics.Label.ticketsIssued), 1)
        XCTAssertEqual(try world.metrics.expectGauge(TicketMetrics.Label.liveKeys).lastValue, 2, "A active, B staged")
        XCTAssertTrue(world.logs.contains(.info, "ticket key encrypting"))

        // t=2: resumed, not renewed.
        clock.advance(by: 2)
        XCTAssertTrue(try world.connect(session: session).server.resumed)
        XCTAssertEqual(try world.count(TicketMetrics.Label.handshakes, ["kind": "resumed"]), 1)

        // t=12: B encrypts, A retires: renewed, and the rotation is seen and logged.
        clock.advance(by: 10)
        let renewal = try world.connect(session: session)
        XCTAssertTrue(renewal.server.ticketRenewed)
        XCTAssertEqual(try world.count(TicketMetrics.Label.handshakes, ["kind": "renewed"]), 1)
        XCTAssertEqual(try world.count(TicketMetrics.Label.ticketsIssued), 2)
        XCTAssertEqual(try world.count(TicketMetrics.Label.keyRotations), 1)
        XCTAssertEqual(try world.metrics.expectGauge(TicketMetrics.Label.liveKeys).lastValue, 3)
        let rotation = try XCTUnwrap(world.logs.entries.first { $0.message.contains("rotated") })
        XCTAssertEqual(rotation.level, .notice)
        XCTAssertEqual(rotation.metadata["key_name"], ring.encryptionKey(at: clock.now())?.name.hexString)

        // Failures by reason, each logged with its reason.
        var forged = session
        forged.ticket?[40] ^= 1
        XCTAssertFalse(try world.connect(session: forged).server.resumed)
        XCTAssertFalse(try world.connect(session: session, serverName: "other.example").server.resumed)
        let stranger = try MetricsWorld(keys: TicketKeyRing(start: start), clock: clock)
        let foreign = try XCTUnwrap(try stranger.connect(session: nil).issued)
        XCTAssertFalse(try world.connect(session: foreign).server.resumed)
        clock.advance(by: 30)  // t=42: A dropped, remembered as ours
        XCTAssertFalse(try world.connect(session: session).server.resumed)

        for reason in ["bad_mac", "scope_mismatch", "unknown_key", "expired_key"] {
            XCTAssertEqual(try world.count(TicketMetrics.Label.resumptionFailures, ["reason": reason]), 1, reason)
            XCTAssertTrue(
                world.logs.entries.contains { $0.message.contains("not resumed") && $0.metadata["reason"] == reason },
                "no log line for \(reason)")
        }
        XCTAssertEqual(try world.count(TicketMetrics.Label.resumptionFailures, ["reason": "ems_mismatch"]), 0)
        XCTAssertEqual(try world.count(TicketMetrics.Label.handshakes, ["kind": "full"]), 5)

        let snapshot = world.ticketMetrics.snapshot()
        XCTAssertEqual(snapshot.handshakes, [.full: 5, .resumed: 1, .renewed: 1])
        XCTAssertEqual(snapshot.ticketsIssued, 6)
        // The ring makes no keys for periods nobody asked about: B took over at 12 s, E at 42 s.
        XCTAssertEqual(snapshot.rotations, 2)
        XCTAssertEqual(snapshot.summaryLine,
                       "handshakes full=5 resumed=1 renewed=1; tickets issued=6; resumption failures=4 "
                       + "(unknown_key=1 expired_key=1 bad_mac=1 scope_mismatch=1); key rotations=2; live keys=2")
        // No key material in any log line.
        for entry in world.logs.entries {
            for key in ring.keys(at: clock.now()).map(\.key) {
                XCTAssertFalse(entry.text.contains(key.aesKey.hexString) || entry.text.contains(key.hmacKey.hexString), entry.text)
            }
        }
    }

    /// TLS 1.3 on the same ring, policy and metrics (issue 5): two tickets per full handshake,
    /// one after each resumption; a resumption under a retiring key counts as renewed; failures
    /// by the same reasons as TLS 1.2.
    func testTLS13HandshakesTicketsAndFailuresAreCounted() throws {
        let clock = ManualClock(start)
        let ring = TicketKeyRing(rotate: 10, expire: 20, renewal: .whenKeyRetiring, start: start)
        let world = try MetricsWorld(keys: ring, clock: clock, version: .tls13)

        let first = try world.connect(session: nil)
        XCTAssertEqual(first.server.version, .tls13)
        XCTAssertFalse(first.server.resumed)
        XCTAssertEqual(first.server.ticketsIssued, 2)
        let session = try XCTUnwrap(first.issued)
        XCTAssertEqual(try world.count(TicketMetrics.Label.ticketsIssued), 2)

        clock.advance(by: 2)
        let resumed = try world.connect(session: session)
        XCTAssertTrue(resumed.server.resumed)
        XCTAssertFalse(resumed.server.ticketRenewed, "the key still encrypts")
        XCTAssertEqual(resumed.server.ticketsIssued, 1)
        XCTAssertEqual(try world.count(TicketMetrics.Label.handshakes, ["kind": "resumed"]), 1)

        clock.advance(by: 10)  // t=12: the ticket's key retires
        let renewal = try world.connect(session: session)
        XCTAssertTrue(renewal.server.resumed)
        XCTAssertTrue(renewal.server.ticketRenewed)
        XCTAssertEqual(renewal.issued?.ticket.map { Array($0.prefix(16)) }, ring.encryptionKey(at: clock.now())?.name,
                       "the replacement is under the new key")
        XCTAssertEqual(try world.count(TicketMetrics.Label.handshakes, ["kind": "renewed"]), 1)

        var forged = session
        forged.ticket?[40] ^= 1
        XCTAssertEqual(try world.connect(session: forged).server.resumptionFailure, .badMAC)
        XCTAssertEqual(try world.connect(session: session, serverName: "other.example").server.resumptionFailure, .scopeMismatch)
        let stranger = try MetricsWorld(keys: TicketKeyRing(start: start), clock: clock, version: .tls13)
        let foreign = try XCTUnwrap(try stranger.connect(session: nil).issued)
        XCTAssertEqual(try world.connect(session: foreign).server.resumptionFailure, .unknownKey)
        clock.advance(by: 30)
        // Our client no longer offers a ticket past its lifetime (RFC 8446 §4.6.1, the hint is
        // at most the key's decrypt window); one that ignores the lifetime meets a dropped key.
        var stale = session
        stale.ticketLifetimeHint = 3600
        stale.timeout = 3600
        XCTAssertNil(try world.connect(session: session).server.resumptionFailure, "nothing offered")
        XCTAssertEqual(try world.connect(session: stale).server.resumptionFailure, .expiredKey)
        for reason in ["bad_mac", "scope_mismatch", "unknown_key", "expired_key"] {
            XCTAssertEqual(try world.count(TicketMetrics.Label.resumptionFailures, ["reason": reason]), 1, reason)
            XCTAssertTrue(
                world.logs.entries.contains { $0.message.contains("not resumed") && $0.metadata["reason"] == reason },
                "no log line for \(reason)")
        }
        let snapshot = world.ticketMetrics.snapshot()
        XCTAssertEqual(snapshot.handshakes, [.full: 6, .resumed: 1, .renewed: 1])
        XCTAssertEqual(snapshot.ticketsIssued, 2 + 1 + 1 + 5 * 2)
    }

    /// Every reason has its own counter, created up front so dashboards see zeros.
    func testEveryFailureReasonHasADistinctLabel() throws {
        let world = try MetricsWorld(keys: nil, clock: ManualClock(start))
        let labels = ResumptionFailure.allCases.map(TicketMetrics.label(for:))
        XCTAssertEqual(Set(labels).count, ResumptionFailure.allCases.count)
        for label in labels {
            XCTAssertEqual(try world.count(TicketMetrics.Label.resumptionFailures, ["reason": label]), 0, label)
        }
        XCTAssertEqual(TicketMetrics.Snapshot().summaryLine,
                       "handshakes full=0 resumed=0 renewed=0; tickets issued=0; resumption failures=0; key rotations=0; live keys=0")
    }

    /// Only retiring keys: the log says no ticket is issued, full handshakes go on without one,
    /// and the warning is not repeated until a key can encrypt again.
    func testRingThatCannotEncryptIsReported() throws {
        let clock = ManualClock(start)
        let key = TicketKey.generate()
        let provider = ReloadableTicketKeyProvider(TicketKeyRing(
            keys: [ManagedTicketKey(key: key, activatesAt: start.addingTimeInterval(-10),
                                    encryptsUntil: start, decryptsUntil: start.addingTimeInterval(60))],
            renewal: .whenKeyRetiring))
        let world = try MetricsWorld(keys: provider, clock: clock)
        let first = try world.connect(session: nil)
        let second = try world.connect(session: nil)
        XCTAssertFalse(first.server.resumed)
        XCTAssertNil(first.issued)
        XCTAssertNil(second.issued)
        XCTAssertEqual(try world.count(TicketMetrics.Label.handshakes, ["kind": "full"]), 2)
        XCTAssertEqual(try world.count(TicketMetrics.Label.ticketsIssued), 0)
        XCTAssertEqual(try world.metrics.expectGauge(TicketMetrics.Label.liveKeys).lastValue, 1)
        XCTAssertEqual(world.logs.entries.filter { $0.message.contains("no ticket key can encrypt") }.map(\.level), [.warning])

        provider.replace(with: TicketKeyRing(nginxKeys: [TicketKey.generate(), key]))
        XCTAssertNotNil(try world.connect(session: nil).issued)
        XCTAssertTrue(world.logs.contains(.notice, "can encrypt again"))
    }

    /// `-ticket_key_file` + SIGHUP: reordering the files rotates (the new first key encrypts, the
    /// old one decrypts and its tickets are renewed); a missing or wrong-sized file changes
    /// nothing and is logged as an error naming it; removal means full handshakes.
    func testKeyFileReloadRotatesAndKeepsKeysOnFailure() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("tessera-reload-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let pathA = directory.appendingPathComponent("a.key").path
        let pathB = directory.appendingPathComponent("b.key").path
        let bytesA = NginxTicketKeyFile.generate(size: 80)
        let bytesB = NginxTicketKeyFile.generate(size: 48)
        try NginxTicketKeyFile.write(bytesA, to: pathA)
        try NginxTicketKeyFile.write(bytesB, to: pathB)
        let keyA = try NginxTicketKeyFile.parse(bytesA)
        let keyB = try NginxTicketKeyFile.parse(bytesB)

        let clock = ManualClock(start)
        let logs = LogCapture()
        let reloader = try TicketKeyFileReloader(files: NginxTicketKeyFileSet(paths: [pathA, pathB]), clock: clock, logger: logs.logger)
        let world = try MetricsWorld(keys: reloader.provider, clock: clock, logs: logs)

        let first = try world.connect(session: nil)
        let session = try XCTUnwrap(first.issued)
        XCTAssertEqual(session.ticket.map { Array($0.prefix(16)) }, keyA.name, "a ticket starts with its key file's first 16 bytes")

        // Rotate: the files swap contents, so B is first now.
        try NginxTicketKeyFile.write(bytesB, to: pathA)
        try NginxTicketKeyFile.write(bytesA, to: pathB)
        XCTAssertEqual(try reloader.reload().get(), 2)
        world.ticketMetrics.observeKeys()
        XCTAssertEqual(try world.count(TicketMetrics.Label.keyRotations), 1)
        XCTAssertTrue(logs.contains(.notice, "reloaded"))
        let renewal = try world.connect(session: session)
        XCTAssertTrue(renewal.server.resumed)
        XCTAssertTrue(renewal.server.ticketRenewed)
        let renewed = try XCTUnwrap(renewal.issued)
        XCTAssertEqual(renewed.ticket.map { Array($0.prefix(16)) }, keyB.name)

        // A missing file, then a wrong-sized one: the reload fails, the keys stay.
        try FileManager.default.removeItem(atPath: pathB)
        guard case .failure(let missing) = reloader.reload() else { return XCTFail("reloaded without \(pathB)") }
        XCTAssertTrue(missing.message.contains(pathB) && missing.message.contains("does not exist"), missing.message)
        XCTAssertTrue(try world.connect(session: session).server.resumed, "A still decrypts")
        XCTAssertTrue(FileManager.default.createFile(atPath: pathB, contents: Data(repeating: 1, count: 81)))
        guard case .failure(let wrongSize) = reloader.reload() else { return XCTFail("reloaded an 81-byte file") }
        XCTAssertTrue(wrongSize.message.contains("81 bytes"), wrongSize.message)
        let errors = logs.entries.filter { $0.level == .error }
        XCTAssertEqual(errors.count, 2)
        XCTAssertTrue(errors.allSatisfy { $0.message.contains(pathB) && $0.message.contains("keeping the 2 keys") }, "\(errors)")
        XCTAssertEqual(reloader.provider.encryptionKey(at: clock.now()), keyB)

        // Removal: only B is left, A's tickets get a full handshake.
        try FileManager.default.removeItem(atPath: pathB)
        let onlyB = try TicketKeyFileReloader(files: NginxTicketKeyFileSet(paths: [pathA]), clock: clock)
        reloader.provider.replace(with: onlyB.provider.current)
        let dropped = try world.connect(session: session)
        XCTAssertFalse(dropped.server.resumed)
        XCTAssertEqual(dropped.server.resumptionFailure, .unknownKey)
    }
}

/// A server context with metrics into a `TestMetrics` backend, and a client to drive it.
private struct MetricsWorld {
    let metrics = TestMetrics()
    let logs: LogCapture
    let ticketMetrics: TicketMetrics
    let serverContext: TLSContext
    let clientContext: TLSContext

    struct Outcome {
        var server: HandshakeSummary
        var client: HandshakeSummary
        /// The session the client got in this handshake, if a ticket came.
        var issued: SessionState?
    }

    init(keys: (any TicketKeyProvider)?, clock: ManualClock, logs: LogCapture = LogCapture(), version: ProtocolVersion = .tls12) throws {
        self.logs = logs
        let signingKey = SigningKey.generateP256()
        var server = TLSConfiguration()
        server.maximumVersion = version
        server.privateKey = signingKey
        server.certificateChain = try CertificateChain.selfSigned(commonName: "localhost", key: signingKey)
        server.clock = clock
        server.ticketKeys = keys
        ticketMetrics = TicketMetrics(keys: keys, clock: clock, logger: logs.logger, factory: metrics)
        serverContext = try TLSContext(configuration: server, metrics: ticketMetrics)
        var client = TLSConfiguration()
        client.maximumVersion = version
        client.certificateVerification = .none
        client.clock = clock
        clientContext = try TLSContext(configuration: client)
    }

    func count(_ label: String, _ dimensions: [String: String] = [:]) throws -> Int64 {
        try metrics.expectCounter(label, dimensions.map { ($0.key, $0.value) }).totalValue
    }

    func connect(session: SessionState?, serverName: String = "localhost") throws -> Outcome {
        let clientSide = SummaryCollector()
        let serverSide = SummaryCollector()
        let client = EmbeddedChannel(handlers: [TLSClientHandler(context: clientContext, serverHostname: serverName, session: session), clientSide])
        let server = EmbeddedChannel(handlers: [TLSServerHandler(context: serverContext), serverSide])
        try server.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 1)).wait()
        try client.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 2)).wait()
        var moved = true
        var rounds = 0
        while moved, rounds < 50 {
            moved = false
            rounds += 1
            while let bytes = try client.readOutbound(as: ByteBuffer.self) { try server.writeInbound(bytes); moved = true }
            while let bytes = try server.readOutbound(as: ByteBuffer.self) { try client.writeInbound(bytes); moved = true }
        }
        let serverSummary = try XCTUnwrap(serverSide.summary, "server handshake incomplete")
        let clientSummary = try XCTUnwrap(clientSide.summary, "client handshake incomplete")
        _ = try? client.finish()
        _ = try? server.finish()
        return Outcome(server: serverSummary, client: clientSummary, issued: clientSide.issued)
    }
}

private final class SummaryCollector: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = ByteBuffer

    var summary: HandshakeSummary?
    var issued: SessionState?

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let completed = event as? TLSHandshakeCompletedEvent { summary = completed.summary }
        if case .issued(let session)? = event as? TLSSessionEvent { issued = session }
    }
}

/// Log lines kept for assertions.
final class LogCapture: @unchecked Sendable {
    struct Entry {
        var level: Logger.Level
        var message: String
        var metadata: [String: String]
        var text: String { "\(level) \(message) \(metadata)" }
    }

    private let lock = NSLock()
    private var kept: [Entry] = []

    var entries: [Entry] { lock.withLock { kept } }

    var logger: Logger {
        Logger(label: "test") { _ in Handler(capture: self) }
    }

    func contains(_ level: Logger.Level, _ words: String) -> Bool {
        entries.contains { $0.level == level && $0.message.contains(words) }
    }

    fileprivate func append(_ entry: Entry) {
        lock.withLock { kept.append(entry) }
    }

    private struct Handler: LogHandler {
        let capture: LogCapture
        var metadata: Logger.Metadata = [:]
        var logLevel: Logger.Level = .trace

        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }

        func log(event: LogEvent) {
            var flat: [String: String] = [:]
            for (key, value) in metadata.merging(event.metadata ?? [:], uniquingKeysWith: { $1 }) {
                flat[key] = "\(value)"
            }
            capture.append(Entry(level: event.level, message: "\(event.message)", metadata: flat))
        }
    }
}
