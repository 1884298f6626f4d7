import Benchmark
import Foundation
import COpenSSLPair
import Crypto
import NIOCore
import NIOSSL
import TesseraBenchSupport
import TesseraCore
import TesseraSessions
import TesseraWire

// Paired benchmarks. This VM's speed drifts by tens of percent within minutes, and the separate
// benchmarks above run minutes apart, so their p50s can disagree by 1.5x from one run to the next.
// Here every iteration runs swift-nio-ssl, Tessera and the library floor (TesseraBenchSupport's
// Floors.swift) on the same work back to back and records their ratios from that iteration alone.
// The p50 of those per-iteration ratios is what the targets are read from (Benchmarks/README.md,
// "Paired ratios").

/// The ratios a paired handshake benchmark records, ‰, per iteration: Tessera's and the floor's
/// server CPU ÷ the reference's, warm (each handshake after one of its own kind) and cold (each
/// right after another library's, caches cold for it).
struct PairedMetrics {
    let tessera, floor, coldTessera, coldFloor: BenchmarkMetric

    /// `prefix`Tessera ÷ `reference` server (‰), and so on.
    init(_ prefix: String, against reference: String) {
        func metric(_ who: String) -> BenchmarkMetric {
            .custom("\(prefix)\(who) ÷ \(reference) server (‰)", polarity: .prefersSmaller, useScalingFactor: false)
        }
        tessera = metric("Tessera")
        floor = metric("floor")
        coldTessera = metric("cold Tessera")
        coldFloor = metric("cold floor")
    }

    var all: [BenchmarkMetric] { [tessera, floor, coldTessera, coldFloor] }
}

/// Full handshakes against swift-nio-ssl: the pairs, and the busy form.
let pairedMetrics = PairedMetrics("", against: "nio-ssl")
let busyMetrics = PairedMetrics("busy ", against: "nio-ssl")
/// Resumed handshakes against OpenSSL (the system libssl, 3.0). The resumption targets are ≤ 500
/// (at least twice as fast as OpenSSL).
let pairedResumedMetrics = PairedMetrics("", against: "OpenSSL")
let busyResumedMetrics = PairedMetrics("busy ", against: "OpenSSL")
/// OpenSSL's warm resumed server CPU in that iteration, ns: to compare with tls_bench's own run
/// (run-openssl.sh), a check that OpenSSL costs the same inside the benchmark's process.
let pairedResumedOpenSSLMetric = BenchmarkMetric.custom("OpenSSL server (ns)", polarity: .prefersSmaller, useScalingFactor: false)
/// Connections per batch in the busy-server benchmarks.
let busyConnections = 8
/// swift-nio-ssl's server CPU to open one 16 KiB record ÷ Tessera's (or the floor's), ‰: a
/// throughput ratio, so larger is better; the bulk target is ≥ 1000.
let pairedOpenTesseraMetric = BenchmarkMetric.custom("Tessera open throughput ÷ nio-ssl (‰)", polarity: .prefersLarger, useScalingFactor: false)
let pairedOpenFloorMetric = BenchmarkMetric.custom("floor open throughput ÷ nio-ssl (‰)", polarity: .prefersLarger, useScalingFactor: false)

