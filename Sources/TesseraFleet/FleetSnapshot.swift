#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation
import TesseraCrypto
import TesseraSessions

/// What a server knows about the fleet's keys at one moment: immutable, replaced wholesale.
/// Lookups read it and nothing else, so they never wait for the database.
struct KeySnapshot: Sendable {
    /// The keys, newest activation first (so that if two are active at once, the newer encrypts),
    /// in a fixed-key ring that applies the windows and the renewal policy exactly as
    /// `TicketKeyRing` does for its own keys.
    var ring: TicketKeyRing
    var keys: [ManagedTicketKey]
    /// Names of keys we held and that left the table, oldest first, bounded: their tickets are
    /// reported as `.expiredKey` rather than `.unknownKey`.
    var retiredNames: [[UInt8]]

    static let retiredNameMemory = 256

    /// The key that seals new tickets: the newest active key, as in `TicketKeyRing`. When none is
    /// active, which happens only when no new key has reached this server in time (the database or
    /// the rotator has been away for longer than a period), the newest key that has activated and
    /// still decrypts goes on sealing, with a lifetime hint that ends where its decrypt window ends.
    /// Every server of the fleet was sent that key before it activated, so those tickets resume
    /// anywhere; refusing to issue tickets would instead turn every resumption during a database
    /// outage into a full handshake once the held keys stop encrypting.
    func encryptingKey(at now: Date) -> ManagedTicketKey? {
        if let active = keys.first(where: { $0.state(at: now) == .active }) { return active }
        return keys.first { $0.activatesAt <= now && $0.decryptsUntil.timeIntervalSince(now) >= 1 }
    }

    /// Until the encrypting key stops decrypting (RFC 5077 §3.3), at most 7 days (RFC 8446 §4.6.1).
    func lifetimeHint(at now: Date) -> UInt32 {
        guard let managed = encryptingKey(at: now) else { return 0 }
        let remaining = managed.decryptsUntil.timeIntervalSince(now).rounded(.down)
        guard remaining > 0 else { return 0 }
        guard remaining < Double(TicketKeyRing.maximumLifetimeHint) else { return TicketKeyRing.maximumLifetimeHint }
        return UInt32(remaining)
    }

    static func empty(renewal: RenewalPolicy) -> KeySnapshot {
        KeySnapshot(ring: TicketKeyRing(keys: [], renewal: renewal), keys: [], retiredNames: [])
    }

    /// The snapshot after loading `loaded` from the table.
    func replacing(keys loaded: [ManagedTicketKey], renewal: RenewalPolicy) -> KeySnapshot {
        let sorted = loaded.sorted { $0.activatesAt > $1.activatesAt }
        let newNames = Set(sorted.map(\.key.name))
        var retired = retiredNames.filter { !newNames.contains($0) }
        for managed in keys where !newNames.contains(managed.key.name) {
            retired.append(managed.key.name)
        }
        if retired.count > Self.retiredNameMemory {
            retired.removeFirst(retired.count - Self.retiredNameMemory)
        }
        return KeySnapshot(ring: TicketKeyRing(keys: sorted, renewal: renewal), keys: sorted, retiredNames: retired)
    }
}

/// How a fleet store is doing, for logs, metrics and tests.
public struct FleetStatus: Sendable, Hashable {
    /// A connection to the database is up.
    public var isConnected: Bool
    /// This server holds the advisory lock and publishes keys.
    public var isRotator: Bool
    /// When the keys were last loaded from the table (by the injected clock).
    public var lastRefresh: Date?
    /// Keys in the snapshot (any state).
    public var keyCount: Int
    /// Keys this server has published.
    public var keysPublished: Int
    /// Times the connection was lost and made again.
    public var reconnections: Int
    /// The last database error, if the connection is down (no secrets: server messages only).
    public var lastError: String?
}

/// The snapshot and status behind one pthread reader-writer lock: lookups on every core take only
/// the reader side (DESIGN.md §5); the refresher takes the writer side for a pointer swap.
final class FleetSharedState: @unchecked Sendable {
    private let rwlock: UnsafeMutablePointer<pthread_rwlock_t>
    private var snapshot: KeySnapshot  // guarded by rwlock
    private var status: FleetStatus  // guarded by rwlock

    init(renewal: RenewalPolicy) {
        rwlock = .allocate(capacity: 1)
        rwlock.initialize(to: pthread_rwlock_t())
        pthread_rwlock_init(rwlock, nil)
        snapshot = .empty(renewal: renewal)
        status = FleetStatus(
            isConnected: false, isRotator: false, lastRefresh: nil, keyCount: 0, keysPublished: 0,
            reconnections: 0, lastError: nil)
    }

    deinit {
        pthread_rwlock_destroy(rwlock)
        rwlock.deinitialize(count: 1)
        rwlock.deallocate()
    }

    var currentSnapshot: KeySnapshot {
        pthread_rwlock_rdlock(rwlock)
        defer { pthread_rwlock_unlock(rwlock) }
        return snapshot
    }

    var currentStatus: FleetStatus {
        pthread_rwlock_rdlock(rwlock)
        defer { pthread_rwlock_unlock(rwlock) }
        return status
    }

    /// Installs the keys loaded at `now`; returns the snapshot it replaced.
    @discardableResult
    func install(keys: [ManagedTicketKey], renewal: RenewalPolicy, now: Date) -> KeySnapshot {
        pthread_rwlock_wrlock(rwlock)
        defer { pthread_rwlock_unlock(rwlock) }
        let old = snapshot
        snapshot = old.replacing(keys: keys, renewal: renewal)
        status.keyCount = snapshot.keys.count
        status.lastRefresh = now
        return old
    }

    func updateStatus(_ body: (inout FleetStatus) -> Void) {
        pthread_rwlock_wrlock(rwlock)
        defer { pthread_rwlock_unlock(rwlock) }
        body(&status)
    }
}
