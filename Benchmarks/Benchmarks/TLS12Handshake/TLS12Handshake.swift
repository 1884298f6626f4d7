import Benchmark
import Crypto
import NIOCore
import NIOSSL

/// TLS 1.2 benchmarks (DESIGN.md §8): swift-nio-ssl as the reference now, Tessera in the slots
/// of `TesseraSlots.swift` once TesseraCore can run a handshake. Report ratios, not absolute
/// times: this machine is shared and its wall clock is noisy, so every benchmark also records
/// thread CPU time, split by side where it matters.
///
/// Run: `cd Benchmarks && swift package benchmark` (see Benchmarks/README.md).
let benchmarks: @Sendable () -> Void = {
    let handshakeMetrics: [BenchmarkMetric] = [
        .cpuTotal, .wallClock, .throughput, .mallocCountTotal,
        clientCPUMetric, serverCPUMetric,
    ]
    let bulkMetrics: [BenchmarkMetric] = [.cpuTotal, .wallClock, .throughput, .mallocCountTotal, clientCPUMetric, serverCPUMetric]
    // .throughput only so that `--format jmh` (which run-all.sh reads) exports these too.
    let heapMetrics: [BenchmarkMetric] = [heapPerConnectionMetric, .memoryLeakedBytes, .mallocCountTotal, .throughput]

    // MARK: swift-nio-ssl

    // One full handshake per iteration (fresh channels, same contexts: nothing to resume), in
    // TLS 1.2 and in TLS 1.3 (the TLS 1.3 one includes the server's two NewSessionTickets,
    // which the client reads while the flights are pumped).
    for (label, version, makeContexts) in [
        ("TLS1.2", TLSVersion.tlsv12, NIOSSLPair.Contexts.tls12),
        ("TLS1.3", TLSVersion.tlsv13, NIOSSLPair.Contexts.tls13),
    ] {
        Benchmark(
            "NIOSSL \(label) full handshake",
            configuration: .init(metrics: handshakeMetrics, scalingFactor: .one, maxDuration: .seconds(5), maxIterations: 2000)
        ) { benchmark in
            let contexts = try NIOSSLFixture.contexts(label, version: version, make: makeContexts)
            var clientCPU: UInt64 = 0
            var serverCPU: UInt64 = 0
            benchmark.startMeasurement()
            for _ in benchmark.scaledIterations {
                let pair = try NIOSSLPair(contexts)
                try pair.handshake()
                clientCPU += pair.clientCPUNanoseconds
                serverCPU += pair.serverCPUNanoseconds
                pair.discard()
            }
            benchmark.stopMeasurement()
            let n = UInt64(benchmark.scaledIterations.count)
            benchmark.measurement(clientCPUMetric, Int(clientCPU / n))
            benchmark.measurement(serverCPUMetric, Int(serverCPU / n))
        }
    }

    // One 16 KiB application record per iteration, client to server, through an established
    // ECDHE-ECDSA-AES128-GCM-SHA256 connection: seal, frame, parse, open.
    Benchmark(
        "NIOSSL TLS1.2 AES-128-GCM 16KiB record",
        configuration: .init(metrics: bulkMetrics, scalingFactor: .kilo, maxDuration: .seconds(5), maxIterations: 100)
    ) { benchmark in
        let pair = try NIOSSLPair(try NIOSSLPair.Contexts.tls12())
        try pair.handshake()
        let record = ByteBuffer(repeating: 0xA5, count: recordSize)
        guard try pair.sendRecord(record) == recordSize else { throw BenchmarkFailure.notEstablished }
        pair.resetCPU()
        benchmark.startMeasurement()
        for _ in benchmark.scaledIterations {
            blackHole(try pair.sendRecord(record))
        }
        benchmark.stopMeasurement()
        let n = UInt64(benchmark.scaledIterations.count)
        benchmark.measurement(clientCPUMetric, Int(pair.clientCPUNanoseconds / n))
        benchmark.measurement(serverCPUMetric, Int(pair.serverCPUNanoseconds / n))
        pair.discard()
    }

    // Heap held per established connection (client and server together, channels included),
    // after the handshake and one small record, over 100 connections alive at once.
    Benchmark(
        "NIOSSL TLS1.2 heap per connection",
        configuration: .init(metrics: heapMetrics, scalingFactor: .one, maxDuration: .seconds(5), maxIterations: 10)
    ) { benchmark in
        let contexts = try NIOSSLPair.Contexts.tls12()
        let count = heapConnections
        var pairs: [NIOSSLPair] = []
        pairs.reserveCapacity(count)
        let small = ByteBuffer(repeating: 0x5A, count: 64)
        benchmark.startMeasurement()  // allocation counting is on from here (memoryLeakedBytes too)
        let before = heapBytesInUse()
        for _ in 0..<count {
            let pair = try NIOSSLPair(contexts)
            try pair.handshake()
            guard try pair.sendRecord(small) == small.readableBytes else { throw BenchmarkFailure.notEstablished }
            pairs.append(pair)
        }
        let after = heapBytesInUse()
        benchmark.stopMeasurement()
        benchmark.measurement(heapPerConnectionMetric, (after - before) / count)
        for pair in pairs { pair.discard() }
        blackHole(pairs.count)
    }

    // MARK: Floors

    // The AEAD alone (swift-crypto, no TLS): the floor under any record layer built on it,
    // Tessera's included. shared/SWIFT-NOTES.md: about 1.5x OpenSSL at 16 KiB.
    Benchmark(
        "swift-crypto AES-128-GCM seal 16KiB",
        configuration: .init(metrics: [.cpuTotal, .throughput, .mallocCountTotal], scalingFactor: .kilo, maxDuration: .seconds(5), maxIterations: 100)
    ) { benchmark in
        let key = SymmetricKey(size: .bits128)
        let plaintext = [UInt8](repeating: 0xA5, count: recordSize)
        let aad = [UInt8](repeating: 0x17, count: 13)
        benchmark.startMeasurement()
        for _ in benchmark.scaledIterations {
            blackHole(try AES.GCM.seal(plaintext, using: key, authenticating: aad))
        }
    }

    // MARK: Tessera

    registerTesseraBenchmarks(handshakeMetrics: handshakeMetrics, bulkMetrics: bulkMetrics, heapMetrics: heapMetrics)

    // MARK: Library floors (Floors.swift)

    registerFloorBenchmarks(handshakeMetrics: handshakeMetrics, bulkMetrics: bulkMetrics)

    // MARK: Paired (Paired.swift): Tessera and the floor against swift-nio-ssl in the same iteration

    registerPairedBenchmarks()
}

