/// The one error type of TesseraCrypto: a code the caller can switch on (and map to an alert)
/// plus a message for humans. Messages never contain key material.
public struct CryptoError: Error, Hashable, Sendable, CustomStringConvertible {
    public enum Code: Hashable, Sendable {
        /// AEAD authentication failed, or the fragment is too short to hold nonce and tag (bad_record_mac).
        case badRecordMAC
        /// Plaintext over 2^14 (or TLS 1.3 inner plaintext over 2^14 + 1) (record_overflow).
        case recordOverflow
        /// A peer's key share / ECDH point is malformed, off the curve, compressed or of the wrong length.
        case invalidPublicKey
        /// ECDH produced a forbidden shared secret (all-zero X25519 result, RFC 7748 §6.1).
        case invalidSharedSecret
        /// The algorithm, group, scheme or cipher suite is not implemented or does not fit the key.
        case unsupportedAlgorithm
        /// Signing failed.
        case signatureFailed
        /// A key could not be parsed or has the wrong size.
        case invalidKey
        /// The 64-bit record sequence number would wrap (RFC 5246 §6.1, RFC 8446 §5.3).
        case sequenceOverflow
        /// A certificate could not be parsed, encoded or generated.
        case invalidCertificate
        /// A file could not be read.
        case io
        /// TLS 1.3 TLSInnerPlaintext without a non-zero content type (RFC 8446 §5.4: unexpected_message).
        case invalidInnerPlaintext
    }

    public var code: Code
    public var message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { "\(code): \(message)" }
}
