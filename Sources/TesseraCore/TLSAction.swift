import NIOCore
import TesseraCrypto
import TesseraSessions
import TesseraWire

/// What a sans-I/O connection asks its driver to do. Feed bytes in, carry out the actions in order.
public enum TLSAction: Sendable {
    /// Write these bytes to the peer.
    case send(ByteBuffer)
    /// Verify the peer's chain (asynchronously), then call `peerVerificationCompleted(_:)`.
    /// Input is held until then. A client asks for the server's chain (with its host name), a
    /// server for a client certificate's chain (`hostname` nil: no name check).
    case verifyPeer(PeerVerificationRequest)
    /// Boxed (`indirect`), as is `sessionIssued`: a summary is about 170 bytes and a session 140,
    /// and unboxed they would set the size of every action (25 bytes otherwise), `send` and
    /// `applicationData` included, each copied as it moves through the record layer's queue to
    /// the driver.
    indirect case handshakeCompleted(HandshakeSummary)
    /// Client: a new or renewed session to store (emitted only after the server's Finished
    /// verified, RFC 5077 §3.3). Replaces any stored session for this server.
    indirect case sessionIssued(SessionState)
    /// Client: the offered session was not resumed; drop it from the store.
    case sessionRejected
    case applicationData(ByteBuffer)
    /// A non-fatal alert from the peer (other than close_notify).
    case alertReceived(Alert)
    case trace(TraceEvent)
    /// The connection is over. `nil`: closed cleanly by close_notify.
    case closed(TLSError?)
}

public struct PeerVerificationRequest: Sendable {
    /// DER certificates, leaf first, as the peer sent them.
    public var chain: [[UInt8]]
    public var hostname: String?
    /// Whose chain: a server's (checked by a client) or a client's (checked by a server).
    public var purpose: ChainVerifier.Purpose = .server
}

/// The outcome of a handshake, for reports and `-www` pages.
public struct HandshakeSummary: Sendable {
    public var version: ProtocolVersion
    public var cipherSuite: CipherSuite
    public var resumed: Bool
    public var group: NamedGroup?
    public var peerSignatureScheme: SignatureScheme?
    public var serverName: String?
    public var alpn: String?
    public var extendedMasterSecret: Bool
    public var secureRenegotiation: Bool
    /// DER certificates of the peer, leaf first. Server: the client's chain, or after a
    /// resumption the leaf the session recorded; empty when no client certificate was sent.
    public var peerCertificates: [[UInt8]]
    public var verification: VerificationResult?
    public var sessionID: [UInt8]
    public var masterSecret: [UInt8]
    public var ticket: [UInt8]?
    public var ticketLifetimeHint: UInt32?
    /// The session as it stands after this handshake (the one `-sess_out` writes), if resumable.
    public var session: SessionState? {
        get { sessionBox?.session }
        set { sessionBox = newValue.map(SessionBox.init) }
    }
    /// `session`, boxed: a session is half of a summary's size, and the summary travels in every
    /// handshake state, copied at each step. The box is never changed in place, so copies of a
    /// summary stay independent.
    var sessionBox: SessionBox? = nil
    /// A resumed handshake in which the server issued a new ticket (RFC 5077 §3.3).
    public var ticketRenewed = false
    /// Server: how many non-empty NewSessionTickets went out with this handshake (TLS 1.2: 0 or
    /// 1; TLS 1.3: the configured count after a full handshake, 1 after a resumption). The
    /// tickets-issued metric counts these (DESIGN.md §5).
    public var ticketsIssued = 0
    /// Server: a non-empty NewSessionTicket went out in this handshake, full or resumed.
    public var ticketIssued: Bool { ticketsIssued > 0 }
    /// Server: why an offered ticket was not resumed.
    public var resumptionFailure: ResumptionFailure?
    /// TLS 1.3 0-RTT: nil when none was offered, else whether the server took it.
    public var earlyDataAccepted: Bool?
    /// The leaf certificate's subject, OpenSSL-style one line ("CN=client"); nil without one.
    public var peerSubject: String? {
        guard let leaf = peerCertificates.first, let chain = try? CertificateChain(derEncoded: [leaf]) else { return nil }
        return chain.leafSubject
    }
    /// Whether the server sent a CertificateRequest in this handshake.
    public var clientCertificateRequested = false
    /// Client: the CA names (DER) the server's CertificateRequest listed, if any.
    public var clientCertificateAuthorities: [[UInt8]] = []
    /// Whether a non-empty client Certificate (and its CertificateVerify) went out (client) or
    /// arrived and verified (server) in this handshake.
    public var clientCertificateSent = false
}

extension HandshakeSummary {
    /// `summary`'s value, leaving an empty summary behind: a move out of a stored property of a
    /// state, where passing the property on would copy it (a dozen references).
    static func moving(_ summary: inout HandshakeSummary) -> HandshakeSummary {
        var taken = HandshakeSummary(
            version: summary.version, cipherSuite: summary.cipherSuite, resumed: false, group: nil,
            peerSignatureScheme: nil, serverName: nil, alpn: nil, extendedMasterSecret: false,
            secureRenegotiation: false, peerCertificates: [], verification: nil, sessionID: [],
            masterSecret: [], ticket: nil, ticketLifetimeHint: nil)
        swap(&taken, &summary)
        return taken
    }
}

/// An immutable box for `HandshakeSummary.session`.
final class SessionBox: Sendable {
    let session: SessionState

    init(_ session: SessionState) {
        self.session = session
    }
}

/// Why an offered ticket did not resume (DESIGN.md §5 metrics).
public enum ResumptionFailure: String, Sendable, Hashable, CaseIterable {
    case unknownKey = "unknown key"
    case expiredKey = "expired key"
    case badMAC = "bad MAC"
    case undecodable
    case emsMismatch = "EMS mismatch"
    case lifetimeCap = "lifetime cap"
    case scopeMismatch = "scope mismatch"
    case versionOrCipherMismatch = "version or cipher mismatch"
    case tooLarge = "too large"
}

/// One line of a `-msg` trace, as OpenSSL's message callback sees it.
public struct TraceEvent: Sendable, Hashable {
    public enum Direction: Sendable, Hashable { case sent, received }
    public enum Kind: Sendable, Hashable {
        /// The 5-byte header of a record.
        case recordHeader
        case handshake(HandshakeType)
        case changeCipherSpec
        case alert(Alert)
        case applicationData
    }

    public var direction: Direction
    /// The connection's version at the time (OpenSSL prints this, not the record's, for messages).
    public var version: ProtocolVersion
    public var kind: Kind
    /// The message as carried (handshake header included), or the record header.
    public var bytes: [UInt8]
}
