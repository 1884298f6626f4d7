import Crypto
import Foundation
import TesseraWire

/// One ephemeral (EC)DHE key pair for a handshake (RFC 8422 §5 for TLS 1.2, RFC 8446 §4.2.8 for 1.3).
public struct EphemeralKeyExchange: Sendable {
    private enum PrivateKey: Sendable {
        case x25519(Curve25519.KeyAgreement.PrivateKey)
        case p256(P256.KeyAgreement.PrivateKey)
        case p384(P384.KeyAgreement.PrivateKey)
    }

    private let privateKey: PrivateKey
    public let group: NamedGroup
    /// X25519: 32 bytes (RFC 7748 §5); P-256/P-384: uncompressed 04 || X || Y (RFC 8446 §4.2.8.2).
    public let publicKeyBytes: [UInt8]

    /// A fresh key pair for x25519, secp256r1 or secp384r1; any other group is `.unsupportedAlgorithm`.
    public init(group: NamedGroup) throws(CryptoError) {
        switch group {
        case .x25519: self.init(group: group, key: .x25519(Curve25519.KeyAgreement.PrivateKey()))
        case .secp256r1: self.init(group: group, key: .p256(P256.KeyAgreement.PrivateKey()))
        case .secp384r1: self.init(group: group, key: .p384(P384.KeyAgreement.PrivateKey()))
        default: throw CryptoError(.unsupportedAlgorithm, "key exchange group \(group) is not supported")
        }
    }

    /// A key pair from a known private key (test vectors such as RFC 8448): the raw 32-byte X25519
    /// scalar or the big-endian NIST scalar.
    public init(group: NamedGroup, privateKey: [UInt8]) throws(CryptoError) {
        do {
            switch group {
            case .x25519: self.init(group: group, key: .x25519(try Curve25519.KeyAgreement.PrivateKey(rawRepresentation: privateKey)))
            case .secp256r1: self.init(group: group, key: .p256(try P256.KeyAgreement.PrivateKey(rawRepresentation: privateKey)))
            case .secp384r1: self.init(group: group, key: .p384(try P384.KeyAgreement.PrivateKey(rawRepresentation: privateKey)))
            default: throw CryptoError(.unsupportedAlgorithm, "key exchange group \(group) is not supported")
            }
        } catch let error as CryptoError {
            throw error
        } catch {
            throw CryptoError(.invalidKey, "invalid \(group) private key")
        }
    }

    private init(group: NamedGroup, key: PrivateKey) {
        self.group = group
        self.privateKey = key
        switch key {
        case .x25519(let key): publicKeyBytes = Array(key.publicKey.rawRepresentation)
        case .p256(let key): publicKeyBytes = Array(key.publicKey.x963Representation)
        case .p384(let key): publicKeyBytes = Array(key.publicKey.x963Representation)
        }
    }

    /// ECDH with the peer's encoded key. Throws `.invalidPublicKey` for a malformed or off-curve point
    /// (also compressed or of the wrong length) and `.invalidSharedSecret` for an all-zero X25519
    /// result. Returns the shared secret (the X coordinate for NIST curves, RFC 8446 §7.4.2).
    public func sharedSecret(peerPublicKey: [UInt8]) throws(CryptoError) -> [UInt8] {
        switch privateKey {
        case .x25519(let key):
            // RFC 7748 §5: u-coordinates are exactly 32 bytes.
            guard peerPublicKey.count == 32,
                let peer = try? Curve25519.KeyAgreement.PublicKey(rawRepresentation: peerPublicKey)
            else {
                throw CryptoError(.invalidPublicKey, "X25519 public key must be 32 bytes, got \(peerPublicKey.count)")
            }
            let secret: [UInt8]
            do {
                secret = try key.sharedSecretFromKeyAgreement(with: peer).withUnsafeBytes { Array($0) }
            } catch {
                throw CryptoError(.invalidSharedSecret, "X25519 key agreement failed")
            }
            // RFC 7748 §6.1 / RFC 8446 §7.4.2: a low-order peer point gives all zeros; swift-crypto
            // does not check (SWIFT-NOTES gotcha 1). Checked without an early exit.
            var accumulated: UInt8 = 0
            for byte in secret { accumulated |= byte }
            guard accumulated != 0 else {
                throw CryptoError(.invalidSharedSecret, "X25519 shared secret is all zeros (low-order peer point)")
            }
            return secret
        case .p256(let key):
            try Self.checkUncompressed(peerPublicKey, coordinateLength: 32, group: group)
            guard let peer = try? P256.KeyAgreement.PublicKey(x963Representation: peerPublicKey) else {
                throw CryptoError(.invalidPublicKey, "P-256 public key is not a point on the curve")
            }
            return try Self.agree { try key.sharedSecretFromKeyAgreement(with: peer) }
        case .p384(let key):
            try Self.checkUncompressed(peerPublicKey, coordinateLength: 48, group: group)
            guard let peer = try? P384.KeyAgreement.PublicKey(x963Representation: peerPublicKey) else {
                throw CryptoError(.invalidPublicKey, "P-384 public key is not a point on the curve")
            }
            return try Self.agree { try key.sharedSecretFromKeyAgreement(with: peer) }
        }
    }

    /// RFC 8446 §4.2.8.2 / RFC 8422 §5.4.1: only the uncompressed form (0x04 || X || Y) is allowed.
    private static func checkUncompressed(_ point: [UInt8], coordinateLength: Int, group: NamedGroup) throws(CryptoError) {
        guard point.count == 1 + 2 * coordinateLength, point.first == 0x04 else {
            throw CryptoError(
                .invalidPublicKey,
                "\(group) public key must be uncompressed (\(1 + 2 * coordinateLength) bytes starting 04), got \(point.count) bytes")
        }
    }

    private static func agree(_ body: () throws -> SharedSecret) throws(CryptoError) -> [UInt8] {
        do {
            return try body().withUnsafeBytes { Array($0) }
        } catch {
            throw CryptoError(.invalidSharedSecret, "ECDH key agreement failed")
        }
    }
}
