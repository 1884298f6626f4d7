import Crypto
import Foundation
import SwiftASN1
import TesseraWire
import X509
import _CryptoExtras

/// A private key for CertificateVerify / ServerKeyExchange signatures (RFC 5246 §7.4.1.4.1,
/// RFC 8446 §4.2.3, §4.4.3). RSA-PSS goes through `_RSA.Signing` because swift-certificates'
/// RSA signing is PKCS#1 v1.5 only (SWIFT-NOTES gotcha 2).
public struct SigningKey: Sendable {
    public enum Kind: Sendable, Hashable {
        case p256, p384, rsa(bits: Int), ed25519
    }

    private enum Backing: Sendable {
        case p256(P256.Signing.PrivateKey)
        case p384(P384.Signing.PrivateKey)
        case rsa(_RSA.Signing.PrivateKey)
        case ed25519(Curve25519.Signing.PrivateKey)
    }

    private let backing: Backing

    /// EC (SEC1 or PKCS#8) P-256 and P-384, RSA (PKCS#1 or PKCS#8, at least 2048 bits), Ed25519 (PKCS#8).
    /// Other PEM blocks in the text (e.g. "EC PARAMETERS") are skipped.
    public init(pemEncoded: String) throws(CryptoError) {
        let documents: [PEMDocument]
        do {
            documents = try PEMDocument.parseMultiple(pemString: pemEncoded)
        } catch {
            throw CryptoError(.invalidKey, "no PEM private key found: \(error)")
        }
        if documents.contains(where: { $0.discriminator == "ENCRYPTED PRIVATE KEY" }) {
            throw CryptoError(.invalidKey, "encrypted private keys are not supported; decrypt it with `openssl pkey`")
        }
        guard let document = documents.first(where: { $0.discriminator.hasSuffix("PRIVATE KEY") }) else {
            throw CryptoError(.invalidKey, "no PEM private key found (expected a PRIVATE KEY, EC PRIVATE KEY or RSA PRIVATE KEY block)")
        }
        let pem = document.pemString
        switch document.discriminator {
        case "EC PRIVATE KEY":
            if let key = try? P256.Signing.PrivateKey(pemRepresentation: pem) { backing = .p256(key); return }
            if let key = try? P384.Signing.PrivateKey(pemRepresentation: pem) { backing = .p384(key); return }
            throw CryptoError(.invalidKey, "unsupported or malformed EC private key (P-256 and P-384 are supported)")
        case "RSA PRIVATE KEY":
            backing = .rsa(try Self.rsa(pem))
        case "PRIVATE KEY":
            if let key = try? P256.Signing.PrivateKey(pemRepresentation: pem) { backing = .p256(key); return }
            if let key = try? P384.Signing.PrivateKey(pemRepresentation: pem) { backing = .p384(key); return }
            if let key = try? Curve25519.Signing.PrivateKey(pemRepresentation: pem) { backing = .ed25519(key); return }
            backing = .rsa(try Self.rsa(pem))
        default:
            throw CryptoError(.invalidKey, "unsupported private key type \"\(document.discriminator)\"")
        }
    }

    private static func rsa(_ pem: String) throws(CryptoError) -> _RSA.Signing.PrivateKey {
        if let key = try? _RSA.Signing.PrivateKey(pemRepresentation: pem) { return key }
        if let weak = try? _RSA.Signing.PrivateKey(unsafePEMRepresentation: pem) {
            throw CryptoError(.invalidKey, "RSA key of \(weak.keySizeInBits) bits refused: at least 2048 bits are required")
        }
        throw CryptoError(.invalidKey, "unsupported or malformed private key (P-256, P-384, RSA and Ed25519 are supported)")
    }

    private init(backing: Backing) {
        self.backing = backing
    }

    public static func generateP256() -> SigningKey {
        SigningKey(backing: .p256(P256.Signing.PrivateKey()))
    }

    /// Additions for tests and tools.
    public static func generateP384() -> SigningKey { SigningKey(backing: .p384(P384.Signing.PrivateKey())) }
    public static func generateEd25519() -> SigningKey { SigningKey(backing: .ed25519(Curve25519.Signing.PrivateKey())) }

