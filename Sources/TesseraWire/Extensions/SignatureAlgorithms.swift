import NIOCore

/// signature_algorithms and signature_algorithms_cert (RFC 8446 §4.2.3; RFC 5246 §7.4.1.4.1 for the
/// TLS 1.2 `SignatureAndHashAlgorithm` pairs, which share the encoding).
///
/// ```
/// struct {
///     SignatureScheme supported_signature_algorithms<2..2^16-2>;
/// } SignatureSchemeList;
/// ```
extension Extension {
    static func decodeSchemeList(_ body: inout WireReader, _ field: String) throws(WireError) -> [SignatureScheme] {
        var list = try body.readLengthPrefixed16(field, min: 2, max: 0xFFFE)
        return try decodeSchemes(&list, field)
    }

    /// The list's contents, shared with CertificateRequest12's `supported_signature_algorithms`.
    static func decodeSchemes(_ list: inout WireReader, _ field: String) throws(WireError) -> [SignatureScheme] {
        guard list.readableBytes % 2 == 0 else {
            throw WireError(.invalidLength, "\(field): odd length \(list.readableBytes)")
        }
        var schemes: [SignatureScheme] = []
        schemes.reserveCapacity(list.readableBytes / 2)
        while list.readableBytes > 0 {
            schemes.append(SignatureScheme(try list.readUInt16("SignatureScheme")))
        }
        return schemes
    }

    static func encodeSchemeList(_ schemes: [SignatureScheme], into body: inout WireWriter) {
        body.writeLengthPrefixed16(max: 0xFFFE) { list in
            for scheme in schemes { list.writeInteger(scheme.rawValue) }
        }
    }
}
