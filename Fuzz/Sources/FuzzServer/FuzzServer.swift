import Foundation
import NIOCore
import TesseraCore
import TesseraCrypto
import TesseraSessions

/// A server fed arbitrary bytes, in arbitrary chunks: it may fail, never crash or spin. With a
/// ticket key ring, so offered tickets and PSKs (TLS 1.2 session_ticket, TLS 1.3 pre_shared_key
/// with its binders) reach the ticket-opening code.
private let configuration: TLSConfiguration = {
    let key = SigningKey.generateP256()
    var configuration = TLSConfiguration()
    configuration.privateKey = key
    configuration.certificateChain = try? CertificateChain.selfSigned(commonName: "localhost", key: key)
    configuration.ticketKeys = TicketKeyRing(start: Date())
    return configuration
}()

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafeRawPointer, _ size: Int) -> CInt {
    let bytes = UnsafeRawBufferPointer(start: data, count: size)
    var server = ServerConnection(configuration: configuration)
    var offset = 0
    var chunk = 1
    while offset < size {
        let end = min(size, offset + chunk)
        _ = server.receive(ByteBuffer(bytes: bytes[offset..<end]))
        offset = end
        chunk = chunk * 3 + 1
    }
    return 0
}
