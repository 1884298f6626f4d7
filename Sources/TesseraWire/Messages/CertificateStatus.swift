import NIOCore

/// CertificateStatus (RFC 6066 §8); in TLS 1.3 the same struct is the body of a Certificate entry's
/// status_request extension (RFC 8446 §4.4.2.1).
///
/// ```
/// struct {
///     CertificateStatusType status_type;
///     select (status_type) {
///         case ocsp: OCSPResponse;
///     } response;
/// } CertificateStatus;
///
/// opaque OCSPResponse<1..2^24-1>;
/// ```
///
/// Other status types (RFC 6961's ocsp_multi) also carry a 24-bit vector, so `response` is read the
/// same way for every type and the handshake decides what it accepts.
public struct CertificateStatus: Sendable, Hashable {
    public var statusType: UInt8
    /// The DER OCSPResponse, without its length prefix.
    public var response: [UInt8]

    public static let ocsp: UInt8 = 0x01

    public init(statusType: UInt8 = CertificateStatus.ocsp, response: [UInt8]) {
        self.statusType = statusType
        self.response = response
    }

    public init(decoding body: ByteBuffer) throws(WireError) {
        var body = body
        self.statusType = try body.readUInt8("status_type")
        self.response = try body.readLengthPrefixed24("OCSPResponse", min: 1).remainingBytes
        try body.expectFullyConsumed("CertificateStatus")
    }

    public func encode(into buffer: inout WireWriter) {
        buffer.writeInteger(statusType)
        buffer.writeLengthPrefixed24 { $0.writeBytes(response) }
    }
}