    public var kind: Kind {
        switch backing {
        case .p256: return .p256
        case .p384: return .p384
        case .rsa(let key): return .rsa(bits: key.keySizeInBits)
        case .ed25519: return .ed25519
        }
    }

    /// Schemes this key can sign with, in preference order, for that version. TLS 1.3 has no
    /// PKCS#1 v1.5 for CertificateVerify and binds the ECDSA curve to the hash (RFC 8446 §4.2.3).
    /// The lists are made once (asked on every handshake).
    public func supportedSchemes(version: ProtocolVersion) -> [SignatureScheme] {
        let tls13 = version == .tls13
        switch backing {
        case .p256: return tls13 ? Self.p256Schemes13 : Self.p256Schemes12
        case .p384: return tls13 ? Self.p384Schemes13 : Self.p384Schemes12
        case .rsa: return tls13 ? Self.rsaSchemes13 : Self.rsaSchemes12
        case .ed25519: return Self.ed25519Schemes
        }
    }

    private static let p256Schemes13: [SignatureScheme] = [.ecdsaSecp256r1SHA256]
    private static let p256Schemes12: [SignatureScheme] = [.ecdsaSecp256r1SHA256, .ecdsaSecp384r1SHA384, .ecdsaSecp521r1SHA512]
    private static let p384Schemes13: [SignatureScheme] = [.ecdsaSecp384r1SHA384]
    private static let p384Schemes12: [SignatureScheme] = [.ecdsaSecp384r1SHA384, .ecdsaSecp256r1SHA256, .ecdsaSecp521r1SHA512]
    private static let rsaSchemes13: [SignatureScheme] = [.rsaPSSRSAESHA256, .rsaPSSRSAESHA384, .rsaPSSRSAESHA512]
    private static let rsaSchemes12: [SignatureScheme] = rsaSchemes13 + [.rsaPKCS1SHA256, .rsaPKCS1SHA384, .rsaPKCS1SHA512]
    private static let ed25519Schemes: [SignatureScheme] = [.ed25519]

    /// ECDSA: DER-encoded Ecdsa-Sig-Value over the scheme's hash (in TLS 1.2 any ECDSA hash goes
    /// with any curve); RSA-PSS: MGF1 with the same hash, salt = hash length (RFC 8446 §4.2.3);
    /// PKCS#1 v1.5; Ed25519 over the data itself. A scheme that does not fit the key is `.unsupportedAlgorithm`.
    public func sign(_ data: [UInt8], scheme: SignatureScheme) throws(CryptoError) -> [UInt8] {
        do {
            switch (backing, scheme) {
            case (.p256(let key), _) where scheme.ecdsaHash != nil:
                return try Self.ecdsa(key, scheme, data)
            case (.p384(let key), _) where scheme.ecdsaHash != nil:
                return try Self.ecdsa(key, scheme, data)
            case (.rsa(let key), _) where scheme.rsaPadding != nil:
                guard let (hash, padding) = scheme.rsaPadding else { break }
                let signature: _RSA.Signing.RSASignature
                switch hash {
                case 256: signature = try key.signature(for: SHA256.hash(data: data), padding: padding)
                case 384: signature = try key.signature(for: SHA384.hash(data: data), padding: padding)
                default: signature = try key.signature(for: SHA512.hash(data: data), padding: padding)
                }
                return Array(signature.rawRepresentation)
            case (.ed25519(let key), .ed25519):
                return Array(try key.signature(for: data))
            default:
                break
            }
        } catch {
            throw CryptoError(.signatureFailed, "signing with \(scheme) failed: \(error)")
        }
        throw CryptoError(.unsupportedAlgorithm, "signature scheme \(scheme) does not fit a \(kind) key")
    }

    /// An ECDSA signature over the scheme's hash of `data`, DER as TLS sends it (RFC 8422 §5.4,
    /// RFC 8446 §4.2.3). Generic over the two key types (specialized, no closures).
    private static func ecdsa(_ key: some ECDSADigestSigner, _ scheme: SignatureScheme, _ data: [UInt8]) throws -> [UInt8] {
        let signature = switch scheme.ecdsaHash {
        case 256: try key.signature(for: SHA256.hash(data: data))
        case 384: try key.signature(for: SHA384.hash(data: data))
        default: try key.signature(for: SHA512.hash(data: data))
        }
        return derSignature(raw: signature.rawRepresentation)
    }

