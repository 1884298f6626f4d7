import NIOCore

/// Finished (RFC 8446 §4.4.4, RFC 5246 §7.4.9).
///
/// ```
/// struct {
///     opaque verify_data[Hash.length];    /* TLS 1.3 */
/// } Finished;
///
/// struct {
///     opaque verify_data[verify_data_length];    /* TLS 1.2: 12 */
/// } Finished;
/// ```
///
/// The length depends on the negotiated suite, which the wire layer does not know: any non-empty body
/// decodes, and the handshake compares it (in constant time) with the expected length and value.
public struct Finished: Sendable, Hashable {
    public var verifyData: [UInt8]

    public init(verifyData: [UInt8]) {
        self.verifyData = verifyData
    }

    public init(decoding body: ByteBuffer) throws(WireError) {
        guard body.readableBytes > 0 else {
            throw WireError(.invalidLength, "Finished: empty verify_data")
        }
        self.verifyData = body.remainingBytes
    }

    public func encode(into buffer: inout WireWriter) {
        buffer.writeBytes(verifyData)
    }
}
