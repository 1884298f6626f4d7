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
        try buffer.withWireReader { reader throws(WireError) in try decode(&reader, context: context) }
    }

    static func decode(_ reader: inout WireReader, context: ExtensionContext) throws(WireError) -> [Extension] {
        var block = try reader.readLengthPrefixed16("extensions")
        var extensions: [Extension] = []
        extensions.reserveCapacity(min(block.readableBytes / 4, 32))
        var seen = ExtensionTypeSet()
        var sawPreSharedKey = false
        while block.readableBytes > 0 {
            let type = ExtensionType(try block.readUInt16("extension_type"))
            let body = try block.readLengthPrefixed16("\(type) extension_data")
            // RFC 8446 §4.2 / RFC 5246 §7.4.1.4: "There MUST NOT be more than one extension of the same
            // type in a given extension block."
            guard seen.insert(type.rawValue) else {
                throw WireError(.duplicateExtension, "\(type) appears twice")
            }
            // RFC 8446 §4.2.11: pre_shared_key MUST be the last extension in the ClientHello.
            if context == .clientHello, sawPreSharedKey {
                throw WireError(.invalidValue, "pre_shared_key is not the last ClientHello extension")
            }
            if type == .preSharedKey { sawPreSharedKey = true }
            extensions.append(try Extension(decoding: type, reader: body, context: context))
        }
        return extensions
    }

    public static func encode(_ exts: [Extension], into buffer: inout WireWriter) {
        buffer.writeLengthPrefixed16 { block in
            for ext in exts {
                ext.encode(into: &block)
            }
        }
    }
}

/// The extension types seen so far in one block, for the duplicate check. Types below 64 (every
/// extension this library knows except renegotiation_info) are bits of one word; the first four
/// others (renegotiation_info, GREASE values, private types) are kept inline, so a usual hello
/// allocates nothing here; past those, a hostile peer's long list goes into a set, so the check
/// stays linear.
struct ExtensionTypeSet {
    private var low: UInt64 = 0
    private var inline: (UInt16, UInt16, UInt16, UInt16) = (0, 0, 0, 0)
    private var inlineCount = 0
    private var spilled: Set<UInt16>?

    /// Inserts `type`; false if it was already there.
    mutating func insert(_ type: UInt16) -> Bool {
        if type < 64 {
            let bit = UInt64(1) << type
            defer { low |= bit }
            return low & bit == 0
        }
        if spilled != nil {
            return spilled?.insert(type).inserted ?? false
        }
        let seen = (inlineCount > 0 && inline.0 == type) || (inlineCount > 1 && inline.1 == type)
            || (inlineCount > 2 && inline.2 == type) || (inlineCount > 3 && inline.3 == type)
        if seen { return false }
        switch inlineCount {
        case 0: inline.0 = type
        case 1: inline.1 = type
        case 2: inline.2 = type
        case 3: inline.3 = type
        default:
            spilled = [inline.0, inline.1, inline.2, inline.3, type]
            return true
        }
        inlineCount += 1
        return true
    }
}
