import TesseraWire

/// What a cipher suite means for the crypto layer.
public struct CipherSuiteParameters: Sendable, Hashable {
    public var suite: CipherSuite
    /// `.tls12` or `.tls13`.
    public var version: ProtocolVersion
    public var keyExchange: KeyExchangeAlgorithm
    public var aead: AEADAlgorithm
    public var hash: HashAlgorithm
    /// TLS 1.2: 4 (GCM salt, RFC 5288 §3) or 12 (ChaCha20-Poly1305, RFC 7905 §2); TLS 1.3: 12 (RFC 8446 §5.3).
    public var fixedIVLength: Int
    /// TLS 1.2 GCM: 8 (RFC 5288 §3); ChaCha20-Poly1305 and TLS 1.3: 0.
    public var explicitNonceLength: Int

    public init(
        suite: CipherSuite, version: ProtocolVersion, keyExchange: KeyExchangeAlgorithm, aead: AEADAlgorithm,
        hash: HashAlgorithm, fixedIVLength: Int, explicitNonceLength: Int
    ) {
        self.suite = suite
        self.version = version
        self.keyExchange = keyExchange
        self.aead = aead
        self.hash = hash
        self.fixedIVLength = fixedIVLength
        self.explicitNonceLength = explicitNonceLength
    }

    /// Every suite we implement, TLS 1.3 first, then the TLS 1.2 ECDHE AEAD suites.
    public static let all: [CipherSuiteParameters] = [
        tls13(.tlsAES128GCMSHA256, .aes128GCM, .sha256),
        tls13(.tlsAES256GCMSHA384, .aes256GCM, .sha384),
        tls13(.tlsChaCha20Poly1305SHA256, .chacha20Poly1305, .sha256),
        tls12(.ecdheECDSAWithAES128GCMSHA256, .ecdheECDSA, .aes128GCM, .sha256),
        tls12(.ecdheECDSAWithAES256GCMSHA384, .ecdheECDSA, .aes256GCM, .sha384),
        tls12(.ecdheRSAWithAES128GCMSHA256, .ecdheRSA, .aes128GCM, .sha256),
        tls12(.ecdheRSAWithAES256GCMSHA384, .ecdheRSA, .aes256GCM, .sha384),
        tls12(.ecdheRSAWithChaCha20Poly1305SHA256, .ecdheRSA, .chacha20Poly1305, .sha256),
        tls12(.ecdheECDSAWithChaCha20Poly1305SHA256, .ecdheECDSA, .chacha20Poly1305, .sha256),
    ]

    private static func tls13(_ suite: CipherSuite, _ aead: AEADAlgorithm, _ hash: HashAlgorithm) -> CipherSuiteParameters {
        CipherSuiteParameters(
            suite: suite, version: .tls13, keyExchange: .tls13, aead: aead, hash: hash, fixedIVLength: 12, explicitNonceLength: 0)
    }

    private static func tls12(
        _ suite: CipherSuite, _ keyExchange: KeyExchangeAlgorithm, _ aead: AEADAlgorithm, _ hash: HashAlgorithm
    ) -> CipherSuiteParameters {
        let isGCM = aead != .chacha20Poly1305
        return CipherSuiteParameters(
            suite: suite, version: .tls12, keyExchange: keyExchange, aead: aead, hash: hash,
            fixedIVLength: isGCM ? 4 : 12, explicitNonceLength: isGCM ? 8 : 0)
    }
}

extension CipherSuite {
    /// nil for anything we do not implement (RSA key exchange, CBC, NULL, signalling values, ...).
    public var parameters: CipherSuiteParameters? {
        switch self {
        case .tlsAES128GCMSHA256: return CipherSuiteParameters.all[0]
        case .tlsAES256GCMSHA384: return CipherSuiteParameters.all[1]
        case .tlsChaCha20Poly1305SHA256: return CipherSuiteParameters.all[2]
        case .ecdheECDSAWithAES128GCMSHA256: return CipherSuiteParameters.all[3]
        case .ecdheECDSAWithAES256GCMSHA384: return CipherSuiteParameters.all[4]
        case .ecdheRSAWithAES128GCMSHA256: return CipherSuiteParameters.all[5]
        case .ecdheRSAWithAES256GCMSHA384: return CipherSuiteParameters.all[6]
        case .ecdheRSAWithChaCha20Poly1305SHA256: return CipherSuiteParameters.all[7]
        case .ecdheECDSAWithChaCha20Poly1305SHA256: return CipherSuiteParameters.all[8]
        default: return nil
        }
    }
}

extension TLS12 {
    /// RFC 5246 §6.3: key_block = PRF(master_secret, "key expansion", server_random + client_random),
    /// partitioned as client_write_key, server_write_key, client_write_IV, server_write_IV
    /// (AEAD suites have no MAC keys; the IV is the implicit nonce part, RFC 5288 §3 / RFC 7905 §2).
    public static func keyBlock(
        masterSecret: [UInt8], clientRandom: [UInt8], serverRandom: [UInt8], parameters: CipherSuiteParameters
    ) -> TrafficKeys12 {
        keyBlock(
            masterSecret: HMACKey(masterSecret, hash: parameters.hash), clientRandom: clientRandom,
            serverRandom: serverRandom, parameters: parameters)
    }

    /// `keyBlock` with the master secret already keyed for the suite's PRF hash.
    public static func keyBlock(
        masterSecret: HMACKey, clientRandom: [UInt8], serverRandom: [UInt8], parameters: CipherSuiteParameters
    ) -> TrafficKeys12 {
        let keyLength = parameters.aead.keyLength
        let ivLength = parameters.fixedIVLength
        let block = prf(
            secret: masterSecret, label: "key expansion", seed: serverRandom + clientRandom,
            length: 2 * keyLength + 2 * ivLength)
        var offset = 0
        func take(_ count: Int) -> [UInt8] {
            defer { offset += count }
            return Array(block[offset..<offset + count])
        }
        let clientKey = take(keyLength)
        let serverKey = take(keyLength)
        let clientIV = take(ivLength)
        let serverIV = take(ivLength)
        return TrafficKeys12(clientWriteKey: clientKey, serverWriteKey: serverKey, clientWriteIV: clientIV, serverWriteIV: serverIV)
    }
}

extension KeySchedule13 {
    /// RFC 8446 §7.3: [sender]_write_key = HKDF-Expand-Label(Secret, "key", "", key_length),
    /// [sender]_write_iv = HKDF-Expand-Label(Secret, "iv", "", iv_length).
    public static func trafficKeys(secret: [UInt8], parameters: CipherSuiteParameters) -> (key: [UInt8], iv: [UInt8]) {
        trafficKeys(keyed: HMACKey(secret, hash: parameters.hash), parameters: parameters)
    }

    /// `trafficKeys` from a secret already keyed (a handshake secret also gives a finished key).
    public static func trafficKeys(keyed: HMACKey, parameters: CipherSuiteParameters) -> (key: [UInt8], iv: [UInt8]) {
        let key = TLS13.expandLabel(keyed, label: "key", context: [], length: parameters.aead.keyLength)
        let iv = TLS13.expandLabel(keyed, label: "iv", context: [], length: 12)
        return (key, iv)
    }
}
