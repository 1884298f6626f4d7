import NIOConcurrencyHelpers

/// The public keys of the last few peer certificates, so that a certificate seen again is not
/// parsed again.
///
/// Parsing a leaf with swift-certificates is the largest piece of a TLS 1.3 client's full handshake
/// that is not cryptography (several kilobyte-sized allocations and a large body of code), and a
/// client that keeps connecting to one server receives the same leaf each time. Go's crypto/tls
/// shares parsed certificates between connections for the same reason (`crypto/tls/cache.go`).
///
/// Entries are keyed by the certificate's full DER, compared byte by byte (certificates are
/// public, so the comparison need not be constant-time); only a certificate that parsed into a
/// supported key is kept, so every failure is reported afresh. The key is a pure function of the
/// DER, so a hit gives exactly what parsing would. Bounded: `capacity` entries of at most
/// `maximumCertificateLength` bytes each, the least recently used dropped first. Thread-safe.
final class PeerPublicKeyCache: Sendable {
    static let shared = PeerPublicKeyCache()

    /// Entries kept.
    let capacity: Int
    /// Longer certificates are not kept (they still parse), so the cache holds at most
    /// `capacity × maximumCertificateLength` bytes of certificates.
    let maximumCertificateLength: Int

    private struct Entry {
        var der: [UInt8]
        var key: PeerPublicKey
    }

    /// Most recently used last.
    private let entries = NIOLockedValueBox<[Entry]>([])

    init(capacity: Int = 8, maximumCertificateLength: Int = 8192) {
        self.capacity = capacity
        self.maximumCertificateLength = maximumCertificateLength
    }

    /// The key of `der` if it is cached, which makes it the most recently used.
    func key(for der: [UInt8]) -> PeerPublicKey? {
        guard der.count <= maximumCertificateLength else { return nil }
        return entries.withLockedValue { entries -> PeerPublicKey? in
            guard let index = entries.lastIndex(where: { $0.der == der }) else { return nil }
            let key = entries[index].key
            if index != entries.count - 1 { entries.append(entries.remove(at: index)) }
            return key
        }
    }

    /// Keeps `key` as the key of `der`, dropping the least recently used entry when full.
    func insert(_ key: PeerPublicKey, for der: [UInt8]) {
        guard der.count <= maximumCertificateLength, capacity > 0 else { return }
        entries.withLockedValue { entries in
            if let index = entries.firstIndex(where: { $0.der == der }) { entries.remove(at: index) }
            if entries.count >= capacity { entries.removeFirst(entries.count - capacity + 1) }
            entries.append(Entry(der: der, key: key))
        }
    }

    /// Cached entries (tests).
    var count: Int { entries.withLockedValue { $0.count } }

    /// Whether `der` is cached, without touching its recency (tests).
    func contains(_ der: [UInt8]) -> Bool { entries.withLockedValue { $0.contains { $0.der == der } } }
}
