/// `ECPointFormat` (RFC 8422 §5.1.2).
///
/// ```
/// enum {
///     uncompressed (0),
///     deprecated (1..2),
///     reserved (248..255)
/// } ECPointFormat;
/// ```
///
/// Values 1 and 2 were `ansiX962_compressed_prime` / `ansiX962_compressed_char2` in RFC 4492 §5.1.2;
/// old peers (the seed report's OpenSSL 1.0.1) still offer them.
public struct ECPointFormat: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public var rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }
    public init(_ raw: UInt8) { self.rawValue = raw }

    public static let uncompressed = ECPointFormat(0x00)
    public static let ansiX962CompressedPrime = ECPointFormat(0x01)
    public static let ansiX962CompressedChar2 = ECPointFormat(0x02)

    public var description: String {
        switch rawValue {
        case 0x00: return "uncompressed"
        case 0x01: return "ansiX962_compressed_prime"
        case 0x02: return "ansiX962_compressed_char2"
        default: return hex8(rawValue)
        }
    }
}

/// `PskKeyExchangeMode` (RFC 8446 §4.2.9).
///
/// ```
/// enum { psk_ke(0), psk_dhe_ke(1), (255) } PskKeyExchangeMode;
/// ```
public struct PskKeyExchangeMode: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public var rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }
    public init(_ raw: UInt8) { self.rawValue = raw }

    public static let pskKE = PskKeyExchangeMode(0x00)
    public static let pskDHEKE = PskKeyExchangeMode(0x01)

    public var description: String {
        switch rawValue {
        case 0x00: return "psk_ke"
        case 0x01: return "psk_dhe_ke"
        default: return hex8(rawValue)
        }
    }
}

/// `KeyUpdateRequest` (RFC 8446 §4.6.3).
///
/// ```
/// enum {
///     update_not_requested(0), update_requested(1), (255)
/// } KeyUpdateRequest;
/// ```
public struct KeyUpdateRequest: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public var rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }
    public init(_ raw: UInt8) { self.rawValue = raw }

    public static let updateNotRequested = KeyUpdateRequest(0x00)
    public static let updateRequested = KeyUpdateRequest(0x01)

    public var description: String {
        switch rawValue {
        case 0x00: return "update_not_requested"
        case 0x01: return "update_requested"
        default: return hex8(rawValue)
        }
    }
}
