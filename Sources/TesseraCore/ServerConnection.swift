import NIOCore
import TesseraCrypto
import TesseraWire

/// A sans-I/O TLS server: bytes in, actions out.
public struct ServerConnection: Sendable {
    private var driver: ConnectionDriver<ServerMachine>

    public init(configuration: TLSConfiguration, trace: Bool = false) {
        var records = RecordLayer()
        records.tracing = trace
        records.packsHandshakeMessages = configuration.packsHandshakeMessages
        records.traceVersion = configuration.maximumVersion
        driver = ConnectionDriver(machine: ServerMachine(ctx: ServerContext(configuration: configuration, records: records)))
    }

    /// A handshake has completed (application data flows, also during a renegotiation).
    public var isHandshakeComplete: Bool { driver.established }
    public var isClosed: Bool { driver.machine.isClosed }

    public mutating func receive(_ bytes: ByteBuffer) -> [TLSAction] {
        driver.receive(bytes)
    }

    public mutating func sendApplicationData(_ data: ByteBuffer) -> [TLSAction] {
        driver.sendApplicationData(data)
    }

    /// Sends close_notify (RFC 5246 §7.2.1).
    public mutating func close() -> [TLSAction] {
        driver.close()
    }

    /// The result of the `.verifyPeer` request for a client certificate's chain; resumes the
    /// handshake.
    public mutating func peerVerificationCompleted(_ result: VerificationResult) -> [TLSAction] {
        guard case .waitClientChainVerification(let waiting) = driver.machine.state else { return [] }
        driver.run { (machine: inout ServerMachine) throws(TLSError) in
            machine.state = try waiting.completed(result, &machine.ctx)
        }
        driver.processInput()
        return driver.machine.records.takeActions()
    }

    /// TLS 1.3 KeyUpdate (RFC 8446 §4.6.3), as on the client.
    public mutating func updateKeys(requestPeerUpdate: Bool) -> [TLSAction] {
        guard case .connected13(var connected) = driver.machine.state else { return [] }
        driver.run { (machine: inout ServerMachine) throws(TLSError) in
            connected.secrets = KeyUpdate13.send(
                connected.secrets, isClient: false, request: requestPeerUpdate ? .updateRequested : .updateNotRequested,
                &machine.ctx.records)
            machine.state = .connected13(connected)
        }
        return driver.machine.records.takeActions()
    }

    /// TLS 1.3: a NewSessionTicket on demand (RFC 8446 §4.6.1 lets a server send one at any time).
    public mutating func sendTicket() -> [TLSAction] {
        guard case .connected13(var connected) = driver.machine.state else { return [] }
        driver.run { (machine: inout ServerMachine) throws(TLSError) in
            connected.sendTickets(1, &machine.ctx)
            machine.state = .connected13(connected)
        }
        return driver.machine.records.takeActions()
    }
}

struct ServerMachine: ConnectionMachine {
    var ctx: ServerContext
    var state: ServerState = .waitClientHello(WaitClientHello(renegotiation: nil))

    /// In place (`_modify`): a get/set pair would copy the record layer on every mutation, and
    /// its buffers would no longer be uniquely referenced, so each read of a record copied them.
    var records: RecordLayer {
        get { ctx.records }
        _modify { yield &ctx.records }
    }

    var isConnected: Bool {
        switch state {
        case .connected, .connected13: return true
        default: return false
        }
    }

    /// Input is held while a client certificate's chain is verified.
    var isPaused: Bool {
        if case .waitClientChainVerification = state { return true }
        return false
    }

    /// 0-RTT data is delivered while the server waits for EndOfEarlyData.
    var acceptsEarlyData: Bool {
        if case .waitEndOfEarlyData = state { return true }
        return false
    }

    var isClosed: Bool {
        if case .closed = state { return true }
        return false
    }

    mutating func markClosed() { state = .closed }

    /// Stands in for the state while its handler runs. Not `closed`: a handler that throws leaves
    /// it behind, and the driver must still send the alert before it closes (`fail`).
    private static var handling: ServerState { .waitClientHello(WaitClientHello(renegotiation: nil)) }

    /// The state is moved out (not copied) for its handler, which consumes it: its transcript,
    /// secrets and summary go into the next state without retain/release pairs or copies.
    private mutating func takeState() -> ServerState {
        var current = Self.handling
        swap(&current, &state)
        return current
    }

    mutating func handle(_ message: HandshakeMessage, _ raw: RawHandshakeMessage) throws(TLSError) {
        switch takeState() {
        case .closed:
            state = .closed
            throw TLSError.unexpectedMessage(expected: [], got: message.type)
        case .waitClientHello(let s): state = try s.handle(message, raw, &ctx)
        case .waitClientCertificate12(let s): state = try s.handle(message, raw, &ctx)
        case .waitClientKeyExchange(let s): state = try s.handle(message, raw, &ctx)
        case .waitClientCertificateVerify12(let s): state = try s.handle(message, raw, &ctx)
        case .waitClientChainVerification(let s): state = try s.handle(message)
        case .waitClientChangeCipherSpec(let s): state = try s.handle(message)
        case .waitClientFinished(let s): state = try s.handle(message, raw, &ctx)
        case .waitResumedClientChangeCipherSpec(let s): state = try s.handle(message)
        case .waitResumedClientFinished(let s): state = try s.handle(message, raw, &ctx)
        case .waitSecondClientHello(let s): state = try s.handle(message, raw, &ctx)
        case .waitClientCertificate13(let s): state = try s.handle(message, raw, &ctx)
        case .waitClientCertificateVerify13(let s): state = try s.handle(message, raw, &ctx)
        case .waitClientFinished13(let s): state = try s.handle(message, raw, &ctx)
        case .waitEndOfEarlyData(let s): state = try s.handle(message, raw, &ctx)
        case .connected(let s): state = try s.handle(message, raw, &ctx)
        case .connected13(let s): state = try s.handle(message, &ctx)
        }
    }

    mutating func handleChangeCipherSpec() throws(TLSError) {
        switch state {
        case .waitClientChangeCipherSpec:
            if case .waitClientChangeCipherSpec(let s) = takeState() { state = try s.handleChangeCipherSpec(&ctx) }
        case .waitResumedClientChangeCipherSpec:
            if case .waitResumedClientChangeCipherSpec(let s) = takeState() { state = try s.handleChangeCipherSpec(&ctx) }
        case .waitClientCertificateVerify12:
            if case .waitClientCertificateVerify12(let s) = takeState() { state = try s.handleChangeCipherSpec() }
        case .waitSecondClientHello, .waitClientFinished13, .waitEndOfEarlyData, .waitClientCertificate13,
             .waitClientCertificateVerify13:
            return  // RFC 8446 §5 / Appendix D.4: a compatibility CCS is dropped
        case .waitClientHello(let s) where s.renegotiation == nil && records.negotiatedVersion == .tls13:
            return
        case .closed, .waitClientHello, .waitClientKeyExchange, .waitClientFinished, .waitResumedClientFinished,
             .connected, .connected13, .waitClientCertificate12, .waitClientChainVerification:
            throw TLSError.unexpected("ChangeCipherSpec")
        }
    }
}
