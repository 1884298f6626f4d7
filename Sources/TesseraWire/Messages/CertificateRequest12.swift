import NIOCore

/// CertificateRequest in TLS 1.2 (RFC 5246 §7.4.4).
///
/// ```
/// enum {
///     rsa_sign(1), dss_sign(2), rsa_fixed_dh(3), dss_fixed_dh(4),
///     rsa_ephemeral_dh_RESERVED(5), dss_ephemeral_dh_RESERVED(6),
///     fortezza_dms_RESERVED(20), (255)
/// } ClientCertificateType;
///
/// opaque DistinguishedName<1..2^16-1>;
///
/// struct {
///     ClientCertificateType certificate_types<1..2^8-1>;
///     SignatureAndHashAlgorithm
///       supported_signature_algorithms<2^16-1>;
///     DistinguishedName certificate_authorities<0..2^16-1>;
/// } CertificateRequest;
/// ```
///
/// `supported_signature_algorithms<2^16-1>` is read as `<2..2^16-2>`, the bounds §7.4.1.4.1 gives the
/// same list (the CertificateRequest form is a known erratum).
public struct CertificateRequest12: Sendable, Hashable {
    public var certificateTypes: [UInt8]
    public var signatureSchemes: [SignatureScheme]
    /// DER-encoded X.501 names.
    public var certificateAuthorities: [[UInt8]]

    public init(certificateTypes: [UInt8], signatureSchemes: [SignatureScheme], certificateAuthorities: [[UInt8]]) {
        self.certificateTypes = certificateTypes
        self.signatureSchemes = signatureSchemes
        self.certificateAuthorities = certificateAuthorities
    }

    public init(decoding body: ByteBuffer) throws(WireError) {
        var body = body
        self.certificateTypes = try body.readLengthPrefixed8("certificate_types", min: 1).remainingBytes
        var schemes = try body.readLengthPrefixed16("supported_signature_algorithms", min: 2, max: 0xFFFE)
        self.signatureSchemes = try schemes.withWireReader { list throws(WireError) in
            try Extension.decodeSchemes(&list, "supported_signature_algorithms")
        }
        var names = try body.readLengthPrefixed16("certificate_authorities")
        var authorities: [[UInt8]] = []
        while names.readableBytes > 0 {
            authorities.append(try names.readLengthPrefixed16("DistinguishedName", min: 1).remainingBytes)
        }
        self.certificateAuthorities = authorities
        try body.expectFullyConsumed("CertificateRequest")
    }

    public func encode(into buffer: inout WireWriter) {
        buffer.writeLengthPrefixed8 { $0.writeBytes(certificateTypes) }
        Extension.encodeSchemeList(signatureSchemes, into: &buffer)
        buffer.writeLengthPrefixed16 { list in
            for name in certificateAuthorities {
                list.writeLengthPrefixed16 { $0.writeBytes(name) }
            }
        }
    }
}