/// TLS's largest plaintext record (RFC 5246 §6.2.1: 2^14).
let recordSize = 16384

/// Connections held at once for the heap-per-connection figure (as in tls_bench.c).
let heapConnections = 100

let clientCPUMetric = BenchmarkMetric.custom("client CPU (ns)", polarity: .prefersSmaller, useScalingFactor: false)
let serverCPUMetric = BenchmarkMetric.custom("server CPU (ns)", polarity: .prefersSmaller, useScalingFactor: false)
let heapPerConnectionMetric = BenchmarkMetric.custom("heap per connection (B)", polarity: .prefersSmaller, useScalingFactor: false)

/// swift-nio-ssl contexts made once per process and protocol, checked once by a handshake that
/// must negotiate that protocol (the benchmark closure runs once per iteration).
enum NIOSSLFixture {
    nonisolated(unsafe) private static var cache: [String: NIOSSLPair.Contexts] = [:]

    static func contexts(_ label: String, version: TLSVersion, make: () throws -> NIOSSLPair.Contexts) throws -> NIOSSLPair.Contexts {
        if let cached = cache[label] { return cached }
        let contexts = try make()
        let check = try NIOSSLPair(contexts)
        try check.handshake()
        guard try check.negotiatedVersion() == version else { throw BenchmarkFailure.notEstablished }
        check.discard()
        cache[label] = contexts
        return contexts
    }
}

enum BenchmarkFailure: Error {
    case notEstablished
}
