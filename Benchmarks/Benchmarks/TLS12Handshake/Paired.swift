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
/// The same, each handshake run right after another library's (caches cold for it).
let pairedTesseraColdMetric = BenchmarkMetric.custom("cold Tessera ÷ nio-ssl server (‰)", polarity: .prefersSmaller, useScalingFactor: false)
let pairedFloorColdMetric = BenchmarkMetric.custom("cold floor ÷ nio-ssl server (‰)", polarity: .prefersSmaller, useScalingFactor: false)

func registerPairedBenchmarks() {
    for version in [ProtocolVersion.tls12, .tls13] {
        let label = version == .tls12 ? "TLS1.2" : "TLS1.3"
        Benchmark(
            "Paired \(label) full handshake server",
            configuration: .init(
                metrics: [.throughput, pairedTesseraMetric, pairedFloorMetric, pairedTesseraColdMetric, pairedFloorColdMetric], scalingFactor: .one,
                maxDuration: .seconds(10), maxIterations: 1000)
        ) { benchmark in
            let contexts = version == .tls12
                ? try NIOSSLFixture.contexts(label, version: .tlsv12, make: NIOSSLPair.Contexts.tls12)
                : try NIOSSLFixture.contexts(label, version: .tlsv13, make: NIOSSLPair.Contexts.tls13)
            let world = try TesseraWorld(version: version)
            let floor: any HandshakeFloorWork = version == .tls12 ? FullServerFloor() : FullServerFloor13()
            // [cold, warm] server CPU of each.
            var nio: [UInt64] = [0, 0], tessera: [UInt64] = [0, 0], floorCPU: [UInt64] = [0, 0]
            func nioHandshake(_ slot: Int) throws {
                let pair = try NIOSSLPair(contexts)
                try pair.handshake()
                nio[slot] &+= pair.serverCPUNanoseconds
                pair.discard()
            }
            func tesseraHandshake(_ slot: Int) throws {
                var pair = TesseraPair(world, session: nil)
                try pair.checkedHandshake(version, resumed: false)
                tessera[slot] &+= pair.serverCPU
            }
            func floorHandshake(_ slot: Int) {
                let start = threadCPUNanoseconds()
                blackHole(floor.run())
                floorCPU[slot] &+= threadCPUNanoseconds() &- start
            }
            benchmark.startMeasurement()
            // Each library's handshake runs twice in a row. The first (cold) follows another
            // library's: swift-nio-ssl's BoringSSL is a separate copy from swift-crypto's, so
            // Tessera and the floor start after swift-nio-ssl, and swift-nio-ssl after one of
            // them, with their code out of the nearest caches. The second (warm) follows its own
            // kind, as on a server busy with handshakes. The floor never follows Tessera's pair:
            // it would run on swift-crypto code that Tessera's client had just warmed
            // (Benchmarks/README.md, "Paired ratios").
            try nioHandshake(0); try nioHandshake(1)
            try tesseraHandshake(0); try tesseraHandshake(1)
            try nioHandshake(0); try nioHandshake(1)
            floorHandshake(0); floorHandshake(1)
            benchmark.stopMeasurement()
            guard nio[0] > 0, nio[1] > 0 else { throw BenchmarkFailure.notEstablished }
            // nio ran twice per slot; Tessera and the floor once.
            benchmark.measurement(pairedTesseraMetric, Int(tessera[1] * 2000 / nio[1]))
            benchmark.measurement(pairedFloorMetric, Int(floorCPU[1] * 2000 / nio[1]))
            benchmark.measurement(pairedTesseraColdMetric, Int(tessera[0] * 2000 / nio[0]))
            benchmark.measurement(pairedFloorColdMetric, Int(floorCPU[0] * 2000 / nio[0]))
        }
    }
}
