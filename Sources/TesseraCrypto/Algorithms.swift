/// The PRF / transcript hash of a cipher suite.
public enum HashAlgorithm: Sendable, Hashable {
    case sha256, sha384

    public var outputLength: Int {
        switch self {
        case .sha256: return 32
        case .sha384: return 48
        }
    }
}

/// The record-protection AEAD of a cipher suite.
public enum AEADAlgorithm: Sendable, Hashable {
    case aes128GCM, aes256GCM, chacha20Poly1305

    public var keyLength: Int {
        switch self {
        case .aes128GCM: return 16
        case .aes256GCM, .chacha20Poly1305: return 32
        }
    }

    /// All three AEADs have a 16-byte tag (RFC 5116 §5.1, RFC 8439 §2.8).
    public var tagLength: Int { 16 }
}

public enum KeyExchangeAlgorithm: Sendable, Hashable {
    case ecdheECDSA, ecdheRSA, tls13
}
