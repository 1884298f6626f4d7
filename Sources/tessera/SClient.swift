import ArgumentParser
import Foundation
import NIOCore
import NIOPosix
import TesseraCore
import TesseraCrypto
import TesseraNIO

/// `tessera s_client`: openssl s_client's flags, report and behaviour.
struct SClient: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "s_client",
        abstract: "Connect to a TLS server: stdin goes to the server, the server's bytes to stdout.",
        helpNames: [.customLong("help", withSingleDash: true), .long, .short]
    )

    @Option(name: .customLong("connect", withSingleDash: true), help: "HOST:PORT to connect to.")
    var connect = "localhost:4433"

    @Option(name: .customLong("servername", withSingleDash: true), help: "Server name for SNI and the certificate check (default: the -connect host).")
    var servername: String?

    @Flag(name: .customLong("noservername", withSingleDash: true), help: "Send no SNI.")
    var noservername = false

    @Option(name: .customLong("CAfile", withSingleDash: true), help: "Trusted roots (PEM). Default: the system store.")
    var caFile: String?

    @Flag(name: .customLong("verify_return_error", withSingleDash: true), help: "Abort the handshake if the server's chain does not verify.")
    var verifyReturnError = false

    @Flag(name: .customLong("ign_eof", withSingleDash: true), help: "Keep the connection open at the end of stdin.")
    var ignEOF = false

    @OptionGroup var common: CommonOptions

    func run() throws {
        let (host, port) = try parseHostPort(connect, defaultHost: "localhost")
        var configuration = TLSConfiguration()
        try common.apply(to: &configuration)
        configuration.certificateVerification = verifyReturnError ? .required : .reportOnly
        if let caFile { configuration.trustRoots = .pemFile(caFile) }
        let quiet = common.quiet
        let trace: (@Sendable (TraceEvent) -> Void)? = common.msg && !quiet ? { @Sendable event in Output.out(MessageTrace.format(event)) } : nil
        let context = try TLSContext(configuration: configuration, trace: trace)
        let serverName: String? = noservername ? nil : (servername ?? host)

        // openssl: stdin is read once the handshake is done; -quiet implies -ign_eof; a line
        // "Q" closes the connection.
        let closeAtEOF = !(ignEOF || quiet)
        let channelBox = ChannelBox()
        let startStdin: @Sendable () -> Void = {
            StdinReader(
                deliver: { bytes in
                    channelBox.use { channel in
                        if !quiet, bytes.first == UInt8(ascii: "Q"), bytes.count <= 2 {
                            channel.close(promise: nil)
                        } else {
                            channel.writeAndFlush(ByteBuffer(bytes: bytes), promise: nil)
                        }
                    }
                },
                end: {
                    if closeAtEOF { channelBox.use { $0.close(promise: nil) } }
                }
            ).start()
        }
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        defer { try? group.syncShutdownGracefully() }
        let state = ClientRunState()
        let clock = configuration.clock
        let channel: Channel
        do {
            channel = try ClientBootstrap(group: group)
                .channelOption(ChannelOptions.socketOption(.tcp_nodelay), value: 1)
                .channelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        let counter = ByteCounter()
                        try channel.pipeline.syncOperations.addHandlers([
                            counter,
                            TLSClientHandler(context: context, serverHostname: serverName),
                            ClientIOHandler(state: state, counter: counter, quiet: quiet, clock: clock, onHandshake: startStdin),
                        ])
                    }
                }
                .connect(host: host, port: port)
                .wait()
        } catch {
            Output.err("connect:errno=\(error)\n")
            throw ExitCode(1)
        }
        channelBox.channel = channel
        if !quiet { Output.out("CONNECTED(00000003)\n") }

        try? channel.closeFuture.wait()
        channelBox.channel = nil
        if !quiet { Output.out(state.failed ? "" : "closed\n") }
        if state.failed || !state.handshakeCompleted { throw ExitCode(1) }
    }
}

/// The connected channel, handed to the stdin thread once it exists.
final class ChannelBox: @unchecked Sendable {
    private let lock = NSLock()
    private var _channel: Channel?

    var channel: Channel? {
        get { lock.withLock { _channel } }
        set { lock.withLock { _channel = newValue } }
    }

    /// Runs `body` while the channel is set and its event loop still runs.
    func use(_ body: (Channel) -> Void) {
        lock.withLock {
            if let channel = _channel, channel.isActive { body(channel) }
        }
    }
}

final class ClientRunState: @unchecked Sendable {
    private let lock = NSLock()
    private var _failed = false
    private var _completed = false

    var failed: Bool {
        get { lock.withLock { _failed } }
        set { lock.withLock { _failed = newValue } }
    }

    var handshakeCompleted: Bool {
        get { lock.withLock { _completed } }
        set { lock.withLock { _completed = newValue } }
    }
}

/// Counts ciphertext bytes for "SSL handshake has read N bytes and written M bytes".
final class ByteCounter: ChannelDuplexHandler, @unchecked Sendable {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private(set) var read = 0
    private(set) var written = 0

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        read += unwrapInboundIn(data).readableBytes
        context.fireChannelRead(data)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        written += unwrapOutboundIn(data).readableBytes
        context.write(data, promise: promise)
    }
}

/// Plaintext from the server to stdout; the report after the handshake; errors to stderr.
final class ClientIOHandler: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = ByteBuffer

    private let state: ClientRunState
    private let counter: ByteCounter
    private let quiet: Bool
    private let clock: any TLSClock
    private let onHandshake: @Sendable () -> Void

    init(state: ClientRunState, counter: ByteCounter, quiet: Bool, clock: any TLSClock, onHandshake: @escaping @Sendable () -> Void) {
        self.state = state
        self.counter = counter
        self.quiet = quiet
        self.clock = clock
        self.onHandshake = onHandshake
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let buffer = unwrapInboundIn(data)
        Output.outBytes(Array(buffer.readableBytesView))
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let completed = event as? TLSHandshakeCompletedEvent {
            state.handshakeCompleted = true
            if !quiet {
                Output.out(Report.client(completed.summary, bytesRead: counter.read, bytesWritten: counter.written, now: clock.now()))
            }
            onHandshake()
        }
        context.fireUserInboundEventTriggered(event)
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        state.failed = true
        Output.err("tessera s_client: error: \(error)\n")
        context.close(promise: nil)
    }
}
