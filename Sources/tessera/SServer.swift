import ArgumentParser
import Foundation
import NIOCore
import NIOPosix
import TesseraCore
import TesseraCrypto
import TesseraNIO

/// `tessera s_server`: openssl s_server's flags and behaviour, serving many connections at once.
struct SServer: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "s_server",
        abstract: "A TLS server: clients' bytes go to stdout, stdin goes to the clients.",
        helpNames: [.customLong("help", withSingleDash: true), .long, .short]
    )

    @Option(name: .customLong("accept", withSingleDash: true), help: "[HOST:]PORT to listen on (default 4433, all interfaces).")
    var accept = "4433"

    @Option(name: .customLong("cert", withSingleDash: true), help: "Certificate chain (PEM). Without it a self-signed one is generated.")
    var cert: String?

    @Option(name: .customLong("key", withSingleDash: true), help: "Private key (PEM). Default: the -cert file.")
    var key: String?

    @Flag(name: .customLong("www", withSingleDash: true), help: "Answer GET / with a small text page, then close.")
    var www = false

    @Option(name: .customLong("naccept", withSingleDash: true), help: "Exit after this many connections have ended.")
    var naccept: Int?

    @OptionGroup var common: CommonOptions

    func run() throws {
        let (host, port) = try parseHostPort(accept, defaultHost: "0.0.0.0")
        var configuration = TLSConfiguration()
        try common.apply(to: &configuration)
        configuration.certificateVerification = .none
        try loadCredentials(into: &configuration)

        let quiet = common.quiet
        let trace: (@Sendable (TraceEvent) -> Void)? = common.msg && !quiet ? { @Sendable event in Output.out(MessageTrace.format(event)) } : nil
        let context = try TLSContext(configuration: configuration, trace: trace)
        let group = MultiThreadedEventLoopGroup(numberOfThreads: System.coreCount)
        defer { try? group.syncShutdownGracefully() }
        let connections = ConnectionRegistry(limit: naccept)
        let www = self.www

        let server = try ServerBootstrap(group: group)
            .serverChannelOption(ChannelOptions.socketOption(.so_reuseaddr), value: 1)
            .serverChannelOption(ChannelOptions.backlog, value: 256)
            .childChannelOption(ChannelOptions.socketOption(.tcp_nodelay), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    connections.add(channel)
                    try channel.pipeline.syncOperations.addHandlers([
                        TLSServerHandler(context: context),
                        ServerIOHandler(www: www, quiet: quiet),
                    ])
                }
            }
            .bind(host: host, port: port)
            .wait()
        connections.server = server
        if !quiet { Output.out("ACCEPT\n") }

        StdinReader(
            deliver: { bytes in connections.broadcast(bytes) },
            end: {}
        ).start()
        try server.closeFuture.wait()
        connections.stop()
    }

    private func loadCredentials(into configuration: inout TLSConfiguration) throws {
        if let cert {
            do {
                configuration.certificateChain = try CertificateChain.load(pemFile: cert)
                configuration.privateKey = try SigningKey.load(pemFile: key ?? cert)
            } catch {
                throw CommandError("cannot load certificate or key: \(error.message)")
            }
        } else {
            let signingKey = SigningKey.generateP256()
            do {
                configuration.certificateChain = try CertificateChain.selfSigned(commonName: "localhost", key: signingKey)
            } catch {
                throw CommandError("cannot generate a certificate: \(error.message)")
            }
            configuration.privateKey = signingKey
            Output.err("Using a generated self-signed certificate for CN=localhost (P-256); give -cert and -key to use your own\n")
        }
    }
}

/// Live connections: stdin is sent to each, and `-naccept` ends the server.
final class ConnectionRegistry: @unchecked Sendable {
    private let lock = NSLock()
    private var channels: [ObjectIdentifier: Channel] = [:]
    private var ended = 0
    private let limit: Int?
    private var stopped = false
    var server: Channel?

    init(limit: Int?) {
        self.limit = limit
    }

    func add(_ channel: Channel) {
        lock.withLock { channels[ObjectIdentifier(channel)] = channel }
        channel.closeFuture.whenComplete { [self] _ in
            let done: Bool = lock.withLock {
                channels[ObjectIdentifier(channel)] = nil
                ended += 1
                return limit.map { ended >= $0 } ?? false
            }
            if done { server?.close(promise: nil) }
        }
    }

    /// Sends stdin to every live connection (under the lock, so never after `stop`).
    func broadcast(_ bytes: [UInt8]) {
        lock.withLock {
            guard !stopped else { return }
            for channel in channels.values where channel.isActive {
                channel.writeAndFlush(ByteBuffer(bytes: bytes), promise: nil)
            }
        }
    }

    func stop() {
        lock.withLock { stopped = true }
    }
}

/// Without -www: plaintext to stdout. With -www: one `GET /` answered with a text page.
final class ServerIOHandler: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private let www: Bool
    private let quiet: Bool
    private var summary: HandshakeSummary?
    private var request: [UInt8] = []
    private var answered = false

    init(www: Bool, quiet: Bool) {
        self.www = www
        self.quiet = quiet
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let buffer = unwrapInboundIn(data)
        guard www else {
            Output.outBytes(Array(buffer.readableBytesView))
            return
        }
        guard !answered else { return }
        request.append(contentsOf: buffer.readableBytesView)
        guard let text = String(bytes: request, encoding: .utf8), text.contains("\r\n\r\n") || text.contains("\n\n") else {
            if request.count > 16384 { context.close(promise: nil) }
            return
        }
        answered = true
        let response: String
        if text.hasPrefix("GET /") {
            response = "HTTP/1.0 200 ok\r\nContent-type: text/plain\r\n\r\n" + page()
        } else {
            response = "HTTP/1.0 400 bad request\r\nContent-type: text/plain\r\n\r\nOnly GET / is served.\n"
        }
        // openssl -www: the page, then close_notify and close.
        context.writeAndFlush(wrapOutboundOut(ByteBuffer(string: response)), promise: nil)
        context.close(promise: nil)
    }

    private func page() -> String {
        guard let summary else { return "no handshake\n" }
        var page = "Tessera s_server\n"
        page += "Protocol: \(summary.version)\n"
        page += "Cipher: \(summary.cipherSuite.openSSLName)\n"
        page += "Session: \(summary.resumed ? "Reused" : "New")\n"
        page += "Server name: \(summary.serverName ?? "none")\n"
        page += "ALPN: \(summary.alpn ?? "none")\n"
        page += "Extended master secret: \(summary.extendedMasterSecret ? "yes" : "no")\n"
        page += "Secure renegotiation: \(summary.secureRenegotiation ? "yes" : "no")\n"
        return page
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let completed = event as? TLSHandshakeCompletedEvent {
            summary = completed.summary
            if !quiet, !www {
                let s = completed.summary
                Output.out("\(s.resumed ? "Reused" : "New"), \(s.version), Cipher is \(s.cipherSuite.openSSLName)\n")
                Output.out("Secure Renegotiation IS\(s.secureRenegotiation ? "" : " NOT") supported\n")
            }
        }
        context.fireUserInboundEventTriggered(event)
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        if !quiet { Output.err("tessera s_server: connection error: \(error)\n") }
        context.close(promise: nil)
    }
}
