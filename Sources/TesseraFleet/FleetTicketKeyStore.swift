import Foundation
import Logging
import NIOCore
import TesseraCrypto
import TesseraSessions

/// Ticket keys shared by a fleet of servers through PostgreSQL (DESIGN.md §6).
///
/// - Keys live in one table (name, sealed secrets, activates_at, encrypts_until, decrypts_until,
///   created_at); secrets are sealed with AES-256-GCM under the key-encryption key, the key name as AAD.
/// - Windows are `TicketKeyRing`'s: a key encrypts for `rotate` seconds and decrypts until `expire`
///   seconds after activation. The next key is published (staged, decrypt-only) one period before it
///   activates, so every server can open tickets under it before any server issues them.
/// - One server rotates at a time: whoever holds `pg_try_advisory_lock(lockKey)`. The lock belongs to
///   its database session, so if that server dies its session ends, the lock is released, and the
///   next server to poll takes over.
/// - Servers refresh on LISTEN/NOTIFY, and poll every `pollInterval` seconds (default rotate/4) in case
///   a notification is missed or LISTEN is off.
/// - Lookups never touch the database: they read an in-memory snapshot swapped atomically after each
///   refresh. A server that loses the database goes on serving and resuming with the keys it holds,
///   and reconnects with backoff. If the outage outlasts the keys' encrypt windows, the newest held
///   key goes on sealing tickets until its decrypt window ends, so resumption does not stop.
public final class FleetTicketKeyStore: TicketKeyProvider, Sendable {
    public let address: FleetDatabaseAddress
    public let configuration: FleetConfiguration
    let state: FleetSharedState
    let worker: FleetWorker

    private init(address: FleetDatabaseAddress, configuration: FleetConfiguration, state: FleetSharedState, worker: FleetWorker) {
        self.address = address
        self.configuration = configuration
        self.state = state
        self.worker = worker
    }

    /// The CLI's entry point (`tessera s_server -ticket_store URL -ticket_kek_file F`): parses the URL,
    /// reads the KEK file, connects, loads or creates the keys, and returns a running store.
    /// Call `shutdown()` before the event loop group shuts down.
    public static func start(
        url: String,
        kekFile: String,
        rotate: TimeInterval,
        expire: TimeInterval,
        renewal: RenewalPolicy = .whenKeyRetiring,
        eventLoopGroup: any EventLoopGroup,
        logger: Logger
    ) async throws -> FleetTicketKeyStore {
        let address = try FleetDatabaseAddress(url: url)
        let kek = try KeyEncryptionKey.load(path: kekFile)
        warnIfReadableByOthers(kekFile, logger: logger)
        return try await start(
            address: address, kek: kek,
            configuration: FleetConfiguration(rotate: rotate, expire: expire, renewal: renewal),
            eventLoopGroup: eventLoopGroup, logger: logger)
    }

    /// The full form: every knob of `FleetConfiguration` (poll interval, NOTIFY on/off, table, clock).
    public static func start(
        address: FleetDatabaseAddress,
        kek: KeyEncryptionKey,
        configuration: FleetConfiguration,
        eventLoopGroup: any EventLoopGroup,
        logger: Logger
    ) async throws -> FleetTicketKeyStore {
        let configuration = try configuration.validated()
        let state = FleetSharedState(renewal: configuration.renewal)
        let worker = FleetWorker(
            address: address, configuration: configuration, kek: kek, eventLoopGroup: eventLoopGroup,
            logger: logger, state: state)
        try await worker.start()
        return FleetTicketKeyStore(address: address, configuration: configuration, state: state, worker: worker)
    }

    /// Stops polling and listening and closes the connection (releasing the rotator's lock if held).
    /// The keys held stay usable for lookups.
    public func shutdown() async {
        await worker.shutdown()
    }

    // MARK: TicketKeyProvider (never touches the database)

    /// The newest active key; with none active (no new key could be loaded in time), the newest key
    /// that has activated and still decrypts (see `KeySnapshot.encryptingKey`).
    public func encryptionKey(at now: Date) -> TicketKey? {
        state.currentSnapshot.encryptingKey(at: now)?.key
    }

    public func lookup(keyName: [UInt8], at now: Date) throws -> TicketKeyLookup {
        let snapshot = state.currentSnapshot
        let result = try snapshot.ring.lookup(keyName: keyName, at: now)
        if case .notFound(.unknownKey) = result, snapshot.retiredNames.contains(keyName) {
            return .notFound(.expiredKey)
        }
        return result
    }

    public func lifetimeHint(at now: Date) -> UInt32 {
        state.currentSnapshot.lifetimeHint(at: now)
    }

    // MARK: Observation

    /// The keys held, newest activation first, with the expired ones left out.
    public func keys(at now: Date) -> [ManagedTicketKey] {
        state.currentSnapshot.keys.filter { $0.state(at: now) != .expired }
    }

    /// Connection, rotator role, last refresh, counters.
    public var status: FleetStatus {
        state.currentStatus
    }

    /// The KEK is as secret as the keys it seals: say so when the file is readable by group or others.
    private static func warnIfReadableByOthers(_ path: String, logger: Logger) {
        guard let attributes = try? FileManager.default.attributesOfItem(atPath: path),
              let permissions = attributes[.posixPermissions] as? NSNumber
        else { return }
        if permissions.intValue & 0o077 != 0 {
            logger.warning(
                "key-encryption key file is readable by group or others (chmod 600 it)",
                metadata: ["file": "\(path)", "mode": "\(String(permissions.intValue, radix: 8))"])
        }
    }
}
