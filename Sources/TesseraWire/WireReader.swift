import NIOCore

/// The presentation-language reads of `ByteBuffer+Wire.swift` over borrowed bytes, for the
/// decoders of the hottest input, a ClientHello and its extensions.
///
/// A `ByteBuffer` slice retains its storage, and each of its reads goes through NIO's class
/// storage with a dynamic exclusivity check; a ClientHello of a dozen extensions made some 200
/// such reference-count and access calls, half of its 5 µs decoding. A `WireReader` is a window
/// on bytes that its caller keeps alive (see `ByteBuffer.withWireReader`), so reading it costs
/// only the bounds checks. The method names, field names and errors are those of the `ByteBuffer`
/// versions, so a decoder reads the same either way.
struct WireReader {
    private let bytes: UnsafeRawBufferPointer
    private var index: Int

    /// Only valid while `bytes` is.
    init(_ bytes: UnsafeRawBufferPointer) {
        self.bytes = bytes
        self.index = 0
    }

    var readableBytes: Int { bytes.count - index }

    /// The unread bytes, still borrowed.
    var readableBytesView: UnsafeRawBufferPointer { UnsafeRawBufferPointer(rebasing: bytes[index...]) }

    mutating func moveReaderIndex(forwardBy count: Int) {
        index += min(count, readableBytes)
    }

    mutating func readUInt8(_ field: @autoclosure () -> String) throws(WireError) -> UInt8 {
        guard readableBytes >= 1 else { throw truncated(field()) }
        defer { index += 1 }
        return bytes[index]
    }

    mutating func readUInt16(_ field: @autoclosure () -> String) throws(WireError) -> UInt16 {
        guard readableBytes >= 2 else { throw truncated(field()) }
        defer { index += 2 }
        return UInt16(bytes[index]) << 8 | UInt16(bytes[index + 1])
    }

    mutating func readUInt24(_ field: @autoclosure () -> String) throws(WireError) -> UInt32 {
        guard readableBytes >= 3 else { throw truncated(field()) }
        defer { index += 3 }
        return UInt32(bytes[index]) << 16 | UInt32(bytes[index + 1]) << 8 | UInt32(bytes[index + 2])
    }

    mutating func readUInt32(_ field: @autoclosure () -> String) throws(WireError) -> UInt32 {
        guard readableBytes >= 4 else { throw truncated(field()) }
        defer { index += 4 }
        return UInt32(bytes[index]) << 24 | UInt32(bytes[index + 1]) << 16 | UInt32(bytes[index + 2]) << 8
            | UInt32(bytes[index + 3])
    }

    /// A fixed-size opaque field (`opaque random[32]`).
    mutating func readFixedBytes(_ count: Int, _ field: @autoclosure () -> String) throws(WireError) -> [UInt8] {
        guard count >= 0, readableBytes >= count else { throw truncated(field()) }
        defer { index += count }
        return Array(bytes[index..<(index + count)])
    }

    /// `opaque x<floor..ceiling>` with a 1-byte length; returns the vector's contents.
    mutating func readLengthPrefixed8(
        _ field: @autoclosure () -> String, min floor: Int = 0, max ceiling: Int = 0xFF
    ) throws(WireError) -> WireReader {
        let length = Int(try readUInt8(field()))
        return try readVectorBody(length: length, floor: floor, ceiling: ceiling, field())
    }

    /// `x<floor..ceiling>` with a 2-byte length.
    mutating func readLengthPrefixed16(
        _ field: @autoclosure () -> String, min floor: Int = 0, max ceiling: Int = 0xFFFF
    ) throws(WireError) -> WireReader {
        let length = Int(try readUInt16(field()))
        return try readVectorBody(length: length, floor: floor, ceiling: ceiling, field())
    }

    /// `x<floor..ceiling>` with a 3-byte length.
    mutating func readLengthPrefixed24(
        _ field: @autoclosure () -> String, min floor: Int = 0, max ceiling: Int = 0xFF_FFFF
    ) throws(WireError) -> WireReader {
        let length = Int(try readUInt24(field()))
        return try readVectorBody(length: length, floor: floor, ceiling: ceiling, field())
    }

    private mutating func readVectorBody(
        length: Int, floor: Int, ceiling: Int, _ field: @autoclosure () -> String
    ) throws(WireError) -> WireReader {
        guard length >= floor, length <= ceiling else {
            throw WireError(.invalidLength, "\(field()): length \(length) outside \(floor)...\(ceiling)")
        }
        guard length <= readableBytes else {
            throw WireError(.truncated, "\(field()): length \(length) but \(readableBytes) bytes left")
        }
        defer { index += length }
        return WireReader(UnsafeRawBufferPointer(rebasing: bytes[index..<(index + length)]))
    }

    /// Every structure ends here: RFC 8446 §4 requires the lengths to account for every byte.
    func expectFullyConsumed(_ field: @autoclosure () -> String) throws(WireError) {
        guard readableBytes == 0 else {
            throw WireError(.trailingBytes, "\(field()): \(readableBytes) trailing bytes")
        }
    }

    /// The unread bytes, copied.
    var remainingBytes: [UInt8] { Array(readableBytesView) }

    /// The rest, copied and consumed: for opaque bodies that run to the end of their container.
    mutating func readRemainingBytes() -> [UInt8] {
        defer { index = bytes.count }
        return remainingBytes
    }
}

extension ByteBuffer {
    /// Runs `body` on a `WireReader` over the readable bytes, then moves the reader index past
    /// what `body` consumed. The reader must not escape `body`.
    mutating func withWireReader<Value>(
        _ body: (inout WireReader) throws(WireError) -> Value
    ) throws(WireError) -> Value {
        let (result, consumed) = withUnsafeReadableBytes { raw -> (Result<Value, WireError>, Int) in
            var reader = WireReader(raw)
            let result = Result { () throws(WireError) -> Value in try body(&reader) }
            return (result, raw.count - reader.readableBytes)
        }
        moveReaderIndex(forwardBy: consumed)
        return try result.get()
    }
}
