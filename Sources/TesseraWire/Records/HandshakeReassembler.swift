import NIOCore

/// One handshake message cut out of the record stream (RFC 8446 §4, RFC 5246 §7.4).
///
/// ```
/// struct {
///     HandshakeType msg_type;    /* handshake type */
///     uint24 length;             /* remaining bytes in message */
///     select (Handshake.msg_type) { ... };
/// } Handshake;
/// ```
public struct RawHandshakeMessage: Sendable, Hashable {
    public var type: HandshakeType
    /// Without the 4-byte header.
    public var body: ByteBuffer
    /// Header + body exactly as received: the transcript hashes these, never a re-encoding.
    public var bytes: ByteBuffer

    /// Frames `body` with its header; for messages we build rather than receive.
    public init(type: HandshakeType, body: ByteBuffer) {
        self.type = type
        self.body = body
        var message = WireWriter(capacity: 4 + body.readableBytes)
        message.writeInteger(type.rawValue)
        message.writeLengthPrefixed24 { $0.writeBytes(body) }
        self.bytes = ByteBuffer(bytes: message.bytes)
    }

    /// Parses exactly one whole message (header + body), e.g. a test vector.
    public init(bytes: ByteBuffer) throws(WireError) {
        var reader = bytes
        let type = HandshakeType(try reader.readUInt8("msg_type"))
        let body = try reader.readLengthPrefixed24("handshake body")
        try reader.expectFullyConsumed("handshake message")
        self.type = type
        self.body = body
        self.bytes = bytes
    }
}

/// Cuts handshake messages out of handshake-record fragments: a message may span records and one
/// record may hold several (RFC 5246 §6.2.1, RFC 8446 §5.1).
public struct HandshakeReassembler: Sendable {
    private var buffer: ByteBuffer
    private let maximumMessageLength: Int

    public init(maximumMessageLength: Int = 1 << 18) {
        self.buffer = ByteBuffer()
        self.maximumMessageLength = max(0, maximumMessageLength)
    }

    public mutating func append(_ fragment: ByteBuffer) {
        // Nothing buffered (a record that carries whole messages, the usual case): take the
        // fragment as it is, shared copy-on-write, rather than copying it into the empty buffer
        // (which NIO does by copy-on-write of its shared empty storage first).
        guard buffer.readableBytes > 0 else {
            buffer = fragment
            return
        }
        if buffer.readerIndex > 0 {
            buffer.discardReadBytes()
        }
        buffer.writeImmutableBuffer(fragment)
    }

    /// nil = need more bytes. `.messageTooLarge` past the limit, checked from the header before the
    /// body is buffered, so a peer cannot make us hold 16 MiB by announcing it.
    public mutating func nextMessage() throws(WireError) -> RawHandshakeMessage? {
        let start = buffer.readerIndex
        guard let typeByte = buffer.getInteger(at: start, as: UInt8.self),
            let lengthHigh = buffer.getInteger(at: start + 1, as: UInt8.self),
            let lengthLow = buffer.getInteger(at: start + 2, as: UInt16.self)
        else {
            return nil
        }
        let length = Int(lengthHigh) << 16 | Int(lengthLow)
        guard length <= maximumMessageLength else {
            throw WireError(
                .messageTooLarge,
                "\(HandshakeType(typeByte)) of \(length) bytes exceeds the limit \(maximumMessageLength)")
        }
        guard buffer.readableBytes >= 4 + length, let bytes = buffer.readSlice(length: 4 + length),
            let body = bytes.getSlice(at: bytes.readerIndex + 4, length: length)
        else {
            return nil
        }
        return RawHandshakeMessage(type: HandshakeType(typeByte), body: body, bytes: bytes)
    }

    /// A partial message is pending. RFC 8446 §5.1: keys may not change then (the caller turns this
    /// into unexpected_message at a key change or ChangeCipherSpec).
    public var hasBufferedBytes: Bool { buffer.readableBytes > 0 }
}

extension RawHandshakeMessage {
    init(type: HandshakeType, body: ByteBuffer, bytes: ByteBuffer) {
        self.type = type
        self.body = body
        self.bytes = bytes
    }
}
