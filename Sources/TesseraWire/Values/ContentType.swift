/// `ContentType` of a record (RFC 8446 §5.1, RFC 5246 §6.2.1, RFC 6520 §3 for heartbeat).
///
/// ```
/// enum {
///     invalid(0),
///     change_cipher_spec(20),
///     alert(21),
///     handshake(22),
///     application_data(23),
///     (255)
/// } ContentType;
/// ```
public struct ContentType: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public var rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }
    public init(_ raw: UInt8) { self.rawValue = raw }

    public static let changeCipherSpec = ContentType(0x14)
    public static let alert = ContentType(0x15)
    public static let handshake = ContentType(0x16)
    public static let applicationData = ContentType(0x17)
    public static let heartbeat = ContentType(0x18)

    public var description: String { displayName }

    /// The name `openssl -msg` prints in its record lines.
    public var displayName: String {
        switch rawValue {
        case 0x14: return "ChangeCipherSpec"
        case 0x15: return "Alert"
        case 0x16: return "Handshake"
        case 0x17: return "ApplicationData"
        case 0x18: return "Heartbeat"
        default: return "Unknown (\(hex8(rawValue)))"
        }
    }
}
