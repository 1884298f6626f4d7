/// `HandshakeType` (RFC 8446 §4, RFC 5246 §7.4, RFC 6066 §8, RFC 6347 §4.2.2 for hello_verify_request).
///
/// ```
/// enum {
///     hello_request_RESERVED(0), client_hello(1), server_hello(2),
///     hello_verify_request_RESERVED(3), new_session_ticket(4),
///     end_of_early_data(5), hello_retry_request_RESERVED(6),
///     encrypted_extensions(8), certificate(11),
///     server_key_exchange_RESERVED(12), certificate_request(13),
///     server_hello_done_RESERVED(14), certificate_verify(15),
///     client_key_exchange_RESERVED(16), finished(20),
///     certificate_url_RESERVED(21), certificate_status_RESERVED(22),
///     supplemental_data_RESERVED(23), key_update(24),
///     message_hash(254),
///     (255)
/// } HandshakeType;
/// ```
public struct HandshakeType: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public var rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }
    public init(_ raw: UInt8) { self.rawValue = raw }

    public static let helloRequest = HandshakeType(0x00)
    public static let clientHello = HandshakeType(0x01)
    public static let serverHello = HandshakeType(0x02)
    public static let helloVerifyRequest = HandshakeType(0x03)
    public static let newSessionTicket = HandshakeType(0x04)
    public static let endOfEarlyData = HandshakeType(0x05)
    public static let helloRetryRequest = HandshakeType(0x06)
    public static let encryptedExtensions = HandshakeType(0x08)
    public static let certificate = HandshakeType(0x0B)
    public static let serverKeyExchange = HandshakeType(0x0C)
    public static let certificateRequest = HandshakeType(0x0D)
    public static let serverHelloDone = HandshakeType(0x0E)
    public static let certificateVerify = HandshakeType(0x0F)
    public static let clientKeyExchange = HandshakeType(0x10)
    public static let finished = HandshakeType(0x14)
    public static let certificateURL = HandshakeType(0x15)
    public static let certificateStatus = HandshakeType(0x16)
    public static let keyUpdate = HandshakeType(0x18)
    public static let messageHash = HandshakeType(0xFE)

    public var description: String { displayName }

    /// The name OpenSSL 3's `-msg` prints (ssl/t1_trce.c `ssl_handshake_tbl`).
    public var displayName: String {
        switch rawValue {
        case 0x00: return "HelloRequest"
        case 0x01: return "ClientHello"
        case 0x02: return "ServerHello"
        case 0x03: return "HelloVerifyRequest"
        case 0x04: return "NewSessionTicket"
        case 0x05: return "EndOfEarlyData"
        case 0x06: return "HelloRetryRequest"
        case 0x08: return "EncryptedExtensions"
        case 0x0B: return "Certificate"
        case 0x0C: return "ServerKeyExchange"
        case 0x0D: return "CertificateRequest"
        case 0x0E: return "ServerHelloDone"
        case 0x0F: return "CertificateVerify"
        case 0x10: return "ClientKeyExchange"
        case 0x14: return "Finished"
        case 0x15: return "CertificateUrl"
        case 0x16: return "CertificateStatus"
        case 0x17: return "SupplementalData"
        case 0x18: return "KeyUpdate"
        case 0xFE: return "MessageHash"
        default: return "Unknown (\(hex8(rawValue)))"
        }
    }
}
