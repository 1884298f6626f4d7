import NIOCore
import TesseraCrypto
import TesseraSessions
import TesseraWire

/// A sans-I/O TLS client: bytes in, actions out. No sockets, no threads, no wall clock.
///
/// ```swift
/// var client = ClientConnection(configuration: config, serverName: "example.com")
/// for action in client.startHandshake() { ... }         // .send(ClientHello)
/// for action in client.receive(bytesFromServer) { ... } // .send, .verifyPeer, .handshakeCompleted, ...
/// ```
public struct ClientConnection: Sendable {
    private var driver: ConnectionDriver<ClientMachine>

    /// `session`: a stored session to offer for resumption (RFC 5077 ticket or session ID).
    /// `earlyData`: TLS 1.3 0-RTT data to send with the hello when `session` allows it; data the
    /// server declines is sent again after the handshake.
    public init(
        configuration: TLSConfiguration, serverName: String?, session: SessionState? = nil,
        earlyData: ByteBuffer? = nil, trace: Bool = false
    ) {
        var records = RecordLayer()
        records.tracing = trace
        records.packsHandshakeMessages = configuration.packsHandshakeMessages
        // RFC 8446 §5.1 / RFC 5246 Appendix E.1: the first ClientHello's record says TLS 1.0.
        records.setInitialRecordVersion(.tls10)
        records.traceVersion = configuration.maximumVersion
        let ctx = ClientContext(
            configuration: configuration, records: records, serverName: serverName, session: session, earlyData: earlyData)
        driver = ConnectionDriver(machine: ClientMachine(ctx: ctx))
    }

    /// A handshake has completed (application data flows, also during a renegotiation).
    public var isHandshakeComplete: Bool { driver.established }
    public var isClosed: Bool { driver.machine.isClosed }

    /// Sends the ClientHello.
    public mutating func startHandshake() -> [TLSAction] {
        guard case .start = driver.machine.state else { return [] }
        driver.run { (machine: inout ClientMachine) throws(TLSError) in
            let (hello, offer) = try ClientHelloBuilder.make(machine.ctx)
            var transcript = Transcript()
            let helloBytes = machine.ctx.records.writeHandshake(.clientHello(hello))
            transcript.append(helloBytes)
            machine.ctx.records.setWriteRecordVersion(.tls12)
            if offer.sendsEarlyData, let psk = offer.psk, let data = machine.ctx.earlyData {
                try EarlyData13.send(data, psk: psk, hello: helloBytes, random: offer.random, &machine.ctx)
            }
            machine.state = .waitServerHello(WaitServerHello(offer: offer, transcript: transcript, previous: nil))
        }
        return driver.machine.records.takeActions()
    }

    public mutating func receive(_ bytes: ByteBuffer) -> [TLSAction] {
        driver.receive(bytes)
    }

    /// The result of the `.verifyPeer` request; resumes the handshake.
    public mutating func peerVerificationCompleted(_ result: VerificationResult) -> [TLSAction] {
        switch driver.machine.state {
        case .waitPeerVerification(let waiting):
            driver.run { (machine: inout ClientMachine) throws(TLSError) in
                machine.state = try waiting.sendFlight(verification: result, &machine.ctx)
            }
        case .waitPeerVerification13(let waiting):
            driver.run { (machine: inout ClientMachine) throws(TLSError) in
                machine.state = try waiting.sendFlight(verification: result, &machine.ctx)
            }
        default:
            return []
        }
        driver.processInput()
        return driver.machine.records.takeActions()
    }

    public mutating func sendApplicationData(_ data: ByteBuffer) -> [TLSAction] {
        driver.sendApplicationData(data)
    }

    /// TLS 1.3 KeyUpdate (RFC 8446 §4.6.3): moves our sending keys on, and asks the server to move
    /// its own when `requestPeerUpdate` is set. Nothing happens on a TLS 1.2 connection.
    public mutating func updateKeys(requestPeerUpdate: Bool) -> [TLSAction] {
        guard case .connected13(var connected) = driver.machine.state else { return [] }
        driver.run { (machine: inout ClientMachine) throws(TLSError) in
            connected.secrets = KeyUpdate13.send(
                connected.secrets, isClient: true, request: requestPeerUpdate ? .updateRequested : .updateNotRequested,
                &machine.ctx.records)
            machine.state = .connected13(connected)
        }
        return driver.machine.records.takeActions()
    }

    /// Starts a renegotiation (TLS 1.2, RFC 5746 secure renegotiation only): a full handshake
    /// inside the connection. Application data keeps flowing meanwhile.
    public mutating func renegotiate() -> [TLSAction] {
        guard case .connected(let connected) = driver.machine.state else { return [] }
        driver.run { (machine: inout ClientMachine) throws(TLSError) in
            machine.state = try connected.renegotiate(&machine.ctx)
        }
        return driver.machine.records.takeActions()
    }

