import NIOCore
import TesseraWire

/// The record layer and handshake framing: arbitrary bytes in, records and reassembled messages
/// out, each decoded as both versions.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafeRawPointer, _ size: Int) -> CInt {
    let bytes = UnsafeRawBufferPointer(start: data, count: size)
    var parser = RecordParser()
    var reassembler = HandshakeReassembler()
    // Feed in two chunks to exercise partial records.
    let split = size / 2
    parser.append(ByteBuffer(bytes: bytes[0..<split]))
    parser.append(ByteBuffer(bytes: bytes[split...]))
    while true {
        guard let record = try? parser.nextRecord() else { break }
        switch record.contentType {
        case .handshake:
            reassembler.append(record.fragment)
            while let message = try? reassembler.nextMessage() {
                _ = try? HandshakeMessage(decoding: message, version: .tls12)
                _ = try? HandshakeMessage(decoding: message, version: .tls13)
            }
        case .alert:
            _ = try? Alert(decoding: record.fragment)
        case .changeCipherSpec:
            _ = try? ChangeCipherSpec.validate(record.fragment)
        default:
            continue
        }
    }
    return 0
}
