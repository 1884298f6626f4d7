import NIOCore

/// Where messages and extensions are encoded: the presentation-language writes of RFC 8446 §3 /
/// RFC 5246 §4 (big-endian integers, `<floor..ceiling>` vectors with a 1-, 2- or 3-byte length)
/// into a byte array.
///
/// Encoders write many small fields. Into a `ByteBuffer` each write is a call into NIO (an
/// exclusivity check, a capacity check and a `memcpy`, about a hundred instructions); here an
/// integer is a few appends the compiler inlines. A message is encoded here and goes into its
/// flight's `ByteBuffer` as one write (`HandshakeMessage.encode(into:version:)`).
public struct WireWriter: Sendable {
    /// Everything written so far.
    public private(set) var bytes: [UInt8]

    /// `capacity`: the bytes expected, so that most messages never grow the array.
    public init(capacity: Int = 256) {
        bytes = []
        bytes.reserveCapacity(capacity)
    }

    public mutating func writeInteger(_ value: UInt8) {
        bytes.append(value)
    }

    public mutating func writeInteger(_ value: UInt16) {
        bytes.append(UInt8(truncatingIfNeeded: value >> 8))
        bytes.append(UInt8(truncatingIfNeeded: value))
    }

    public mutating func writeInteger(_ value: UInt32) {
        bytes.append(UInt8(truncatingIfNeeded: value >> 24))
        bytes.append(UInt8(truncatingIfNeeded: value >> 16))
        bytes.append(UInt8(truncatingIfNeeded: value >> 8))
        bytes.append(UInt8(truncatingIfNeeded: value))
    }

    public mutating func writeBytes(_ other: [UInt8]) {
        bytes.append(contentsOf: other)
    }

    /// The readable bytes of `buffer`.
    public mutating func writeBytes(_ buffer: ByteBuffer) {
        buffer.withUnsafeReadableBytes { bytes.append(contentsOf: $0) }
    }

    public mutating func writeRepeatingByte(_ byte: UInt8, count: Int) {
        bytes.append(contentsOf: repeatElement(byte, count: max(0, count)))
    }

    /// Writes a 1-byte length, the body, then patches the length. A body longer than `ceiling` is
    /// cut to `ceiling` bytes: encoders are given valid values, and cutting keeps the output
    /// well-formed instead of trapping on a length that does not fit. Inlined with the body into
    /// each encoder: as functions of their own, they were cloned per body closure anyway.
    @inline(__always)
    public mutating func writeLengthPrefixed8(max ceiling: Int = 0xFF, _ body: (inout WireWriter) -> Void) {
        let lengthIndex = bytes.count
        bytes.append(0)
        body(&self)
        let length = cut(bodyStart: lengthIndex + 1, ceiling: min(ceiling, 0xFF))
        bytes[lengthIndex] = UInt8(truncatingIfNeeded: length)
    }

    @inline(__always)
    public mutating func writeLengthPrefixed16(max ceiling: Int = 0xFFFF, _ body: (inout WireWriter) -> Void) {
        let lengthIndex = bytes.count
        bytes.append(0)
        bytes.append(0)
        body(&self)
        let length = cut(bodyStart: lengthIndex + 2, ceiling: min(ceiling, 0xFFFF))
        bytes[lengthIndex] = UInt8(truncatingIfNeeded: length >> 8)
        bytes[lengthIndex + 1] = UInt8(truncatingIfNeeded: length)
    }

    @inline(__always)
    public mutating func writeLengthPrefixed24(max ceiling: Int = 0xFF_FFFF, _ body: (inout WireWriter) -> Void) {
        let lengthIndex = bytes.count
        bytes.append(0)
        bytes.append(0)
        bytes.append(0)
        body(&self)
        let length = cut(bodyStart: lengthIndex + 3, ceiling: min(ceiling, 0xFF_FFFF))
        bytes[lengthIndex] = UInt8(truncatingIfNeeded: length >> 16)
        bytes[lengthIndex + 1] = UInt8(truncatingIfNeeded: length >> 8)
        bytes[lengthIndex + 2] = UInt8(truncatingIfNeeded: length)
    }

    /// The length of what was written since `bodyStart`, cut to `ceiling`.
    private mutating func cut(bodyStart: Int, ceiling: Int) -> Int {
        let length = bytes.count - bodyStart
        guard length > ceiling else { return length }
        bytes.removeLast(length - ceiling)
        return ceiling
    }
}
