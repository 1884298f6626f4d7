import Foundation
import NIOCore
import NIOPosix
import TesseraBenchSupport
import TesseraCore
import TesseraSessions
import TesseraWire

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Ticket-resumed handshakes on 1 and on 2 NIO event loops whose servers share ONE
/// `TicketKeyRing` (the issue's target: 2 loops at least 1.8x the handshakes per second of one).
///
/// Each event loop runs its own stream of Tessera client+server handshakes in memory
/// (`TesseraPair`, no sockets), one handshake per event-loop task, each resuming the session that a
/// full handshake on that loop got from the ring before the timed part. Throughput is the point
/// here, so the figure is wall time: handshakes of all loops / time until the last loop finished.
/// Thread CPU per handshake is printed beside it: if it rises from 1 to 2 loops, the loops slow
/// each other down (contention); if it stays flat while the wall-clock ratio falls short, the
/// machine did not give the second loop a core of its own (other load).
///
/// Variants: `shared` (one TesseraWorld: one TLSConfiguration, one ring, one certificate chain and
/// key, as a server with one TLSContext has) and `separate` (each loop its own world and ring:
/// nothing shared but the process). Rounds alternate 1 and 2 loops; the median round is reported.
///
///   LoopScaling [--handshakes N] [--rounds R] [--versions 1.2,1.3] [--variants shared,separate] [--loops 1,2]
///
/// Build and run: Benchmarks/run-loops.sh (release build).
@main
struct LoopScaling {
    static func main() throws {
        var options = Options()
        try options.parse(Array(CommandLine.arguments.dropFirst()))
        print("# Tessera resumed handshakes on 1 vs 2 NIO event loops, \(options.handshakes) handshakes per loop per round, \(options.rounds) rounds")
        print("# load average at start: \(loadAverage()), \(ProcessInfo.processInfo.activeProcessorCount) cores")

        for version in options.versions {
            for variant in options.variants {
                try measure(version: version, variant: variant, options: options)
            }
        }
        print("# load average at end: \(loadAverage())")
    }

    static func measure(version: ProtocolVersion, variant: Variant, options: Options) throws {
        let label = "loops_\(version == .tls12 ? "tls12" : "tls13")_resumed_\(variant.rawValue)"
        let shared = try TesseraWorld(version: version)
        var rates: [Int: [Double]] = [1: [], 2: []]
        var cpu: [Int: [Double]] = [1: [], 2: []]
        var cores: [Int: [Double]] = [1: [], 2: []]
        var steal: [Int: [Double]] = [1: [], 2: []]
        for _ in 0..<options.rounds {
            for loops in options.loopCounts {
                let worlds = try (0..<loops).map { _ in variant == .shared ? shared : try TesseraWorld(version: version) }
                let result = try run(loops: loops, worlds: worlds, version: version, handshakes: options.handshakes)
                rates[loops]!.append(result.handshakesPerSecond)
                cpu[loops]!.append(result.cpuPerHandshake)
                cores[loops]!.append(result.coresUsed)
                steal[loops]!.append(result.stealShare)
            }
        }
        guard options.loopCounts == [1, 2] else {
            for loops in options.loopCounts {
                print("\(label)_\(loops)loop_handshakes_per_second \(Int(median(rates[loops]!).rounded())) 1/s")
                print("\(label)_\(loops)loop_cpu_per_handshake \(Int(median(cpu[loops]!).rounded())) ns")
            }
            return
        }
        let rate1 = median(rates[1]!), rate2 = median(rates[2]!)
        print("\(label)_1loop_handshakes_per_second \(Int(rate1.rounded())) 1/s")
        print("\(label)_2loops_handshakes_per_second \(Int(rate2.rounded())) 1/s")
        print("\(label)_2loops_over_1loop \(String(format: "%.2f", rate2 / rate1)) x")
        print("\(label)_1loop_cpu_per_handshake \(Int(median(cpu[1]!).rounded())) ns")
        print("\(label)_2loops_cpu_per_handshake \(Int(median(cpu[2]!).rounded())) ns")
        print("\(label)_1loop_cores_used \(String(format: "%.2f", median(cores[1]!))) cores")
        print("\(label)_2loops_cores_used \(String(format: "%.2f", median(cores[2]!))) cores")
        print("\(label)_1loop_steal \(String(format: "%.1f", 100 * median(steal[1]!))) %")
        print("\(label)_2loops_steal \(String(format: "%.1f", 100 * median(steal[2]!))) %")
        let all1 = rates[1]!.map { String(Int($0.rounded())) }.joined(separator: " ")
        let all2 = rates[2]!.map { String(Int($0.rounded())) }.joined(separator: " ")
        print("# \(label) rounds, 1 loop: \(all1); 2 loops: \(all2)")
    }

