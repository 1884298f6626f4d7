import NIOCore

/// application_layer_protocol_negotiation (RFC 7301 §3.1).
///
/// ```
/// opaque ProtocolName<1..2^8-1>;
///
/// struct {
///     ProtocolName protocol_name_list<2..2^16-1>
/// } ProtocolNameList;
/// ```
extension Extension {
    static func decodeALPN(_ body: inout WireReader, context: ExtensionContext) throws(WireError) -> [[UInt8]] {
        var list = try body.readLengthPrefixed16("protocol_name_list", min: 2)
        var protocols: [[UInt8]] = []
        while list.readableBytes > 0 {
            protocols.append(try list.readLengthPrefixed8("ProtocolName", min: 1).remainingBytes)
        }
        // RFC 7301 §3.1: the server's list "MUST contain exactly one" name.
        if context == .serverHello || context == .encryptedExtensions, protocols.count != 1 {
            throw WireError(.invalidValue, "server ALPN carries \(protocols.count) protocols, expected 1")
        }
        return protocols
    }

    static func encodeALPN(_ protocols: [[UInt8]], into body: inout WireWriter) {
        body.writeLengthPrefixed16 { list in
            for name in protocols {
                list.writeLengthPrefixed8 { $0.writeBytes(name) }
            }
        }
    }
}
