import NIOCore

/// CertificateRequest in TLS 1.3 (RFC 8446 §4.3.2).
///
/// ```
/// struct {
///     opaque certificate_request_context<0..2^8-1>;
///     Extension extensions<2..2^16-1>;
/// } CertificateRequest;
/// ```
///
/// Extensions are checked against the RFC 8446 §4.2 table while decoding; that signature_algorithms
/// is present is the handshake's check (missing_extension, not decode_error).
public struct CertificateRequest13: Sendable, Hashable {
    public var requestContext: [UInt8]
    public var extensions: [Extension]

    public init(requestContext: [UInt8], extensions: [Extension]) {
        self.requestContext = requestContext
        self.extensions = extensions
    }

    public init(decoding body: ByteBuffer) throws(WireError) {
        var body = body
        self.requestContext = try body.readLengthPrefixed8("certificate_request_context").remainingBytes
        self.extensions = try ExtensionList.decode(&body, context: .certificateRequest)
        try body.expectFullyConsumed("CertificateRequest")
        try validateTLS13Extensions(extensions, in: .certificateRequest)
    }

    public func encode(into buffer: inout WireWriter) {
        buffer.writeLengthPrefixed8 { $0.writeBytes(requestContext) }
        ExtensionList.encode(extensions, into: &buffer)
    }

    public func `extension`(_ type: ExtensionType) -> Extension? {
        extensions.first { $0.type == type }
    }
}
