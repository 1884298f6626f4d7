import Foundation
import NIOCore
import NIOEmbedded
import NIOPosix
import NIOTLS
import TesseraCore
import TesseraCrypto
import TesseraNIO
import TesseraSessions
import XCTest

/// Collects what reaches the application above the TLS handler.
final class Collector: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = ByteBuffer

    var received: [UInt8] = []
    var summary: HandshakeSummary?
    var errors: [Error] = []
    var shutdown = false
    var onData: (([UInt8]) -> Void)?

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let bytes = Array(unwrapInboundIn(data).readableBytesView)
        received += bytes
        onData?(bytes)
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let completed = event as? TLSHandshakeCompletedEvent { summary = completed.summary }
        if case .shutdownCompleted? = event as? TLSUserEvent { shutdown = true }
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        errors.append(error)
    }
}

enum Fixtures {
    static let server: TLSContext? = {
        let key = SigningKey.generateP256()
        var configuration = TLSConfiguration()
        configuration.privateKey = key
        configuration.certificateChain = try? CertificateChain.selfSigned(commonName: "localhost", key: key)
        return try? TLSContext(configuration: configuration)
    }()

    static let client: TLSContext? = {
        var configuration = TLSConfiguration()
        configuration.certificateVerification = .none
        return try? TLSContext(configuration: configuration)
    }()
}

final class EmbeddedHandlerTests: XCTestCase {
    /// Moves bytes between two EmbeddedChannels until neither has anything to say.
    private func interact(_ client: EmbeddedChannel, _ server: EmbeddedChannel) throws {
        var moved = true
        var rounds = 0
        while moved, rounds < 100 {
            moved = false
            rounds += 1
            while let bytes = try client.readOutbound(as: ByteBuffer.self) {
                try server.writeInbound(bytes)
                moved = true
            }
            while let bytes = try server.readOutbound(as: ByteBuffer.self) {
                try client.writeInbound(bytes)
                moved = true
            }
        }
    }

    func testBackToBackHandshakeDataAndClose() throws {
        let serverContext = try XCTUnwrap(Fixtures.server)
        let clientContext = try XCTUnwrap(Fixtures.client)
        let clientCollector = Collector()
        let serverCollector = Collector()
        let client = EmbeddedChannel(handlers: [TLSClientHandler(context: clientContext, serverHostname: "localhost"), clientCollector])
        let server = EmbeddedChannel(handlers: [TLSServerHandler(context: serverContext), serverCollector])
        try server.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 1)).wait()
        try client.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 2)).wait()
        try interact(client, server)

        XCTAssertNotNil(clientCollector.summary)
        XCTAssertNotNil(serverCollector.summary)
        XCTAssertEqual(clientCollector.summary?.masterSecret, serverCollector.summary?.masterSecret)

        let payload = (0..<40_000).map { UInt8(truncatingIfNeeded: $0) }
        try client.writeAndFlush(ByteBuffer(bytes: payload)).wait()
        try interact(client, server)
        XCTAssertEqual(serverCollector.received, payload)

        try server.writeAndFlush(ByteBuffer(string: "pong")).wait()
        try interact(client, server)
        XCTAssertEqual(clientCollector.received, Array("pong".utf8))

        // close_notify from the client; the server answers and both end cleanly.
        let closed = client.close()
        try interact(client, server)
        try closed.wait()
        XCTAssertTrue(serverCollector.shutdown)
        XCTAssertTrue(serverCollector.errors.isEmpty)
        XCTAssertTrue(clientCollector.errors.isEmpty)
    }

    /// A client and a server handler on EmbeddedChannels, connected, before any TLS byte moved;
    /// the collector sees what reaches the server's application.
    private func connectedPair() throws -> (client: EmbeddedChannel, server: EmbeddedChannel, serverCollector: Collector) {
        let serverContext = try XCTUnwrap(Fixtures.server)
        let clientContext = try XCTUnwrap(Fixtures.client)
        let serverCollector = Collector()
        let client = EmbeddedChannel(handlers: [TLSClientHandler(context: clientContext, serverHostname: "localhost")])
        let server = EmbeddedChannel(handlers: [TLSServerHandler(context: serverContext), serverCollector])
        try server.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 1)).wait()
        try client.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 2)).wait()
        return (client, server, serverCollector)
    }

    /// Application writes leave on the application's flush, several of them together.
    func testWritesWaitForFlush() throws {
        let (client, server, serverCollector) = try connectedPair()
        try interact(client, server)

        let first = client.write(ByteBuffer(string: "head "))
        let second = client.write(ByteBuffer(string: "body"))
        XCTAssertNil(try client.readOutbound(as: ByteBuffer.self), "a write went out before the flush")
        client.flush()
        try interact(client, server)
        try first.wait()
        try second.wait()
        XCTAssertEqual(serverCollector.received, Array("head body".utf8))
    }

    func testWritesBeforeHandshakeAreDeliveredAfterIt() throws {
        let (client, server, serverCollector) = try connectedPair()
        let write = client.writeAndFlush(ByteBuffer(string: "early"))
        try interact(client, server)
        try write.wait()
        XCTAssertEqual(serverCollector.received, Array("early".utf8))
    }

    /// The client handler resumes from the context's session store and keeps it up to date.
    func testSessionStoreResumesTheNextConnection() throws {
        let key = SigningKey.generateP256()
        var serverConfiguration = TLSConfiguration()
        serverConfiguration.privateKey = key
        serverConfiguration.certificateChain = try CertificateChain.selfSigned(commonName: "localhost", key: key)
        serverConfiguration.ticketKeys = TicketKeyRing(start: Date())
        let serverContext = try TLSContext(configuration: serverConfiguration)
        let clientContext = try XCTUnwrap(Fixtures.client)

        var summaries: [HandshakeSummary] = []
        for _ in 0..<2 {
            let collector = Collector()
            let client = EmbeddedChannel(handlers: [TLSClientHandler(context: clientContext, serverHostname: "localhost", port: 443), collector])
            let server = EmbeddedChannel(handlers: [TLSServerHandler(context: serverContext)])
            try server.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 1)).wait()
            try client.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 2)).wait()
            try interact(client, server)
            summaries.append(try XCTUnwrap(collector.summary))
        }
        XCTAssertEqual(summaries.map(\.resumed), [false, true])
        XCTAssertNotNil(clientContext.sessionStore.session(for: SessionKey(serverName: "localhost", port: 443)))
    }

    /// TLS 1.3: tickets are kept several per server and each is offered once (RFC 8446 C.4).
    func testTLS13TicketsAreUsedOnce() throws {
        let key = SigningKey.generateP256()
        var serverConfiguration = TLSConfiguration()
        serverConfiguration.maximumVersion = .tls13
        serverConfiguration.privateKey = key
        serverConfiguration.certificateChain = try CertificateChain.selfSigned(commonName: "localhost", key: key)
        serverConfiguration.ticketKeys = TicketKeyRing(start: Date())
        let serverContext = try TLSContext(configuration: serverConfiguration)
        var clientConfiguration = TLSConfiguration()
        clientConfiguration.maximumVersion = .tls13
        clientConfiguration.certificateVerification = .none
        let clientContext = try TLSContext(configuration: clientConfiguration)
        let storeKey = SessionKey(serverName: "localhost", port: 443)

        var offered: [[UInt8]] = []
        var resumed: [Bool] = []
        for _ in 0..<4 {
            let next = clientContext.sessionStore.session(for: storeKey)
            let collector = Collector()
            let client = EmbeddedChannel(handlers: [TLSClientHandler(context: clientContext, serverHostname: "localhost", port: 443), collector])
            let server = EmbeddedChannel(handlers: [TLSServerHandler(context: serverContext)])
            try server.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 1)).wait()
            try client.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 2)).wait()
            try interact(client, server)
            let summary = try XCTUnwrap(collector.summary)
            resumed.append(summary.resumed)
            if let ticket = next?.ticket { offered.append(ticket) }
        }
        XCTAssertEqual(resumed, [false, true, true, true])
        XCTAssertEqual(Set(offered).count, offered.count, "no ticket offered twice")
    }

    func testGarbageClosesServerWithAlert() throws {
        let serverContext = try XCTUnwrap(Fixtures.server)
        let collector = Collector()
        let server = EmbeddedChannel(handlers: [TLSServerHandler(context: serverContext), collector])
        try server.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 1)).wait()
        try server.writeInbound(ByteBuffer(string: "GET / HTTP/1.0\r\n\r\n"))
        let alert = try XCTUnwrap(server.readOutbound(as: ByteBuffer.self))
        XCTAssertEqual(Array(alert.readableBytesView), [0x15, 0x03, 0x03, 0x00, 0x02, 0x02, 70])
        XCTAssertFalse(server.isActive)
        XCTAssertEqual(collector.errors.count, 1)
    }
}

