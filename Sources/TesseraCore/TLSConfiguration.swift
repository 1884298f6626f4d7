import Crypto
import Foundation
import TesseraCrypto
import TesseraSessions
import TesseraWire

/// What a connection may negotiate and with which credentials. Shared by many connections.
public struct TLSConfiguration: Sendable {
    /// How the client treats the server's certificate chain.
    public enum CertificateVerification: Sendable, Hashable {
        /// Verify and abort the handshake on failure (openssl's `-verify_return_error`).
        case required
        /// Verify and report the result, but go on (openssl s_client's default).
        case reportOnly
        /// Do not verify at all.
        case none
    }

    /// Server: whether to ask the client for a certificate (RFC 5246 §7.4.4, RFC 8446 §4.3.2).
    /// A client chain that arrives is verified against `trustRoots` as `certificateVerification`
    /// says (`.required`: a chain that does not verify aborts with OpenSSL's alert for it;
    /// `.reportOnly`: it is reported in the summary; `.none`: not checked; the signature in
    /// CertificateVerify is always checked). Never a host name check.
    public enum ClientAuthentication: Sendable, Hashable {
        /// No CertificateRequest (the default).
        case none
        /// Ask; a client without a certificate still completes the handshake (openssl
        /// s_server `-verify`).
        case optional
        /// Ask and abort without one: `handshake_failure` in TLS 1.2 (RFC 5246 §7.4.6),
        /// `certificate_required` in TLS 1.3 (RFC 8446 §4.4.2.4) (openssl s_server `-Verify`).
        case required
    }

