import MallocInterposerSwift
import NIOCore
import NIOEmbedded
import NIOSSL
import TesseraBenchSupport

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// swift-nio-ssl's side of the benchmarks: a client and a server handler on two EmbeddedChannels
/// sharing one EmbeddedEventLoop, with bytes moved between them by hand (no sockets, no threads),
/// so a handshake costs only TLS work. Every move is timed on the thread CPU clock and charged to
/// the side that processed it, which gives client and server CPU separately (DESIGN.md §8).
final class NIOSSLPair {
    /// The suite of the TLS 1.2 benchmarks (and of `Benchmarks/openssl/tls_bench.c`).
    static let cipherSuite = "ECDHE-ECDSA-AES128-GCM-SHA256"

    struct Contexts: Sendable {
        let client: NIOSSLContext
        let server: NIOSSLContext

        /// TLS 1.2 only, one suite, X25519, the P-256 certificate; the client trusts it and checks
        /// the name, as a real client would. The client also offers P-256, after X25519: a TLS 1.2
        /// client's supported_groups covers its ECDSA certificate curves too (RFC 8422 §5.1).
        static func tls12() throws -> Contexts {
            var server = TLSConfiguration.makeServerConfiguration(
                certificateChain: [.certificate(try BenchmarkIdentity.certificate())],
                privateKey: .privateKey(try BenchmarkIdentity.privateKey()))
            server.minimumTLSVersion = .tlsv12
            server.maximumTLSVersion = .tlsv12
            server.cipherSuites = NIOSSLPair.cipherSuite
            server.curves = [.x25519]

            var client = TLSConfiguration.makeClientConfiguration()
            client.minimumTLSVersion = .tlsv12
            client.maximumTLSVersion = .tlsv12
            client.cipherSuites = NIOSSLPair.cipherSuite
            client.curves = [.x25519, .secp256r1]
            client.trustRoots = .certificates([try BenchmarkIdentity.certificate()])
            return Contexts(client: try NIOSSLContext(configuration: client), server: try NIOSSLContext(configuration: server))
        }

        /// TLS 1.3 only, X25519 (the client lists P-256 after it but sends one key share), the
        /// P-256 certificate, verified by the client. BoringSSL's TLS 1.3 suites are not
        /// configurable: with AES hardware (this machine has AES-NI) both sides prefer
        /// TLS_AES_128_GCM_SHA256, the suite of the other two programs. The server sends
        /// BoringSSL's default of two NewSessionTickets after the handshake (`num_tickets = 2` in
        /// ssl/internal.h; swift-nio-ssl does not change it), which the client parses in full
        /// (tls13_process_new_session_ticket) even with no session cache: the same two tickets
        /// as in Tessera's and OpenSSL's TLS 1.3 full handshakes.
        static func tls13() throws -> Contexts {
            var server = TLSConfiguration.makeServerConfiguration(
                certificateChain: [.certificate(try BenchmarkIdentity.certificate())],
                privateKey: .privateKey(try BenchmarkIdentity.privateKey()))
            server.minimumTLSVersion = .tlsv13
            server.maximumTLSVersion = .tlsv13
            server.curves = [.x25519]

            var client = TLSConfiguration.makeClientConfiguration()
            client.minimumTLSVersion = .tlsv13
            client.maximumTLSVersion = .tlsv13
            client.curves = [.x25519, .secp256r1]
            client.trustRoots = .certificates([try BenchmarkIdentity.certificate()])
            return Contexts(client: try NIOSSLContext(configuration: client), server: try NIOSSLContext(configuration: server))
        }
    }

    let loop = EmbeddedEventLoop()
    let client: EmbeddedChannel
    let server: EmbeddedChannel
    private(set) var clientCPUNanoseconds: UInt64 = 0
    private(set) var serverCPUNanoseconds: UInt64 = 0

