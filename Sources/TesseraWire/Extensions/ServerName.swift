import NIOCore

/// server_name (RFC 6066 §3).
///
/// ```
/// struct {
///     NameType name_type;
///     select (name_type) {
///         case host_name: HostName;
///     } name;
/// } ServerName;
///
/// enum {
///     host_name(0), (255)
/// } NameType;
///
/// opaque HostName<1..2^16-1>;
///
/// struct {
///     ServerName server_name_list<1..2^16-1>
/// } ServerNameList;
/// ```
///
/// A server acknowledges with an empty `extension_data` (RFC 6066 §3), decoded as `[]`.
extension Extension {
    static func decodeServerName(_ body: inout WireReader) throws(WireError) -> Extension? {
        guard body.readableBytes > 0 else { return .serverName([]) }
        let original = body
        var list = try body.readLengthPrefixed16("server_name_list", min: 1)
        var names: [String] = []
        var representable = true
        while list.readableBytes > 0 {
            let nameType = try list.readUInt8("server_name name_type")
            // Only host_name has a defined body; RFC 6066 §3 leaves no way to skip other types, so a
            // list holding one is structurally opaque to us.
            guard nameType == 0x00 else {
                body = original
                return nil
            }
            let hostName = try list.readLengthPrefixed16("HostName", min: 1)
            let bytes = hostName.readableBytesView
            let name = bytes.withMemoryRebound(to: UInt8.self) { String(decoding: $0, as: UTF8.self) }
            // RFC 6066 §3 says ASCII, which is UTF-8 as it stands. Other bytes must survive the
            // String round trip (non-UTF-8 would be repaired, so not re-encode byte for byte).
            if !bytes.allSatisfy({ $0 < 0x80 }), !name.utf8.elementsEqual(bytes) { representable = false }
            names.append(name)
        }
        guard representable else {
            body = original
            return nil
        }
        return .serverName(names)
    }

    static func encodeServerName(_ names: [String], into body: inout WireWriter) {
        guard !names.isEmpty else { return }
        body.writeLengthPrefixed16 { list in
            for name in names {
                list.writeInteger(UInt8(0x00))  // host_name
                list.writeLengthPrefixed16 { $0.writeBytes(Array(name.utf8)) }
            }
        }
    }
}
