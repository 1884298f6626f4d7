import ArgumentParser
import Foundation
import NIOCore
import NIOPosix
import TesseraCore
import TesseraCrypto
import TesseraNIO
import TesseraSessions

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

    @Option(name: .customLong("cert", withSingleDash: true), help: "Client certificate chain (PEM), sent when the server asks for one.")
    var cert: String?

    @Option(name: .customLong("key", withSingleDash: true), help: "Private key for -cert (PEM). Default: the -cert file.")
    var key: String?

    @Flag(name: .customLong("verify_return_error", withSingleDash: true), help: "Abort the handshake if the server's chain does not verify.")
    var verifyReturnError = false

    @Flag(name: .customLong("ign_eof", withSingleDash: true), help: "Keep the connection open at the end of stdin.")
    var ignEOF = false

    @Option(name: .customLong("sess_out", withSingleDash: true), help: "Write the newest session (PEM) here when the connection ends, including one renewed in a resumed handshake.")
    var sessOut: String?

    @Option(name: .customLong("sess_in", withSingleDash: true), help: "Resume the session in this file (tessera's or openssl's PEM).")
    var sessIn: String?

    @Flag(name: .customLong("reconnect", withSingleDash: true), help: "Reconnect 5 times with the newest session, as openssl does.")
    var reconnect = false

    @Flag(name: .customLong("no_ticket", withSingleDash: true), help: "Do not offer session tickets.")
    var noTicket = false

    @Option(name: .customLong("early_data", withSingleDash: true), help: "TLS 1.3: send this file as 0-RTT early data (needs -sess_in with a ticket that allows it); declined data is sent after the handshake.")
    var earlyData: String?

    @OptionGroup var common: CommonOptions

    func run() throws {
        let (host, port) = try parseHostPort(connect, defaultHost: "localhost")
        var configuration = TLSConfiguration()
        try common.apply(to: &configuration)
        configuration.certificateVerification = verifyReturnError ? .required : .reportOnly
        configuration.sessionTickets = !noTicket
        if let caFile { configuration.trustRoots = .pemFile(caFile) }
        if let cert {
            try loadIdentity(cert: cert, key: key, into: &configuration, what: "client certificate")
        } else if key != nil {
            throw CommandError("-key needs -cert")
        }
        let trace: (@Sendable (TraceEvent) -> Void)? = common.msg && !common.quiet ? { @Sendable event in Output.out(MessageTrace.format(event)) } : nil
        let context = try TLSContext(configuration: configuration, trace: trace)
        let serverName: String? = noservername ? nil : (servername ?? host)

        var session = loadSession()
        var early: ByteBuffer?
        if let earlyData {
            guard let data = FileManager.default.contents(atPath: earlyData) else {
                throw CommandError("cannot read early data file \(earlyData)")
            }
            early = ByteBuffer(bytes: data)
        }
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        defer { try? group.syncShutdownGracefully() }
        // openssl -reconnect: five more connections after the first, each resuming the newest
        // session; the last one is the interactive one.
        let connections = reconnect ? 6 : 1
        var failed = false
        for index in 0..<connections {
            if index > 0, !common.quiet { Output.out("drop connection and then reconnect\n") }
            let outcome = try connectOnce(
                host: host, port: port, serverName: serverName, context: context, group: group,
                session: session, earlyData: index == 0 ? early : nil, interactive: index == connections - 1,
                clock: configuration.clock)
            if outcome.rejected { session = nil }
            if let newest = outcome.newest { session = newest }
            failed = failed || outcome.failed
            if outcome.failed { break }
        }
        if let sessOut, let session {
            do {
                try session.pemEncoded().write(toFile: sessOut, atomically: true, encoding: .utf8)
            } catch {
                Output.err("tessera s_client: cannot write session to \(sessOut): \(error)\n")
                failed = true
            }
        }
        if failed { throw ExitCode(1) }
    }

    /// `-sess_in`: a bad file is reported and the handshake goes on as a full one.
    private func loadSession() -> SessionState? {
        guard let sessIn else { return nil }
        do {
            let text = try String(contentsOfFile: sessIn, encoding: .utf8)
            return try SessionState(pemEncoded: text)
        } catch let error as SessionError {
            Output.err("tessera s_client: cannot use session file \(sessIn): \(error); doing a full handshake\n")
        } catch {
            Output.err("tessera s_client: cannot read session file \(sessIn): \(error.localizedDescription); doing a full handshake\n")
        }
        return nil
    }

    private struct Outcome {
        var newest: SessionState?
        var rejected = false
        var failed = false
    }

    private func connectOnce(
        host: String, port: Int, serverName: String?, context: TLSContext, group: EventLoopGroup,
        session: SessionState?, earlyData: ByteBuffer?, interactive: Bool, clock: any TLSClock
    ) throws -> Outcome {
        let quiet = common.quiet
        let ignEOF = self.ignEOF
        let state = ClientRunState()
        // openssl: stdin is read once the handshake is done; -quiet implies -ign_eof; a line
        // "Q" closes the connection.
        let closeAtEOF = !(ignEOF || quiet)
        let channelBox = ChannelBox()
        let startStdin: @Sendable () -> Void = {
            StdinReader(
                deliver: { bytes in
                    channelBox.use { channel in
                        let command = !(quiet || ignEOF) && bytes.count <= 2 ? bytes.first : nil
                        if command == UInt8(ascii: "Q") {
                            channel.close(promise: nil)
                        } else if command == UInt8(ascii: "k") || command == UInt8(ascii: "K") {
                            // openssl: k updates our keys, K also asks the server to update its own.
                            if !quiet { Output.out("KEYUPDATE\n") }
                            channel.triggerUserOutboundEvent(TLSKeyUpdateRequest(requestPeerUpdate: command == UInt8(ascii: "K")), promise: nil)
                        } else if command == UInt8(ascii: "R") {
                            if !quiet { Output.out("RENEGOTIATING\n") }
                            channel.triggerUserOutboundEvent(TLSRenegotiationRequest(), promise: nil)
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
        let closeNow: @Sendable () -> Void = {
            channelBox.use { channel in channel.close(promise: nil) }
        }
        let afterHandshake = interactive ? startStdin : closeNow

        let channel: Channel
        do {
            channel = try ClientBootstrap(group: group)
                .channelOption(ChannelOptions.socketOption(.tcp_nodelay), value: 1)
                .channelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        let counter = ByteCounter()
                        try channel.pipeline.syncOperations.addHandlers([
                            counter,
                            TLSClientHandler(context: context, serverHostname: serverName, session: session, earlyData: earlyData),
                            ClientIOHandler(state: state, counter: counter, quiet: quiet, clock: clock, onHandshake: afterHandshake),
                        ])
                    }
                }
                .connect(host: host, port: port)
                .wait()
        } catch {
            Output.err("connect:errno=\(error)\n")
            return Outcome(failed: true)
        }
        channelBox.channel = channel
        if !quiet { Output.out("CONNECTED(00000003)\n") }
        try? channel.closeFuture.wait()
        channelBox.channel = nil
        if !quiet, !state.failed, interactive { Output.out("closed\n") }
        return Outcome(newest: state.newestSession, rejected: state.sessionRejected, failed: state.failed || !state.handshakeCompleted)
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
    private var _newest: SessionState?
    private var _rejected = false

    var newestSession: SessionState? {
        get { lock.withLock { _newest } }
        set { lock.withLock { _newest = newValue } }
    }

    var sessionRejected: Bool {
        get { lock.withLock { _rejected } }
        set { lock.withLock { _rejected = newValue } }
    }

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
        switch event as? TLSSessionEvent {
        case .issued(let session)?: state.newestSession = session
        case .rejected?: state.sessionRejected = true
        case nil: break
        }
        if let completed = event as? TLSHandshakeCompletedEvent {
            state.handshakeCompleted = true
            if state.newestSession == nil, let session = completed.summary.session {
                state.newestSession = session
            }
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
