import Foundation
import TesseraCrypto

/// The default provider: in-process, rotates by itself on the injected clock (no timers: rotation
/// happens lazily on access, based on `now`). A key encrypts for `rotate` seconds from activation,
/// then only decrypts (tickets under it are renewed under `.whenKeyRetiring`) until `expire` seconds
/// after it began to encrypt, then is gone. The next key is staged (published, decrypt-only) one
/// `rotate` period before it activates (DESIGN.md §5; nginx's example is rotate 10 s, expire 20 s).
///
/// With rotation, key n has `activatesAt = start + n·rotate`, `encryptsUntil = start + (n+1)·rotate`,
/// `decryptsUntil = start + n·rotate + expire`. Keys of periods nobody asked about are never made:
/// no ticket can exist under them.
///
/// Thread-safe: every call reads an immutable snapshot under a reader lock; only the call that
/// crosses a rotation boundary takes the writer lock to build the next snapshot. Calls should pass a
/// roughly monotonic `now`: one lagging the newest by more than `rotate` may find its keys dropped.
public final class TicketKeyRing: TicketKeyProvider, @unchecked Sendable {
    /// How tickets that opened are renewed.
    public let renewal: RenewalPolicy

    /// RFC 8446 §4.6.1: a ticket lifetime must not exceed 7 days; the same cap keeps TLS 1.2 hints sane.
    public static let maximumLifetimeHint: UInt32 = 604_800

    /// Names of dropped keys remembered to tell `.expiredKey` from `.unknownKey`.
    static let retiredNameMemory = 256

    private struct Schedule {
        var start: Date
        var rotate: TimeInterval
        var expire: TimeInterval
    }

    /// Immutable once published; replaced wholesale under the writer lock.
    private struct Snapshot {
        /// Oldest first; for fixed keys, in the caller's order (the first active one encrypts).
        var keys: [ManagedTicketKey]
        /// Names of keys we held and dropped, oldest first, bounded by `retiredNameMemory`.
        var retiredNames: [[UInt8]]
        /// The next key index to generate (rotation only).
        var nextIndex: Int
        /// From this time on, the snapshot must be advanced before use.
        var refreshAt: Date
    }

    private let schedule: Schedule?
    private let lock = ReadWriteLock()
    private var snapshot: Snapshot  // guarded by `lock`

    /// A rotating ring starting at `start`. `rotate` is at least one second and `expire` at least
    /// `rotate` (a key that stopped decrypting before its successor encrypts would leave a gap with
    /// no key at all); other values are raised to those minimums rather than trapping.
    public init(rotate: TimeInterval = 3600, expire: TimeInterval = 7200, renewal: RenewalPolicy = .whenKeyRetiring, start: Date) {
        let rotate = rotate.isFinite ? max(rotate, 1) : 3600
        let expire = expire.isFinite ? max(expire, rotate) : max(7200, rotate)
        self.schedule = Schedule(start: start, rotate: rotate, expire: expire)
        self.renewal = renewal
        self.snapshot = Snapshot(keys: [], retiredNames: [], nextIndex: 0, refreshAt: .distantPast)
    }

    /// Fixed keys (nginx files: first encrypts, all decrypt). No rotation: each key follows its own
    /// schedule; among keys active at once, the first in `keys` encrypts.
    public init(keys: [ManagedTicketKey], renewal: RenewalPolicy) {
        self.schedule = nil
        self.renewal = renewal
        self.snapshot = Snapshot(keys: keys, retiredNames: [], nextIndex: 0, refreshAt: .distantFuture)
    }

    /// nginx's `ssl_session_ticket_key` semantics: the first key encrypts, every key decrypts, and
    /// tickets under the others are renewed (nginx's callback returns 2 for them) unless `renewal`
    /// says otherwise.
    public convenience init(nginxKeys: [TicketKey], renewal: RenewalPolicy = .whenKeyRetiring) {
        let managed = nginxKeys.enumerated().map { index, key in
            ManagedTicketKey.permanent(key, encrypts: index == 0)
        }
        self.init(keys: managed, renewal: renewal)
    }

    // MARK: TicketKeyProvider

    public func encryptionKey(at now: Date) -> TicketKey? {
        let snapshot = current(at: now)
        guard let index = activeIndex(in: snapshot, at: now) else { return nil }
        return snapshot.keys[index].key
    }

    public func canEncrypt(at now: Date) -> Bool {
        activeIndex(in: current(at: now), at: now) != nil
    }

