import Foundation
import Logging
import Metrics
import TesseraCore
import TesseraSessions
import TesseraWire

/// What an operator watches of ticket resumption (DESIGN.md §5, issue 4): swift-metrics counters
/// for handshakes by kind, tickets issued, resumption failures by reason and key rotations, a
/// gauge of live keys, and swift-log lines for failures, rotations and a ring that cannot encrypt.
/// Key material is never logged: a key's name is public (it leads every ticket, RFC 5077 §4).
///
/// Give one to `TLSContext(metrics:)`: every server handshake's `HandshakeSummary` is recorded
/// when it completes. Rotations are seen by watching which key encrypts, so they are noticed on
/// the next handshake or the next `observeKeys()` (call it on a timer to log them on time).
///
/// | metric | type | dimensions |
/// |---|---|---|
/// | `tessera_tls_handshakes_total` | counter | `kind`: full, resumed, renewed |
/// | `tessera_tls_tickets_issued_total` | counter | |
/// | `tessera_tls_resumption_failures_total` | counter | `reason`: see `label(for:)` |
/// | `tessera_tls_ticket_key_rotations_total` | counter | |
/// | `tessera_tls_ticket_keys_live` | gauge | |
public final class TicketMetrics: @unchecked Sendable {
    /// How a handshake went. `resumed` and `renewed` exclude each other: a renewed handshake is a
    /// resumption in which a new ticket was issued (RFC 5077 §3.3).
    public enum HandshakeKind: String, CaseIterable, Sendable, Hashable {
        case full, resumed, renewed
    }

    public enum Label {
        public static let handshakes = "tessera_tls_handshakes_total"
        public static let ticketsIssued = "tessera_tls_tickets_issued_total"
        public static let resumptionFailures = "tessera_tls_resumption_failures_total"
        public static let keyRotations = "tessera_tls_ticket_key_rotations_total"
        public static let liveKeys = "tessera_tls_ticket_keys_live"
    }

    /// The counts so far, for `s_server -stats`.
    public struct Snapshot: Sendable, Hashable {
        public var handshakes: [HandshakeKind: Int] = [:]
        public var ticketsIssued = 0
        public var failures: [ResumptionFailure: Int] = [:]
        public var rotations = 0
        public var liveKeys = 0

        public init() {}

        /// One line: `handshakes full=3 resumed=1 renewed=2; tickets issued=5; resumption
        /// failures=3 (unknown_key=2 expired_key=1); key rotations=1; live keys=2`.
        public var summaryLine: String {
            let kinds = HandshakeKind.allCases.map { "\($0.rawValue)=\(handshakes[$0, default: 0])" }.joined(separator: " ")
            let reasons = ResumptionFailure.allCases.compactMap { reason in
                failures[reason].map { "\(TicketMetrics.label(for: reason))=\($0)" }
            }
            let total = failures.values.reduce(0, +)
            let failureText = reasons.isEmpty ? "\(total)" : "\(total) (\(reasons.joined(separator: " ")))"
            return "handshakes \(kinds); tickets issued=\(ticketsIssued); resumption failures=\(failureText); "
                + "key rotations=\(rotations); live keys=\(liveKeys)"
        }
    }

    private let keys: (any TicketKeyProvider)?
    private let clock: any TLSClock
    private let logger: Logger
    private let handshakeCounters: [HandshakeKind: Counter]
    private let ticketsIssuedCounter: Counter
    private let failureCounters: [ResumptionFailure: Counter]
    private let rotationCounter: Counter
    private let liveKeysGauge: Gauge

    private let lock = NSLock()
    private var tallies = Snapshot()  // guarded by `lock`
    /// The name of the last key seen encrypting, to notice rotations.
    private var lastEncryptingName: [UInt8]?  // guarded by `lock`
    /// Whether a key could encrypt at the last observation; nil before the first.
    private var couldEncrypt: Bool?  // guarded by `lock`

    /// `keys`: the server's ticket-key provider, watched for rotations and live keys (nil: a
    /// server without tickets). `clock`: the server's. `factory`: where the metrics go
    /// (default: the process's `MetricsSystem`).
    public init(
        keys: (any TicketKeyProvider)?,
        clock: any TLSClock = SystemClock(),
        logger: Logger = Logger(label: "tessera.tickets"),
        factory: any MetricsFactory = MetricsSystem.factory
    ) {
        self.keys = keys
        self.clock = clock
        self.logger = logger
        var handshakeCounters: [HandshakeKind: Counter] = [:]
        for kind in HandshakeKind.allCases {
            handshakeCounters[kind] = Counter(label: Label.handshakes, dimensions: [("kind", kind.rawValue)], factory: factory)
        }
        self.handshakeCounters = handshakeCounters
        var failureCounters: [ResumptionFailure: Counter] = [:]
        for reason in ResumptionFailure.allCases {
            failureCounters[reason] = Counter(
                label: Label.resumptionFailures, dimensions: [("reason", Self.label(for: reason))], factory: factory)
        }
        self.failureCounters = failureCounters
        ticketsIssuedCounter = Counter(label: Label.ticketsIssued, factory: factory)
        rotationCounter = Counter(label: Label.keyRotations, factory: factory)
        liveKeysGauge = Gauge(label: Label.liveKeys, factory: factory)
    }

