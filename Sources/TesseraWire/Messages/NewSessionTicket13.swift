import NIOCore

/// NewSessionTicket in TLS 1.3 (RFC 8446 §4.6.1).
///
/// ```
/// struct {
///     uint32 ticket_lifetime;
///     uint32 ticket_age_add;
///     opaque ticket_nonce<0..255>;
///     opaque ticket<1..2^16-1>;
///     Extension extensions<0..2^16-2>;
/// } NewSessionTicket;
/// ```
public struct NewSessionTicket13: Sendable, Hashable {
    public var lifetime: UInt32
    public var ageAdd: UInt32
    public var nonce: [UInt8]
    public var ticket: [UInt8]
    public var extensions: [Extension]

    public init(lifetime: UInt32, ageAdd: UInt32, nonce: [UInt8], ticket: [UInt8], extensions: [Extension]) {
        self.lifetime = lifetime
        self.ageAdd = ageAdd
        self.nonce = nonce
        self.ticket = ticket
        self.extensions = extensions
    }

    public init(decoding body: ByteBuffer) throws(WireError) {
        var body = body
        self.lifetime = try body.readUInt32("ticket_lifetime")
        self.ageAdd = try body.readUInt32("ticket_age_add")
        self.nonce = try body.readLengthPrefixed8("ticket_nonce").remainingBytes
        self.ticket = try body.readLengthPrefixed16("ticket", min: 1).remainingBytes
        self.extensions = try ExtensionList.decode(&body, context: .newSessionTicket)
        try body.expectFullyConsumed("NewSessionTicket")
        try validateTLS13Extensions(extensions, in: .newSessionTicket)
    }

    public func encode(into buffer: inout WireWriter) {
        buffer.writeInteger(lifetime)
        buffer.writeInteger(ageAdd)
        buffer.writeLengthPrefixed8 { $0.writeBytes(nonce) }
        buffer.writeLengthPrefixed16 { $0.writeBytes(ticket) }
        ExtensionList.encode(extensions, into: &buffer)
    }

    /// The early_data limit (RFC 8446 §4.2.10), nil when the ticket allows no 0-RTT.
    public var maxEarlyDataSize: UInt32? {
        for case .earlyData(let limit?) in extensions { return limit }
        return nil
    }
}