    /// The versions spoken: TLS 1.2 and TLS 1.3, TLS 1.3 preferred (RFC 8446 §4.2.1: a client
    /// offers both in supported_versions, a server picks the highest both have). Set both to one
    /// version to pin it (`tessera -tls1_2` / `-tls1_3`). Nothing below TLS 1.2 is implemented.
    public var minimumVersion: ProtocolVersion = .tls12
    public var maximumVersion: ProtocolVersion = .tls13
    /// In preference order. Only ECDHE with AEAD is implemented; anything else is ignored.
    public var cipherSuites: [CipherSuite] = TLSConfiguration.defaultCipherSuites {
        didSet { (tls12Suites, tls13Suites) = Self.implementedSuites(cipherSuites) }
    }
    /// The TLS 1.2 and TLS 1.3 suites among `cipherSuites` that we implement, in preference
    /// order: worked out once per configuration, not once per handshake.
    private(set) var tls12Suites: [CipherSuiteParameters] = TLSConfiguration.implementedSuites(TLSConfiguration.defaultCipherSuites).0
    private(set) var tls13Suites: [CipherSuiteParameters] = TLSConfiguration.implementedSuites(TLSConfiguration.defaultCipherSuites).1
    /// Key-exchange groups in preference order.
    public var groups: [NamedGroup] = TLSConfiguration.defaultGroups {
        didSet { implementedGroups = groups.filter { Negotiation.implementedGroups.contains($0) } }
    }
    /// The groups among `groups` that we implement, in preference order: worked out once per
    /// configuration, not once per handshake.
    private(set) var implementedGroups: [NamedGroup] = TLSConfiguration.defaultGroups.filter { Negotiation.implementedGroups.contains($0) }
    static let defaultGroups: [NamedGroup] = [.x25519, .secp256r1, .secp384r1]
    /// Signature schemes we accept from the peer, in preference order.
    public var signatureSchemes: [SignatureScheme] = TLSConfiguration.defaultSignatureSchemes
    /// Our certificate chain (leaf first) and its key: required for a server. A client sends them
    /// when the server asks for a certificate (and the key fits the server's signature
    /// algorithms); without them it answers with an empty Certificate.
    public var certificateChain: CertificateChain? {
        didSet {
            leafScope = Self.leafScope(certificateChain)
            certificateMessages = EncodedCertificateMessages(certificateChain)
        }
    }
    public var privateKey: SigningKey?
    /// The first 20 bytes of the leaf's SHA-256: a server's default session scope
    /// (`ServerTicketPolicy.scope`), hashed once per chain rather than once per ticket.
    private(set) var leafScope: [UInt8] = []
    /// A server's Certificate message for `certificateChain`, encoded once per chain rather than
    /// once per handshake: the same bytes every time.
    private(set) var certificateMessages = EncodedCertificateMessages(nil)
    /// Server: request a client certificate. See `ClientAuthentication`.
    public var clientAuthentication: ClientAuthentication = .none
    /// Server: the names (DER X.501) sent in the CertificateRequest so a client can pick a
    /// certificate those CAs issued: TLS 1.2's certificate_authorities list (RFC 5246 §7.4.4), TLS
    /// 1.3's certificate_authorities extension (RFC 8446 §4.2.4). Empty (the default): none are
    /// sent. `tessera s_server -CAfile F` sends the subjects of F's certificates, as openssl does.
    public var clientCertificateAuthorityNames: [[UInt8]] = []
    /// ALPN protocols in preference order (RFC 7301).
    public var alpnProtocols: [String] = []
    /// Client: how the server's chain is treated. Server: how a client certificate's chain is
    /// treated (only when `clientAuthentication` asks for one).
    public var certificateVerification: CertificateVerification = .required
    /// Client: roots for the server's chain. Server: roots for client certificates.
    public var trustRoots: TrustRoots = .system
    /// The most intermediate CA certificates a verified chain may have between the leaf and the
    /// trust anchor (OpenSSL's verify depth, `-verify N`); a longer one is verify code 22,
    /// "certificate chain too long". nil: no limit.
    public var verifyDepth: Int?
    /// Offer (client) or accept (server) RFC 7627 extended master secret. On by default.
    public var extendedMasterSecret = true
    /// Refuse peers that do not negotiate extended master secret.
    public var requireExtendedMasterSecret = false
    /// Server: allow a client to renegotiate (RFC 5746 secure renegotiation only). Off by default:
    /// a renegotiating ClientHello gets a `no_renegotiation` warning.
    public var allowClientRenegotiation = false
    /// Receives NSS key log lines (`CLIENT_RANDOM ...`). Nothing is logged unless set.
    public var keyLog: (@Sendable (String) -> Void)?
    /// The connection's clock.
    public var clock: any TLSClock = SystemClock()

    // MARK: Sessions and tickets (RFC 5077)

    /// Server: the ticket-key hook. nil: no tickets are issued and none are accepted.
    public var ticketKeys: (any TicketKeyProvider)?
    /// Server: how long a session may be resumed, counted from its original authentication
    /// (OpenSSL's session timeout; renewal never extends it).
    public var sessionTimeout: UInt32 = 7200
    /// Server: a hard cap on a session's life across any number of renewals.
    public var maxSessionLifetime: TimeInterval = 86_400
    /// Server: the session ID context, the scope a ticket is valid in (a virtual host). nil:
    /// derived from the leaf certificate, so hosts with different certificates never share
    /// sessions.
    public var sessionIDContext: [UInt8]?
    /// Client: send a fresh random session ID with a ticket (RFC 5077 §3.4) so the server's echo
    /// tells resumption at once; false sends an empty one.
    public var ticketSessionID = true
    /// Client: offer the SessionTicket extension.
    public var sessionTickets = true
    /// TLS 1.3 psk_ke (RFC 8446 §4.2.9): resumption without (EC)DHE, so without forward secrecy
    /// for the resumed connection. Off by default. Client: offer psk_ke after psk_dhe_ke.
    /// Server: resume without a key_share when the client offers psk_ke but not psk_dhe_ke
    /// (psk_dhe_ke is always preferred when both are offered).
    public var allowPSKKE = false
    /// The psk_key_exchange_modes a client offers, from `allowPSKKE`. Internal so that tests can
    /// build a psk_ke-only client.
    var offeredPSKModes: [PskKeyExchangeMode]?
    /// Server: TLS 1.3 NewSessionTickets after a full handshake (RFC 8446 §4.6.1).
    public var ticketCount13 = 2
    /// Server: 0-RTT (RFC 8446 §2.3, §4.2.10). 0 (the default) turns it off; otherwise the most
    /// early data a ticket allows. Each ticket's early data is accepted once (`earlyDataReplay`).
    public var maxEarlyData: UInt32 = 0
    /// Server: the replay cache that lets each ticket carry early data once (RFC 8446 §8).
    public var earlyDataReplay = EarlyDataReplayCache()
    /// Server: how far a client's ticket age may be from ours for 0-RTT (RFC 8446 §8.3).
    public var earlyDataFreshness: TimeInterval = 10
    /// Handshake messages of a flight share records (RFC 5246 §6.2.1, RFC 8446 §5.1), as BoringSSL
    /// sends them: a TLS 1.3 server's EncryptedExtensions, Certificate, CertificateVerify and
    /// Finished are one protected record, not four. Off: one message per record, as OpenSSL sends
    /// them, for a peer that cannot read packed messages (RFC-conforming peers all can).
    public var packsHandshakeMessages = true

