import Foundation
import NIOCore
import TesseraCore
import TesseraCrypto
import TesseraSessions
import TesseraWire

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

// Tessera's in-memory client/server pair, shared by the `swift package benchmark` slots
// (Benchmarks/TLS12Handshake/TesseraSlots.swift) and the event-loop scaling program
// (Sources/LoopScaling): the same certificate, suites, groups and ticket settings in both.

/// The benchmarks' server identity (ECDSA P-256, CN=localhost, SAN DNS:localhost and IP:127.0.0.1,
/// valid until 2126), the same as in `openssl/tls_bench.c`. Made once with
/// `openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 36500`.
/// A throwaway key for in-memory benchmarks only; it protects nothing.
public enum BenchmarkPEM {
    public static let certificate = """
        -----BEGIN CERTIFICATE-----
        MIIBmDCCAT6gAwIBAgIUF56MjY5h0cWS274zfoYZ1JZ31QUwCgYIKoZIzj0EAwIw
        FDESMBAGA1UEAwwJbG9jYWxob3N0MCAXDTI2MTEyNjE4MDk0OFoYDzIxMjYxMTAy
        MTgwOTQ4WjAUMRIwEAYDVQQDDAlsb2NhbGhvc3QwWTATBgcqhkjOPQIBBggqhkjO
        PQMBBwNCAAThCxyiLTX5XVseuUrw442ObG3Di72wjmr9H6RK5v169K+w78o2IaAV
        6JrJ0lvSgmtyUFMLeZtQ/yQC1PsaKJ1Co2wwajAdBgNVHQ4EFgQUDkoiZJm1jTc4
        cPEsQs4RjYhHuVIwHwYDVR0jBBgwFoAUDkoiZJm1jTc4cPEsQs4RjYhHuVIwGgYD
        VR0RBBMwEYIJbG9jYWxob3N0hwR/AAABMAwGA1UdEwEB/wQCMAAwCgYIKoZIzj0E
        AwIDSAAwRQIgBffcw9RyCJpVbgb+XCKFyT1DY/XOuIXoizPwVWlSYE0CIQC0sLUc
        bKPnzF6vlM3wub8tXKby7Sy/61/W9ttG4KhubQ==
        -----END CERTIFICATE-----
        """

    public static let privateKey = """
        -----BEGIN PRIVATE KEY-----
        MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgr7U3/2vilNBRU2oU
        tWhoZfbtX5eg2j9e5kn16piwKTahRANCAAThCxyiLTX5XVseuUrw442ObG3Di72w
        jmr9H6RK5v169K+w78o2IaAV6JrJ0lvSgmtyUFMLeZtQ/yQC1PsaKJ1C
        -----END PRIVATE KEY-----
        """
}

public enum TesseraPairError: Error {
    /// The handshake did not complete, or did not do what the benchmark expects (resumed or not,
    /// the number of tickets).
    case notEstablished
}

/// Shared configuration: the benchmark identity, one suite, one group, a ticket key ring.
///
/// Tickets: TLS 1.2 full handshakes issue one and resumptions none (the ring's key is active, so
/// no renewal); TLS 1.3 full handshakes issue two (`ticketCount13`'s default, and BoringSSL's and
/// OpenSSL's) and resumptions one (Tessera's server always sends one after a resumption).
public struct TesseraWorld: Sendable {
    public var server: TLSConfiguration
    public var client: TLSConfiguration

    /// `ticketKeys`: the server's ticket-key provider; a fresh `TicketKeyRing` when nil.
    public init(version: ProtocolVersion, ticketKeys: (any TicketKeyProvider)? = nil) throws {
        let chain = try CertificateChain(pemEncoded: BenchmarkPEM.certificate)
        let key = try SigningKey(pemEncoded: BenchmarkPEM.privateKey)
        var server = TLSConfiguration()
        server.certificateChain = chain
        server.privateKey = key
        server.maximumVersion = version
        server.ticketKeys = ticketKeys ?? TicketKeyRing(start: Date())
        server.ticketCount13 = 2
        var client = TLSConfiguration()
        client.maximumVersion = version
        client.certificateVerification = .none
        client.cipherSuites = version == .tls12 ? [.ecdheECDSAWithAES128GCMSHA256] : [.tlsAES128GCMSHA256]
        client.groups = [.x25519, .secp256r1]
        self.server = server
        self.client = client
    }

    /// NewSessionTickets the client receives in one handshake of this kind (see above).
    public static func expectedTickets(_ version: ProtocolVersion, resumed: Bool) -> Int {
        switch (version == .tls12, resumed) {
        case (true, false): 1
        case (true, true): 0
        case (false, false): 2
        case (false, true): 1
        }
    }
}

