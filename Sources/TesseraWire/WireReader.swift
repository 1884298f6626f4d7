import NIOCore

/// The presentation-language reads of `ByteBuffer+Wire.swift` over borrowed bytes, for the
/// decoders of the hottest input, a ClientHello and its extensions.
///
/// A `ByteBuffer` slice retains its storage, and each of its reads goes through NIO's class
/// storage with a dynamic exclusivity check; a ClientHello of a dozen extensions made some 200
/// such reference-count and access calls, half of its 5 µs decoding. A `WireReader` is a window
/// on bytes that its caller keeps alive (see `ByteBuffer.withWireReader`), so reading it costs
/// only the bounds checks. The vector reads and the end check are shared with `ByteBuffer`
/// (`WirePresentationReader`), so a decoder reads the same either way, with the same errors.
struct WireReader: WirePresentationReader {
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

    /// Skips `count` bytes, at most to the end; never backwards.
    mutating func moveReaderIndex(forwardBy count: Int) {
        index += max(0, min(count, readableBytes))
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

    /// The next `length` bytes as a reader of their own (the vectors of `WirePresentationReader`).
    mutating func readVector(length: Int) -> WireReader? {
        guard length >= 0, length <= readableBytes else { return nil }
        defer { index += length }
        return WireReader(UnsafeRawBufferPointer(rebasing: bytes[index..<(index + length)]))
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
