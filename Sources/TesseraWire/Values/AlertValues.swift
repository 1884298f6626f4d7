/// `AlertLevel` (RFC 5246 §7.2, RFC 8446 §6).
///
/// ```
/// enum { warning(1), fatal(2), (255) } AlertLevel;
/// ```
public struct AlertLevel: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public var rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }
    public init(_ raw: UInt8) { self.rawValue = raw }

    public static let warning = AlertLevel(0x01)
    public static let fatal = AlertLevel(0x02)

    public var description: String {
        switch rawValue {
        case 0x01: return "warning"
        case 0x02: return "fatal"
        default: return hex8(rawValue)
        }
    }
}

/// `AlertDescription` (RFC 8446 §6 and RFC 5246 §7.2, which keeps the values TLS 1.3 retired).
///
/// ```
/// enum {
///     close_notify(0), unexpected_message(10), bad_record_mac(20),
///     decryption_failed_RESERVED(21), record_overflow(22),
///     decompression_failure_RESERVED(30), handshake_failure(40),
///     no_certificate_RESERVED(41), bad_certificate(42),
///     unsupported_certificate(43), certificate_revoked(44),
///     certificate_expired(45), certificate_unknown(46),
///     illegal_parameter(47), unknown_ca(48), access_denied(49),
///     decode_error(50), decrypt_error(51), export_restriction_RESERVED(60),
///     protocol_version(70), insufficient_security(71), internal_error(80),
///     inappropriate_fallback(86), user_canceled(90),
///     no_renegotiation_RESERVED(100), missing_extension(109),
///     unsupported_extension(110), certificate_unobtainable_RESERVED(111),
///     unrecognized_name(112), bad_certificate_status_response(113),
///     bad_certificate_hash_value_RESERVED(114), unknown_psk_identity(115),
///     certificate_required(116), no_application_protocol(120),
///     (255)
/// } AlertDescription;
/// ```
public struct AlertDescription: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public var rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }
    public init(_ raw: UInt8) { self.rawValue = raw }

    public static let closeNotify = AlertDescription(0)
    public static let unexpectedMessage = AlertDescription(10)
    public static let badRecordMAC = AlertDescription(20)
    public static let decryptionFailed = AlertDescription(21)
    public static let recordOverflow = AlertDescription(22)
    public static let decompressionFailure = AlertDescription(30)
    public static let handshakeFailure = AlertDescription(40)
    public static let noCertificate = AlertDescription(41)
    public static let badCertificate = AlertDescription(42)
    public static let unsupportedCertificate = AlertDescription(43)
    public static let certificateRevoked = AlertDescription(44)
    public static let certificateExpired = AlertDescription(45)
    public static let certificateUnknown = AlertDescription(46)
    public static let illegalParameter = AlertDescription(47)
    public static let unknownCA = AlertDescription(48)
    public static let accessDenied = AlertDescription(49)
    public static let decodeError = AlertDescription(50)
    public static let decryptError = AlertDescription(51)
    public static let exportRestriction = AlertDescription(60)
    public static let protocolVersion = AlertDescription(70)
    public static let insufficientSecurity = AlertDescription(71)
    public static let internalError = AlertDescription(80)
    public static let inappropriateFallback = AlertDescription(86)
    public static let userCanceled = AlertDescription(90)
    public static let noRenegotiation = AlertDescription(100)
    public static let missingExtension = AlertDescription(109)
    public static let unsupportedExtension = AlertDescription(110)
    public static let certificateUnobtainable = AlertDescription(111)
    public static let unrecognizedName = AlertDescription(112)
    public static let badCertificateStatusResponse = AlertDescription(113)
    public static let badCertificateHashValue = AlertDescription(114)
    public static let unknownPSKIdentity = AlertDescription(115)
    public static let certificateRequired = AlertDescription(116)
    public static let noApplicationProtocol = AlertDescription(120)

    /// The RFC's snake_case name, as OpenSSL's `-msg` trace prints it; hex when unknown.
    public var description: String {
        switch rawValue {
        case 0: return "close_notify"
        case 10: return "unexpected_message"
        case 20: return "bad_record_mac"
        case 21: return "decryption_failed"
        case 22: return "record_overflow"
        case 30: return "decompression_failure"
        case 40: return "handshake_failure"
        case 41: return "no_certificate"
        case 42: return "bad_certificate"
        case 43: return "unsupported_certificate"
        case 44: return "certificate_revoked"
        case 45: return "certificate_expired"
        case 46: return "certificate_unknown"
        case 47: return "illegal_parameter"
        case 48: return "unknown_ca"
        case 49: return "access_denied"
        case 50: return "decode_error"
        case 51: return "decrypt_error"
        case 60: return "export_restriction"
        case 70: return "protocol_version"
        case 71: return "insufficient_security"
        case 80: return "internal_error"
        case 86: return "inappropriate_fallback"
        case 90: return "user_canceled"
        case 100: return "no_renegotiation"
        case 109: return "missing_extension"
        case 110: return "unsupported_extension"
        case 111: return "certificate_unobtainable"
        case 112: return "unrecognized_name"
        case 113: return "bad_certificate_status_response"
        case 114: return "bad_certificate_hash_value"
        case 115: return "unknown_psk_identity"
        case 116: return "certificate_required"
        case 120: return "no_application_protocol"
        default: return hex8(rawValue)
        }
    }
}