    public init() {}

    private static func leafScope(_ chain: CertificateChain?) -> [UInt8] {
        guard let leaf = chain?.derEncoded.first else { return [] }
        return Array(SHA256.hash(data: leaf).prefix(20))
    }

    public static let defaultCipherSuites: [CipherSuite] = [
        .tlsAES128GCMSHA256, .tlsAES256GCMSHA384, .tlsChaCha20Poly1305SHA256,
        .ecdheECDSAWithAES128GCMSHA256, .ecdheRSAWithAES128GCMSHA256,
        .ecdheECDSAWithAES256GCMSHA384, .ecdheRSAWithAES256GCMSHA384,
        .ecdheECDSAWithChaCha20Poly1305SHA256, .ecdheRSAWithChaCha20Poly1305SHA256,
    ]

    public static let defaultSignatureSchemes: [SignatureScheme] = [
        .ecdsaSecp256r1SHA256, .ecdsaSecp384r1SHA384, .ed25519,
        .rsaPSSRSAESHA256, .rsaPSSRSAESHA384, .rsaPSSRSAESHA512,
        .rsaPKCS1SHA256, .rsaPKCS1SHA384, .rsaPKCS1SHA512,
    ]

    /// Client: the psk_key_exchange_modes to offer (RFC 8446 §4.2.9), psk_dhe_ke first.
    var pskModesToOffer: [PskKeyExchangeMode] {
        offeredPSKModes ?? (allowPSKKE ? [.pskDHEKE, .pskKE] : [.pskDHEKE])
    }

    private static func implementedSuites(_ suites: [CipherSuite]) -> ([CipherSuiteParameters], [CipherSuiteParameters]) {
        let parameters = suites.compactMap(\.parameters)
        return (parameters.filter { $0.version == .tls12 }, parameters.filter { $0.version == .tls13 })
    }
}

/// A server's Certificate handshake message (header included) for one chain, in each version's
/// form: RFC 8446 §4.4.2 with an empty certificate_request_context and no per-entry extensions,
/// RFC 5246 §7.4.2.
struct EncodedCertificateMessages: Sendable {
    let tls12: [UInt8]
    let tls13: [UInt8]

    init(_ chain: CertificateChain?) {
        guard let chain else {
            (tls12, tls13) = ([], [])
            return
        }
        let message = HandshakeMessage.certificate(
            CertificateMessage(requestContext: [], entries: chain.derEncoded.map { CertificateEntry(certificate: $0, extensions: []) }))
        tls12 = Array(message.encoded(version: .tls12).readableBytesView)
        tls13 = Array(message.encoded(version: .tls13).readableBytesView)
    }
}