    /// Sends close_notify (RFC 5246 §7.2.1).
    public mutating func close() -> [TLSAction] {
        driver.close()
    }
}

struct ClientMachine: ConnectionMachine {
    var ctx: ClientContext
    var state: ClientState = .start

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

    var isPaused: Bool {
        switch state {
        case .waitPeerVerification, .waitPeerVerification13: return true
        default: return false
        }
    }

    var isClosed: Bool {
        if case .closed = state { return true }
        return false
    }

    mutating func markClosed() { state = .closed }

    mutating func handleWarningAlert(_ alert: Alert) {
        if case .waitServerHello(let waiting) = state, let next = waiting.handleWarning(alert) {
            state = next
        }
    }

    /// The state is moved out (not copied) for its handler, which consumes it. `start` stands in
    /// while the handler runs: it is not `closed`, so a handler that throws still gets its alert
    /// sent by the driver (`fail`) before the connection closes.
    private mutating func takeState() -> ClientState {
        var current = ClientState.start
        swap(&current, &state)
        return current
    }

    mutating func handle(_ message: HandshakeMessage, _ raw: RawHandshakeMessage) throws(TLSError) {
        switch takeState() {
        case .start:
            state = .start
            throw TLSError.unexpectedMessage(expected: [], got: message.type)
        case .closed:
            state = .closed
            throw TLSError.unexpectedMessage(expected: [], got: message.type)
        case .waitServerHello(let s): state = try s.handle(message, raw, &ctx)
        case .waitCertificate(let s): state = try s.handle(message, raw, &ctx)
        case .waitServerKeyExchange(let s): state = try s.handle(message, raw, &ctx)
        case .waitServerHelloDone(let s): state = try s.handle(message, raw, &ctx)
        case .waitPeerVerification(let s): state = try s.handle(message)
        case .waitNewSessionTicket(let s): state = try s.handle(message, raw, &ctx)
        case .waitChangeCipherSpec(let s): state = try s.handle(message)
        case .waitFinished(let s): state = try s.handle(message, raw, &ctx)
        case .waitServerFlight(let s): state = try s.handle(message, raw, &ctx)
        case .waitResumedNewSessionTicket(let s): state = try s.handle(message, raw, &ctx)
        case .waitResumedChangeCipherSpec(let s): state = try s.handle(message)
        case .waitResumedFinished(let s): state = try s.handle(message, raw, &ctx)
        case .waitEncryptedExtensions(let s): state = try s.handle(message, raw, &ctx)
        case .waitCertificate13(let s): state = try s.handle(message, raw, &ctx)
        case .waitCertificateVerify13(let s): state = try s.handle(message, raw, &ctx)
        case .waitFinished13(let s): state = try s.handle(message, raw, &ctx)
        case .waitPeerVerification13(let s): state = try s.handle(message)
        case .connected(let s): state = try s.handle(message, &ctx)
        case .connected13(let s): state = try s.handle(message, &ctx)
        }
    }

    mutating func handleChangeCipherSpec() throws(TLSError) {
        switch state {
        case .waitChangeCipherSpec:
            if case .waitChangeCipherSpec(let s) = takeState() { state = try s.handleChangeCipherSpec(&ctx) }
        case .waitNewSessionTicket:
            if case .waitNewSessionTicket(let s) = takeState() { state = try s.handleChangeCipherSpec() }
        case .waitServerFlight:
            if case .waitServerFlight(let s) = takeState() { state = try s.handleChangeCipherSpec(&ctx) }
        case .waitResumedChangeCipherSpec:
            if case .waitResumedChangeCipherSpec(let s) = takeState() { state = try s.handleChangeCipherSpec(&ctx) }
        case .waitResumedNewSessionTicket:
            if case .waitResumedNewSessionTicket(let s) = takeState() { state = try s.handleChangeCipherSpec() }
        case .waitServerHello(let s) where s.offer.offers13 && s.offer.retried:
            return  // RFC 8446 Appendix D.4: a compatibility CCS after a HelloRetryRequest
        case .waitEncryptedExtensions, .waitCertificate13, .waitCertificateVerify13, .waitFinished13:
            return  // RFC 8446 §5: dropped before the peer's Finished
        case .start, .closed, .waitServerHello, .waitCertificate, .waitServerKeyExchange, .waitServerHelloDone,
             .waitPeerVerification, .waitFinished, .waitResumedFinished, .connected, .waitPeerVerification13,
             .connected13:
            throw TLSError.unexpected("ChangeCipherSpec")
        }
    }
}
