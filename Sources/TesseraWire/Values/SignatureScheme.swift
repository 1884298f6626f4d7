/// `SignatureScheme` (RFC 8446 §4.2.3). In TLS 1.2 the same two bytes are the
/// `SignatureAndHashAlgorithm` pair of RFC 5246 §7.4.1.4.1 (hash, signature), which is why the
/// legacy values below read as `hash << 8 | signature`.
///
/// ```
/// enum {
///     /* RSASSA-PKCS1-v1_5 algorithms */
///     rsa_pkcs1_sha256(0x0401), rsa_pkcs1_sha384(0x0501), rsa_pkcs1_sha512(0x0601),
///     /* ECDSA algorithms */
///     ecdsa_secp256r1_sha256(0x0403), ecdsa_secp384r1_sha384(0x0503),
///     ecdsa_secp521r1_sha512(0x0603),
///     /* RSASSA-PSS algorithms with public key OID rsaEncryption */
///     rsa_pss_rsae_sha256(0x0804), rsa_pss_rsae_sha384(0x0805), rsa_pss_rsae_sha512(0x0806),
///     /* EdDSA algorithms */
///     ed25519(0x0807), ed448(0x0808),
///     /* RSASSA-PSS algorithms with public key OID RSASSA-PSS */
///     rsa_pss_pss_sha256(0x0809), rsa_pss_pss_sha384(0x080a), rsa_pss_pss_sha512(0x080b),
///     /* Legacy algorithms */
///     rsa_pkcs1_sha1(0x0201), ecdsa_sha1(0x0203),
///     /* Reserved Code Points */
///     private_use(0xFE00..0xFFFF),
///     (0xFFFF)
/// } SignatureScheme;
/// ```
public struct SignatureScheme: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public var rawValue: UInt16
    public init(rawValue: UInt16) { self.rawValue = rawValue }
    public init(_ raw: UInt16) { self.rawValue = raw }

    public static let rsaPKCS1SHA256 = SignatureScheme(0x0401)
    public static let rsaPKCS1SHA384 = SignatureScheme(0x0501)
    public static let rsaPKCS1SHA512 = SignatureScheme(0x0601)
    public static let ecdsaSecp256r1SHA256 = SignatureScheme(0x0403)
    public static let ecdsaSecp384r1SHA384 = SignatureScheme(0x0503)
    public static let ecdsaSecp521r1SHA512 = SignatureScheme(0x0603)
    public static let rsaPSSRSAESHA256 = SignatureScheme(0x0804)
    public static let rsaPSSRSAESHA384 = SignatureScheme(0x0805)
    public static let rsaPSSRSAESHA512 = SignatureScheme(0x0806)
    public static let ed25519 = SignatureScheme(0x0807)
    public static let ed448 = SignatureScheme(0x0808)
    public static let rsaPSSPSSSHA256 = SignatureScheme(0x0809)
    public static let rsaPSSPSSSHA384 = SignatureScheme(0x080A)
    public static let rsaPSSPSSSHA512 = SignatureScheme(0x080B)
    public static let rsaPKCS1SHA1 = SignatureScheme(0x0201)
    public static let ecdsaSHA1 = SignatureScheme(0x0203)

    /// The RFC 8446 name ("rsa_pss_rsae_sha256"); hex when unknown.
    public var description: String {
        switch rawValue {
        case 0x0401: return "rsa_pkcs1_sha256"
        case 0x0501: return "rsa_pkcs1_sha384"
        case 0x0601: return "rsa_pkcs1_sha512"
        case 0x0403: return "ecdsa_secp256r1_sha256"
        case 0x0503: return "ecdsa_secp384r1_sha384"
        case 0x0603: return "ecdsa_secp521r1_sha512"
        case 0x0804: return "rsa_pss_rsae_sha256"
        case 0x0805: return "rsa_pss_rsae_sha384"
        case 0x0806: return "rsa_pss_rsae_sha512"
        case 0x0807: return "ed25519"
        case 0x0808: return "ed448"
        case 0x0809: return "rsa_pss_pss_sha256"
        case 0x080A: return "rsa_pss_pss_sha384"
        case 0x080B: return "rsa_pss_pss_sha512"
        case 0x0201: return "rsa_pkcs1_sha1"
        case 0x0203: return "ecdsa_sha1"
        default: return hex16(rawValue)
        }
    }
}
