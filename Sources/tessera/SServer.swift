import ArgumentParser
import Dispatch
import Foundation
import Logging
import NIOCore
import NIOPosix
import TesseraCore
import TesseraCrypto
import TesseraNIO
import TesseraSessions
import X509

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

    @Option(name: .customLong("verify", withSingleDash: true), help: ArgumentHelp(
        "Ask clients for a certificate; a client without one still connects. N is openssl's verify depth: at most N intermediate CAs in the client's chain.",
        valueName: "N"))
    var verify: Int?

    @Option(name: .customLong("Verify", withSingleDash: true), help: ArgumentHelp(
        "Require a client certificate: without one the handshake fails (handshake_failure in TLS 1.2, certificate_required in TLS 1.3). N as for -verify.",
        valueName: "N"))
    var verifyRequired: Int?

    @Option(name: .customLong("CAfile", withSingleDash: true), help: "Trusted roots for client certificates (PEM). Default: the system store.")
    var caFile: String?

    @Flag(name: .customLong("verify_return_error", withSingleDash: true), help: "With -verify/-Verify: abort the handshake if the client's chain does not verify (default: report it and go on, as openssl does).")
    var verifyReturnError = false

    @Flag(name: .customLong("www", withSingleDash: true), help: "Answer GET / with a small text page, then close.")
    var www = false

    @Option(name: .customLong("naccept", withSingleDash: true), help: "Exit after this many connections have ended.")
    var naccept: Int?

    @Option(name: .customLong("loops", withSingleDash: true), help: "Event loops (threads) serving connections (default: one per core). Not an openssl flag.")
    var loops: Int?

    @Option(name: .customLong("ticket_rotate", withSingleDash: true), help: "Seconds a ticket key encrypts before the next one takes over (default 3600).")
    var ticketRotate: Double?

    @Option(name: .customLong("ticket_expire", withSingleDash: true), help: "Seconds after a key began to encrypt until it stops decrypting (default 2 x -ticket_rotate).")
    var ticketExpire: Double?

    @Option(name: .customLong("renew", withSingleDash: true), help: "Renew tickets in resumed handshakes: when-retiring (default), always, never.")
    var renew = "when-retiring"

    @Option(name: .customLong("ticket_store", withSingleDash: true), help: "Share ticket keys with a fleet through PostgreSQL: postgres://USER@HOST:PORT/DB (needs -ticket_kek_file). Default: an in-process key ring.")
    var ticketStore: String?

    @Option(name: .customLong("ticket_kek_file", withSingleDash: true), help: "Key-encryption key for -ticket_store: 32 bytes, raw or as 64 hex digits.")
    var ticketKEKFile: String?

    @Flag(name: .customLong("no_ticket", withSingleDash: true), help: "Issue no session tickets.")
    var noTicket = false

    @Flag(name: .customLong("early_data", withSingleDash: true), help: "TLS 1.3: accept 0-RTT early data (16 KiB a ticket, each ticket once).")
    var earlyData = false

    @Option(name: .customLong("num_tickets", withSingleDash: true), help: "TLS 1.3 tickets after a full handshake (default 2; 1 after a resumption).")
    var numTickets = 2

    @Option(name: .customLong("ticket_key_file", withSingleDash: true), help: ArgumentHelp(
        "nginx ticket key file (48 or 80 bytes), repeatable: the first encrypts, all decrypt. Replaces the rotating ring; SIGHUP re-reads the files.",
        valueName: "F"))
    var ticketKeyFiles: [String] = []

    @Option(name: .customLong("context", withSingleDash: true), help: "Session ID context: the scope a ticket is valid in (default: derived from the certificate). Servers of one fleet with different certificates share sessions when they share this.")
    var sessionContext: String?

    @Option(name: .customLong("stats", withSingleDash: true), help: "Every N seconds, a one-line summary on stderr: handshakes, tickets, resumption failures, keys.")
    var stats: Double?

    @Option(name: .customLong("log", withSingleDash: true), help: "Append log lines to this file instead of stderr.")
    var log: String?

    @Option(name: .customLong("log_level", withSingleDash: true), help: "Log level: trace, debug, info (default), notice, warning, error, critical.")
    var logLevel = "info"

    @Flag(name: .customLong("client_renegotiation", withSingleDash: true), help: "Allow clients to renegotiate (RFC 5746 secure renegotiation only). Off: a no_renegotiation warning.")
    var clientRenegotiation = false

    @OptionGroup var common: CommonOptions

    func run() throws {
        let (host, port) = try parseHostPort(accept, defaultHost: "0.0.0.0")
        guard let level = Logger.Level(rawValue: logLevel) else {
            throw CommandError("-log_level takes trace, debug, info, notice, warning, error or critical, not \(logLevel)")
        }
        if let stats, !(stats > 0 && stats.isFinite) { throw CommandError("-stats takes a number of seconds above 0") }
        if let loops, !(1...1024).contains(loops) { throw CommandError("-loops takes 1 to 1024 event loops, not \(loops)") }
        let sink = try LogSink(path: log)
        let logger = sink.logger(label: "tessera", level: level)
        var configuration = TLSConfiguration()
        try common.apply(to: &configuration)
        configuration.certificateVerification = .none
        try configureClientAuthentication(&configuration)
        configuration.allowClientRenegotiation = clientRenegotiation
        configuration.ticketCount13 = max(0, numTickets)
        if earlyData { configuration.maxEarlyData = 16384 }
        try loadCredentials(into: &configuration)
        if let sessionContext {
            // OpenSSL caps SSL_SESSION's sid_ctx at 32 bytes (SSL_MAX_SID_CTX_LENGTH).
            guard !sessionContext.isEmpty, sessionContext.utf8.count <= 32 else {
                throw CommandError("-context takes 1 to 32 bytes")
            }
            configuration.sessionIDContext = Array(sessionContext.utf8)
        }
        let reloader = try configureTickets(&configuration, logger: logger)
        let metrics = TicketMetrics(keys: configuration.ticketKeys, clock: configuration.clock, logger: logger)

        let quiet = common.quiet
        let trace: (@Sendable (TraceEvent) -> Void)? = common.msg && !quiet ? { @Sendable event in Output.out(MessageTrace.format(event)) } : nil
        let context = try TLSContext(configuration: configuration, trace: trace, logger: logger, metrics: metrics)
        let group = MultiThreadedEventLoopGroup(numberOfThreads: loops ?? System.coreCount)
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
                        ServerIOHandler(www: www, quiet: quiet, registry: connections),
                    ])
                }
            }
            .bind(host: host, port: port)
            .wait()
        connections.server = server
        let watchers = startWatchers(metrics: metrics, reloader: reloader, sink: sink, group: group)
        defer { watchers.forEach { $0.stop() } }
        if !quiet { Output.out("ACCEPT\n") }

        StdinReader(
            deliver: { bytes in connections.broadcast(bytes) },
            end: {}
        ).start()
        try server.closeFuture.wait()
        connections.stop()
    }

    /// The default in-process key ring: a key encrypts for -ticket_rotate seconds, then only
    /// decrypts (tickets under it are renewed) until -ticket_expire seconds after it began.
    /// With -ticket_key_file, nginx's semantics instead: the files' keys never expire, the first
    /// encrypts, and the ring is swapped whole on SIGHUP (DESIGN.md §5). Returns the reloader then.
    private func configureTickets(_ configuration: inout TLSConfiguration, logger: Logger) throws -> TicketKeyFileReloader? {
        let policy: RenewalPolicy
        switch renew {
        case "when-retiring": policy = .whenKeyRetiring
        case "always": policy = .always
        case "never": policy = .never
        default: throw CommandError("-renew takes when-retiring, always or never, not \(renew)")
        }
        if !ticketKeyFiles.isEmpty {
            guard !noTicket else { throw CommandError("-no_ticket and -ticket_key_file exclude each other") }
            guard ticketRotate == nil, ticketExpire == nil else {
                throw CommandError("-ticket_rotate and -ticket_expire set the in-process ring; -ticket_key_file keys are rotated by replacing the files and SIGHUP")
            }
            do {
                let reloader = try TicketKeyFileReloader(
                    files: NginxTicketKeyFileSet(paths: ticketKeyFiles, renewal: policy),
                    clock: configuration.clock, logger: logger)
                configuration.ticketKeys = reloader.provider
                return reloader
            } catch {
                throw CommandError("cannot use ticket keys: \(error.message)")
            }
        }
        guard !noTicket else { return nil }
        let rotate = ticketRotate ?? 3600
        let expire = ticketExpire ?? 2 * rotate
        guard rotate > 0, expire >= rotate else {
            throw CommandError("need 0 < -ticket_rotate <= -ticket_expire")
        }
        if let ticketStore {
            guard let ticketKEKFile else { throw CommandError("-ticket_store needs -ticket_kek_file") }
            configuration.ticketKeys = try FleetTickets.start(
                url: ticketStore, kekFile: ticketKEKFile, rotate: rotate, expire: expire, renewal: policy,
                quiet: common.quiet)
        } else {
            guard ticketKEKFile == nil else { throw CommandError("-ticket_kek_file is for -ticket_store") }
            configuration.ticketKeys = TicketKeyRing(
                rotate: rotate, expire: expire, renewal: policy, start: configuration.clock.now())
        }
        configuration.sessionTimeout = UInt32(clamping: Int(max(expire, 7200)))
        return nil
    }

    /// What runs beside the connections: the key watch (rotations are logged within a second),
    /// `-stats` lines, and the SIGHUP handler that re-reads -ticket_key_file. Cancel them at exit.
    private func startWatchers(
        metrics: TicketMetrics, reloader: TicketKeyFileReloader?, sink: LogSink, group: EventLoopGroup
    ) -> [any Watcher] {
        var watchers: [any Watcher] = []
        metrics.observeKeys()
        let watch = group.next().scheduleRepeatedTask(initialDelay: .seconds(1), delay: .seconds(1)) { _ in
            metrics.observeKeys()
        }
        watchers.append(watch)
        if let stats {
            let period = TimeAmount.nanoseconds(Int64(min(stats, 1e9) * 1e9))
            watchers.append(group.next().scheduleRepeatedTask(initialDelay: period, delay: period) { _ in
                Output.err("stats: \(metrics.snapshot().summaryLine)\n")
            })
        }
        if let reloader {
            // SIGHUP's default action ends the process: ignore it, then take it from a dispatch
            // source. Reloading swaps the key ring only; connections are untouched.
            signal(SIGHUP, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: SIGHUP, queue: DispatchQueue(label: "tessera.sighup"))
            source.setEventHandler {
                if case .failure(let error) = reloader.reload(), sink.isFile {
                    Output.err("tessera s_server: ticket key files not reloaded: \(error.message); keeping the keys loaded before\n")
                }
                metrics.observeKeys()
            }
            source.resume()
            watchers.append(SignalWatch(source: source))
        }
        return watchers
    }

    /// openssl s_server's -verify / -Verify / -CAfile / -verify_return_error.
    private func configureClientAuthentication(_ configuration: inout TLSConfiguration) throws {
        if let caFile {
            guard FileManager.default.isReadableFile(atPath: caFile) else { throw CommandError("cannot read -CAfile \(caFile)") }
            // Read once: the roots client chains are checked against, and (as openssl s_server
            // does) the names the CertificateRequest gives.
            let roots: CertificateChain
            do {
                roots = try CertificateChain.load(pemFile: caFile)
            } catch {
                throw CommandError("cannot read -CAfile \(caFile): \(error.message)")
            }
            configuration.trustRoots = .certificates(roots.certificates)
            configuration.clientCertificateAuthorityNames = roots.subjectNamesDER
        }
        // Like openssl, -CAfile and -verify_return_error alone are accepted and change nothing.
        guard verify != nil || verifyRequired != nil else { return }
        guard verify == nil || verifyRequired == nil else { throw CommandError("-verify and -Verify exclude each other") }
        configuration.clientAuthentication = verifyRequired != nil ? .required : .optional
        configuration.verifyDepth = max(0, verifyRequired ?? verify ?? 0)
        configuration.certificateVerification = verifyReturnError ? .required : .reportOnly
    }

    private func loadCredentials(into configuration: inout TLSConfiguration) throws {
        if let cert {
            try loadIdentity(cert: cert, key: key, into: &configuration, what: "certificate")
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

/// Something `s_server` runs beside its connections and cancels when it exits.
protocol Watcher {
    func stop()
}

extension RepeatedTask: Watcher {
    func stop() { cancel(promise: nil) }
}

struct SignalWatch: Watcher {
    let source: any DispatchSourceSignal
    func stop() { source.cancel() }
}

/// Live connections: stdin is sent to each, and `-naccept` ends the server. Like openssl's
/// s_server, stdin is only read while a client is connected: the reading thread waits until a
/// handshake has completed, so data piped in before a client arrives goes to that client.
final class ConnectionRegistry: @unchecked Sendable {
    private let condition = NSCondition()
    private var channels: [ObjectIdentifier: Channel] = [:]
    private var ready: Set<ObjectIdentifier> = []
    private var ended = 0
    private let limit: Int?
    private var stopped = false
    var server: Channel?

    init(limit: Int?) {
        self.limit = limit
    }

    func add(_ channel: Channel) {
        condition.withLock { channels[ObjectIdentifier(channel)] = channel }
        channel.closeFuture.whenComplete { [self] _ in
            let done: Bool = condition.withLock {
                channels[ObjectIdentifier(channel)] = nil
                ready.remove(ObjectIdentifier(channel))
                ended += 1
                return limit.map { ended >= $0 } ?? false
            }
            if done { server?.close(promise: nil) }
        }
    }

    /// The channel's handshake completed: stdin may go to it.
    func markReady(_ channel: Channel) {
        condition.withLock {
            ready.insert(ObjectIdentifier(channel))
            condition.broadcast()
        }
    }

    /// Sends stdin to every connected client, waiting for one if there is none yet.
    func broadcast(_ bytes: [UInt8]) {
        condition.lock()
        defer { condition.unlock() }
        while ready.isEmpty, !stopped { condition.wait() }
        guard !stopped else { return }
        for id in ready {
            guard let channel = channels[id], channel.isActive else { continue }
            channel.writeAndFlush(ByteBuffer(bytes: bytes), promise: nil)
        }
    }

    func stop() {
        condition.withLock {
            stopped = true
            condition.broadcast()
        }
    }
}

/// Without -www: plaintext to stdout. With -www: one `GET /` answered with a text page.
final class ServerIOHandler: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private let www: Bool
    private let quiet: Bool
    private let registry: ConnectionRegistry
    private var summary: HandshakeSummary?
    private var request: [UInt8] = []
    private var answered = false

    init(www: Bool, quiet: Bool, registry: ConnectionRegistry) {
        self.www = www
        self.quiet = quiet
        self.registry = registry
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let buffer = unwrapInboundIn(data)
        guard www else {
            Output.outBytes(Array(buffer.readableBytesView))
            return
        }
        guard !answered else { return }
        request.append(contentsOf: buffer.readableBytesView)
        guard Self.endsHead(request) else {
            if request.count > 16384 { context.close(promise: nil) }
            return
        }
        answered = true
        let response: String
        if request.starts(with: "GET /".utf8) {
            response = "HTTP/1.0 200 ok\r\nContent-type: text/plain\r\n\r\n" + page()
        } else {
            response = "HTTP/1.0 400 bad request\r\nContent-type: text/plain\r\n\r\nOnly GET / is served.\n"
        }
        // openssl -www: the page, then close_notify and close.
        // No flush of its own: the close below flushes the page and close_notify together.
        context.write(wrapOutboundOut(ByteBuffer(string: response)), promise: nil)
        context.close(promise: nil)
    }

    /// The request head is complete: it has a blank line (CRLF CRLF, or a bare LF LF).
    static func endsHead(_ request: [UInt8]) -> Bool {
        var index = request.startIndex
        while let newline = request[index...].firstIndex(of: UInt8(ascii: "\n")) {
            let rest = request[(newline + 1)...]
            if rest.first == UInt8(ascii: "\n") || rest.starts(with: "\r\n".utf8) { return true }
            index = newline + 1
        }
        return false
    }

    private func page() -> String {
        guard let summary else { return "no handshake\n" }
        var page = "Tessera s_server\n"
        // The line openssl's -www page carries too.
        page += "\(summary.resumed ? "Reused" : "New"), \(summary.version), Cipher is \(summary.cipherSuite.openSSLName)\n"
        page += "Protocol: \(summary.version)\n"
        page += "Cipher: \(summary.cipherSuite.openSSLName)\n"
        page += "Session: \(summary.resumed ? "Reused" : "New")\n"
        if summary.resumed { page += "Ticket renewed: \(summary.ticketRenewed ? "yes" : "no")\n" }
        page += "Server name: \(summary.serverName ?? "none")\n"
        page += "ALPN: \(summary.alpn ?? "none")\n"
        page += "Extended master secret: \(summary.extendedMasterSecret ? "yes" : "no")\n"
        page += "Secure renegotiation: \(summary.secureRenegotiation ? "yes" : "no")\n"
        page += ClientCertificateReport.lines(summary)
        return page
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let completed = event as? TLSHandshakeCompletedEvent {
            summary = completed.summary
            if !www { registry.markReady(context.channel) }
            if !quiet, !www {
                let s = completed.summary
                Output.out("\(s.resumed ? "Reused" : "New"), \(s.version), Cipher is \(s.cipherSuite.openSSLName)\n")
                if s.resumed { Output.out("Session ticket renewed: \(s.ticketRenewed ? "yes" : "no")\n") }
                if let early = s.earlyDataAccepted { Output.out("Early data was \(early ? "accepted" : "rejected")\n") }
                if let failure = s.resumptionFailure { Output.out("Ticket not resumed: \(failure.rawValue)\n") }
                Output.out("Secure Renegotiation IS\(s.secureRenegotiation ? "" : " NOT") supported\n")
                if s.clientCertificateRequested || !s.peerCertificates.isEmpty { Output.out(ClientCertificateReport.lines(s)) }
            }
        }
        context.fireUserInboundEventTriggered(event)
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        if !quiet { Output.err("tessera s_server: connection error: \(error)\n") }
        context.close(promise: nil)
    }
}

/// What s_server says about the client's certificate, on its report and the -www page.
enum ClientCertificateReport {
    static func lines(_ summary: HandshakeSummary) -> String {
        guard let leaf = summary.peerCertificates.first, let certificate = try? Certificate(derEncoded: leaf) else {
            return "Client certificate: no client certificate available\n"
        }
        var out = "Client certificate subject: \(certificate.subject)\n"
        out += "Client certificate issuer: \(certificate.issuer)\n"
        if let verification = summary.verification {
            out += verification.isValid ? "Client certificate verification: OK\n" : "Client certificate verification error: \(verification.message)\n"
        }
        return out
    }
}
