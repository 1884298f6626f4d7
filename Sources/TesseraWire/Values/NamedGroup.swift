/// `NamedGroup` (RFC 8446 §4.2.7, RFC 8422 §5.1.1, RFC 7919 §2).
///
/// ```
/// enum {
///     /* Elliptic Curve Groups (ECDHE) */
///     secp256r1(0x0017), secp384r1(0x0018), secp521r1(0x0019),
///     x25519(0x001D), x448(0x001E),
///     /* Finite Field Groups (DHE) */
///     ffdhe2048(0x0100), ffdhe3072(0x0101), ffdhe4096(0x0102),
///     ffdhe6144(0x0103), ffdhe8192(0x0104),
///     (0xFFFF)
/// } NamedGroup;
/// ```
public struct NamedGroup: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public var rawValue: UInt16
    public init(rawValue: UInt16) { self.rawValue = rawValue }
    public init(_ raw: UInt16) { self.rawValue = raw }

    public static let secp256r1 = NamedGroup(0x0017)
    public static let secp384r1 = NamedGroup(0x0018)
    public static let secp521r1 = NamedGroup(0x0019)
    public static let x25519 = NamedGroup(0x001D)
    public static let x448 = NamedGroup(0x001E)
    public static let ffdhe2048 = NamedGroup(0x0100)
    public static let ffdhe3072 = NamedGroup(0x0101)
    public static let ffdhe4096 = NamedGroup(0x0102)
    public static let ffdhe6144 = NamedGroup(0x0103)
    public static let ffdhe8192 = NamedGroup(0x0104)

    /// The short name OpenSSL prints in "Server Temp Key" ("X25519", "P-256"); hex when unknown.
    public var description: String {
        switch rawValue {
        case 0x0017: return "P-256"
        case 0x0018: return "P-384"
        case 0x0019: return "P-521"
        case 0x001D: return "X25519"
        case 0x001E: return "X448"
        case 0x0100: return "ffdhe2048"
        case 0x0101: return "ffdhe3072"
        case 0x0102: return "ffdhe4096"
        case 0x0103: return "ffdhe6144"
        case 0x0104: return "ffdhe8192"
        default: return hex16(rawValue)
        }
    }
}
