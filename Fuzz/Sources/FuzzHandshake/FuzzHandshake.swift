import NIOCore
import TesseraWire

/// Every handshake message decoder: first byte = message type, the rest = body. A message that
/// decodes must re-encode to bytes that decode to the same value.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafeRawPointer, _ size: Int) -> CInt {
    guard size >= 2 else { return 0 }
    let bytes = UnsafeRawBufferPointer(start: data, count: size)
    let version: ProtocolVersion = bytes[0] & 0x80 == 0 ? .tls12 : .tls13
    let type = HandshakeType(rawValue: bytes[1])
    var framed = ByteBuffer()
    framed.writeInteger(type.rawValue)
    let body = bytes[2...]
    framed.writeInteger(UInt8(truncatingIfNeeded: body.count >> 16))
    framed.writeInteger(UInt16(truncatingIfNeeded: body.count))
    framed.writeBytes(body)
    var reassembler = HandshakeReassembler()
    reassembler.append(framed)
    guard let raw = try? reassembler.nextMessage(),
          let message = try? HandshakeMessage(decoding: raw, version: version) else { return 0 }
    let encoded = message.encoded(version: version)
    var again = HandshakeReassembler()
    again.append(encoded)
    guard let raw2 = try? again.nextMessage(),
          let message2 = try? HandshakeMessage(decoding: raw2, version: version) else {
        fatalError("re-encoded \(type) does not decode")
    }
    if message2 != message { fatalError("re-encoded \(type) decodes differently") }
    return 0
}