    struct RunResult {
        var handshakesPerSecond: Double
        /// Thread CPU of the loops' threads per handshake (both sides, plus the event-loop task).
        var cpuPerHandshake: Double
        /// Process CPU (all threads) over wall time while the streams ran: 2.0 means
        /// both loops had a core all the time.
        var coresUsed: Double
        /// The machine's steal time (/proc/stat: CPU the hypervisor gave to other guests) as a share
        /// of all CPU time while the streams ran.
        var stealShare: Double
    }

    /// One measurement: a fresh group of `loops` threads, a warm-up stream and one full handshake
    /// per loop (the ring issues each loop's ticket), then the timed streams, started together.
    static func run(loops: Int, worlds: [TesseraWorld], version: ProtocolVersion, handshakes: Int) throws -> RunResult {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: loops)
        defer { try? group.syncShutdownGracefully() }
        let eventLoops = (0..<loops).map { _ in group.next() }
        precondition(Set(eventLoops.map { ObjectIdentifier($0) }).count == loops, "expected distinct event loops")

        // Untimed: each loop's session (ticket sealed by its server's ring) and a warm-up stream.
        var sessions: [SessionState] = []
        for (index, loop) in eventLoops.enumerated() {
            let world = worlds[index]
            let session = try loop.submit { () throws -> SessionState in
                var first = TesseraPair(world, session: nil)
                first.timesSides = false
                try first.checkedHandshake(version, resumed: false)
                guard let session = first.issued else { throw TesseraPairError.notEstablished }
                return session
            }.wait()
            sessions.append(session)
        }
        let warmUps = eventLoops.indices.map { index in
            Stream(loop: eventLoops[index], world: worlds[index], session: sessions[index], version: version, count: max(handshakes / 10, 50)).start()
        }
        for warmUp in warmUps { _ = try warmUp.wait() }

        let cpuBefore = processCPUNanoseconds()
        let statBefore = CPUStat.read()
        let start = monotonicNanoseconds()
        let streams = eventLoops.indices.map { index in
            Stream(loop: eventLoops[index], world: worlds[index], session: sessions[index], version: version, count: handshakes).start()
        }
        let results = try streams.map { try $0.wait() }
        let end = results.map(\.finishedAt).max()!
        let cpuAfter = processCPUNanoseconds()
        let statAfter = CPUStat.read()
        let total = Double(handshakes * loops)
        return RunResult(
            handshakesPerSecond: total * 1e9 / Double(end - start),
            cpuPerHandshake: Double(results.map(\.threadCPU).reduce(0, +)) / total,
            coresUsed: Double(cpuAfter - cpuBefore) / Double(end - start),
            stealShare: statAfter.stealShare(since: statBefore))
    }

    static func median(_ values: [Double]) -> Double {
        let sorted = values.sorted()
        return sorted.isEmpty ? .nan : sorted[sorted.count / 2]
    }

    static func loadAverage() -> String {
        (try? String(contentsOfFile: "/proc/loadavg", encoding: .utf8))?
            .split(separator: " ").prefix(3).joined(separator: " ") ?? "?"
    }
}

/// One loop's stream: `count` resumed handshakes, each its own event-loop task (as connections
/// would be), then its thread CPU and the monotonic time it finished.
final class Stream: @unchecked Sendable {  // touched only on `loop` after start()
    struct Result: Sendable {
        var threadCPU: UInt64
        var finishedAt: UInt64
    }

