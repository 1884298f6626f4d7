import NIOCore
import TesseraCrypto

/// What a driver (the NIO handlers, tests, benchmarks) needs of either side.
public protocol TLSConnectionProtocol: Sendable {
    /// The first flight (a client's ClientHello; nothing for a server).
    mutating func startHandshake() -> [TLSAction]
    mutating func receive(_ bytes: ByteBuffer) -> [TLSAction]
    mutating func sendApplicationData(_ data: ByteBuffer) -> [TLSAction]
    mutating func close() -> [TLSAction]
    mutating func peerVerificationCompleted(_ result: VerificationResult) -> [TLSAction]
    /// Client: start a TLS 1.2 renegotiation. Server: nothing (renegotiation is the client's).
    mutating func renegotiate() -> [TLSAction]
    /// TLS 1.3 KeyUpdate; nothing on TLS 1.2.
    mutating func updateKeys(requestPeerUpdate: Bool) -> [TLSAction]
    var isHandshakeComplete: Bool { get }
    var isClosed: Bool { get }
}

extension ClientConnection: TLSConnectionProtocol {}

extension ServerConnection: TLSConnectionProtocol {
    public mutating func startHandshake() -> [TLSAction] { [] }
    public mutating func renegotiate() -> [TLSAction] { [] }
}
