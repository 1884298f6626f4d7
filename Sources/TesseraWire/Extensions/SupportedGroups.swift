import NIOCore

/// supported_groups (RFC 8446 §4.2.7; RFC 8422 §5.1.1 calls it elliptic_curves) and ec_point_formats
/// (RFC 8422 §5.1.2), the two ClientHello lists that pick a key-exchange group.
///
/// ```
/// struct {
///     NamedGroup named_group_list<2..2^16-1>;
/// } NamedGroupList;
///
/// struct {
///     ECPointFormat ec_point_format_list<1..2^8-1>
/// } ECPointFormatList;
/// ```
extension Extension {
    static func decodeNamedGroupList(_ body: inout WireReader) throws(WireError) -> [NamedGroup] {
        var list = try body.readLengthPrefixed16("named_group_list", min: 2)
        guard list.readableBytes % 2 == 0 else {
            throw WireError(.invalidLength, "named_group_list: odd length \(list.readableBytes)")
        }
        var groups: [NamedGroup] = []
        groups.reserveCapacity(list.readableBytes / 2)
        while list.readableBytes > 0 {
            groups.append(NamedGroup(try list.readUInt16("NamedGroup")))
        }
        return groups
    }

    static func encodeNamedGroupList(_ groups: [NamedGroup], into body: inout WireWriter) {
        body.writeLengthPrefixed16(max: 0xFFFE) { list in
            for group in groups { list.writeInteger(group.rawValue) }
        }
    }

    static func decodeECPointFormats(_ body: inout WireReader) throws(WireError) -> [ECPointFormat] {
        let list = try body.readLengthPrefixed8("ec_point_format_list", min: 1)
        return list.readableBytesView.map(ECPointFormat.init(_:))
    }

    static func encodeECPointFormats(_ formats: [ECPointFormat], into body: inout WireWriter) {
        body.writeLengthPrefixed8 { list in
            for format in formats { list.writeInteger(format.rawValue) }
        }
    }
}
