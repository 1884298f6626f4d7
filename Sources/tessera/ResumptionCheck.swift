import ArgumentParser
import Foundation
import NIOCore
import NIOPosix
import TesseraCore
import TesseraCrypto
import TesseraNIO
import TesseraSessions
import TesseraWire

/// `tessera resumption-check HOST:PORT [HOST:PORT ...]`: the operator's check that a fleet shares
/// ticket keys (issue 4). Connects to the servers in turn, round robin, each time offering the
/// session from the connection before (whichever server issued it), prints one row per connection
/// and a verdict per issuing server: "tickets from A resume on B and C".
///
/// Exit status: 0 when every offered session resumed, 1 when some did not, 2 when a connection
/// failed.
struct ResumptionCheck: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "resumption-check",
        abstract: "Check that servers resume each other's sessions (a fleet sharing ticket keys).",
        helpNames: [.customLong("help", withSingleDash: true), .long, .short]
    )

    @Argument(help: ArgumentHelp("The servers, as HOST:PORT.", valueName: "HOST:PORT"))
    var servers: [String]

    @Option(name: .customShort("n"), help: ArgumentHelp("Connections to each server (default 2).", valueName: "CONNECTIONS"))
    var connections = 2

    @Option(name: .customLong("CAfile", withSingleDash: true), help: "Verify the servers against these roots (PEM). Without it certificates are not verified.")
    var caFile: String?

    @Option(name: .customLong("servername", withSingleDash: true), help: "SNI for every connection (default: the first server's host), so one session is valid fleet-wide.")
    var servername: String?

    @Option(name: .customLong("timeout", withSingleDash: true), help: "Seconds each connection may take (default 10).")
    var timeout: Double = 10

    func validate() throws {
        guard !servers.isEmpty else { throw ValidationError("give at least one HOST:PORT") }
        guard connections >= 1, connections <= 1000 else { throw ValidationError("-n takes 1 to 1000") }
        guard timeout > 0, timeout <= 3600 else { throw ValidationError("-timeout takes 0 to 3600 seconds") }
    }

    func run() throws {
        let targets = try servers.enumerated().map { index, text in
            let (host, port) = try parseHostPort(text, defaultHost: "localhost")
            return Target(letter: Self.letter(index), address: text, host: host, port: port)
        }
        var configuration = TLSConfiguration()
        if let caFile {
            configuration.trustRoots = .pemFile(caFile)
            configuration.certificateVerification = .required
        } else {
            configuration.certificateVerification = .none
        }
        let context = try TLSContext(configuration: configuration)
        let serverName = servername ?? targets[0].host
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        defer { try? group.syncShutdownGracefully() }

        for target in targets { Output.out("\(target.letter)  \(target.address)\n") }
        if caFile == nil { Output.out("(certificates not verified: no -CAfile)\n") }
        Output.out("\n")
        var table = Table()
        table.header()

        // The session in hand, who issued it and in which connection.
        var held: (session: SessionState, issuer: Int, connection: Int)?
        var failedConnections = 0
        for number in 1...(connections * targets.count) {
            let index = (number - 1) % targets.count
            let target = targets[index]
            let offered = held
            let outcome = connect(target, serverName: serverName, session: offered?.session, context: context, group: group)
            var row = Table.Row(number: number, server: target.letter)
            if let offered { row.offered = "\(targets[offered.issuer].letter) (#\(offered.connection))" }
            guard let summary = outcome.summary else {
                failedConnections += 1
                row.error = outcome.error ?? "no handshake"
                table.add(row)
                continue
            }
            row.resumed = summary.resumed
            if summary.resumed {
                row.renewed = summary.ticketRenewed
                let byTicket = !(offered?.session.ticket?.isEmpty ?? true)
                row.by = byTicket ? "ticket" : "session ID"
            }
            if let offered {
                table.attempts.append(Attempt(issuer: offered.issuer, target: index, resumed: summary.resumed))
            }
            // The session held after this connection: a new one if the server issued one, else
            // the offered one when it resumed, else none.
            if let issued = outcome.issued {
                held = (issued, index, number)
            } else if summary.resumed, let offered {
                held = offered
            } else {
                held = summary.session.map { ($0, index, number) }
                if held == nil { table.silent.insert(index) }
            }
            if let session = held?.session, let ticket = session.ticket, !ticket.isEmpty {
                row.keyName = Array(ticket.prefix(TicketKey.nameLength)).hexString
                row.hint = session.ticketLifetimeHint.map(String.init)
            }
            table.add(row)
        }
        Output.out("\n")
        for line in table.verdict(targets.map(\.letter)) { Output.out(line + "\n") }
        if failedConnections > 0 { throw ExitCode(2) }
        if table.attempts.contains(where: { !$0.resumed }) { throw ExitCode(1) }
    }

    private struct Target {
        var letter: String
        var address: String
        var host: String
        var port: Int
    }

    /// A, B, ..., Z, then S27, S28, ...
    private static func letter(_ index: Int) -> String {
        index < 26 ? String(UnicodeScalar(UInt8(65 + index))) : "S\(index + 1)"
    }

    fileprivate struct Outcome {
        var summary: HandshakeSummary?
        var issued: SessionState?
        var error: String?
    }

    /// One connection: handshake (offering `session`), then close_notify and close. Bounded by
    /// -timeout from connect to close.
    private func connect(_ target: Target, serverName: String, session: SessionState?, context: TLSContext, group: EventLoopGroup) -> Outcome {
        let recorder = CheckRecorder()
        let deadline = TimeAmount.nanoseconds(Int64(timeout * 1e9))
        let channel: Channel
        do {
            channel = try ClientBootstrap(group: group)
                .connectTimeout(deadline)
                .channelOption(ChannelOptions.socketOption(.tcp_nodelay), value: 1)
                .channelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.addHandlers([
                            TLSClientHandler(context: context, serverHostname: serverName, session: session),
                            recorder,
                        ])
                    }
                }
                .connect(host: target.host, port: target.port)
                .wait()
        } catch {
            return Outcome(error: "connect: \(error)")
        }
        let timer = channel.eventLoop.scheduleTask(in: deadline) {
            recorder.timedOut()
            channel.close(promise: nil)
        }
        try? channel.closeFuture.wait()
        timer.cancel()
        return recorder.outcome
    }

    /// Who issued the ticket offered, where it was offered, and whether it resumed.
    struct Attempt {
        var issuer: Int
        var target: Int
        var resumed: Bool
    }

    /// The per-connection table and the verdict drawn from it.
    struct Table {
        struct Row {
            var number: Int
            var server: String
            var offered = "-"
            var resumed = false
            var by = "-"
            var renewed: Bool?
            var keyName = "-"
            var hint: String?
            var error: String?
        }

        var attempts: [Attempt] = []
        /// Servers that completed a full handshake without issuing anything to resume.
        var silent: Set<Int> = []

        private static let columns = [("#", 4), ("server", 7), ("offered", 9), ("resumed", 8), ("by", 11), ("renewed", 8), ("ticket key name", 33), ("lifetime hint", 0)]

        func header() {
            Output.out(Self.line(Self.columns.map(\.0)))
        }

        func add(_ row: Row) {
            if let error = row.error {
                Output.out(Self.line(["\(row.number)", row.server, row.offered, "error: \(error)"]))
                return
            }
            Output.out(Self.line([
                "\(row.number)", row.server, row.offered, row.resumed ? "yes" : "no", row.by,
                row.renewed.map { $0 ? "yes" : "no" } ?? "-", row.keyName, row.hint ?? "-",
            ]))
        }

        private static func line(_ cells: [String]) -> String {
            var text = ""
            for (index, cell) in cells.enumerated() {
                let width = index < columns.count ? columns[index].1 : 0
                text += index == cells.count - 1 ? cell : cell.padding(toLength: max(width, cell.count + 1), withPad: " ", startingAt: 0)
            }
            return text + "\n"
        }

        /// Per issuing server: "tickets from A resume on B and C", "tickets from A do not resume
        /// on B", or both ("... resume on B but not on C"); a server's own name appears only when
        /// it alone was tried or its own tickets failed there. Then the count.
        func verdict(_ letters: [String]) -> [String] {
            var lines: [String] = []
            for issuer in letters.indices {
                let mine = attempts.filter { $0.issuer == issuer }
                guard !mine.isEmpty else {
                    if silent.contains(issuer) { lines.append("\(letters[issuer]) issued no ticket or session ID") }
                    continue
                }
                var yes: [String] = []
                var no: [String] = []
                var sometimes: [String] = []
                let others = Set(mine.map(\.target)).subtracting([issuer])
                for target in letters.indices {
                    let tries = mine.filter { $0.target == target }
                    guard !tries.isEmpty else { continue }
                    let resumed = tries.filter(\.resumed).count
                    if target == issuer, !others.isEmpty, resumed == tries.count { continue }
                    if resumed == tries.count {
                        yes.append(letters[target])
                    } else if resumed == 0 {
                        no.append(letters[target])
                    } else {
                        sometimes.append(letters[target])
                    }
                }
                var text = "tickets from \(letters[issuer]) "
                if !yes.isEmpty {
                    text += "resume on \(Self.list(yes))"
                    if !no.isEmpty { text += " but not on \(Self.list(no))" }
                } else if !no.isEmpty {
                    text += "do not resume on \(Self.list(no))"
                }
                if !sometimes.isEmpty {
                    text += (yes.isEmpty && no.isEmpty ? "" : "; ") + "resume only sometimes on \(Self.list(sometimes))"
                }
                lines.append(text)
            }
            let resumed = attempts.filter(\.resumed).count
            if attempts.isEmpty {
                lines.append("verdict: no session was offered")
            } else if resumed == attempts.count {
                lines.append("verdict: every offered session resumed (\(resumed) of \(attempts.count))")
            } else {
                lines.append("verdict: \(attempts.count - resumed) of \(attempts.count) offered sessions did not resume")
            }
            return lines
        }

        private static func list(_ names: [String]) -> String {
            guard names.count > 1, let last = names.last else { return names.first ?? "" }
            return names.dropLast().joined(separator: ", ") + " and " + last
        }
    }
}

/// Keeps what one resumption-check connection learns, and closes it once the handshake is done.
private final class CheckRecorder: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = ByteBuffer

    private let lock = NSLock()
    private var summary: HandshakeSummary?
    private var issued: SessionState?
    private var error: String?

    var outcome: ResumptionCheck.Outcome {
        lock.withLock { ResumptionCheck.Outcome(summary: summary, issued: issued, error: error) }
    }

    func timedOut() {
        lock.withLock { if summary == nil, error == nil { error = "timed out" } }
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if case .issued(let session)? = event as? TLSSessionEvent {
            lock.withLock { issued = session }
        }
        if let completed = event as? TLSHandshakeCompletedEvent {
            lock.withLock { summary = completed.summary }
            context.close(promise: nil)
        }
        context.fireUserInboundEventTriggered(event)
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        lock.withLock { if self.error == nil, summary == nil { self.error = "\(error)" } }
        context.close(promise: nil)
    }
}
