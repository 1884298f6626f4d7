import NIOCore

/// NewSessionTicket in TLS 1.2 (RFC 5077 §3.3).
///
/// ```
/// struct {
///     uint32 ticket_lifetime_hint;
///     opaque ticket<0..2^16-1>;
/// } NewSessionTicket;
/// ```
///
/// An empty ticket is legal: the server changed its mind about issuing one (RFC 5077 §3.3), and the
/// client then keeps no new ticket.
public struct NewSessionTicket12: Sendable, Hashable {
    public var lifetimeHint: UInt32
    public var ticket: [UInt8]

    public init(lifetimeHint: UInt32, ticket: [UInt8]) {
        self.lifetimeHint = lifetimeHint
        self.ticket = ticket
    }

    public init(decoding body: ByteBuffer) throws(WireError) {
        var body = body
        self.lifetimeHint = try body.readUInt32("ticket_lifetime_hint")
        self.ticket = try body.readLengthPrefixed16("ticket").remainingBytes
        try body.expectFullyConsumed("NewSessionTicket")
    }

    public func encode(into buffer: inout WireWriter) {
        buffer.writeInteger(lifetimeHint)
        buffer.writeLengthPrefixed16 { $0.writeBytes(ticket) }
    }
}
