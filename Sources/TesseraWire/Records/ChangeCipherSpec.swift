import NIOCore

/// A change_cipher_spec record's body (RFC 5246 §7.1; RFC 8446 §5 keeps it for middlebox
/// compatibility, same single byte).
///
/// ```
/// struct {
///     enum { change_cipher_spec(1), (255) } type;
/// } ChangeCipherSpec;
/// ```
public enum ChangeCipherSpec {
    public static let body: [UInt8] = [0x01]

    /// RFC 8446 §5: any other body "MUST" abort with unexpected_message; the caller maps
    /// `.invalidValue` accordingly.
    public static func validate(_ body: ByteBuffer) throws(WireError) {
        var body = body
        guard let value = body.readInteger(as: UInt8.self) else {
            throw WireError(.truncated, "empty change_cipher_spec body")
        }
        guard value == 0x01 else {
            throw WireError(.invalidValue, "change_cipher_spec value \(hex8(value)), expected 0x01")
        }
        guard body.readableBytes == 0 else {
            throw WireError(.trailingBytes, "change_cipher_spec body longer than 1 byte")
        }
    }
}
