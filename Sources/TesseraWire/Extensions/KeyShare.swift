import NIOCore

/// One offered or selected key share (RFC 8446 §4.2.8).
///
/// ```
/// struct {
///     NamedGroup group;
///     opaque key_exchange<1..2^16-1>;
/// } KeyShareEntry;
/// ```
public struct KeyShareEntry: Sendable, Hashable {
    public var group: NamedGroup
    public var keyExchange: [UInt8]

    public init(group: NamedGroup, keyExchange: [UInt8]) {
        self.group = group
        self.keyExchange = keyExchange
    }

    init(decoding buffer: inout WireReader) throws(WireError) {
        self.group = NamedGroup(try buffer.readUInt16("KeyShareEntry group"))
        self.keyExchange = try buffer.readLengthPrefixed16("key_exchange", min: 1).remainingBytes
    }

    func encode(into buffer: inout WireWriter) {
        buffer.writeInteger(group.rawValue)
        buffer.writeLengthPrefixed16 { $0.writeBytes(keyExchange) }
    }
}

/// key_share (RFC 8446 §4.2.8): a list in the ClientHello, one entry in the ServerHello, the group the
/// server wants in a HelloRetryRequest.
///
/// ```
/// struct {
///     KeyShareEntry client_shares<0..2^16-1>;
/// } KeyShareClientHello;
///
/// struct {
///     NamedGroup selected_group;
/// } KeyShareHelloRetryRequest;
///
/// struct {
///     KeyShareEntry server_share;
/// } KeyShareServerHello;
/// ```
extension Extension {
    static func decodeKeyShare(_ body: inout WireReader, context: ExtensionContext) throws(WireError) -> Extension? {
        switch context {
        case .clientHello:
            var list = try body.readLengthPrefixed16("client_shares")
            var entries: [KeyShareEntry] = []
            while list.readableBytes > 0 {
                entries.append(try KeyShareEntry(decoding: &list))
            }
            return .keyShareOffered(entries)
        case .serverHello:
            return .keyShareSelected(try KeyShareEntry(decoding: &body))
        case .helloRetryRequest:
            return .keyShareRetry(NamedGroup(try body.readUInt16("selected_group")))
        case .encryptedExtensions, .certificate, .certificateRequest, .newSessionTicket:
            return nil
        }
    }

    static func encodeKeyShareList(_ entries: [KeyShareEntry], into body: inout WireWriter) {
        body.writeLengthPrefixed16 { list in
            for entry in entries { entry.encode(into: &list) }
        }
    }
}
