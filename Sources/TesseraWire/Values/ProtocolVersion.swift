/// `ProtocolVersion` (RFC 8446 §4.1.2, RFC 5246 §6.2.1).
///
/// ```
/// uint16 ProtocolVersion;
/// ```
///
/// An open value: versions we do not know (GREASE, drafts, DTLS) still round-trip and print in hex.
public struct ProtocolVersion: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public var rawValue: UInt16
    public init(rawValue: UInt16) { self.rawValue = rawValue }
    public init(_ raw: UInt16) { self.rawValue = raw }

    public static let ssl3 = ProtocolVersion(0x0300)
    public static let tls10 = ProtocolVersion(0x0301)
    public static let tls11 = ProtocolVersion(0x0302)
    public static let tls12 = ProtocolVersion(0x0303)
    public static let tls13 = ProtocolVersion(0x0304)

    /// The record layer's major byte: RFC 5246 Appendix E.1 keeps it at 3 for every SSL/TLS version.
    public var major: UInt8 { UInt8(truncatingIfNeeded: rawValue >> 8) }
    public var minor: UInt8 { UInt8(truncatingIfNeeded: rawValue) }

    /// OpenSSL's protocol name ("TLSv1.2").
    public var description: String {
        switch rawValue {
        case 0x0300: return "SSLv3"
        case 0x0301: return "TLSv1"
        case 0x0302: return "TLSv1.1"
        case 0x0303: return "TLSv1.2"
        case 0x0304: return "TLSv1.3"
        default: return hex16(rawValue)
        }
    }

    /// The form `openssl -msg` prints before each message ("TLS 1.2").
    public var displayName: String {
        switch rawValue {
        case 0x0300: return "SSL 3.0"
        case 0x0301: return "TLS 1.0"
        case 0x0302: return "TLS 1.1"
        case 0x0303: return "TLS 1.2"
        case 0x0304: return "TLS 1.3"
        default: return "TLS \(hex16(rawValue))"
        }
    }
}

/// `0x1a2b`: the fixed-width hex form unknown wire values print as.
@inline(__always)
func hex16(_ value: UInt16) -> String {
    let digits = String(value, radix: 16)
    return "0x" + String(repeating: "0", count: max(0, 4 - digits.count)) + digits
}

@inline(__always)
func hex8(_ value: UInt8) -> String {
    let digits = String(value, radix: 16)
    return "0x" + String(repeating: "0", count: max(0, 2 - digits.count)) + digits
}
