import Logging
import NIOCore
import TesseraCore
import TesseraCrypto
import TesseraSessions

/// Shared by every connection of a client or server: configuration, credentials and the chain
/// verifier (whose trust roots are read once).
public final class TLSContext: Sendable {
    public let configuration: TLSConfiguration
    /// Receives every `-msg` style trace event; nil turns tracing off.
    public let trace: (@Sendable (TraceEvent) -> Void)?
    /// Client: where sessions are kept between connections, keyed by server name and port
    /// (in memory by default; give your own to keep them across restarts).
    public let sessionStore: any ClientSessionStore
    /// Server: counts every completed handshake and watches the ticket keys (DESIGN.md §5
    /// metrics and logs); nil records nothing.
    public let metrics: TicketMetrics?
    let verifier: ChainVerifier?
    let logger: Logger

    public init(
        configuration: TLSConfiguration,
        trace: (@Sendable (TraceEvent) -> Void)? = nil,
        sessionStore: any ClientSessionStore = InMemorySessionStore(),
        logger: Logger = Logger(label: "tessera"),
        metrics: TicketMetrics? = nil
    ) throws {
        self.configuration = configuration
        self.trace = trace
        self.sessionStore = sessionStore
        self.metrics = metrics
        self.logger = logger
        switch configuration.certificateVerification {
        case .none:
            verifier = nil
        case .required, .reportOnly:
            do {
                verifier = try ChainVerifier(trustRoots: configuration.trustRoots, maximumDepth: configuration.verifyDepth)
            } catch {
                throw TLSError(.internalError, "cannot load trust roots: \(error.message)")
            }
        }
    }

    func makeServerConnection() -> ServerConnection {
        ServerConnection(configuration: configuration, trace: trace != nil)
    }

    func makeClientConnection(serverHostname: String?, session: SessionState?, earlyData: ByteBuffer?) -> ClientConnection {
        ClientConnection(
            configuration: configuration, serverName: serverHostname, session: session, earlyData: earlyData,
            trace: trace != nil)
    }
}