func registerPairedBenchmarks() {
    // Full handshakes against swift-nio-ssl's, in two forms. The pairs: every iteration runs
    // swift-nio-ssl's handshake twice, Tessera's twice, swift-nio-ssl's twice, then the floor twice
    // (`PairedRound`), each server step right after its own client's on the same core. The busy
    // form ("…, busy"): `busyConnections` connections advanced together, each step run for every
    // connection before the next (every ClientHello, then every client's answer, then every
    // client Finished), so that between a connection's two steps the server runs its own code for
    // the other connections, as a server with many clients does, rather than its client's.
    // Tessera's client is a separate body of Swift code that evicts the server's; swift-nio-ssl's
    // client is the same BoringSSL as its server and leaves its code warm. The floor is the same
    // back-to-back run in both forms.
    for version in [ProtocolVersion.tls12, .tls13] {
        let label = version == .tls12 ? "TLS1.2" : "TLS1.3"
        for busy in [false, true] {
            let metrics = busy ? busyMetrics : pairedMetrics
            Benchmark(
                "Paired \(label) full handshake server" + (busy ? ", busy" : ""),
                configuration: .init(
                    metrics: [.throughput] + metrics.all, scalingFactor: .one, maxDuration: .seconds(10), maxIterations: 1000)
            ) { benchmark in
                let contexts = version == .tls12
                    ? try NIOSSLFixture.contexts(label, version: .tlsv12, make: NIOSSLPair.Contexts.tls12)
                    : try NIOSSLFixture.contexts(label, version: .tlsv13, make: NIOSSLPair.Contexts.tls13)
                let world = try TesseraWorld(version: version)
                let floor: any HandshakeFloorWork = version == .tls12 ? FullServerFloor() : FullServerFloor13()
                benchmark.startMeasurement()
                let round = try PairedRound.run(
                    reference: {
                        try busy
                            ? NIOSSLPair.busyServerCPU(contexts, connections: busyConnections)
                            : NIOSSLPair.serverHandshakeCPU(contexts)
                    },
                    tessera: { try TesseraPair.serverCPU(world, session: nil, version, busy: busy) },
                    floor: floor)
                benchmark.stopMeasurement()
                try round.record(benchmark, metrics)
            }
        }
    }

    // Ticket-resumed handshakes against OpenSSL's (RFC 5077 in TLS 1.2, psk_dhe_ke in TLS 1.3,
    // one new ticket each), in the same two forms: OpenSSL's twice, Tessera's twice, OpenSSL's
    // twice, the resumed floor twice. OpenSSL's handshakes run in C in this process
    // (Sources/COpenSSLPair, the driver run-openssl.sh's tls_bench uses; `ossl_bench_busy` for the
    // busy form), so each ratio comes from one iteration, as the full-handshake ratios do.
    for version in [ProtocolVersion.tls12, .tls13] {
        let label = version == .tls12 ? "TLS1.2" : "TLS1.3"
        for busy in [false, true] {
            let metrics = busy ? busyResumedMetrics : pairedResumedMetrics
            Benchmark(
                "Paired \(label) resumed handshake server" + (busy ? ", busy" : ""),
                configuration: .init(
                    metrics: [.throughput] + metrics.all + (busy ? [] : [pairedResumedOpenSSLMetric]),
                    scalingFactor: .one, maxDuration: .seconds(10), maxIterations: busy ? 1000 : 2000)
            ) { benchmark in
                ossl_bench_setup()
                let tls13: Int32 = version == .tls13 ? 1 : 0
                let (world, session) = try ResumptionFixture.shared(version)
                let floor: any HandshakeFloorWork = version == .tls12 ? ResumedServerFloor() : ResumedServerFloor13()
                benchmark.startMeasurement()
                let round = try PairedRound.run(
                    // Exits with OpenSSL's errors if one did not resume or took the wrong tickets.
                    reference: {
                        busy
                            ? ossl_bench_busy(tls13, 1, Int32(busyConnections), { interlude() }).server_ns
                            : ossl_bench_handshake(tls13, 1).server_ns
                    },
                    tessera: { try TesseraPair.serverCPU(world, session: session, version, busy: busy) },
                    floor: floor)
                benchmark.stopMeasurement()
                try round.record(benchmark, metrics)
                if !busy { benchmark.measurement(pairedResumedOpenSSLMetric, Int(round.reference[1] / 2)) }
            }
        }
    }

    // AES-128-GCM 16 KiB records, client to server over established TLS 1.2 connections, as the
    // separate "... 16KiB record" benchmarks send them; only the server's side (parse and open) is
    // compared. Each iteration sends `records` records through swift-nio-ssl, Tessera and the
    // floor (swift-crypto's open alone, Floors.swift) in turn, `rounds` times, and reports the
    // throughput ratios of that iteration. The first record of each turn is not counted: it
    // follows another library's records, the rest follow their own kind.
    Benchmark(
        "Paired TLS1.2 AES-128-GCM 16KiB record open",
        configuration: .init(
            metrics: [.throughput, pairedOpenTesseraMetric, pairedOpenFloorMetric], scalingFactor: .one,
            maxDuration: .seconds(10), maxIterations: 1000)
    ) { benchmark in
        let records = 8, rounds = 2
        let nioPair = try NIOSSLPair(try NIOSSLFixture.contexts("TLS1.2", version: .tlsv12, make: NIOSSLPair.Contexts.tls12))
        try nioPair.handshake()
        var tesseraPair = TesseraPair(try TesseraWorld(version: .tls12), session: nil)
        try tesseraPair.handshake()
        let record = ByteBuffer(repeating: 0xA5, count: recordSize)
        guard try nioPair.sendRecord(record) == recordSize, try tesseraPair.sendRecord(record) == recordSize else {
            throw BenchmarkFailure.notEstablished
        }
        let floor = try OpenFloor(recordLength: recordSize)
        var nio: UInt64 = 0, tessera: UInt64 = 0, floorCPU: UInt64 = 0
        benchmark.startMeasurement()
        for _ in 0..<rounds {
            for index in 0...records {
                let before = nioPair.serverCPUNanoseconds
                blackHole(try nioPair.sendRecord(record))
                if index > 0 { nio &+= nioPair.serverCPUNanoseconds &- before }
            }
            for index in 0...records {
                let before = tesseraPair.serverCPU
                blackHole(try tesseraPair.sendRecord(record))
                if index > 0 { tessera &+= tesseraPair.serverCPU &- before }
            }
            for index in 0...records {
                let (spent, plaintext) = try floor.open()
                blackHole(plaintext)
                if index > 0 { floorCPU &+= spent }
            }
        }
        benchmark.stopMeasurement()
        guard tessera > 0, floorCPU > 0 else { throw BenchmarkFailure.notEstablished }
        benchmark.measurement(pairedOpenTesseraMetric, Int(nio * 1000 / tessera))
        benchmark.measurement(pairedOpenFloorMetric, Int(nio * 1000 / floorCPU))
        nioPair.discard()
    }
}

