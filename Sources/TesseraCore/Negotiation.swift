import TesseraCrypto
import TesseraWire

/// Choices both sides make the same way.
enum Negotiation {
    /// Server's choice of suite (server preference, RFC 5246 §7.4.1.3), limited to suites the
    /// certificate can serve and for which a group is shared.
    static func selectSuite12(
        offered: [CipherSuite],
        configured: [CipherSuiteParameters],
        key: SigningKey
    ) -> CipherSuiteParameters? {
        let offeredSuites = ListLookup(offered, probes: configured.count)
        return configured.first { parameters in
            offeredSuites.contains(parameters.suite) && keyServes(key, parameters.keyExchange)
        }
    }

    /// RFC 8422 §5.1: ECDHE_ECDSA needs an ECDSA (or EdDSA) certificate, ECDHE_RSA an RSA one.
    static func keyServes(_ key: SigningKey, _ exchange: KeyExchangeAlgorithm) -> Bool {
        switch (key.kind, exchange) {
        case (.p256, .ecdheECDSA), (.p384, .ecdheECDSA), (.ed25519, .ecdheECDSA): return true
        case (.rsa, .ecdheRSA): return true
        case (_, .tls13): return true
        default: return false
        }
    }

    static func peerKeyServes(_ key: PeerPublicKey, _ exchange: KeyExchangeAlgorithm) -> Bool {
        switch exchange {
        case .ecdheECDSA:
            return key.canVerify(.ecdsaSecp256r1SHA256, version: .tls12)
                || key.canVerify(.ecdsaSecp384r1SHA384, version: .tls12)
                || key.canVerify(.ecdsaSecp521r1SHA512, version: .tls12)
                || key.canVerify(.ed25519, version: .tls12)
        case .ecdheRSA:
            return key.canVerify(.rsaPKCS1SHA256, version: .tls12) || key.canVerify(.rsaPSSRSAESHA256, version: .tls12)
        case .tls13:
            return true
        }
    }

    /// First of ours the peer also lists (ours in preference order).
    static func firstCommon<T: Hashable>(ours: [T], theirs: [T]) -> T? {
        let theirList = ListLookup(theirs, probes: ours.count)
        return ours.first { theirList.contains($0) }
    }

    static let implementedGroups: Set<NamedGroup> = [.x25519, .secp256r1, .secp384r1]
}

/// Membership in a peer's list, asked `probes` times. Short lists (the usual hello) are scanned
/// directly, with no set to allocate and hash; long (hostile) ones go through a set, so the cost
/// stays linear in the list rather than lists x probes.
struct ListLookup<T: Hashable> {
    private let list: [T]
    private let set: Set<T>?

    init(_ list: [T], probes: Int) {
        self.list = list
        set = list.count * probes > 256 ? Set(list) : nil
    }

    func contains(_ element: T) -> Bool {
        set?.contains(element) ?? list.contains(element)
    }
}

extension Array where Element == Extension {
    func first(_ type: ExtensionType) -> Extension? {
        first { $0.type == type }
    }

    func contains(_ type: ExtensionType) -> Bool {
        contains { $0.type == type }
    }
}

extension Alert {
    static func fatal(_ description: AlertDescription) -> Alert {
        Alert(level: .fatal, alertDescription: description)
    }

    static func warning(_ description: AlertDescription) -> Alert {
        Alert(level: .warning, alertDescription: description)
    }
}

extension String {
    /// RFC 6066 §3: literal IP addresses are not sent as server names.
    /// A dotted quad of decimal parts 0...255 (IPv4) or anything with a colon (IPv6). Scans the
    /// UTF-8 bytes once: every ClientHello asks, and Foundation's substring search cost more than
    /// the rest of building the hello.
    var isIPAddressLiteral: Bool {
        var dots = 0
        var digits = 0
        var part = 0
        var dottedQuad = true
        for byte in utf8 {
            switch byte {
            case UInt8(ascii: ":"):
                return true
            case UInt8(ascii: "0")...UInt8(ascii: "9"):
                part = part * 10 + Int(byte - UInt8(ascii: "0"))
                digits += 1
                if part > 255 { dottedQuad = false; part = 256 }
            case UInt8(ascii: "."):
                if digits == 0 { dottedQuad = false }
                dots += 1
                digits = 0
                part = 0
            default:
                dottedQuad = false
            }
        }
        return dottedQuad && dots == 3 && digits > 0
    }
}
