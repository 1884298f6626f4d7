import Foundation

/// A key's schedule without its secrets: what the rotator reasons about.
public struct KeyWindow: Sendable, Hashable {
    public var activatesAt: Date
    public var encryptsUntil: Date
    public var decryptsUntil: Date

    public init(activatesAt: Date, encryptsUntil: Date, decryptsUntil: Date) {
        self.activatesAt = activatesAt
        self.encryptsUntil = encryptsUntil
        self.decryptsUntil = decryptsUntil
    }

    func isActive(at now: Date) -> Bool {
        activatesAt <= now && now < encryptsUntil && now < decryptsUntil
    }
}

/// The rotator's decision, a pure function of the table and the time, so it is tested without a
/// database. The windows are `TicketKeyRing`'s: a key encrypts for `rotate` seconds from activation
/// and decrypts until `expire` seconds after it; its successor activates when it stops encrypting and
/// is published (staged, decrypt-only) as soon as it starts, one period ahead, so that every server
/// has loaded a key before any server encrypts with it (HAProxy's "next key").
enum RotationPlanner {
    /// The keys to add at `now`:
    /// - if no key is active, one activating now (first start, or the whole fleet was away for longer
    ///   than a period: there is nothing to stage ahead of, and issuing no tickets would be worse);
    /// - if no key is staged, the successor of the newest active key, activating when it stops encrypting.
    static func keysToAdd(existing: [KeyWindow], now: Date, rotate: TimeInterval, expire: TimeInterval) -> [KeyWindow] {
        var all = existing
        var added = [KeyWindow]()
        func window(from start: Date) -> KeyWindow {
            KeyWindow(
                activatesAt: start,
                encryptsUntil: start.addingTimeInterval(rotate),
                decryptsUntil: start.addingTimeInterval(expire))
        }
        if !all.contains(where: { $0.isActive(at: now) }) {
            let key = window(from: now)
            added.append(key)
            all.append(key)
        }
        let staged = all.contains { $0.activatesAt > now && $0.decryptsUntil > $0.activatesAt }
        if !staged, let newest = all.filter({ $0.isActive(at: now) }).max(by: { $0.activatesAt < $1.activatesAt }) {
            // Never later than one period from now: a row whose dates run far off (an operator's
            // 'infinity') must not push our dates out of range, nor stop rotation.
            added.append(window(from: min(newest.encryptsUntil, now.addingTimeInterval(rotate))))
        }
        return added
    }

    /// Rows whose keys stopped decrypting at least one period ago are deleted; the period of grace
    /// lets servers whose clocks lag a little still answer "expired key" by the dates.
    static func deleteBefore(now: Date, rotate: TimeInterval) -> Date {
        now.addingTimeInterval(-rotate)
    }
}
