import Crypto
import NIOCore
import TesseraCore
import TesseraCrypto
import TesseraSessions
import TesseraWire
import XCTest
import _CryptoExtras

/// Credentials made once per test process.
enum Credentials {
    static let p256: (CertificateChain, SigningKey) = make(SigningKey.generateP256())
    static let p384: (CertificateChain, SigningKey) = make(pem: P384.Signing.PrivateKey().pemRepresentation)
    static let rsa: (CertificateChain, SigningKey) = make(
        pem: (try? _RSA.Signing.PrivateKey(keySize: .bits2048).pemRepresentation) ?? "")

    private static func make(pem: String) -> (CertificateChain, SigningKey) {
        guard let key = try? SigningKey(pemEncoded: pem) else {
            XCTFail("cannot load generated key")
            return make(SigningKey.generateP256())
        }
        return make(key)
    }

    private static func make(_ key: SigningKey) -> (CertificateChain, SigningKey) {
        do {
            return (try CertificateChain.selfSigned(commonName: "localhost", key: key), key)
        } catch {
            XCTFail("cannot make a certificate: \(error)")
            return (CertificateChain(certificates: []), key)
        }
    }
}

/// TLS 1.2 only: most core tests are about TLS 1.2 shapes (the library's default also offers
/// TLS 1.3); TLS 1.3 tests raise `maximumVersion` themselves.
func serverConfiguration(_ credentials: (CertificateChain, SigningKey) = Credentials.p256) -> TLSConfiguration {
    var configuration = TLSConfiguration()
    configuration.maximumVersion = .tls12
    configuration.certificateChain = credentials.0
    configuration.privateKey = credentials.1
    return configuration
}

/// TLS 1.2 only, like `serverConfiguration()`.
func clientConfiguration() -> TLSConfiguration {
    var configuration = TLSConfiguration()
    configuration.maximumVersion = .tls12
    configuration.certificateVerification = .reportOnly
    configuration.trustRoots = .certificates([])
    return configuration
}

extension TLSConfiguration {
    /// One handshake message per record, so that a mutation test can drop, duplicate or move
    /// each message on its own (packed flights share records).
    var unpacked: TLSConfiguration {
        var configuration = self
        configuration.packsHandshakeMessages = false
        return configuration
    }
}

/// What one side did, in order.
struct SideLog {
    var sent: [ByteBuffer] = []
    var applicationData: [UInt8] = []
    var summary: HandshakeSummary?
    var closed: TLSError??
    var alertsReceived: [Alert] = []
    var verifyRequests = 0
    var traces: [TraceEvent] = []
    var issued: [SessionState] = []
    var rejected = 0
    var handshakes = 0

    /// Messages as the flight table names them: "ClientHello", "CCS", ...
    var sentFlight: [String] {
        sentTrace.filter { $0 != "header" }
    }

    /// What was traced as sent, in order: "header" for a record header, else as `sentFlight`.
    var sentTrace: [String] {
        traces.compactMap { event in
            guard event.direction == .sent else { return nil }
            switch event.kind {
            case .recordHeader: return "header"
            case .handshake(let type): return type.displayName
            case .changeCipherSpec: return "CCS"
            case .alert, .applicationData: return nil
            }
        }
    }

    var isClosed: Bool { closed != nil }
    var closeError: TLSError? { closed ?? nil }
}

/// A client and a server wired back to back in memory. Records can be intercepted to drop,
/// duplicate, reorder or corrupt them.
struct Pair {
    var client: ClientConnection
    var server: ServerConnection
    var clientLog = SideLog()
    var serverLog = SideLog()
    var verification = VerificationResult(isValid: true, code: 0, message: "ok")
    /// The server's answer to a client certificate's `.verifyPeer`, and the chains it was asked
    /// about.
    var serverVerification = VerificationResult(isValid: true, code: 0, message: "ok")
    var serverVerifiedChains: [[[UInt8]]] = []
    /// Bytes in flight, per direction, as records.
    var toServer: [ByteBuffer] = []
    var toClient: [ByteBuffer] = []

    /// `session` (and `earlyData`) go to the client, as a resuming application would pass them.
    init(
        client: TLSConfiguration = clientConfiguration(), server: TLSConfiguration = serverConfiguration(),
        serverName: String? = "localhost", session: SessionState? = nil, earlyData: ByteBuffer? = nil
    ) {
        self.client = ClientConnection(configuration: client, serverName: serverName, session: session, earlyData: earlyData, trace: true)
        self.server = ServerConnection(configuration: server, trace: true)
    }

    /// Both sides send one handshake message per record (see `TLSConfiguration.unpacked`).
    static func unpacked() -> Pair {
        Pair(client: clientConfiguration().unpacked, server: serverConfiguration().unpacked)
    }

