import NIOCore

/// EncryptedExtensions (RFC 8446 §4.3.1).
///
/// ```
/// struct {
///     Extension extensions<0..2^16-1>;
/// } EncryptedExtensions;
/// ```
///
/// Checked against the RFC 8446 §4.2 table while decoding: this message exists only in TLS 1.3.
public struct EncryptedExtensions: Sendable, Hashable {
    public var extensions: [Extension]

    public init(extensions: [Extension]) {
        self.extensions = extensions
    }

    public init(decoding body: ByteBuffer) throws(WireError) {
        var body = body
        self.extensions = try ExtensionList.decode(&body, context: .encryptedExtensions)
        try body.expectFullyConsumed("EncryptedExtensions")
        try validateTLS13Extensions(extensions, in: .encryptedExtensions)
    }

    public func encode(into buffer: inout WireWriter) {
        ExtensionList.encode(extensions, into: &buffer)
    }

    public func `extension`(_ type: ExtensionType) -> Extension? {
        extensions.first { $0.type == type }
    }
}
