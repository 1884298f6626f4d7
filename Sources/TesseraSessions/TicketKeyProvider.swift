import Foundation
import TesseraCrypto

/// What a server does with a ticket, given its key name: OpenSSL's ticket-key callback answers, as
/// a type (DESIGN.md §5).
public enum TicketKeyLookup: Sendable, Hashable {
    /// No key by that name: ignore the ticket and do a full handshake (RFC 5077 §3.4, RFC 8446 §4.6.1).
    case notFound(NotFoundReason)
    /// Open the ticket with this key and resume.
    case valid(TicketKey)
    /// Open it, resume, and issue a fresh ticket in the abbreviated handshake (RFC 5077 §3.3 renewal;
    /// the callback's return value 2 in OpenSSL).
    case validRenew(TicketKey)

    /// Why a name found no key, for the resumption-failure metrics.
    public enum NotFoundReason: Sendable, Hashable {
        /// The name was never one of ours (another server's ticket, or garbage).
        case unknownKey
        /// The name was ours, but the key has passed its decrypt window and was dropped.
        case expiredKey
    }
}

/// The hook between the handshake and ticket keys, shaped like OpenSSL's ticket-key callback, so an
/// operator can plug in a fleet store (DESIGN.md §5-6) instead of the in-process `TicketKeyRing`.
/// Every call gets the time from the caller's injected clock.
///
/// Class-bound: a provider holds keys every connection of a configuration shares, and each
/// handshake that issues or opens a ticket takes it from the configuration. A copy of a class
/// existential is a reference count; of any other, a call through its type's value witnesses.
public protocol TicketKeyProvider: AnyObject, Sendable {
    /// The key to encrypt new tickets with, nil if none may encrypt now (then no ticket is issued).
    func encryptionKey(at now: Date) -> TicketKey?
    /// Whether a key may encrypt now: `encryptionKey(at:) != nil` without the copy of the key a
    /// TLS 1.2 server's hello needs only the answer of (whether to acknowledge SessionTicket).
    func canEncrypt(at now: Date) -> Bool
    /// OpenSSL's ticket-key callback, decrypt side. Throwing aborts the handshake (internal_error).
    func lookup(keyName: [UInt8], at now: Date) throws -> TicketKeyLookup
    /// The lifetime hint for tickets issued now (seconds): at most until the encrypting key stops decrypting.
    func lifetimeHint(at now: Date) -> UInt32
    /// The keys not yet expired at `now` (staged, active, retiring), for metrics and logs: live-key
    /// counts and rotations (DESIGN.md §5). Providers that cannot list their keys return none.
    func keys(at now: Date) -> [ManagedTicketKey]
}

extension TicketKeyProvider {
    public func keys(at now: Date) -> [ManagedTicketKey] { [] }
    public func canEncrypt(at now: Date) -> Bool { encryptionKey(at: now) != nil }
}

/// When a ticket that opened is worth replacing (DESIGN.md §5).
public enum RenewalPolicy: Sendable, Hashable {
    /// Renew tickets whose key has stopped encrypting (nginx and OpenSSL's callback returning 2).
    case whenKeyRetiring
    /// Renew on every resumption (Go's crypto/tls).
    case always
    /// Never renew (s2n): the client's ticket simply ages out.
    case never
}
