import Benchmark
import Foundation
import NIOCore
import TesseraCore
import TesseraCrypto
import TesseraSessions
import TesseraWire
import TesseraBenchSupport

// Tessera's side of the benchmarks, one to one with the swift-nio-ssl ones beside it and with
// `Benchmarks/openssl/tls_bench.c`: the same certificate (`BenchmarkIdentity`, ECDSA P-256),
// suite (ECDHE-ECDSA-AES128-GCM-SHA256; TLS 1.3: TLS_AES_128_GCM_SHA256) and group (X25519);
// client and server CPU measured separately with `threadCPUNanoseconds()` around each side's
// "feed bytes" call. `TesseraPair` and `TesseraWorld` live in Sources/TesseraBenchSupport, shared
// with the event-loop scaling program.
//
// The same NewSessionTickets in all three programs: TLS 1.2 full handshakes issue one ticket and
// resumptions none (the ring's key is active, so no renewal); TLS 1.3 full handshakes issue two
// (Tessera's default `ticketCount13`, BoringSSL's and OpenSSL's default) and resumptions one
// (Tessera's server always sends one after a resumption; tls_bench.c sets OpenSSL's to one). The
// client reads them inside the handshake loop, and every iteration checks the count it received
// (`checkedHandshake`).
//
// One difference, stated: Tessera's client runs with chain verification off here (its
// verification is asynchronous, outside the sans-I/O core, and would be measured as task
// scheduling rather than TLS); swift-nio-ssl's client verifies. Server figures are unaffected.

func registerTesseraBenchmarks(handshakeMetrics: [BenchmarkMetric], bulkMetrics: [BenchmarkMetric], heapMetrics: [BenchmarkMetric]) {
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
                try pair.checkedHandshake(version, resumed: false)
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
                try pair.checkedHandshake(version, resumed: true)
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
        configuration: .init(metrics: heapMetrics, scalingFactor: .one, maxDuration: .seconds(5), maxIterations: 10)
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

    // What Tessera's client skips in the handshake benchmarks: chain and name verification
    // (asynchronous, outside the sans-I/O core; swift-nio-ssl's and OpenSSL's clients do it inside
    // theirs). Measured alone, on the benchmark identity, so a client figure can be compared
    // with verification added back. An async benchmark: `Time (total CPU)` is process CPU.
    Benchmark(
        "Tessera chain verification",
        configuration: .init(metrics: [.cpuTotal, .wallClock, .throughput, .mallocCountTotal], scalingFactor: .one, maxDuration: .seconds(5), maxIterations: 2000)
    ) { benchmark in
        let chain = try CertificateChain(pemEncoded: BenchmarkPEM.certificate)
        let verifier = try ChainVerifier(trustRoots: .certificates(chain.certificates))
        let der = chain.derEncoded
        let now = Date()
        benchmark.startMeasurement()
        for _ in benchmark.scaledIterations {
            let result = await verifier.verify(chain: der, hostname: "localhost", at: now)
            guard result.isValid else { throw BenchmarkFailure.notEstablished }
        }
        benchmark.stopMeasurement()
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
