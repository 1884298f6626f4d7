// swift-tools-version:6.1
import PackageDescription

// A package of its own, so that `swift build` of Tessera never resolves or builds
// ordo-one/benchmark or swift-nio-ssl. Run with `swift package benchmark` from this folder.
//
// Pins: the same as the root Package.swift (see shared/SWIFT-NOTES.md); only the versions the
// local package mirror holds resolve. ordo-one/benchmark 1.38.1 needs the MallocInterposer trait
// spelled out (its default traits pull a runtime interposer the mirror does not have).
let package = Package(
    name: "TesseraBenchmarks",
    platforms: [.macOS(.v14)],
    dependencies: [
        .package(name: "Tessera", path: ".."),
        .package(url: "https://github.com/ordo-one/benchmark.git", exact: "1.38.1", traits: ["MallocInterposer"]),
        .package(url: "https://github.com/apple/swift-nio-ssl.git", exact: "2.37.6"),
        .package(url: "https://github.com/apple/swift-nio.git", exact: "2.101.3"),
        .package(url: "https://github.com/apple/swift-crypto.git", exact: "4.5.2"),
        .package(url: "https://github.com/apple/swift-asn1.git", exact: "1.7.4"),
        // benchmark's own allocation counter (LD_PRELOADed by `swift package benchmark`): read
        // directly for the net heap bytes an established connection holds.
        .package(url: "https://github.com/ordo-one/malloc-interposer.git", exact: "1.6.1"),
    ],
    targets: [
        // Tessera's in-memory client/server pair, the benchmark identity and the library floors'
        // work, shared by the benchmark slots, LoopScaling and HandshakeProfile so that all
        // measure the same handshakes.
        .target(
            name: "TesseraBenchSupport",
            dependencies: [
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "_CryptoExtras", package: "swift-crypto"),
                .product(name: "SwiftASN1", package: "swift-asn1"),
                .product(name: "TesseraCore", package: "Tessera"),
                .product(name: "TesseraCrypto", package: "Tessera"),
                .product(name: "TesseraSessions", package: "Tessera"),
                .product(name: "TesseraWire", package: "Tessera"),
            ],
            path: "Sources/TesseraBenchSupport"
        ),
        // OpenSSL's in-memory handshakes (the system libssl, OpenSSL 3.0; needs libssl-dev), for
        // the paired resumption benchmarks; tls_bench (run-openssl.sh) builds the same file.
        .target(
            name: "COpenSSLPair",
            path: "Sources/COpenSSLPair",
            linkerSettings: [.linkedLibrary("ssl"), .linkedLibrary("crypto")]
        ),
        // Ticket-resumed handshakes on 1 vs 2 NIO event loops sharing one TicketKeyRing: a
        // throughput (wall-clock) figure, so a plain program rather than a `swift package
        // benchmark` target. Run with run-loops.sh.
        .executableTarget(
            name: "LoopScaling",
            dependencies: [
                "TesseraBenchSupport",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "TesseraCore", package: "Tessera"),
                .product(name: "TesseraSessions", package: "Tessera"),
                .product(name: "TesseraWire", package: "Tessera"),
            ],
            path: "Sources/LoopScaling"
        ),
        // Full or resumed server handshakes of Tessera or of its library floor, for callgrind:
        // instructions, cache misses and mispredicts per handshake, which do not drift the way
        // time does on this VM. Run with run-callgrind.sh.
        .executableTarget(
            name: "HandshakeProfile",
            dependencies: [
                "TesseraBenchSupport",
                .product(name: "TesseraCore", package: "Tessera"),
                .product(name: "TesseraSessions", package: "Tessera"),
                .product(name: "TesseraWire", package: "Tessera"),
            ],
            path: "Sources/HandshakeProfile"
        ),
        // DESIGN.md §8: in-memory TLS 1.2 handshakes, bulk records and memory per connection,
        // swift-nio-ssl now (the reference), Tessera in the marked slots once TesseraCore works.
        .executableTarget(
            name: "TLS12Handshake",
            dependencies: [
                "TesseraBenchSupport",
                "COpenSSLPair",
                .product(name: "Benchmark", package: "benchmark"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "_CryptoExtras", package: "swift-crypto"),
                .product(name: "SwiftASN1", package: "swift-asn1"),
                .product(name: "TesseraCore", package: "Tessera"),
                .product(name: "TesseraCrypto", package: "Tessera"),
                .product(name: "TesseraSessions", package: "Tessera"),
                .product(name: "TesseraWire", package: "Tessera"),
                .product(name: "MallocInterposerSwift", package: "malloc-interposer"),
            ],
            path: "Benchmarks/TLS12Handshake",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        )
    ]
)
