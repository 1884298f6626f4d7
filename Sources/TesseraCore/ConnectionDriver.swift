import NIOCore
import TesseraWire

/// A side's handshake logic as the driver sees it: messages and CCS in, state out.
protocol ConnectionMachine: Sendable {
    var records: RecordLayer { get set }
    var isConnected: Bool { get }
    /// Input is held (the client waits for certificate verification).
    var isPaused: Bool { get }
    /// Application data may arrive before the handshake completes (accepted TLS 1.3 0-RTT).
    var acceptsEarlyData: Bool { get }
    var isClosed: Bool { get }
    mutating func handle(_ message: HandshakeMessage, _ raw: RawHandshakeMessage) throws(TLSError)
    mutating func handleChangeCipherSpec() throws(TLSError)
    mutating func markClosed()
    /// A warning alert other than close_notify (a refused renegotiation, say).
    mutating func handleWarningAlert(_ alert: Alert)
}

extension ConnectionMachine {
    mutating func handleWarningAlert(_ alert: Alert) {}
    var acceptsEarlyData: Bool { false }
}

/// What both sides do the same way: pull input, dispatch it, application data, alerts, close,
/// and failing with exactly one alert.
struct ConnectionDriver<Machine: ConnectionMachine>: Sendable {
    var machine: Machine
    /// Application data written before the handshake completed.
    private var pendingWrites: [ByteBuffer] = []
    private var sentCloseNotify = false
    /// A first handshake completed: application data may flow from now on, also while a
    /// renegotiation runs (RFC 5246 §7.4.1.2 lets it interleave).
    private(set) var established = false

    init(machine: Machine) {
        self.machine = machine
    }

    mutating func receive(_ bytes: ByteBuffer) -> [TLSAction] {
        guard !machine.isClosed else { return [] }
        machine.records.receive(bytes)
        processInput()
        return machine.records.takeActions()
    }

    /// Runs `body` against the machine; a thrown error fails the connection. What `body` wrote
    /// of a flight goes out as records when it returns.
    mutating func run(_ body: (inout Machine) throws(TLSError) -> Void) {
        do throws(TLSError) {
            try body(&machine)
            machine.records.sealPendingHandshake()
            // A record the handler wrote could not be protected (RecordLayer.writeFailure).
            if let failure = machine.records.writeFailure { throw failure }
        } catch {
            fail(error)
        }
        noteEstablished()
    }

    /// The first completed handshake opens the connection for application data and sends what
    /// was written before it.
    private mutating func noteEstablished() {
        guard !established, machine.isConnected else { return }
        established = true
        flushPendingWrites()
    }

    mutating func processInput() {
        while !machine.isClosed, !machine.isPaused {
            let inbound: Inbound?
            do {
                inbound = try machine.records.nextInbound()
            } catch {
                fail(error)
                return
            }
            guard let inbound else { return }
            step(inbound)
            noteEstablished()
        }
    }

    private mutating func step(_ inbound: Inbound) {
        switch inbound {
        case .handshake(let message, let raw):
            run { (machine: inout Machine) throws(TLSError) in try machine.handle(message, raw) }
        case .changeCipherSpec:
            run { (machine: inout Machine) throws(TLSError) in try machine.handleChangeCipherSpec() }
        case .applicationData(let data):
            guard established || machine.acceptsEarlyData else {
                fail(TLSError.unexpected("application data before the handshake completed"))
                return
            }
            post(.applicationData(data))
        case .alert(let alert):
            handleAlert(alert)
        }
    }

    private mutating func handleAlert(_ alert: Alert) {
        if alert.alertDescription == .closeNotify {
            // RFC 5246 §7.2.1: answer with our own close_notify and stop reading.
            if !sentCloseNotify {
                sentCloseNotify = true
                try? machine.records.writeAlert(.warning(.closeNotify))
            }
            machine.markClosed()
            machine.records.emitDiscardingOpenFlight(.closed(nil))
        } else if alert.level == .fatal {
            machine.markClosed()
            machine.records.emitDiscardingOpenFlight(.closed(TLSError(
                .peerAlert(alert.alertDescription), "peer sent fatal alert \(alert.alertDescription)")))
        } else {
            machine.handleWarningAlert(alert)
            post(.alertReceived(alert))
        }
    }

    /// An action for the application, after the output written before it.
    private mutating func post(_ action: TLSAction) {
        machine.records.emit(action)
        if let failure = machine.records.writeFailure { fail(failure) }
    }

    mutating func sendApplicationData(_ data: ByteBuffer) -> [TLSAction] {
        if established {
            do {
                try machine.records.writeApplicationData(data)
            } catch {
                fail(error)
            }
        } else if !machine.isClosed {
            pendingWrites.append(data)
        }
        return machine.records.takeActions()
    }

    /// Sends close_notify (RFC 5246 §7.2.1). An established connection reads on until the peer's
    /// close_notify; one still handshaking is closed at once.
    mutating func close() -> [TLSAction] {
        guard !machine.isClosed, !sentCloseNotify else { return machine.records.takeActions() }
        sentCloseNotify = true
        do {
            try machine.records.writeAlert(.warning(.closeNotify))
        } catch {
            fail(error)
        }
        if !established, !machine.isClosed {
            machine.markClosed()
            machine.records.emitDiscardingOpenFlight(.closed(nil))
        }
        return machine.records.takeActions()
    }

    private mutating func flushPendingWrites() {
        let writes = pendingWrites
        pendingWrites.removeAll()
        for data in writes {
            do {
                try machine.records.writeApplicationData(data)
            } catch {
                fail(error)
                return
            }
        }
    }

    /// Sends the alert for `error` (if any) and closes: the single exit for every failure.
    mutating func fail(_ error: TLSError) {
        guard !machine.isClosed else { return }
        if let description = error.alert {
            try? machine.records.writeAlert(.fatal(description))
        }
        machine.markClosed()
        machine.records.emitDiscardingOpenFlight(.closed(error))
    }
}
