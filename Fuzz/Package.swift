// swift-tools-version:6.1
import PackageDescription

// libFuzzer targets, kept out of the main package so that a plain `swift build` never links them.
// Run with ../scripts/fuzz TARGET SECONDS.
let package = Package(
    name: "TesseraFuzz",
    dependencies: [
        .package(name: "Tessera", path: ".."),
        .package(url: "https://github.com/apple/swift-nio.git", exact: "2.101.3"),
    ],
    targets: [
        .executableTarget(
            name: "FuzzRecord",
            dependencies: [
                .product(name: "TesseraWire", package: "Tessera"),
                .product(name: "NIOCore", package: "swift-nio"),
            ]
        ),
        .executableTarget(
            name: "FuzzHandshake",
            dependencies: [
                .product(name: "TesseraWire", package: "Tessera"),
                .product(name: "NIOCore", package: "swift-nio"),
            ]
        ),
        .executableTarget(
            name: "FuzzServer",
            dependencies: [
                .product(name: "TesseraCore", package: "Tessera"),
                .product(name: "TesseraCrypto", package: "Tessera"),
                .product(name: "TesseraSessions", package: "Tessera"),
                .product(name: "NIOCore", package: "swift-nio"),
            ]
        ),
        .executableTarget(
            name: "FuzzClient",
            dependencies: [
                .product(name: "TesseraCore", package: "Tessera"),
                .product(name: "TesseraCrypto", package: "Tessera"),
                .product(name: "TesseraSessions", package: "Tessera"),
                .product(name: "TesseraWire", package: "Tessera"),
                .product(name: "NIOCore", package: "swift-nio"),
            ]
        ),
        .executableTarget(
            name: "FuzzSession",
            dependencies: [
                .product(name: "TesseraSessions", package: "Tessera"),
                .product(name: "TesseraCrypto", package: "Tessera"),
            ]
        ),
    ]
)
