import Foundation
import TesseraWire

/// Everything needed to resume a TLS session, shaped like OpenSSL's `SSL_SESSION` (DESIGN.md §4).
///
/// The same value is a client's saved session (with `ticket` and `ticketLifetimeHint`) and the state
/// a server seals into a ticket (RFC 5077 §4, without them). `derEncoded()` / `init(derEncoded:)`
/// speak OpenSSL's ASN.1 (`ssl/ssl_asn1.c`, see SessionState+DER.swift), so tickets and session
/// files interoperate with OpenSSL and nginx.
///
/// OpenSSL omits zero-valued `[5]`, `[9]`, `[14]` and `[15]`, and writes "no group" as `[19] 0`; so
/// `Some(0)` in those fields reads back as nil, except that a TLS 1.3 session reads `ticketAgeAdd`
/// and `maxEarlyData` back as 0, because there 0 is what OpenSSL means by their absence.
public struct SessionState: Sendable, Hashable {
    /// `ssl_version`: TLS 1.2 (0x0303) or TLS 1.3 (0x0304).
    public var version: ProtocolVersion
    /// `cipher`: the suite the session was negotiated with (RFC 5246 §7.4.1.3 / RFC 8446 §4.6.1:
    /// resumption must keep it, or for 1.3 keep its hash).
    public var cipherSuite: CipherSuite
    /// `session_id`: the TLS 1.2 session ID (RFC 5077 §3.4 lets a client send one with its ticket);
    /// up to 32 bytes, often empty in server-side ticket state.
    public var sessionID: [UInt8]
    /// `master_key`: the TLS 1.2 master secret (48 bytes) or the TLS 1.3 resumption PSK
    /// (RFC 8446 §4.6.1), up to 512 bytes as in OpenSSL 3.0.
    public var masterSecret: [UInt8]
    /// `[1] time`: when the peer was originally authenticated. Renewal keeps it, so a maximum
    /// session lifetime counts from here (DESIGN.md §5). Whole seconds (OpenSSL stores `time_t`).
    public var time: Date
    /// `[2] timeout`: seconds the session may be resumed for, from `time`.
    public var timeout: UInt32
    /// `[3] peer`: the peer's leaf certificate, DER (OpenSSL keeps only the leaf here).
    public var peerCertificate: [UInt8]?
    /// `[4] sid_ctx`: the session ID context, which scopes a session to one virtual host / config
    /// (nginx puts a 20-byte hash of its server config here). Up to 32 bytes.
    public var sessionIDContext: [UInt8]
    /// `[5] verify_result`: the X.509 verification result (OpenSSL's `X509_V_*`; 0 is OK, and an
    /// absent field means 0 to OpenSSL).
    public var verifyResult: Int?
    /// `[6] tlsext_hostname`: the SNI the session was established for (RFC 6066 §3).
    public var hostname: String?
    /// `[9] tlsext_tick_lifetime_hint`: seconds (RFC 5077 §3.3, RFC 8446 §4.6.1 `ticket_lifetime`).
    public var ticketLifetimeHint: UInt32?
    /// `[10] tlsext_tick`: the opaque ticket the server issued (client side only).
    public var ticket: [UInt8]?
    /// `[13] flags` bit 0x1 (`SSL_SESS_FLAG_EXTMS`): the session used the extended master secret
    /// (RFC 7627 §5.3: resumption must agree on it).
    public var extendedMasterSecret: Bool
    /// `[14] tlsext_tick_age_add`: TLS 1.3 `ticket_age_add` (RFC 8446 §4.6.1).
    public var ticketAgeAdd: UInt32?
    /// `[15] max_early_data`: TLS 1.3 `max_early_data_size` (RFC 8446 §4.2.10).
    public var maxEarlyData: UInt32?
    /// `[16] alpn_selected`: the negotiated ALPN protocol name, without its length byte (RFC 7301 §3.1).
    public var alpn: [UInt8]?
    /// `[19] kex_group`: the key-exchange group of the original handshake (OpenSSL 3.0 writes it).
    public var keyExchangeGroup: NamedGroup?

    public init(
        version: ProtocolVersion,
        cipherSuite: CipherSuite,
        sessionID: [UInt8] = [],
        masterSecret: [UInt8],
        time: Date,
        timeout: UInt32,
        peerCertificate: [UInt8]? = nil,
        sessionIDContext: [UInt8] = [],
        verifyResult: Int? = nil,
        hostname: String? = nil,
        ticketLifetimeHint: UInt32? = nil,
        ticket: [UInt8]? = nil,
        extendedMasterSecret: Bool = false,
        ticketAgeAdd: UInt32? = nil,
        maxEarlyData: UInt32? = nil,
        alpn: [UInt8]? = nil,
        keyExchangeGroup: NamedGroup? = nil
    ) {
        self.version = version
        self.cipherSuite = cipherSuite
        self.sessionID = sessionID
        self.masterSecret = masterSecret
        // OpenSSL stores whole seconds; truncating here makes a session equal to itself read back.
        self.time = Date(timeIntervalSince1970: TimeInterval(Self.wholeSeconds(time)))
        self.timeout = timeout
        self.peerCertificate = peerCertificate
        self.sessionIDContext = sessionIDContext
        self.verifyResult = verifyResult
        self.hostname = hostname
        self.ticketLifetimeHint = ticketLifetimeHint
        self.ticket = ticket
        self.extendedMasterSecret = extendedMasterSecret
        self.ticketAgeAdd = ticketAgeAdd
        self.maxEarlyData = maxEarlyData
        self.alpn = alpn
        self.keyExchangeGroup = keyExchangeGroup
    }

    /// Seconds since the original authentication (`time`); negative if `now` is earlier.
    public func age(at now: Date) -> TimeInterval {
        now.timeIntervalSince(time)
    }

    /// When the session stops being resumable: `time + timeout`.
    public var expiresAt: Date {
        time.addingTimeInterval(TimeInterval(timeout))
    }

    /// True once `timeout` seconds have passed since `time` (OpenSSL's `ssl_session_calculate_timeout`).
    public func isExpired(at now: Date) -> Bool {
        now >= expiresAt
    }

    /// `time` as OpenSSL stores it: whole seconds since the epoch, clamped instead of trapping for
    /// dates no `time_t` can hold.
    static func wholeSeconds(_ date: Date) -> Int64 {
        let seconds = date.timeIntervalSince1970.rounded(.down)
        if let exact = Int64(exactly: seconds) { return exact }
        if seconds.isNaN { return 0 }
        return seconds > 0 ? Int64.max : Int64.min
    }
}
