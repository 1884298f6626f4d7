import NIOCore

// Reading the presentation language of RFC 8446 §3 / RFC 5246 §4 (writing it: `WireWriter`):
// fixed-width integers and `<floor..ceiling>` vectors with a 1-, 2- or 3-byte length prefix. Every
// read names the field it reads so that a decode error says where the input went wrong.

extension ByteBuffer: WirePresentationReader {
    mutating func readUInt8(_ field: @autoclosure () -> String) throws(WireError) -> UInt8 {
        guard let value = readInteger(as: UInt8.self) else { throw truncated(field()) }
        return value
    }

    mutating func readUInt16(_ field: @autoclosure () -> String) throws(WireError) -> UInt16 {
        guard let value = readInteger(as: UInt16.self) else { throw truncated(field()) }
        return value
    }

    mutating func readUInt24(_ field: @autoclosure () -> String) throws(WireError) -> UInt32 {
        guard let high = readInteger(as: UInt8.self), let low = readInteger(as: UInt16.self) else {
            throw truncated(field())
        }
        return UInt32(high) << 16 | UInt32(low)
    }

    mutating func readUInt32(_ field: @autoclosure () -> String) throws(WireError) -> UInt32 {
        guard let value = readInteger(as: UInt32.self) else { throw truncated(field()) }
        return value
    }

    /// A fixed-size opaque field (`opaque random[32]`).
    mutating func readFixedBytes(_ count: Int, _ field: @autoclosure () -> String) throws(WireError) -> [UInt8] {
        guard let bytes = readBytes(length: count) else { throw truncated(field()) }
        return bytes
    }

    /// The next `length` bytes as a slice (the vectors of `WirePresentationReader`).
    mutating func readVector(length: Int) -> ByteBuffer? {
        readSlice(length: length)
    }

    var remainingBytes: [UInt8] { Array(readableBytesView) }

    /// The rest of the buffer, consumed: for opaque bodies that run to the end of their container.
    mutating func readRemainingBytes() -> [UInt8] {
        let bytes = Array(readableBytesView)
        moveReaderIndex(forwardBy: bytes.count)
        return bytes
    }
}

@inline(__always)
func truncated(_ field: String) -> WireError {
    WireError(.truncated, "\(field): input ended")
}

/// The reads both `ByteBuffer` and `WireReader` make the same way on top of their integer reads
/// and slicing: `<floor..ceiling>` vectors with a 1-, 2- or 3-byte length, and the end check.
protocol WirePresentationReader {
    /// What a vector's body is read as: a slice of the same kind of reader.
    associatedtype Vector
    var readableBytes: Int { get }
    mutating func readUInt8(_ field: @autoclosure () -> String) throws(WireError) -> UInt8
    mutating func readUInt16(_ field: @autoclosure () -> String) throws(WireError) -> UInt16
    mutating func readUInt24(_ field: @autoclosure () -> String) throws(WireError) -> UInt32
    /// The next `length` bytes, consumed; nil when fewer are left.
    mutating func readVector(length: Int) -> Vector?
}

extension WirePresentationReader {
    /// `opaque x<floor..ceiling>` with a 1-byte length; returns the vector's contents.
    mutating func readLengthPrefixed8(
        _ field: @autoclosure () -> String, min floor: Int = 0, max ceiling: Int = 0xFF
    ) throws(WireError) -> Vector {
        let length = Int(try readUInt8(field()))
        return try readVectorBody(length: length, floor: floor, ceiling: ceiling, field())
    }

    /// `x<floor..ceiling>` with a 2-byte length.
    mutating func readLengthPrefixed16(
        _ field: @autoclosure () -> String, min floor: Int = 0, max ceiling: Int = 0xFFFF
    ) throws(WireError) -> Vector {
        let length = Int(try readUInt16(field()))
        return try readVectorBody(length: length, floor: floor, ceiling: ceiling, field())
    }

    /// `x<floor..ceiling>` with a 3-byte length.
    mutating func readLengthPrefixed24(
        _ field: @autoclosure () -> String, min floor: Int = 0, max ceiling: Int = 0xFF_FFFF
    ) throws(WireError) -> Vector {
        let length = Int(try readUInt24(field()))
        return try readVectorBody(length: length, floor: floor, ceiling: ceiling, field())
    }

    private mutating func readVectorBody(
        length: Int, floor: Int, ceiling: Int, _ field: @autoclosure () -> String
    ) throws(WireError) -> Vector {
        guard length >= floor, length <= ceiling else {
            throw WireError(.invalidLength, "\(field()): length \(length) outside \(floor)...\(ceiling)")
        }
        guard let vector = readVector(length: length) else {
            throw WireError(.truncated, "\(field()): length \(length) but \(readableBytes) bytes left")
        }
        return vector
    }

    /// Every structure ends here: RFC 8446 §4 requires the lengths to account for every byte.
    func expectFullyConsumed(_ field: @autoclosure () -> String) throws(WireError) {
        guard readableBytes == 0 else {
            throw WireError(.trailingBytes, "\(field()): \(readableBytes) trailing bytes")
        }
    }
}
