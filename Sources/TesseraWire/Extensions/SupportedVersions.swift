import NIOCore

/// supported_versions (RFC 8446 §4.2.1).
///
/// ```
/// struct {
///     select (Handshake.msg_type) {
///         case client_hello:
///              ProtocolVersion versions<2..254>;
///
///         case server_hello: /* and HelloRetryRequest */
///              ProtocolVersion selected_version;
///     };
/// } SupportedVersions;
/// ```
extension Extension {
    static func decodeSupportedVersions(
        _ body: inout WireReader, context: ExtensionContext
    ) throws(WireError) -> Extension? {
        switch context {
        case .clientHello:
            var list = try body.readLengthPrefixed8("supported_versions versions", min: 2, max: 254)
            guard list.readableBytes % 2 == 0 else {
                throw WireError(.invalidLength, "supported_versions: odd length \(list.readableBytes)")
            }
            var versions: [ProtocolVersion] = []
            while list.readableBytes > 0 {
                versions.append(ProtocolVersion(try list.readUInt16("ProtocolVersion")))
            }
            return .supportedVersionsOffered(versions)
        case .serverHello, .helloRetryRequest:
            return .supportedVersionSelected(ProtocolVersion(try body.readUInt16("selected_version")))
        case .encryptedExtensions, .certificate, .certificateRequest, .newSessionTicket:
            return nil
        }
    }

    static func encodeSupportedVersions(_ versions: [ProtocolVersion], into body: inout WireWriter) {
        body.writeLengthPrefixed8(max: 254) { list in
            for version in versions { list.writeInteger(version.rawValue) }
        }
    }
}