    /// RFC 3279 §2.2.3 `Ecdsa-Sig-Value ::= SEQUENCE { r INTEGER, s INTEGER }` from r || s as
    /// swift-crypto gives them: each an unsigned big-endian integer, so as DER wants (X.690 §8.3)
    /// leading zero octets are dropped and one is put back before a set high bit. Written here:
    /// swift-crypto's own `derRepresentation` goes through `Data` and its internal ASN.1 writer
    /// (2.5 µs of a TLS 1.3 server handshake), and a swift-asn1 serializer allocates a kilobyte
    /// per signature (`DERHeader`). `ECDSASignatureDERTests` checks the bytes against
    /// swift-crypto's for every curve, every length form and the integer edge cases.
    static func derSignature(raw: Data) -> [UInt8] {
        raw.withUnsafeBytes { bytes -> [UInt8] in
            let half = bytes.count / 2
            let r = UnsafeRawBufferPointer(rebasing: bytes[..<half])
            let s = UnsafeRawBufferPointer(rebasing: bytes[half...])
            // The content octets of a non-negative INTEGER: the value without leading zeros (zero
            // itself is one zero octet), after a zero octet when the high bit is set.
            func digits(_ integer: UnsafeRawBufferPointer) -> UnsafeRawBufferPointer {
                let first = integer.firstIndex { $0 != 0 } ?? max(integer.count - 1, 0)
                return UnsafeRawBufferPointer(rebasing: integer[first...])
            }
            func contentLength(_ digits: UnsafeRawBufferPointer) -> Int {
                digits.count + ((digits.first ?? 0) & 0x80 != 0 ? 1 : 0)
            }
            func appendInteger(_ digits: UnsafeRawBufferPointer, to encoded: inout [UInt8]) {
                let length = contentLength(digits)
                DERHeader.append(0x02, length: length, to: &encoded)
                if length > digits.count { encoded.append(0) }
                encoded.append(contentsOf: digits)
            }
            let rDigits = digits(r), sDigits = digits(s)
            // r and s are at most 66 octets (P-521), so their headers take the short form; the
            // SEQUENCE's may not.
            let length = 2 + contentLength(rDigits) + 2 + contentLength(sDigits)
            var encoded = [UInt8]()
            encoded.reserveCapacity(length + 4)
            DERHeader.append(0x30, length: length, to: &encoded)
            appendInteger(rDigits, to: &encoded)
            appendInteger(sDigits, to: &encoded)
            return encoded
        }
    }

    /// For swift-certificates (self-signed generation, CSRs).
    public var certificatePrivateKey: Certificate.PrivateKey {
        switch backing {
        case .p256(let key): return Certificate.PrivateKey(key)
        case .p384(let key): return Certificate.PrivateKey(key)
        case .rsa(let key): return Certificate.PrivateKey(key)
        case .ed25519(let key): return Certificate.PrivateKey(key)
        }
    }

    /// The X.509 signature algorithm this key signs certificates with.
    var certificateSignatureAlgorithm: Certificate.SignatureAlgorithm {
        switch backing {
        case .p256: return .ecdsaWithSHA256
        case .p384: return .ecdsaWithSHA384
        case .rsa: return .sha256WithRSAEncryption
        case .ed25519: return .ed25519
        }
    }
}

extension SigningKey {
    public static func load(pemFile path: String) throws(CryptoError) -> SigningKey {
        try SigningKey(pemEncoded: readTextFile(path, what: "private key"))
    }
}

/// The peer's public key, from its certificate, for verifying its handshake signatures.
public struct PeerPublicKey: Sendable, CustomStringConvertible {
    private enum Backing: Sendable {
        case p256(P256.Signing.PublicKey)
        case p384(P384.Signing.PublicKey)
        case p521(P521.Signing.PublicKey)
        case rsa(_RSA.Signing.PublicKey)
        case ed25519(Curve25519.Signing.PublicKey)
    }

    private let backing: Backing

