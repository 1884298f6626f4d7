/// The TLS 1.2 parameter matrix of the interop tests, with each peer's spelling of every value.

enum Authentication: String, Sendable {
    case ecdsa = "ECDSA"
    case rsa = "RSA"
}

struct CipherSuite: Sendable, Hashable, CustomStringConvertible {
    /// OpenSSL's name, also what `tessera` prints after `Cipher is` (it copies openssl's report).
    let openssl: String
    /// The IANA / RFC name (what Python's `ssl` reports in `cipher()[0]` is the OpenSSL name).
    let iana: String
    /// The wire value (RFC 5289, RFC 7905).
    let code: UInt16
    let authentication: Authentication
    /// GnuTLS priority-string and `- Description:` spelling of the bulk cipher.
    let gnutlsCipher: String

    var description: String { openssl }

    /// GnuTLS key-exchange keyword.
    var gnutlsKeyExchange: String { authentication == .ecdsa ? "ECDHE-ECDSA" : "ECDHE-RSA" }

    static let ecdheECDSAWithAES128GCMSHA256 = CipherSuite(
        openssl: "ECDHE-ECDSA-AES128-GCM-SHA256", iana: "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
        code: 0xC02B, authentication: .ecdsa, gnutlsCipher: "AES-128-GCM")
    static let ecdheECDSAWithAES256GCMSHA384 = CipherSuite(
        openssl: "ECDHE-ECDSA-AES256-GCM-SHA384", iana: "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
        code: 0xC02C, authentication: .ecdsa, gnutlsCipher: "AES-256-GCM")
    static let ecdheECDSAWithChaCha20Poly1305 = CipherSuite(
        openssl: "ECDHE-ECDSA-CHACHA20-POLY1305", iana: "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256",
        code: 0xCCA9, authentication: .ecdsa, gnutlsCipher: "CHACHA20-POLY1305")
    static let ecdheRSAWithAES128GCMSHA256 = CipherSuite(
        openssl: "ECDHE-RSA-AES128-GCM-SHA256", iana: "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
        code: 0xC02F, authentication: .rsa, gnutlsCipher: "AES-128-GCM")
    static let ecdheRSAWithAES256GCMSHA384 = CipherSuite(
        openssl: "ECDHE-RSA-AES256-GCM-SHA384", iana: "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
        code: 0xC030, authentication: .rsa, gnutlsCipher: "AES-256-GCM")
    static let ecdheRSAWithChaCha20Poly1305 = CipherSuite(
        openssl: "ECDHE-RSA-CHACHA20-POLY1305", iana: "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256",
        code: 0xCCA8, authentication: .rsa, gnutlsCipher: "CHACHA20-POLY1305")

    /// Every TLS 1.2 suite the interop matrix covers.
    static let tls12: [CipherSuite] = [
        .ecdheECDSAWithAES128GCMSHA256, .ecdheECDSAWithAES256GCMSHA384, .ecdheECDSAWithChaCha20Poly1305,
        .ecdheRSAWithAES128GCMSHA256, .ecdheRSAWithAES256GCMSHA384, .ecdheRSAWithChaCha20Poly1305,
    ]

    static func named(_ opensslName: String) -> CipherSuite? { tls12.first { $0.openssl == opensslName } }
}

struct NamedGroup: Sendable, Hashable, CustomStringConvertible {
    /// OpenSSL `-groups` / curl `--curves` spelling.
    let openssl: String
    /// The wire value (RFC 8422 §5.1.1, RFC 7748).
    let code: UInt16
    /// How `openssl s_client` names it on its `Server Temp Key:` line.
    let opensslTempKey: String
    /// GnuTLS priority keyword and `- Description:` spelling.
    let gnutlsGroup: String
    /// Python `SSLContext.set_ecdh_curve` name.
    let pythonCurve: String

    var description: String { openssl }

    static let x25519 = NamedGroup(openssl: "X25519", code: 0x001D, opensslTempKey: "X25519", gnutlsGroup: "X25519", pythonCurve: "X25519")
    static let p256 = NamedGroup(openssl: "P-256", code: 0x0017, opensslTempKey: "prime256v1", gnutlsGroup: "SECP256R1", pythonCurve: "prime256v1")
    static let p384 = NamedGroup(openssl: "P-384", code: 0x0018, opensslTempKey: "secp384r1", gnutlsGroup: "SECP384R1", pythonCurve: "secp384r1")

    static let all: [NamedGroup] = [.x25519, .p256, .p384]

    static func withCode(_ code: UInt16) -> NamedGroup? { all.first { $0.code == code } }
}

/// One cell of the matrix.
///
/// TLS 1.2 couples the groups to ECDSA certificates: the client's supported_groups also lists the
/// curves it accepts in the server's certificate (RFC 8422 §5.1, enforced by OpenSSL and GnuTLS), so
/// an ECDSA cell cannot offer X25519 alone. The server (when we control it) allows exactly `group`;
/// the client offers `group` first and, for ECDSA, the certificate's curve after it.
struct TLSCase: Sendable, CustomStringConvertible {
    let suite: CipherSuite
    let group: NamedGroup

    var description: String { "\(suite.openssl)/\(group.openssl)" }

    /// Every suite with every group: 18 cases.
    static let all: [TLSCase] = CipherSuite.tls12.flatMap { suite in NamedGroup.all.map { TLSCase(suite: suite, group: $0) } }

    /// The curve of the self-signed ECDSA certificate this cell uses (P-384 for the P-384 cell,
    /// P-256 otherwise), nil for RSA.
    var certificateCurve: NamedGroup? {
        guard suite.authentication == .ecdsa else { return nil }
        return group == .p384 ? .p384 : .p256
    }

    /// What a client offers: `group` first, then the certificate's curve when it differs.
    func clientGroups(certificateCurve curve: NamedGroup?) -> [NamedGroup] {
        guard let curve, curve != group else { return [group] }
        return [group, curve]
    }

    var clientGroups: [NamedGroup] { clientGroups(certificateCurve: certificateCurve) }

    /// True when the client offers only `group`, so any peer must pick exactly it.
    var groupIsForced: Bool { clientGroups.count == 1 }

    /// GnuTLS priority string for TLS 1.2 with exactly this suite and the given groups.
    func gnutlsPriority(groups: [NamedGroup]) -> String {
        "NORMAL:-VERS-ALL:+VERS-TLS1.2:-KX-ALL:+\(suite.gnutlsKeyExchange):-CIPHER-ALL:+\(suite.gnutlsCipher)"
            + ":-MAC-ALL:+AEAD:-GROUP-ALL" + groups.map { ":+GROUP-\($0.gnutlsGroup)" }.joined()
    }

    var gnutlsServerPriority: String { gnutlsPriority(groups: [group]) }
    var gnutlsClientPriority: String { gnutlsPriority(groups: clientGroups) }
}

extension CertificateFixtures {
    /// The self-signed server identity of a matrix cell (see `TLSCase.certificateCurve`).
    func identity(for tlsCase: TLSCase) -> Identity {
        switch tlsCase.certificateCurve {
        case nil: return rsa2048
        case .some(let curve): return curve == .p384 ? ecdsaP384 : ecdsaP256
        }
    }
}
