import NIOCore

/// CertificateVerify (RFC 8446 §4.4.3; RFC 5246 §7.4.8, whose `digitally-signed` struct of §4.7 has
/// the same layout in TLS 1.2).
///
/// ```
/// struct {
///     SignatureScheme algorithm;
///     opaque signature<0..2^16-1>;
/// } CertificateVerify;
/// ```
public struct CertificateVerify: Sendable, Hashable {
    public var scheme: SignatureScheme
    public var signature: [UInt8]

    public init(scheme: SignatureScheme, signature: [UInt8]) {
        self.scheme = scheme
        self.signature = signature
    }

    public init(decoding body: ByteBuffer) throws(WireError) {
        var body = body
        self.scheme = SignatureScheme(try body.readUInt16("algorithm"))
        self.signature = try body.readLengthPrefixed16("signature").remainingBytes
        try body.expectFullyConsumed("CertificateVerify")
    }

    public func encode(into buffer: inout WireWriter) {
        buffer.writeInteger(scheme.rawValue)
        buffer.writeLengthPrefixed16 { $0.writeBytes(signature) }
    }
}
