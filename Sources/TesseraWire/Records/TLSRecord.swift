import NIOCore

/// One record as it crosses the wire (RFC 5246 §6.2.1, RFC 8446 §5.1).
///
/// ```
/// struct {
///     ContentType type;
///     ProtocolVersion legacy_record_version;
///     uint16 length;
///     opaque fragment[TLSPlaintext.length];
/// } TLSPlaintext;
/// ```
///
/// The same header frames `TLSCiphertext`, so one type carries both: `fragment` is whatever follows
/// the header, protected or not.
public struct TLSRecord: Sendable, Hashable {
    public var contentType: ContentType
    /// `legacy_record_version` exactly as on the wire: RFC 8446 §5.1 says it "MUST be ignored for all
    /// purposes" in 1.3, so it is kept, not interpreted.
    public var version: ProtocolVersion
    public var fragment: ByteBuffer

    public init(contentType: ContentType, version: ProtocolVersion, fragment: ByteBuffer) {
        self.contentType = contentType
        self.version = version
        self.fragment = fragment
    }

    public static let headerLength = 5
    /// RFC 8446 §5.1 / RFC 5246 §6.2.1: 2^14.
    public static let maxPlaintextLength = 16384
    /// RFC 5246 §6.2.3: 2^14 + 2048.
    public static let maxCiphertextLength12 = 16384 + 2048
    /// RFC 8446 §5.2: 2^14 + 256.
    public static let maxCiphertextLength13 = 16384 + 256

    /// Header + fragment. The length field is 16 bits: callers fragment to at most
    /// `maxCiphertextLength12` first; a longer fragment is cut at 2^16-1 bytes rather than trapping.
    public func encode(into buffer: inout ByteBuffer) {
        let length = min(fragment.readableBytes, Int(UInt16.max))
        buffer.writeInteger(contentType.rawValue)
        buffer.writeInteger(version.rawValue)
        buffer.writeInteger(UInt16(truncatingIfNeeded: length))
        if let body = fragment.getSlice(at: fragment.readerIndex, length: length) {
            buffer.writeImmutableBuffer(body)
        }
    }
}

/// Incremental record parser: feed arbitrary chunks, pull whole records.
///
/// TCP delivers records split and merged arbitrarily; this keeps the partial tail between calls.
public struct RecordParser: Sendable {
    private var buffer: ByteBuffer
    private var maximumFragmentLength: Int

    public init(maximumFragmentLength: Int = TLSRecord.maxCiphertextLength12) {
        self.buffer = ByteBuffer()
        self.maximumFragmentLength = max(0, maximumFragmentLength)
    }

    public mutating func append(_ bytes: ByteBuffer) {
        // Nothing buffered (the usual case: reads end on record boundaries): take the chunk as it
        // is. A ByteBuffer shares its storage copy-on-write, so this saves copying every byte
        // received, 16 KiB per full record.
        guard buffer.readableBytes > 0 else {
            buffer = bytes
            return
        }
        // Drop consumed bytes first so the buffer holds at most one partial record plus this chunk.
        if buffer.readerIndex > 0 {
            buffer.discardReadBytes()
        }
        buffer.writeImmutableBuffer(bytes)
    }

    /// nil = need more bytes. Throws .recordOverflow when the header's length exceeds the maximum,
    /// .unsupportedRecordVersion when the version's major byte is not 3 (garbage / SSLv2), never crashes.
    /// A zero-length fragment is returned as-is (the caller decides; handshake/alert with 0 length is
    /// an error for it).
    ///
    /// Errors are sticky in effect: the offending header stays buffered, so the connection must be
    /// torn down, which is what every fatal record error requires anyway.
    public mutating func nextRecord() throws(WireError) -> TLSRecord? {
        let start = buffer.readerIndex
        guard let type = buffer.getInteger(at: start, as: UInt8.self),
            let version = buffer.getInteger(at: start + 1, as: UInt16.self),
            let length = buffer.getInteger(at: start + 3, as: UInt16.self)
        else {
            return nil
        }
        // RFC 5246 Appendix E.1: every SSL 3.0+ record has major version 3. Anything else is an SSLv2
        // ClientHello or not TLS at all; reading its "length" would only wait for bytes that never come.
        guard version >> 8 == 0x03 else {
            throw WireError(.unsupportedRecordVersion, "record version \(hex16(version)) is not SSL/TLS")
        }
        // RFC 8446 §5.1, §5.2 / RFC 5246 §6.2: an oversized record is record_overflow, checked from the
        // header so a hostile length never makes us buffer it.
        guard Int(length) <= maximumFragmentLength else {
            throw WireError(
                .recordOverflow, "record length \(length) exceeds the maximum \(maximumFragmentLength)")
        }
        guard buffer.readableBytes >= TLSRecord.headerLength + Int(length) else {
            return nil
        }
        buffer.moveReaderIndex(forwardBy: TLSRecord.headerLength)
        guard let fragment = buffer.readSlice(length: Int(length)) else {
            return nil
        }
        // Everything read: hold no storage between reads (the fragment keeps what it needs).
        if buffer.readableBytes == 0 {
            buffer = ByteBuffer()
        }
        return TLSRecord(contentType: ContentType(type), version: ProtocolVersion(version), fragment: fragment)
    }

    public var bufferedByteCount: Int { buffer.readableBytes }

    /// RFC 8449 record_size_limit or a version switch (1.3 allows less expansion) lowers the limit.
    public mutating func setMaximumFragmentLength(_ n: Int) {
        maximumFragmentLength = max(0, n)
    }
}
