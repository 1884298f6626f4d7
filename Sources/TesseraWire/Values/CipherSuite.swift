/// `CipherSuite` (RFC 8446 §4.1.2, B.4; RFC 5246 §7.4.1.2, A.5; RFC 8422 §6; RFC 7905 §2).
///
/// ```
/// uint8 CipherSuite[2];    /* Cryptographic suite selector */
/// ```
///
/// Carried as one big-endian `uint16`. Open value: unknown suites (GREASE, export, ...) round-trip and
/// print in hex.
public struct CipherSuite: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public var rawValue: UInt16
    public init(rawValue: UInt16) { self.rawValue = rawValue }
    public init(_ raw: UInt16) { self.rawValue = raw }

    // RFC 8446 §B.4
    public static let tlsAES128GCMSHA256 = CipherSuite(0x1301)
    public static let tlsAES256GCMSHA384 = CipherSuite(0x1302)
    public static let tlsChaCha20Poly1305SHA256 = CipherSuite(0x1303)

    // RFC 5289 §3.2, RFC 7905 §2: the TLS 1.2 ECDHE AEAD suites Tessera negotiates.
    public static let ecdheECDSAWithAES128GCMSHA256 = CipherSuite(0xC02B)
    public static let ecdheECDSAWithAES256GCMSHA384 = CipherSuite(0xC02C)
    public static let ecdheRSAWithAES128GCMSHA256 = CipherSuite(0xC02F)
    public static let ecdheRSAWithAES256GCMSHA384 = CipherSuite(0xC030)
    public static let ecdheRSAWithChaCha20Poly1305SHA256 = CipherSuite(0xCCA8)
    public static let ecdheECDSAWithChaCha20Poly1305SHA256 = CipherSuite(0xCCA9)

    // Legacy suites: recognised so that they can be refused and printed by name.
    public static let rsaWithAES128GCMSHA256 = CipherSuite(0x009C)
    public static let rsaWithAES256GCMSHA384 = CipherSuite(0x009D)
    public static let rsaWithAES128CBCSHA = CipherSuite(0x002F)
    public static let rsaWithAES256CBCSHA = CipherSuite(0x0035)
    public static let ecdheRSAWithAES128CBCSHA = CipherSuite(0xC013)
    public static let ecdheRSAWithAES256CBCSHA = CipherSuite(0xC014)
    public static let ecdheECDSAWithAES128CBCSHA = CipherSuite(0xC009)
    public static let ecdheECDSAWithAES256CBCSHA = CipherSuite(0xC00A)
    public static let dheRSAWithAES256CBCSHA = CipherSuite(0x0039)
    public static let nullWithNullNull = CipherSuite(0x0000)

    // Signalling values: RFC 5746 §3.3 and RFC 7507 §2.
    public static let emptyRenegotiationInfoSCSV = CipherSuite(0x00FF)
    public static let fallbackSCSV = CipherSuite(0x5600)

    public var description: String { ianaName }

    /// True for the RFC 8446 suites, which name only the AEAD and hash.
    public var isTLS13: Bool { rawValue >> 8 == 0x13 }

    /// The IANA registry name ("TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"); hex when unknown.
    public var ianaName: String { Self.names[rawValue]?.iana ?? hex16(rawValue) }

    /// The name OpenSSL prints (`-cipher` syntax: "ECDHE-RSA-AES128-GCM-SHA256"); TLS 1.3 suites keep
    /// their IANA names, as OpenSSL does. Hex when unknown.
    public var openSSLName: String { Self.names[rawValue]?.openSSL ?? hex16(rawValue) }

    private static let names: [UInt16: (iana: String, openSSL: String)] = [
        0x1301: ("TLS_AES_128_GCM_SHA256", "TLS_AES_128_GCM_SHA256"),
        0x1302: ("TLS_AES_256_GCM_SHA384", "TLS_AES_256_GCM_SHA384"),
        0x1303: ("TLS_CHACHA20_POLY1305_SHA256", "TLS_CHACHA20_POLY1305_SHA256"),
        0x1304: ("TLS_AES_128_CCM_SHA256", "TLS_AES_128_CCM_SHA256"),
        0x1305: ("TLS_AES_128_CCM_8_SHA256", "TLS_AES_128_CCM_8_SHA256"),
        0xC02B: ("TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256", "ECDHE-ECDSA-AES128-GCM-SHA256"),
        0xC02C: ("TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384", "ECDHE-ECDSA-AES256-GCM-SHA384"),
        0xC02F: ("TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256", "ECDHE-RSA-AES128-GCM-SHA256"),
        0xC030: ("TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384", "ECDHE-RSA-AES256-GCM-SHA384"),
        0xCCA8: ("TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256", "ECDHE-RSA-CHACHA20-POLY1305"),
        0xCCA9: ("TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256", "ECDHE-ECDSA-CHACHA20-POLY1305"),
        0xCCAA: ("TLS_DHE_RSA_WITH_CHACHA20_POLY1305_SHA256", "DHE-RSA-CHACHA20-POLY1305"),
        0x009C: ("TLS_RSA_WITH_AES_128_GCM_SHA256", "AES128-GCM-SHA256"),
        0x009D: ("TLS_RSA_WITH_AES_256_GCM_SHA384", "AES256-GCM-SHA384"),
        0x009E: ("TLS_DHE_RSA_WITH_AES_128_GCM_SHA256", "DHE-RSA-AES128-GCM-SHA256"),
        0x009F: ("TLS_DHE_RSA_WITH_AES_256_GCM_SHA384", "DHE-RSA-AES256-GCM-SHA384"),
        0x002F: ("TLS_RSA_WITH_AES_128_CBC_SHA", "AES128-SHA"),
        0x0035: ("TLS_RSA_WITH_AES_256_CBC_SHA", "AES256-SHA"),
        0x003C: ("TLS_RSA_WITH_AES_128_CBC_SHA256", "AES128-SHA256"),
        0x003D: ("TLS_RSA_WITH_AES_256_CBC_SHA256", "AES256-SHA256"),
        0x000A: ("TLS_RSA_WITH_3DES_EDE_CBC_SHA", "DES-CBC3-SHA"),
        0x0005: ("TLS_RSA_WITH_RC4_128_SHA", "RC4-SHA"),
        0x0004: ("TLS_RSA_WITH_RC4_128_MD5", "RC4-MD5"),
        0x0033: ("TLS_DHE_RSA_WITH_AES_128_CBC_SHA", "DHE-RSA-AES128-SHA"),
        0x0039: ("TLS_DHE_RSA_WITH_AES_256_CBC_SHA", "DHE-RSA-AES256-SHA"),
        0x0067: ("TLS_DHE_RSA_WITH_AES_128_CBC_SHA256", "DHE-RSA-AES128-SHA256"),
        0x006B: ("TLS_DHE_RSA_WITH_AES_256_CBC_SHA256", "DHE-RSA-AES256-SHA256"),
        0xC009: ("TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA", "ECDHE-ECDSA-AES128-SHA"),
        0xC00A: ("TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA", "ECDHE-ECDSA-AES256-SHA"),
        0xC013: ("TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA", "ECDHE-RSA-AES128-SHA"),
        0xC014: ("TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA", "ECDHE-RSA-AES256-SHA"),
        0xC023: ("TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256", "ECDHE-ECDSA-AES128-SHA256"),
        0xC024: ("TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA384", "ECDHE-ECDSA-AES256-SHA384"),
        0xC027: ("TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256", "ECDHE-RSA-AES128-SHA256"),
        0xC028: ("TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA384", "ECDHE-RSA-AES256-SHA384"),
        0x0000: ("TLS_NULL_WITH_NULL_NULL", "NULL-NULL"),
        0x00FF: ("TLS_EMPTY_RENEGOTIATION_INFO_SCSV", "TLS_EMPTY_RENEGOTIATION_INFO_SCSV"),
        0x5600: ("TLS_FALLBACK_SCSV", "TLS_FALLBACK_SCSV"),
    ]
}
