import Benchmark
import NIOSSL
import TesseraBenchSupport
import TesseraCore
import TesseraWire

// Paired full-handshake benchmarks. This VM's speed drifts by tens of percent within minutes, and
// the separate benchmarks above run minutes apart, so their p50s can disagree by 1.5x from one run
// to the next. Here every iteration runs swift-nio-ssl's handshake, Tessera's handshake and the
// library floor's calls (Floors.swift) back to back, `rounds` times in a rotating order, and
// records the server CPU of Tessera and of the floor as thousandths of swift-nio-ssl's in that
// same iteration. The p50 of those per-iteration ratios is what the 1.2x targets are read from.

/// Server CPU ÷ swift-nio-ssl's, ‰, per iteration.
let pairedTesseraMetric = BenchmarkMetric.custom("Tessera ÷ nio-ssl server (‰)", polarity: .prefersSmaller, useScalingFactor: false)
let pairedFloorMetric = BenchmarkMetric.custom("floor ÷ nio-ssl server (‰)", polarity: .prefersSmaller, useScalingFactor: false)

func registerPairedBenchmarks() {
    let rounds = 3
    for version in [ProtocolVersion.tls12, .tls13] {
        let label = version == .tls12 ? "TLS1.2" : "TLS1.3"
        Benchmark(
            "Paired \(label) full handshake server",
            configuration: .init(
                metrics: [.throughput, pairedTesseraMetric, pairedFloorMetric], scalingFactor: .one,
                maxDuration: .seconds(10), maxIterations: 1000)
        ) { benchmark in
            let contexts = version == .tls12
                ? try NIOSSLFixture.contexts(label, version: .tlsv12, make: NIOSSLPair.Contexts.tls12)
                : try NIOSSLFixture.contexts(label, version: .tlsv13, make: NIOSSLPair.Contexts.tls13)
            let world = try TesseraWorld(version: version)
            let floor: any HandshakeFloorWork = version == .tls12 ? FullServerFloor() : FullServerFloor13()
            var nio: UInt64 = 0, tessera: UInt64 = 0, floorCPU: UInt64 = 0
            benchmark.startMeasurement()
            for round in 0..<rounds {
                for step in 0..<3 {
                    switch (round + step) % 3 {
                    case 0:
                        let pair = try NIOSSLPair(contexts)
                        try pair.handshake()
                        nio &+= pair.serverCPUNanoseconds
                        pair.discard()
                    case 1:
                        var pair = TesseraPair(world, session: nil)
                        try pair.checkedHandshake(version, resumed: false)
                        tessera &+= pair.serverCPU
                    default:
                        let start = threadCPUNanoseconds()
                        blackHole(floor.run())
                        floorCPU &+= threadCPUNanoseconds() &- start
                    }
                }
            }
            benchmark.stopMeasurement()
            guard nio > 0 else { throw BenchmarkFailure.notEstablished }
            benchmark.measurement(pairedTesseraMetric, Int(tessera * 1000 / nio))
            benchmark.measurement(pairedFloorMetric, Int(floorCPU * 1000 / nio))
        }
    }
}
