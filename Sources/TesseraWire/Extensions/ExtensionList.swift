import NIOCore

/// An extensions block (RFC 8446 §4.2, RFC 5246 §7.4.1.4).
///
/// ```
/// Extension extensions<0..2^16-1>;
/// ```
public enum ExtensionList {
    /// Decodes an extensions block (`Extension extensions<0..2^16-1>`) rejecting duplicates
    /// (.duplicateExtension).
    ///
    /// In a ClientHello, pre_shared_key must be the last extension (RFC 8446 §4.2.11: "servers MUST
    /// check that it is the last extension and otherwise fail the handshake with an illegal_parameter
    /// alert"), so that the binders can cover everything before them: `.invalidValue` otherwise.
    public static func decode(_ buffer: inout ByteBuffer, context: ExtensionContext) throws(WireError) -> [Extension] {
        var block = try buffer.readLengthPrefixed16("extensions")
        var extensions: [Extension] = []
        // Sized for a typical block up front (every extension takes at least 4 bytes) so the set
        // does not regrow on every handshake; a bigger block still grows it as needed.
        var seen = Set<UInt16>(minimumCapacity: min(block.readableBytes / 4, 32))
        var sawPreSharedKey = false
        while block.readableBytes > 0 {
            let type = ExtensionType(try block.readUInt16("extension_type"))
            let body = try block.readLengthPrefixed16("\(type) extension_data")
            // RFC 8446 §4.2 / RFC 5246 §7.4.1.4: "There MUST NOT be more than one extension of the same
            // type in a given extension block."
            guard seen.insert(type.rawValue).inserted else {
                throw WireError(.duplicateExtension, "\(type) appears twice")
            }
            // RFC 8446 §4.2.11: pre_shared_key MUST be the last extension in the ClientHello.
            if context == .clientHello, sawPreSharedKey {
                throw WireError(.invalidValue, "pre_shared_key is not the last ClientHello extension")
            }
            if type == .preSharedKey { sawPreSharedKey = true }
            extensions.append(try Extension(decoding: type, body: body, context: context))
        }
        return extensions
    }

    public static func encode(_ exts: [Extension], into buffer: inout ByteBuffer) {
        buffer.writeLengthPrefixed16 { block in
            for ext in exts {
                ext.encode(into: &block)
            }
        }
    }
}