    /// From the leaf certificate as it came off the wire.
    ///
    /// A certificate parsed before is not parsed again: `PeerPublicKeyCache.shared` keeps the keys
    /// of the last few, compared byte for byte (a client that reconnects to a server sees the same
    /// leaf every time).
    public init(certificateDER: [UInt8]) throws(CryptoError) {
        if let cached = PeerPublicKeyCache.shared.key(for: certificateDER) {
            self = cached
            return
        }
        try self.init(parsing: certificateDER)
        PeerPublicKeyCache.shared.insert(self, for: certificateDER)
    }

    /// Parses `certificateDER` with swift-certificates, past the cache.
    init(parsing certificateDER: [UInt8]) throws(CryptoError) {
        let certificate: Certificate
        do {
            certificate = try Certificate(derEncoded: certificateDER)
        } catch {
            throw CryptoError(.invalidCertificate, "cannot parse certificate: \(error)")
        }
        try self.init(certificate: certificate)
    }

    public init(certificate: Certificate) throws(CryptoError) {
        try self.init(publicKey: certificate.publicKey)
    }

    /// Addition: from a swift-certificates public key.
    public init(publicKey: Certificate.PublicKey) throws(CryptoError) {
        if let key = P256.Signing.PublicKey(publicKey) {
            backing = .p256(key)
        } else if let key = P384.Signing.PublicKey(publicKey) {
            backing = .p384(key)
        } else if let key = P521.Signing.PublicKey(publicKey) {
            backing = .p521(key)
        } else if let key = Curve25519.Signing.PublicKey(publicKey) {
            backing = .ed25519(key)
        } else if let key = _RSA.Signing.PublicKey(publicKey) {
            guard key.keySizeInBits >= 2048 else {
                throw CryptoError(.invalidKey, "RSA public key of \(key.keySizeInBits) bits refused: at least 2048 bits are required")
            }
            backing = .rsa(key)
        } else {
            throw CryptoError(.unsupportedAlgorithm, "unsupported public key type in certificate")
        }
    }

    /// False for a bad signature and for a scheme that does not fit the key (RSA scheme with an EC key,
    /// rsa_pss_pss_*, SHA-1 schemes, ...). ECDSA accepts any of the three SHA-2 hashes, as TLS 1.2 does;
    /// use `canVerify(_:version:)` first to apply TLS 1.3's curve binding.
    public func verify(signature: [UInt8], data: [UInt8], scheme: SignatureScheme) -> Bool {
        switch backing {
        case .p256(let key):
            guard let signature = try? P256.Signing.ECDSASignature(derRepresentation: signature) else { return false }
            switch scheme.ecdsaHash {
            case 256: return key.isValidSignature(signature, for: SHA256.hash(data: data))
            case 384: return key.isValidSignature(signature, for: SHA384.hash(data: data))
            case 512: return key.isValidSignature(signature, for: SHA512.hash(data: data))
            default: return false
            }
        case .p384(let key):
            guard let signature = try? P384.Signing.ECDSASignature(derRepresentation: signature) else { return false }
            switch scheme.ecdsaHash {
            case 256: return key.isValidSignature(signature, for: SHA256.hash(data: data))
            case 384: return key.isValidSignature(signature, for: SHA384.hash(data: data))
            case 512: return key.isValidSignature(signature, for: SHA512.hash(data: data))
            default: return false
            }
        case .p521(let key):
            guard let signature = try? P521.Signing.ECDSASignature(derRepresentation: signature) else { return false }
            switch scheme.ecdsaHash {
            case 256: return key.isValidSignature(signature, for: SHA256.hash(data: data))
            case 384: return key.isValidSignature(signature, for: SHA384.hash(data: data))
            case 512: return key.isValidSignature(signature, for: SHA512.hash(data: data))
            default: return false
            }
        case .rsa(let key):
            guard let (hash, padding) = scheme.rsaPadding else { return false }
            let signature = _RSA.Signing.RSASignature(rawRepresentation: signature)
            switch hash {
            case 256: return key.isValidSignature(signature, for: SHA256.hash(data: data), padding: padding)
            case 384: return key.isValidSignature(signature, for: SHA384.hash(data: data), padding: padding)
            default: return key.isValidSignature(signature, for: SHA512.hash(data: data), padding: padding)
            }
        case .ed25519(let key):
            guard scheme == .ed25519 else { return false }
            return key.isValidSignature(signature, for: data)
        }
    }

