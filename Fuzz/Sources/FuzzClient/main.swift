import Foundation
import NIOCore
import TesseraCore
import TesseraCrypto
import TesseraSessions
import TesseraWire

/// A client fed arbitrary bytes as its server's answer, in arbitrary chunks: it may fail, never
/// crash or spin. The first byte picks the offer (TLS 1.2 and 1.3, 1.2 only, 1.3 only; with or
/// without a stored TLS 1.2 and TLS 1.3 session to resume), so ServerHello and HelloRetryRequest
/// handling, the TLS 1.2 server flight (Certificate, ServerKeyExchange, CertificateRequest,
/// NewSessionTicket) and the resumption paths all see hostile input. A `.verifyPeer` request is
/// answered at once, as valid.
private let sessions: [SessionState] = [.tls12, .tls13].map { version in
    SessionState(
        version: version, cipherSuite: version == .tls13 ? .tlsAES128GCMSHA256 : .ecdheECDSAWithAES128GCMSHA256,
        masterSecret: [UInt8](repeating: 7, count: version == .tls13 ? 32 : 48), time: Date(), timeout: 7200,
        hostname: "localhost", ticket: [UInt8](repeating: 0xA5, count: 96), extendedMasterSecret: true,
        ticketAgeAdd: version == .tls13 ? 12345 : nil)
}

private func configuration(_ variant: UInt8) -> TLSConfiguration {
    var configuration = TLSConfiguration()
    switch variant % 3 {
    case 0: configuration.maximumVersion = .tls13
    case 1: configuration.maximumVersion = .tls12
    default: configuration.minimumVersion = .tls13; configuration.maximumVersion = .tls13
    }
    configuration.certificateVerification = variant & 4 == 0 ? .none : .required
    return configuration
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafeRawPointer, _ size: Int) -> CInt {
    guard size >= 1 else { return 0 }
    let bytes = UnsafeRawBufferPointer(start: data, count: size)
    let variant = bytes[0]
    let session: SessionState? = variant & 8 == 0 ? nil : sessions[Int(variant >> 4) % sessions.count]
    var client = ClientConnection(configuration: configuration(variant), serverName: "localhost", session: session)
    var pending = client.startHandshake()
    var offset = 1
    var chunk = 1
    while offset < size {
        let end = min(size, offset + chunk)
        pending = client.receive(ByteBuffer(bytes: bytes[offset..<end]))
        if pending.contains(where: { if case .verifyPeer = $0 { return true } else { return false } }) {
            pending = client.peerVerificationCompleted(VerificationResult(isValid: true, code: 0, message: "ok"))
        }
        offset = end
        chunk = chunk * 3 + 1
    }
    _ = pending
    return 0
}