final class LoopbackHandlerTests: XCTestCase {
    func testRealSocketsWithCertificateVerification() throws {
        let key = SigningKey.generateP256()
        let chain = try CertificateChain.selfSigned(commonName: "localhost", key: key)
        var serverConfiguration = TLSConfiguration()
        serverConfiguration.privateKey = key
        serverConfiguration.certificateChain = chain
        let serverContext = try TLSContext(configuration: serverConfiguration)
        var clientConfiguration = TLSConfiguration()
        clientConfiguration.certificateVerification = .required
        clientConfiguration.trustRoots = .certificates(chain.certificates)
        let clientContext = try TLSContext(configuration: clientConfiguration)

        let group = MultiThreadedEventLoopGroup(numberOfThreads: 2)
        defer { try? group.syncShutdownGracefully() }
        let server = try ServerBootstrap(group: group)
            .serverChannelOption(ChannelOptions.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandlers([TLSServerHandler(context: serverContext), Echo()])
                }
            }
            .bind(host: "127.0.0.1", port: 0).wait()
        defer { try? server.close().wait() }
        let port = try XCTUnwrap(server.localAddress?.port)

        let done = group.next().makePromise(of: [UInt8].self)
        let collector = Collector()
        let expected = 1 << 20
        collector.onData = { _ in
            if collector.received.count >= expected { done.succeed(collector.received) }
        }
        let client = try ClientBootstrap(group: group)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandlers([
                        TLSClientHandler(context: clientContext, serverHostname: "localhost"), collector,
                    ])
                }
            }
            .connect(host: "127.0.0.1", port: port).wait()
        let payload = (0..<expected).map { UInt8(truncatingIfNeeded: $0 &* 31) }
        try client.writeAndFlush(ByteBuffer(bytes: payload)).wait()
        let echoed = try done.futureResult.wait()
        XCTAssertEqual(echoed, payload)
        XCTAssertEqual(collector.summary?.verification?.isValid, true)
        try client.close().wait()
    }
}

/// Echoes plaintext back.
final class Echo: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        context.writeAndFlush(data, promise: nil)
    }
}