    init(_ contexts: Contexts) throws {
        client = EmbeddedChannel(loop: loop)
        server = EmbeddedChannel(loop: loop)
        try client.pipeline.syncOperations.addHandler(
            try NIOSSLClientHandler(context: contexts.client, serverHostname: "localhost"))
        try server.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: contexts.server))
    }

    /// A full handshake: connect both ends (the client's connect writes its ClientHello),
    /// then move flights until neither side has anything to send.
    func handshake() throws {
        try begin()
        try pump()
    }

    // The handshake in steps, for several connections advanced together (the busy-server
    // benchmark): `begin`, then `serverTurn` and `clientTurn` in turn while either moves bytes.

    /// Connects both ends; the client's connect writes its ClientHello.
    func begin() throws {
        let address = try SocketAddress(ipAddress: "127.0.0.1", port: 443)
        try timed(client: true) { _ = try client.connect(to: address).wait() }
        try timed(client: false) { _ = try server.connect(to: address).wait() }
    }

    /// The server reads everything the client wrote since its last turn; whether anything moved.
    func serverTurn() throws -> Bool { try turn(from: client, to: server, receiverIsClient: false) }

    /// The client reads everything the server wrote since its last turn; whether anything moved.
    func clientTurn() throws -> Bool { try turn(from: server, to: client, receiverIsClient: true) }

    private func turn(from sender: EmbeddedChannel, to receiver: EmbeddedChannel, receiverIsClient: Bool) throws -> Bool {
        loop.run()
        var moved = false
        while let bytes = try sender.readOutbound(as: IOData.self) {
            try timed(client: receiverIsClient) { _ = try receiver.writeInbound(bytes) }
            moved = true
        }
        return moved
    }

    /// The protocol version the client negotiated (nil before the handshake).
    func negotiatedVersion() throws -> TLSVersion? {
        try client.pipeline.syncOperations.handler(type: NIOSSLClientHandler.self).tlsVersion
    }

    /// Moves every pending record across until both directions are quiet.
    func pump() throws {
        var moved = true
        while moved {
            moved = false
            loop.run()
            if let toServer = try client.readOutbound(as: IOData.self) {
                try timed(client: false) { _ = try server.writeInbound(toServer) }
                moved = true
            }
            if let toClient = try server.readOutbound(as: IOData.self) {
                try timed(client: true) { _ = try client.writeInbound(toClient) }
                moved = true
            }
        }
    }

    /// Client writes one application record, it crosses, the server decrypts it and we drop it.
    /// Returns the plaintext bytes the server delivered.
    @discardableResult
    func sendRecord(_ buffer: ByteBuffer) throws -> Int {
        try timed(client: true) { try client.writeAndFlush(buffer).wait() }
        try pump()
        var delivered = 0
        while let plaintext = try server.readInbound(as: ByteBuffer.self) { delivered += plaintext.readableBytes }
        return delivered
    }

    /// Closes the connection properly: the client's close_notify crosses, the server answers
    /// with its own, both channels close. (EmbeddedChannel.finish() alone would block forever:
    /// NIOSSL completes the close only after the peer's close_notify or a timeout, and an
    /// EmbeddedEventLoop's clock never moves by itself.)
    func discard() {
        client.close(promise: nil)
        try? pump()
        loop.advanceTime(by: .seconds(60))  // fire any shutdown timeout still pending
        try? pump()
        _ = try? client.finish(acceptAlreadyClosed: true)
        _ = try? server.finish(acceptAlreadyClosed: true)
    }

    func resetCPU() {
        clientCPUNanoseconds = 0
        serverCPUNanoseconds = 0
    }

    private func timed(client isClient: Bool, _ body: () throws -> Void) throws {
        let start = threadCPUNanoseconds()
        defer {
            let spent = threadCPUNanoseconds() &- start
            if isClient { clientCPUNanoseconds &+= spent } else { serverCPUNanoseconds &+= spent }
        }
        try body()
    }
}

/// Net heap bytes allocated and not yet freed, as counted by the benchmark's malloc interposer
/// (requested sizes; counting is on only inside a benchmark's measured region, and 0 when the
/// interposer is not loaded). Glibc's mallinfo2 is no use here: under the interposer it did not move.
func heapBytesInUse() -> Int {
    let stats = MallocInterposerSwift.getStatistics()
    return stats.mallocBytesCount - stats.freeBytesCount
}
