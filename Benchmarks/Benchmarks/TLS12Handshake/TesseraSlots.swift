import Benchmark
import Foundation
import NIOCore
import TesseraCore
import TesseraCrypto
import TesseraSessions
import TesseraWire

// Tessera's side of the benchmarks, one to one with the swift-nio-ssl ones beside it and with
// `Benchmarks/openssl/tls_bench.c`: the same certificate (`BenchmarkIdentity`, ECDSA P-256),
// suite (ECDHE-ECDSA-AES128-GCM-SHA256) and group (X25519); client and server CPU measured
// separately with `threadCPUNanoseconds()` around each side's "feed bytes" call.
//
// One difference, stated: Tessera's client runs with chain verification off here (its
// verification is asynchronous, outside the sans-I/O core, and would be measured as task
// scheduling rather than TLS); swift-nio-ssl's client verifies. Server figures are unaffected.

func registerTesseraBenchmarks(handshakeMetrics: [BenchmarkMetric], bulkMetrics: [BenchmarkMetric]) {
    for version in [ProtocolVersion.tls12, .tls13] {
        let label = version == .tls12 ? "TLS1.2" : "TLS1.3"
        Benchmark(
            "Tessera \(label) full handshake",
            configuration: .init(metrics: handshakeMetrics, scalingFactor: .one, maxDuration: .seconds(5), maxIterations: 2000)
        ) { benchmark in
            let world = try TesseraWorld(version: version)
            var client: UInt64 = 0
            var server: UInt64 = 0
            benchmark.startMeasurement()
            for _ in benchmark.scaledIterations {
                var pair = TesseraPair(world, session: nil)
                try pair.handshake()
                client += pair.clientCPU
                server += pair.serverCPU
            }
            benchmark.stopMeasurement()
            let n = UInt64(benchmark.scaledIterations.count)
            benchmark.measurement(clientCPUMetric, Int(client / n))
            benchmark.measurement(serverCPUMetric, Int(server / n))
        }

        Benchmark(
            "Tessera \(label) resumed handshake",
            configuration: .init(metrics: handshakeMetrics, scalingFactor: .one, maxDuration: .seconds(5), maxIterations: 5000)
        ) { benchmark in
            let (world, session) = try ResumptionFixture.shared(version)
            var client: UInt64 = 0
            var server: UInt64 = 0
            benchmark.startMeasurement()
            for _ in benchmark.scaledIterations {
                var pair = TesseraPair(world, session: session)
                try pair.handshake()
                guard pair.resumed else { throw BenchmarkFailure.notEstablished }
                client += pair.clientCPU
                server += pair.serverCPU
            }
            benchmark.stopMeasurement()
            let n = UInt64(benchmark.scaledIterations.count)
            benchmark.measurement(clientCPUMetric, Int(client / n))
            benchmark.measurement(serverCPUMetric, Int(server / n))
        }
    }

    Benchmark(
        "Tessera TLS1.2 AES-128-GCM 16KiB record",
        configuration: .init(metrics: bulkMetrics, scalingFactor: .kilo, maxDuration: .seconds(5), maxIterations: 100)
    ) { benchmark in
        var pair = TesseraPair(try TesseraWorld(version: .tls12), session: nil)
        try pair.handshake()
        let record = ByteBuffer(repeating: 0xA5, count: recordSize)
        pair.clientCPU = 0
        pair.serverCPU = 0
        benchmark.startMeasurement()
        for _ in benchmark.scaledIterations {
            blackHole(try pair.sendRecord(record))
        }
        benchmark.stopMeasurement()
        let n = UInt64(benchmark.scaledIterations.count)
        benchmark.measurement(clientCPUMetric, Int(pair.clientCPU / n))
        benchmark.measurement(serverCPUMetric, Int(pair.serverCPU / n))
    }

    Benchmark(
        "Tessera TLS1.2 heap per connection",
        configuration: .init(metrics: [heapPerConnectionMetric, .memoryLeakedBytes, .mallocCountTotal], scalingFactor: .one, maxDuration: .seconds(5), maxIterations: 10)
    ) { benchmark in
        let world = try TesseraWorld(version: .tls12)
        var pairs: [TesseraPair] = []
        pairs.reserveCapacity(heapConnections)
        let small = ByteBuffer(repeating: 0x5A, count: 64)
        benchmark.startMeasurement()
        let before = heapBytesInUse()
        for _ in 0..<heapConnections {
            var pair = TesseraPair(world, session: nil)
            try pair.handshake()
            guard try pair.sendRecord(small) == small.readableBytes else { throw BenchmarkFailure.notEstablished }
            pairs.append(pair)
        }
        let after = heapBytesInUse()
        benchmark.stopMeasurement()
        benchmark.measurement(heapPerConnectionMetric, (after - before) / heapConnections)
        blackHole(pairs.count)
    }

    Benchmark(
        "Tessera ticket seal+open",
        configuration: .init(metrics: [.cpuTotal, .throughput, .mallocCountTotal], scalingFactor: .kilo, maxDuration: .seconds(5), maxIterations: 100)
    ) { benchmark in
        let key = TicketKey.generate()
        let state = [UInt8](repeating: 0x30, count: 160)
        benchmark.startMeasurement()
        for _ in benchmark.scaledIterations {
            blackHole(try TicketSealing.open(TicketSealing.seal(state, key: key), key: key))
        }
    }
}