    let loop: any EventLoop
    let world: TesseraWorld
    let session: SessionState
    let version: ProtocolVersion
    var remaining: Int
    var cpuStart: UInt64 = 0
    let promise: EventLoopPromise<Result>

    init(loop: any EventLoop, world: TesseraWorld, session: SessionState, version: ProtocolVersion, count: Int) {
        self.loop = loop
        self.world = world
        self.session = session
        self.version = version
        self.remaining = count
        self.promise = loop.makePromise()
    }

    func start() -> EventLoopFuture<Result> {
        loop.execute {
            self.cpuStart = threadCPUNanoseconds()
            self.step()
        }
        return promise.futureResult
    }

    private func step() {
        do {
            var pair = TesseraPair(world, session: session)
            pair.timesSides = false
            try pair.checkedHandshake(version, resumed: true)
        } catch {
            promise.fail(error)
            return
        }
        remaining -= 1
        if remaining > 0 {
            loop.execute { self.step() }
        } else {
            promise.succeed(Result(threadCPU: threadCPUNanoseconds() &- cpuStart, finishedAt: monotonicNanoseconds()))
        }
    }
}

/// CPU time of the whole process, all threads (CLOCK_PROCESS_CPUTIME_ID).
func processCPUNanoseconds() -> UInt64 {
    var ts = timespec()
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts)
    return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
}

/// The aggregate `cpu` line of /proc/stat (ticks): all of it and the steal column.
struct CPUStat {
    var total: UInt64 = 0
    var steal: UInt64 = 0

    static func read() -> CPUStat {
        guard let text = try? String(contentsOfFile: "/proc/stat", encoding: .utf8),
            let line = text.split(separator: "\n").first, line.hasPrefix("cpu ")
        else { return CPUStat() }
        let fields = line.split(separator: " ").dropFirst().compactMap { UInt64($0) }
        // user nice system idle iowait irq softirq steal guest guest_nice (guest counted in user)
        guard fields.count >= 8 else { return CPUStat() }
        return CPUStat(total: fields.prefix(8).reduce(0, +), steal: fields[7])
    }

    func stealShare(since earlier: CPUStat) -> Double {
        let total = self.total &- earlier.total
        return total == 0 ? 0 : Double(steal &- earlier.steal) / Double(total)
    }
}

enum Variant: String {
    /// One TesseraWorld (configuration, ring, certificate, key) for every loop.
    case shared
    /// A TesseraWorld, ring included, per loop.
    case separate
}

struct Options {
    var handshakes = 5000
    var rounds = 5
    var versions: [ProtocolVersion] = [.tls12, .tls13]
    var variants: [Variant] = [.shared, .separate]
    /// Only for profiling one configuration (`--loops 2`); the ratio needs both.
    var loopCounts = [1, 2]

    struct UsageError: Error, CustomStringConvertible {
        var description: String
    }

    mutating func parse(_ arguments: [String]) throws {
        var rest = arguments[...]
        while let flag = rest.popFirst() {
            guard let value = rest.popFirst() else { throw UsageError(description: "\(flag) needs a value") }
            switch flag {
            case "--handshakes": handshakes = Int(value) ?? 0
            case "--rounds": rounds = Int(value) ?? 0
            case "--versions":
                versions = try value.split(separator: ",").map {
                    switch $0 {
                    case "1.2": .tls12
                    case "1.3": .tls13
                    default: throw UsageError(description: "unknown version \($0)")
                    }
                }
            case "--loops":
                loopCounts = value.split(separator: ",").compactMap { Int($0) }.filter { $0 == 1 || $0 == 2 }
            case "--variants":
                variants = try value.split(separator: ",").map {
                    guard let variant = Variant(rawValue: String($0)) else { throw UsageError(description: "unknown variant \($0)") }
                    return variant
                }
            default: throw UsageError(description: "unknown option \(flag)")
            }
        }
        guard handshakes > 0, rounds > 0 else { throw UsageError(description: "--handshakes and --rounds must be positive") }
    }
}