/// A Tessera client and server back to back in memory, each side's CPU timed on its own.
public struct TesseraPair: Sendable {
    public var client: ClientConnection
    public var server: ServerConnection
    public var clientCPU: UInt64 = 0
    public var serverCPU: UInt64 = 0
    /// The first session the client took (from the first NewSessionTicket).
    public var issued: SessionState?
    /// Sessions the client took from NewSessionTickets in this connection.
    public var ticketsReceived = 0
    public var resumed = false
    /// Turn off to skip the per-call thread-CPU clock reads (throughput runs).
    public var timesSides = true
    private var clientDone = false
    private var serverDone = false
    private var received = 0
    /// Bytes written and not yet read by the other side (`serverTurn`, `clientTurn`).
    private var toServer = ByteBuffer()
    private var toClient = ByteBuffer()

    public init(_ world: TesseraWorld, session: SessionState?) {
        client = ClientConnection(configuration: world.client, serverName: "localhost", session: session)
        server = ServerConnection(configuration: world.server)
    }

    /// Moves flights until both sides completed and the client has nothing more to send (in
    /// TLS 1.3 the client reads the server's NewSessionTickets in the last turn).
    public mutating func handshake() throws {
        begin()
        var rounds = 0
        while !isComplete, rounds < 20 {
            rounds += 1
            serverTurn()
            clientTurn()
        }
        guard clientDone, serverDone else { throw TesseraPairError.notEstablished }
    }

    /// A handshake that must resume (or not) and deliver the expected number of tickets.
    public mutating func checkedHandshake(_ version: ProtocolVersion, resumed expectResumed: Bool) throws {
        try handshake()
        try check(version, resumed: expectResumed)
    }

    // The handshake in steps, for several connections advanced together (the busy-server
    // benchmark): `begin`, then `serverTurn` and `clientTurn` in turn until `isComplete`.

    /// The client's first flight.
    public mutating func begin() {
        toServer = timedClient { $0.startHandshake() }
    }

    /// The server reads everything the client wrote since its last turn (nothing to read: no call).
    public mutating func serverTurn() {
        guard toServer.readableBytes > 0 else { return }
        let input = toServer
        toServer = ByteBuffer()
        toClient = timedServer { $0.receive(input) }
    }

    /// The client reads everything the server wrote since its last turn.
    public mutating func clientTurn() {
        guard toClient.readableBytes > 0 else { return }
        let input = toClient
        toClient = ByteBuffer()
        toServer = timedClient { $0.receive(input) }
    }

    /// Both sides completed and the client has nothing more to send (in TLS 1.3 the client reads
    /// the server's NewSessionTickets in the last turn).
    public var isComplete: Bool { clientDone && serverDone && toServer.readableBytes == 0 }

    /// Throws unless the handshake completed, resumed (or not) and delivered the expected tickets.
    public func check(_ version: ProtocolVersion, resumed expectResumed: Bool) throws {
        guard clientDone, serverDone, resumed == expectResumed,
            ticketsReceived == TesseraWorld.expectedTickets(version, resumed: expectResumed)
        else { throw TesseraPairError.notEstablished }
    }

    /// One application record client to server; returns the bytes delivered.
    public mutating func sendRecord(_ data: ByteBuffer) throws -> Int {
        received = 0
        let wire = timedClient { $0.sendApplicationData(data) }
        _ = timedServer { $0.receive(wire) }
        return received
    }

    private mutating func timedClient(_ body: (inout ClientConnection) -> [TLSAction]) -> ByteBuffer {
        guard timesSides else { return absorb(body(&client), isClient: true) }
        let start = threadCPUNanoseconds()
        let actions = body(&client)
        clientCPU &+= threadCPUNanoseconds() &- start
        return absorb(actions, isClient: true)
    }

    private mutating func timedServer(_ body: (inout ServerConnection) -> [TLSAction]) -> ByteBuffer {
        guard timesSides else { return absorb(body(&server), isClient: false) }
        let start = threadCPUNanoseconds()
        let actions = body(&server)
        serverCPU &+= threadCPUNanoseconds() &- start
        return absorb(actions, isClient: false)
    }

    private mutating func absorb(_ actions: [TLSAction], isClient: Bool) -> ByteBuffer {
        var out = ByteBuffer()
        for action in actions {
            switch action {
            case .send(var bytes): out.writeBuffer(&bytes)
            case .handshakeCompleted(let summary):
                if isClient { clientDone = true; resumed = summary.resumed } else { serverDone = true }
            case .sessionIssued(let session):
                ticketsReceived += 1
                if issued == nil { issued = session }
            case .applicationData(let data): received += data.readableBytes
            case .verifyPeer, .alertReceived, .trace, .closed, .sessionRejected: continue
            }
        }
        return out
    }
}

/// CPU time of the calling thread (CLOCK_THREAD_CPUTIME_ID): immune to the other builds this
/// shared machine runs (shared/SWIFT-NOTES.md: wall clock swings up to 3x here).
public func threadCPUNanoseconds() -> UInt64 {
    var ts = timespec()
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts)
    return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
}

/// Monotonic wall time in nanoseconds (for throughput, where elapsed time is the point).
public func monotonicNanoseconds() -> UInt64 {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
}