    public func lookup(keyName: [UInt8], at now: Date) throws -> TicketKeyLookup {
        let snapshot = current(at: now)
        guard let managed = snapshot.keys.first(where: { $0.key.name == keyName }) else {
            return snapshot.retiredNames.contains(keyName) ? .notFound(.expiredKey) : .notFound(.unknownKey)
        }
        switch managed.state(at: now) {
        case .expired:
            return .notFound(.expiredKey)
        case .staged, .active:
            // A staged key can already have sealed tickets on a fleet peer whose clock is ahead.
            return renewal == .always ? .validRenew(managed.key) : .valid(managed.key)
        case .retiring:
            return renewal == .never ? .valid(managed.key) : .validRenew(managed.key)
        }
    }

    /// Until the encrypting key stops decrypting (a longer hint would promise resumptions we will
    /// refuse, RFC 5077 §3.3), capped at 7 days (RFC 8446 §4.6.1); 0 when no key encrypts.
    public func lifetimeHint(at now: Date) -> UInt32 {
        let snapshot = current(at: now)
        guard let index = activeIndex(in: snapshot, at: now) else { return 0 }
        let remaining = snapshot.keys[index].decryptsUntil.timeIntervalSince(now).rounded(.down)
        guard remaining > 0 else { return 0 }
        guard remaining < Double(Self.maximumLifetimeHint) else { return Self.maximumLifetimeHint }
        return UInt32(remaining)
    }

    /// The keys not yet expired at `now` (staged, active, retiring), for metrics and logs.
    public func keys(at now: Date) -> [ManagedTicketKey] {
        current(at: now).keys.filter { $0.state(at: now) != .expired }
    }

    // MARK: Snapshots

    /// The active key's position: callers read the fields they need in place rather than copy
    /// the whole `ManagedTicketKey` (its key material is a dozen references), once per ticket.
    private func activeIndex(in snapshot: Snapshot, at now: Date) -> Int? {
        snapshot.keys.firstIndex { $0.state(at: now) == .active }
    }

    /// The snapshot valid at `now`, advancing it first when a rotation boundary has passed.
    private func current(at now: Date) -> Snapshot {
        let published = lock.withReadLock { snapshot }
        guard now >= published.refreshAt, let schedule else { return published }
        return lock.withWriteLock {
            // Another caller may have advanced it while we waited for the writer lock.
            if now >= snapshot.refreshAt {
                snapshot = Self.advanced(snapshot, to: now, schedule: schedule)
            }
            return snapshot
        }
    }

    /// The rotation period `now` falls in: -1 before `start`, clamped so that absurd dates cannot
    /// overflow the key index.
    private static func period(at now: Date, schedule: Schedule) -> Int {
        let elapsed = now.timeIntervalSince(schedule.start)
        guard elapsed >= 0 else { return -1 }
        let periods = (elapsed / schedule.rotate).rounded(.down)
        return periods < 1e15 ? Int(periods) : Int(1e15)
    }

    private static func advanced(_ old: Snapshot, to now: Date, schedule: Schedule) -> Snapshot {
        let period = period(at: now, schedule: schedule)
        var next = old

        // Drop keys expired for a whole period, remembering their names. Until then an expired key
        // stays in the snapshot (answering `.expiredKey` by its dates), so a caller whose `now` lags
        // the newest one by up to a period still finds the keys of its own time.
        var kept = [ManagedTicketKey]()
        for managed in old.keys {
            if managed.decryptsUntil.addingTimeInterval(schedule.rotate) <= now {
                next.retiredNames.append(managed.key.name)
            } else {
                kept.append(managed)
            }
        }
        if next.retiredNames.count > retiredNameMemory {
            next.retiredNames.removeFirst(next.retiredNames.count - retiredNameMemory)
        }
        next.keys = kept

        // The active key of this period and the staged key of the next one. Earlier periods that
        // were skipped (nobody called during them) never had keys, so nothing is owed to them.
        let first = max(old.nextIndex, period)
        let last = period + 1
        if first <= last {
            for index in first...last {
                next.keys.append(makeKey(index: index, schedule: schedule))
            }
            next.nextIndex = last + 1
        }
        next.refreshAt = schedule.start.addingTimeInterval(Double(period + 1) * schedule.rotate)
        return next
    }

    private static func makeKey(index: Int, schedule: Schedule) -> ManagedTicketKey {
        let activatesAt = schedule.start.addingTimeInterval(Double(index) * schedule.rotate)
        return ManagedTicketKey(
            key: TicketKey.generate(),
            activatesAt: activatesAt,
            encryptsUntil: activatesAt.addingTimeInterval(schedule.rotate),
            decryptsUntil: activatesAt.addingTimeInterval(schedule.expire)
        )
    }
}
