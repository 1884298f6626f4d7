/// `ExtensionType` (RFC 8446 §4.2; RFC 6066, RFC 7301, RFC 5077, RFC 7627, RFC 5746, RFC 8449 ...).
///
/// ```
/// enum {
///     server_name(0), max_fragment_length(1), status_request(5),
///     supported_groups(10), signature_algorithms(13), use_srtp(14),
///     heartbeat(15), application_layer_protocol_negotiation(16),
///     signed_certificate_timestamp(18), client_certificate_type(19),
///     server_certificate_type(20), padding(21), pre_shared_key(41),
///     early_data(42), supported_versions(43), cookie(44),
///     psk_key_exchange_modes(45), certificate_authorities(47),
///     oid_filters(48), post_handshake_auth(49),
///     signature_algorithms_cert(50), key_share(51),
///     (65535)
/// } ExtensionType;
/// ```
public struct ExtensionType: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public var rawValue: UInt16
    public init(rawValue: UInt16) { self.rawValue = rawValue }
    public init(_ raw: UInt16) { self.rawValue = raw }

    public static let serverName = ExtensionType(0x0000)
    public static let maxFragmentLength = ExtensionType(0x0001)
    public static let statusRequest = ExtensionType(0x0005)
    public static let supportedGroups = ExtensionType(0x000A)
    public static let ecPointFormats = ExtensionType(0x000B)
    public static let signatureAlgorithms = ExtensionType(0x000D)
    public static let useSRTP = ExtensionType(0x000E)
    public static let heartbeat = ExtensionType(0x000F)
    public static let alpn = ExtensionType(0x0010)
    public static let signedCertificateTimestamp = ExtensionType(0x0012)
    public static let padding = ExtensionType(0x0015)
    public static let encryptThenMAC = ExtensionType(0x0016)
    public static let extendedMasterSecret = ExtensionType(0x0017)
    public static let recordSizeLimit = ExtensionType(0x001C)
    public static let sessionTicket = ExtensionType(0x0023)
    public static let preSharedKey = ExtensionType(0x0029)
    public static let earlyData = ExtensionType(0x002A)
    public static let supportedVersions = ExtensionType(0x002B)
    public static let cookie = ExtensionType(0x002C)
    public static let pskKeyExchangeModes = ExtensionType(0x002D)
    public static let certificateAuthorities = ExtensionType(0x002F)
    public static let oidFilters = ExtensionType(0x0030)
    public static let postHandshakeAuth = ExtensionType(0x0031)
    public static let signatureAlgorithmsCert = ExtensionType(0x0032)
    public static let keyShare = ExtensionType(0x0033)
    public static let renegotiationInfo = ExtensionType(0xFF01)

    /// The name OpenSSL's trace prints (ssl/t1_trce.c `ssl_exts_tbl`); hex when unknown.
    public var description: String {
        switch rawValue {
        case 0x0000: return "server_name"
        case 0x0001: return "max_fragment_length"
        case 0x0005: return "status_request"
        case 0x000A: return "supported_groups"
        case 0x000B: return "ec_point_formats"
        case 0x000D: return "signature_algorithms"
        case 0x000E: return "use_srtp"
        case 0x000F: return "heartbeat"
        case 0x0010: return "application_layer_protocol_negotiation"
        case 0x0012: return "signed_certificate_timestamps"
        case 0x0015: return "padding"
        case 0x0016: return "encrypt_then_mac"
        case 0x0017: return "extended_master_secret"
        case 0x001C: return "record_size_limit"
        case 0x0023: return "session_ticket"
        case 0x0029: return "psk"
        case 0x002A: return "early_data"
        case 0x002B: return "supported_versions"
        case 0x002C: return "cookie"
        case 0x002D: return "psk_key_exchange_modes"
        case 0x002F: return "certificate_authorities"
        case 0x0030: return "oid_filters"
        case 0x0031: return "post_handshake_auth"
        case 0x0032: return "signature_algorithms_cert"
        case 0x0033: return "key_share"
        case 0xFF01: return "renegotiate"
        default: return hex16(rawValue)
        }
    }
}