/// One full handshake per process and version; every resumed iteration offers its session.
enum ResumptionFixture {
    nonisolated(unsafe) private static var cache: [UInt16: (TesseraWorld, SessionState)] = [:]

    static func shared(_ version: ProtocolVersion) throws -> (TesseraWorld, SessionState) {
        if let cached = cache[version.rawValue] { return cached }
        let world = try TesseraWorld(version: version)
        var first = TesseraPair(world, session: nil)
        try first.handshake()
        guard let session = first.issued else { throw BenchmarkFailure.notEstablished }
        cache[version.rawValue] = (world, session)
        return (world, session)
    }
}

/// Shared configuration: the benchmark identity, one suite, one group, a ticket key ring.
struct TesseraWorld {
    var server: TLSConfiguration
    var client: TLSConfiguration

    init(version: ProtocolVersion) throws {
        let chain = try CertificateChain(pemEncoded: BenchmarkIdentity.certificatePEM)
        let key = try SigningKey(pemEncoded: BenchmarkIdentity.privateKeyPEM)
        var server = TLSConfiguration()
        server.certificateChain = chain
        server.privateKey = key
        server.maximumVersion = version
        server.ticketKeys = TicketKeyRing(start: Date())
        server.ticketCount13 = 1
        var client = TLSConfiguration()
        client.maximumVersion = version
        client.certificateVerification = .none
        client.cipherSuites = version == .tls12 ? [.ecdheECDSAWithAES128GCMSHA256] : [.tlsAES128GCMSHA256]
        client.groups = [.x25519, .secp256r1]
        self.server = server
        self.client = client
    }
}

/// A Tessera client and server back to back in memory, each side's CPU timed on its own.
struct TesseraPair {
    var client: ClientConnection
    var server: ServerConnection
    var clientCPU: UInt64 = 0
    var serverCPU: UInt64 = 0
    var issued: SessionState?
    var resumed = false
    private var clientDone = false
    private var serverDone = false
    private var received = 0

    init(_ world: TesseraWorld, session: SessionState?) {
        client = ClientConnection(configuration: world.client, serverName: "localhost", session: session)
        server = ServerConnection(configuration: world.server)
    }

    mutating func handshake() throws {
        var toServer = timedClient { $0.startHandshake() }
        var rounds = 0
        while !(clientDone && serverDone && toServer.readableBytes == 0), rounds < 20 {
            rounds += 1
            let input = toServer
            let toClient = timedServer { $0.receive(input) }
            toServer = timedClient { $0.receive(toClient) }
        }
        guard clientDone, serverDone else { throw BenchmarkFailure.notEstablished }
    }

    /// One application record client to server; returns the bytes delivered.
    mutating func sendRecord(_ data: ByteBuffer) throws -> Int {
        received = 0
        let wire = timedClient { $0.sendApplicationData(data) }
        _ = timedServer { $0.receive(wire) }
        return received
    }

    private mutating func timedClient(_ body: (inout ClientConnection) -> [TLSAction]) -> ByteBuffer {
        let start = threadCPUNanoseconds()
        let actions = body(&client)
        clientCPU &+= threadCPUNanoseconds() &- start
        return absorb(actions, isClient: true)
    }

    private mutating func timedServer(_ body: (inout ServerConnection) -> [TLSAction]) -> ByteBuffer {
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
            case .sessionIssued(let session): if issued == nil { issued = session }
            case .applicationData(let data): received += data.readableBytes
            case .verifyPeer, .alertReceived, .trace, .closed, .sessionRejected: continue
            }
        }
        return out
    }
}
