import NIOCore
import TesseraCore
import TesseraCrypto

/// A server fed arbitrary bytes, in arbitrary chunks: it may fail, never crash or spin.
private let configuration: TLSConfiguration = {
    let key = SigningKey.generateP256()
    var configuration = TLSConfiguration()
    configuration.privateKey = key
    configuration.certificateChain = try? CertificateChain.selfSigned(commonName: "localhost", key: key)
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