    mutating func start() {
        absorbClient(client.startHandshake())
    }

    /// Starts the handshake, gives the client's first flight to the server and returns the
    /// server's answer as records, taken out of flight (for tests that mutate it).
    mutating func serverFirstFlight() -> [ByteBuffer] {
        start()
        let hello = toServer
        toServer = []
        for record in hello { absorbServer(server.receive(record)) }
        let flight = toClient
        toClient = []
        return flight
    }

    /// Starts the handshake, runs it until the client has answered the server's first flight, and
    /// returns that answer as records, taken out of flight.
    mutating func clientSecondFlight() -> [ByteBuffer] {
        start()
        run(limit: 1)
        let flight = toServer
        toServer = []
        return flight
    }

    /// Moves bytes both ways until nothing is in flight.
    mutating func run(limit: Int = 100) {
        var rounds = 0
        while !(toServer.isEmpty && toClient.isEmpty), rounds < limit {
            rounds += 1
            if !toServer.isEmpty {
                let records = toServer
                toServer = []
                for record in records { absorbServer(server.receive(record)) }
            }
            if !toClient.isEmpty {
                let records = toClient
                toClient = []
                for record in records { absorbClient(client.receive(record)) }
            }
        }
    }

    mutating func handshake() {
        start()
        run()
    }

    mutating func absorbClient(_ actions: [TLSAction]) {
        for action in actions {
            switch action {
            case .send(let bytes): toServer.append(contentsOf: splitRecords(bytes)); clientLog.sent.append(bytes)
            case .verifyPeer(let request):
                clientLog.verifyRequests += 1
                XCTAssertEqual(request.purpose, .server, "a client checks a server chain")
                absorbClient(client.peerVerificationCompleted(verification))
            case .handshakeCompleted(let summary): clientLog.summary = summary; clientLog.handshakes += 1
            case .sessionIssued(let session): clientLog.issued.append(session)
            case .sessionRejected: clientLog.rejected += 1
            case .applicationData(let data): clientLog.applicationData += Array(data.readableBytesView)
            case .alertReceived(let alert): clientLog.alertsReceived.append(alert)
            case .trace(let event): clientLog.traces.append(event)
            case .closed(let error): clientLog.closed = .some(error)
            }
        }
    }

    mutating func absorbServer(_ actions: [TLSAction]) {
        for action in actions {
            switch action {
            case .send(let bytes): toClient.append(contentsOf: splitRecords(bytes)); serverLog.sent.append(bytes)
            case .verifyPeer(let request):
                serverLog.verifyRequests += 1
                serverVerifiedChains.append(request.chain)
                XCTAssertNil(request.hostname, "a client certificate is checked without a host name")
                XCTAssertEqual(request.purpose, .client, "a server checks a client chain for clientAuth")
                absorbServer(server.peerVerificationCompleted(serverVerification))
            case .handshakeCompleted(let summary): serverLog.summary = summary; serverLog.handshakes += 1
            case .sessionIssued(let session): serverLog.issued.append(session)
            case .sessionRejected: serverLog.rejected += 1
            case .applicationData(let data): serverLog.applicationData += Array(data.readableBytesView)
            case .alertReceived(let alert): serverLog.alertsReceived.append(alert)
            case .trace(let event): serverLog.traces.append(event)
            case .closed(let error): serverLog.closed = .some(error)
            }
        }
    }
}

/// Splits a byte stream into whole records (each starts with a 5-byte header).
func splitRecords(_ bytes: ByteBuffer) -> [ByteBuffer] {
    var buffer = bytes
    var records: [ByteBuffer] = []
    while buffer.readableBytes >= 5,
          let length = buffer.getInteger(at: buffer.readerIndex + 3, as: UInt16.self),
          let record = buffer.readSlice(length: 5 + Int(length)) {
        records.append(record)
    }
    if buffer.readableBytes > 0 { records.append(buffer) }
    return records
}

/// The alert a side sent, read from its last record if it is a plaintext alert.
func plaintextAlert(in sent: [ByteBuffer]) -> Alert? {
    guard let last = sent.last.flatMap({ splitRecords($0).last }),
          last.getInteger(at: last.readerIndex, as: UInt8.self) == ContentType.alert.rawValue,
          let body = last.getSlice(at: last.readerIndex + 5, length: last.readableBytes - 5) else { return nil }
    return try? Alert(decoding: body)
}

func record(_ type: ContentType, version: ProtocolVersion = .tls12, _ body: [UInt8]) -> ByteBuffer {
    var buffer = ByteBuffer()
    TLSRecord(contentType: type, version: version, fragment: ByteBuffer(bytes: body)).encode(into: &buffer)
    return buffer
}
