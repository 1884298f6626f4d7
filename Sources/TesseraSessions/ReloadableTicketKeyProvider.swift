import Foundation
import TesseraCrypto

/// A ticket-key provider whose keys an operator can replace while connections run: `tessera
/// s_server` re-reads its nginx key files on SIGHUP and swaps the new ring in here (DESIGN.md §5).
///
/// Every call reads the current inner provider under the reader lock, then asks it outside the
/// lock: lookups never queue behind one another, and only `replace(with:)` takes the writer lock,
/// for the time it takes to swap one reference. A handshake may see the old provider at its
/// ClientHello and the new one at its Finished; each answer is consistent on its own.
public final class ReloadableTicketKeyProvider: TicketKeyProvider, @unchecked Sendable {
    private let lock = ReadWriteLock()
    private var inner: any TicketKeyProvider  // guarded by `lock`

    public init(_ initial: any TicketKeyProvider) {
        inner = initial
    }

    /// The provider answering now.
    public var current: any TicketKeyProvider {
        lock.withReadLock { inner }
    }

    /// Installs `provider` for every call from now on and returns the one it replaces.
    @discardableResult
    public func replace(with provider: any TicketKeyProvider) -> any TicketKeyProvider {
        lock.withWriteLock {
            let old = inner
            inner = provider
            return old
        }
    }

    // MARK: TicketKeyProvider

    public func encryptionKey(at now: Date) -> TicketKey? {
        current.encryptionKey(at: now)
    }

    public func canEncrypt(at now: Date) -> Bool {
        current.canEncrypt(at: now)
    }

    public func lookup(keyName: [UInt8], at now: Date) throws -> TicketKeyLookup {
        try current.lookup(keyName: keyName, at: now)
    }

    public func lifetimeHint(at now: Date) -> UInt32 {
        current.lifetimeHint(at: now)
    }

    public func keys(at now: Date) -> [ManagedTicketKey] {
        current.keys(at: now)
    }
}

/// The `-ticket_key_file` list of a server, read as nginx reads its `ssl_session_ticket_key`
/// directives: the first file encrypts, every file decrypts, and tickets under the others are
/// renewed unless `renewal` says otherwise (DESIGN.md §5).
public struct NginxTicketKeyFileSet: Sendable, Hashable {
    public var paths: [String]
    public var renewal: RenewalPolicy

    public init(paths: [String], renewal: RenewalPolicy = .whenKeyRetiring) {
        self.paths = paths
        self.renewal = renewal
    }

    /// Reads every file, all or nothing: one missing, unreadable or wrong-sized file fails the
    /// whole load (its error names the file), so a reload never half-applies.
    public func load() throws(SessionError) -> TicketKeyRing {
        guard !paths.isEmpty else {
            throw SessionError(.missingField, "no nginx ticket key files given")
        }
        var keys: [TicketKey] = []
        for path in paths {
            keys.append(try NginxTicketKeyFile.load(path: path))
        }
        return TicketKeyRing(nginxKeys: keys, renewal: renewal)
    }
}
