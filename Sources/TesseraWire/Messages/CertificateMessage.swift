import NIOCore

/// Certificate (RFC 8446 §4.4.2; RFC 5246 §7.4.2 for TLS 1.2, which has neither the request context
/// nor per-entry extensions, hence the `version` parameter).
///
/// TLS 1.3:
/// ```
/// struct {
///     select (certificate_type) {
///         case RawPublicKey:
///           /* From RFC 7250 ASN.1_subjectPublicKeyInfo */
///           opaque ASN1_subjectPublicKeyInfo<1..2^24-1>;
///
///         case X509:
///           opaque cert_data<1..2^24-1>;
///     };
///     Extension extensions<0..2^16-1>;
/// } CertificateEntry;
///
/// struct {
///     opaque certificate_request_context<0..2^8-1>;
///     CertificateEntry certificate_list<0..2^24-1>;
/// } Certificate;
/// ```
/// TLS 1.2:
/// ```
/// opaque ASN.1Cert<1..2^24-1>;
///
/// struct {
///     ASN.1Cert certificate_list<0..2^24-1>;
/// } Certificate;
/// ```
public struct CertificateMessage: Sendable, Hashable {
    public var requestContext: [UInt8]
    public var entries: [CertificateEntry]

    public init(requestContext: [UInt8], entries: [CertificateEntry]) {
        self.requestContext = requestContext
        self.entries = entries
    }

    public init(decoding body: ByteBuffer, version: ProtocolVersion) throws(WireError) {
        var body = body
        let isTLS13 = version == .tls13
        if isTLS13 {
            self.requestContext = try body.readLengthPrefixed8("certificate_request_context").remainingBytes
        } else {
            self.requestContext = []
        }
        var list = try body.readLengthPrefixed24("certificate_list")
        var entries: [CertificateEntry] = []
        while list.readableBytes > 0 {
            let certificate = try list.readLengthPrefixed24("cert_data", min: 1).remainingBytes
            var extensions: [Extension] = []
            if isTLS13 {
                extensions = try ExtensionList.decode(&list, context: .certificate)
                try validateTLS13Extensions(extensions, in: .certificate)
            }
            entries.append(CertificateEntry(certificate: certificate, extensions: extensions))
        }
        self.entries = entries
        try body.expectFullyConsumed("Certificate")
    }

    public func encode(into buffer: inout WireWriter, version: ProtocolVersion) {
        let isTLS13 = version == .tls13
        if isTLS13 {
            buffer.writeLengthPrefixed8 { $0.writeBytes(requestContext) }
        }
        buffer.writeLengthPrefixed24 { list in
            for entry in entries {
                list.writeLengthPrefixed24 { $0.writeBytes(entry.certificate) }
                if isTLS13 {
                    ExtensionList.encode(entry.extensions, into: &list)
                }
            }
        }
    }
}

/// One certificate of the chain, leaf first (RFC 8446 §4.4.2).
public struct CertificateEntry: Sendable, Hashable {
    /// DER.
    public var certificate: [UInt8]
    /// TLS 1.3 only (status_request, signed_certificate_timestamp).
    public var extensions: [Extension]

    public init(certificate: [UInt8], extensions: [Extension] = []) {
        self.certificate = certificate
        self.extensions = extensions
    }
}