    /// The `reason` dimension of a resumption failure.
    public static func label(for reason: ResumptionFailure) -> String {
        switch reason {
        case .unknownKey: return "unknown_key"
        case .expiredKey: return "expired_key"
        case .badMAC: return "bad_mac"
        case .undecodable: return "undecodable"
        case .emsMismatch: return "ems_mismatch"
        case .lifetimeCap: return "lifetime_cap"
        case .scopeMismatch: return "scope_mismatch"
        case .versionOrCipherMismatch: return "version_or_cipher_mismatch"
        case .tooLarge: return "too_large"
        }
    }

    /// Counts one completed server handshake and logs why an offered ticket did not resume.
    public func record(_ summary: HandshakeSummary) {
        let kind: HandshakeKind = !summary.resumed ? .full : (summary.ticketRenewed ? .renewed : .resumed)
        handshakeCounters[kind]?.increment()
        if summary.ticketsIssued > 0 { ticketsIssuedCounter.increment(by: Int64(summary.ticketsIssued)) }
        if let reason = summary.resumptionFailure {
            failureCounters[reason]?.increment()
            logger.info("ticket not resumed; full handshake", metadata: [
                "reason": "\(Self.label(for: reason))",
                "server_name": "\(summary.serverName ?? "-")",
            ])
        }
        lock.withLock {
            tallies.handshakes[kind, default: 0] += 1
            tallies.ticketsIssued += summary.ticketsIssued
            if let reason = summary.resumptionFailure { tallies.failures[reason, default: 0] += 1 }
        }
        observeKeys()
    }

    /// Updates the live-key gauge and notices a rotation (another key encrypts than last time)
    /// or a ring that cannot encrypt (no tickets are issued; full handshakes go on).
    public func observeKeys() {
        guard let keys else { return }
        let now = clock.now()
        let live = keys.keys(at: now).count
        let name = keys.encryptionKey(at: now)?.name
        liveKeysGauge.record(live)

        enum Event { case first, rotated, cannotEncrypt, encryptsAgain }
        let events: [Event] = lock.withLock {
            tallies.liveKeys = live
            var events: [Event] = []
            if let name {
                if let last = lastEncryptingName, last != name {
                    tallies.rotations += 1
                    events.append(.rotated)
                } else if lastEncryptingName == nil {
                    events.append(.first)
                }
                if couldEncrypt == false { events.append(.encryptsAgain) }
                lastEncryptingName = name
                couldEncrypt = true
            } else {
                if couldEncrypt != false { events.append(.cannotEncrypt) }
                couldEncrypt = false
            }
            return events
        }
        // Every handshake gets here; only a change in the ring is logged.
        guard !events.isEmpty else { return }
        let metadata: Logger.Metadata = [
            "key_name": "\(name?.hexString ?? "-")",
            "live_keys": "\(live)",
        ]
        for event in events {
            switch event {
            case .first:
                logger.info("ticket key encrypting", metadata: metadata)
            case .rotated:
                rotationCounter.increment()
                logger.notice("ticket key rotated: a new key encrypts", metadata: metadata)
            case .cannotEncrypt:
                logger.warning("no ticket key can encrypt: issuing no tickets; full handshakes go on", metadata: metadata)
            case .encryptsAgain:
                logger.notice("a ticket key can encrypt again: issuing tickets", metadata: metadata)
            }
        }
    }

    public func snapshot() -> Snapshot {
        lock.withLock { tallies }
    }
}

/// `tessera s_server -ticket_key_file`: the server's nginx key files behind a swappable provider,
/// re-read by `reload()` (on SIGHUP) without touching running connections. A reload that finds
/// a file missing, unreadable or of the wrong size changes nothing: the server keeps the keys it
/// had, and the failure is logged as an error naming the file.
public final class TicketKeyFileReloader: Sendable {
    public let files: NginxTicketKeyFileSet
    /// Give this to `TLSConfiguration.ticketKeys`.
    public let provider: ReloadableTicketKeyProvider
    private let clock: any TLSClock
    private let logger: Logger

    /// Loads the files once; throws (naming the file) if any cannot be used.
    public init(files: NginxTicketKeyFileSet, clock: any TLSClock = SystemClock(), logger: Logger = Logger(label: "tessera.tickets")) throws(SessionError) {
        self.files = files
        self.clock = clock
        self.logger = logger
        provider = ReloadableTicketKeyProvider(try files.load())
    }

    /// Re-reads every file; on success the new keys answer every lookup from now on. Returns the
    /// number of keys now loaded, or the error that left the old keys in place.
    @discardableResult
    public func reload() -> Result<Int, SessionError> {
        let now = clock.now()
        do {
            let ring = try files.load()
            provider.replace(with: ring)
            let count = ring.keys(at: now).count
            logger.notice("ticket key files reloaded", metadata: [
                "files": "\(files.paths.count)",
                "key_name": "\(ring.encryptionKey(at: now)?.name.hexString ?? "-")",
            ])
            return .success(count)
        } catch {
            let kept = provider.keys(at: now).count
            logger.error("ticket key files not reloaded: \(error.message); keeping the \(kept) keys loaded before")
            return .failure(error)
        }
    }
}