    /// Whether a signature with `scheme` from this key is acceptable in `version`: TLS 1.3 binds the
    /// ECDSA curve to the hash and has no PKCS#1 v1.5 in CertificateVerify (RFC 8446 §4.2.3, §4.4.3).
    /// SHA-1 schemes are refused in both versions.
    public func canVerify(_ scheme: SignatureScheme, version: ProtocolVersion) -> Bool {
        let tls13 = version == .tls13
        switch backing {
        case .p256: return tls13 ? scheme == .ecdsaSecp256r1SHA256 : scheme.ecdsaHash != nil
        case .p384: return tls13 ? scheme == .ecdsaSecp384r1SHA384 : scheme.ecdsaHash != nil
        case .p521: return tls13 ? scheme == .ecdsaSecp521r1SHA512 : scheme.ecdsaHash != nil
        case .rsa:
            guard let (_, pss) = scheme.rsaParameters else { return false }
            return tls13 ? pss : true
        case .ed25519: return scheme == .ed25519
        }
    }

    /// Key size as OpenSSL reports it ("Server public key is 256 bit"; Ed25519 is 253).
    public var bits: Int {
        switch backing {
        case .p256: return 256
        case .p384: return 384
        case .p521: return 521
        case .rsa(let key): return key.keySizeInBits
        case .ed25519: return 253
        }
    }

    /// "EC P-256", "RSA 2048", "Ed25519".
    public var description: String {
        switch backing {
        case .p256: return "EC P-256"
        case .p384: return "EC P-384"
        case .p521: return "EC P-521"
        case .rsa(let key): return "RSA \(key.keySizeInBits)"
        case .ed25519: return "Ed25519"
        }
    }
}

extension SignatureScheme {
    /// 256 / 384 / 512 for the ECDSA SHA-2 schemes, nil otherwise (SHA-1 is refused).
    var ecdsaHash: Int? {
        switch self {
        case .ecdsaSecp256r1SHA256: return 256
        case .ecdsaSecp384r1SHA384: return 384
        case .ecdsaSecp521r1SHA512: return 512
        default: return nil
        }
    }

    /// Hash size and padding for the RSA schemes we implement: rsa_pss_rsae_* and rsa_pkcs1_* with SHA-2.
    /// rsa_pss_pss_* needs an id-RSASSA-PSS key, which swift-crypto cannot load (gotcha 2).
    var rsaParameters: (hash: Int, pss: Bool)? {
        switch self {
        case .rsaPSSRSAESHA256: return (256, true)
        case .rsaPSSRSAESHA384: return (384, true)
        case .rsaPSSRSAESHA512: return (512, true)
        case .rsaPKCS1SHA256: return (256, false)
        case .rsaPKCS1SHA384: return (384, false)
        case .rsaPKCS1SHA512: return (512, false)
        default: return nil
        }
    }

    var rsaPadding: (Int, _RSA.Signing.Padding)? {
        rsaParameters.map { ($0.hash, $0.pss ? .PSS : .insecurePKCS1v1_5) }
    }
}

/// P256/P384 ECDSA signatures share this shape.
protocol ECDSASignatureDER {
    var rawRepresentation: Data { get }
}
extension P256.Signing.ECDSASignature: ECDSASignatureDER {}
extension P384.Signing.ECDSASignature: ECDSASignatureDER {}

/// The P-256 and P-384 signing keys: distinct types with the same digest-signing method.
protocol ECDSADigestSigner {
    associatedtype Signature: ECDSASignatureDER
    func signature<D: Digest>(for digest: D) throws -> Signature
}
extension P256.Signing.PrivateKey: ECDSADigestSigner {}
extension P384.Signing.PrivateKey: ECDSADigestSigner {}

/// Reads a whole text file with a clear error.
func readTextFile(_ path: String, what: String) throws(CryptoError) -> String {
    guard FileManager.default.fileExists(atPath: path) else {
        throw CryptoError(.io, "\(what) file \(path) does not exist")
    }
    guard let data = FileManager.default.contents(atPath: path) else {
        throw CryptoError(.io, "cannot read \(what) file \(path)")
    }
    return String(decoding: data, as: UTF8.self)
}