/// One iteration of a paired handshake benchmark: server CPU, [cold, warm], of the reference
/// library (swift-nio-ssl or OpenSSL), of Tessera and of the floor.
///
/// Each library's handshake runs twice in a row. The first (cold) follows another library's: the
/// reference's BoringSSL or OpenSSL is a separate copy from swift-crypto's, so Tessera and the
/// floor start after the reference, and the reference after one of them, with their code out of
/// the nearest caches. The second (warm) follows its own kind, as on a server busy with
/// handshakes. The floor never follows Tessera's pair: it would run on swift-crypto code that
/// Tessera's client had just warmed (Benchmarks/README.md, "Paired ratios"). The reference runs
/// twice per slot (before Tessera and before the floor), the others once.
struct PairedRound {
    var reference: [UInt64] = [0, 0]
    var tessera: [UInt64] = [0, 0]
    var floor: [UInt64] = [0, 0]

    static func run(
        reference: () throws -> UInt64, tessera: () throws -> UInt64, floor: any HandshakeFloorWork
    ) throws -> PairedRound {
        var round = PairedRound()
        for slot in 0..<2 { round.reference[slot] &+= try reference() }
        for slot in 0..<2 { round.tessera[slot] &+= try tessera() }
        for slot in 0..<2 { round.reference[slot] &+= try reference() }
        for slot in 0..<2 {
            let start = threadCPUNanoseconds()
            blackHole(floor.run())
            round.floor[slot] &+= threadCPUNanoseconds() &- start
        }
        return round
    }

    /// Tessera's and the floor's server CPU ÷ the reference's, ‰, warm and cold.
    func record(_ benchmark: Benchmark, _ metrics: PairedMetrics) throws {
        guard reference[0] > 0, reference[1] > 0 else { throw BenchmarkFailure.notEstablished }
        benchmark.measurement(metrics.tessera, Int(tessera[1] * 2000 / reference[1]))
        benchmark.measurement(metrics.floor, Int(floor[1] * 2000 / reference[1]))
        benchmark.measurement(metrics.coldTessera, Int(tessera[0] * 2000 / reference[0]))
        benchmark.measurement(metrics.coldFloor, Int(floor[0] * 2000 / reference[0]))
    }
}

extension TesseraPair {
    /// The server CPU of one checked handshake (full without `session`, resumed with it).
    static func serverHandshakeCPU(_ world: TesseraWorld, session: SessionState?, _ version: ProtocolVersion) throws -> UInt64 {
        var pair = TesseraPair(world, session: session)
        try pair.checkedHandshake(version, resumed: session != nil)
        return pair.serverCPU
    }
}

