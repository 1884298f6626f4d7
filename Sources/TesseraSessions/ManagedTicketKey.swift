import Foundation
import TesseraCrypto

/// Where a key is in its life (DESIGN.md §5). Windows are half-open: a key becomes active at
/// `activatesAt`, stops encrypting at `encryptsUntil`, stops decrypting at `decryptsUntil`.
public enum KeyState: Sendable, Hashable {
    /// Published, decrypt only, not yet encrypting (HAProxy's "next key"): every server of a fleet
    /// can open tickets under it before any server starts issuing them.
    case staged
    /// Encrypts new tickets and decrypts.
    case active
    /// Decrypts only; tickets under it are renewed under `.whenKeyRetiring`.
    case retiring
    /// Gone: tickets under it mean a full handshake.
    case expired
}

/// A ticket key with its schedule.
public struct ManagedTicketKey: Sendable, Hashable {
    public var key: TicketKey
    public var activatesAt: Date
    public var encryptsUntil: Date
    public var decryptsUntil: Date

    public init(key: TicketKey, activatesAt: Date, encryptsUntil: Date, decryptsUntil: Date) {
        self.key = key
        self.activatesAt = activatesAt
        self.encryptsUntil = encryptsUntil
        self.decryptsUntil = decryptsUntil
    }

    /// A key that never expires: encrypting forever when `encrypts`, else decrypt-only forever
    /// (how nginx treats its first and its other `ssl_session_ticket_key` files).
    public static func permanent(_ key: TicketKey, encrypts: Bool) -> ManagedTicketKey {
        ManagedTicketKey(
            key: key,
            activatesAt: .distantPast,
            encryptsUntil: encrypts ? .distantFuture : .distantPast,
            decryptsUntil: .distantFuture
        )
    }

    /// The state at `now`. Decrypting ends at `decryptsUntil` even if the schedule says it should
    /// still encrypt: a key never seals a ticket it could not open.
    public func state(at now: Date) -> KeyState {
        if now >= decryptsUntil { return .expired }
        if now < activatesAt { return .staged }
        if now < encryptsUntil { return .active }
        return .retiring
    }
}