extension NIOSSLPair {
    /// The server CPU of one full handshake.
    static func serverHandshakeCPU(_ contexts: Contexts) throws -> UInt64 {
        let pair = try NIOSSLPair(contexts)
        defer { pair.discard() }
        try pair.handshake()
        return pair.serverCPUNanoseconds
    }

    /// Server CPU per handshake over `connections` full handshakes advanced together (the
    /// busy-server benchmark).
    static func busyServerCPU(_ contexts: Contexts, connections: Int) throws -> UInt64 {
        let pairs = try (0..<connections).map { _ in try NIOSSLPair(contexts) }
        defer { for pair in pairs { pair.discard() } }
        for pair in pairs { try pair.begin() }
        var moving = true
        var rounds = 0
        while moving, rounds < 20 {
            rounds += 1
            moving = false
            for pair in pairs {
                if try pair.serverTurn() { moving = true }
                interlude()
            }
            for pair in pairs {
                if try pair.clientTurn() { moving = true }
                interlude()
            }
        }
        for pair in pairs { guard try pair.negotiatedVersion() != nil else { throw BenchmarkFailure.notEstablished } }
        return pairs.reduce(0) { $0 &+ $1.serverCPUNanoseconds } / UInt64(connections)
    }
}

extension TesseraPair {
    /// Server CPU per handshake: of one handshake, or of a busy server's batch.
    static func serverCPU(_ world: TesseraWorld, session: SessionState?, _ version: ProtocolVersion, busy: Bool) throws -> UInt64 {
        try busy
            ? busyServerCPU(world, session: session, version, connections: busyConnections)
            : serverHandshakeCPU(world, session: session, version)
    }

    /// Server CPU per handshake over `connections` handshakes advanced together (full without
    /// `session`, resumed with it), each checked (completed, resumed or not, the expected tickets).
    static func busyServerCPU(
        _ world: TesseraWorld, session: SessionState?, _ version: ProtocolVersion, connections: Int
    ) throws -> UInt64 {
        var pairs = (0..<connections).map { _ in TesseraPair(world, session: session) }
        for index in pairs.indices { pairs[index].begin() }
        var rounds = 0
        while pairs.contains(where: { !$0.isComplete }), rounds < 20 {
            rounds += 1
            for index in pairs.indices {
                pairs[index].serverTurn()
                interlude()
            }
            for index in pairs.indices {
                pairs[index].clientTurn()
                interlude()
            }
        }
        for pair in pairs { try pair.check(version, resumed: session != nil) }
        return pairs.reduce(0) { $0 &+ $1.serverCPU } / UInt64(connections)
    }
}

/// With `TESSERA_BENCH_INTERLUDE` set, the busy-server benchmarks run `interlude()` after every
/// turn of every connection, outside the timed calls, for all three libraries alike.
let busyInterludeEnabled = ProcessInfo.processInfo.environment["TESSERA_BENCH_INTERLUDE"] != nil

/// Code that is neither TLS library's, standing in for what a server runs between a connection's
/// steps (its I/O, its application): a JSON round trip and some string work, through Foundation
/// and the standard library. It takes the server's code out of the L1 instruction cache, as that
/// work would, without flushing the larger caches.
@inline(never) func interlude() {
    guard busyInterludeEnabled else { return }
    let record = InterludeRecord(
        name: "connection \(interludeSink)", values: Array(0..<16), flag: true, nested: ["a": 1.5, "b": 2.5])
    if let data = try? JSONEncoder().encode(record), let back = try? JSONDecoder().decode(InterludeRecord.self, from: data) {
        interludeSink &+= back.values.count &+ data.count
    }
    var words = "the quick brown fox jumps over the lazy dog \(interludeSink)".split(separator: " ").map(String.init)
    words.sort()
    interludeSink &+= words.joined(separator: ",").count
}

private struct InterludeRecord: Codable {
    var name: String
    var values: [Int]
    var flag: Bool
    var nested: [String: Double]
}

/// Keeps the interlude's results alive (single-threaded: the benchmarks run one at a time).
nonisolated(unsafe) private var interludeSink = 0
