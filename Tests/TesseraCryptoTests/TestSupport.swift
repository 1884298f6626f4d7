import Foundation
import XCTest

/// Hex helpers for test vectors (kept local so the tests do not depend on TesseraWire's helpers).
func hex(_ string: String) -> [UInt8] {
    let digits = Array(string.utf8.filter { !($0 == 0x20 || $0 == 0x0A) })
    var out = [UInt8]()
    out.reserveCapacity(digits.count / 2)
    var index = 0
    func value(_ c: UInt8) -> UInt8 {
        switch c {
        case 0x30...0x39: return c - 0x30
        case 0x61...0x66: return c - 0x61 + 10
        case 0x41...0x46: return c - 0x41 + 10
        default: return 0xFF
        }
    }
    while index + 1 < digits.count {
        out.append(value(digits[index]) << 4 | value(digits[index + 1]))
        index += 2
    }
    return out
}

func hexString(_ bytes: [UInt8]) -> String {
    bytes.map { String(format: "%02x", $0) }.joined()
}

/// The package root (…/wt-crypto), from this file's path.
var packageRoot: URL {
    URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
}

/// One entry of shared/vectors/tls13-example-traces.json (RFC 8448's layout).
struct TraceEntry: Decodable {
    let section: String
    let step: String
    let name: String
    let octets: Int
    let hex: String

    var bytes: [UInt8] { TesseraCryptoTests.hex(hex) }
}

/// Loads the RFC 8448-style trace. A missing file is a test failure, not a skip.
func loadTraces(file: StaticString = #filePath, line: UInt = #line) throws -> [TraceEntry] {
    let url = packageRoot.appendingPathComponent("../shared/vectors/tls13-example-traces.json").standardizedFileURL
    guard FileManager.default.fileExists(atPath: url.path) else {
        XCTFail("missing test vectors at \(url.path)", file: file, line: line)
        throw CocoaError(.fileNoSuchFile)
    }
    let data = try Data(contentsOf: url)
    return try JSONDecoder().decode([TraceEntry].self, from: data)
}

/// Groups consecutive entries of one step: RFC 8448 lists several values (PRK, hash, info, expanded...) per step.
struct TraceStep {
    let section: String
    let step: String
    var entries: [TraceEntry]

    subscript(_ name: String) -> [UInt8]? { entries.first { $0.name == name }?.bytes }

    /// "{server}" or "{client}".
    var side: String { step.hasPrefix("{server}") ? "server" : "client" }

    /// The text between the first pair of double quotes, e.g. `tls13 c hs traffic`.
    var quoted: String? {
        guard let start = step.firstIndex(of: "\""), let end = step[step.index(after: start)...].firstIndex(of: "\"") else {
            return nil
        }
        return String(step[step.index(after: start)..<end])
    }
}

func groupSteps(_ entries: [TraceEntry]) -> [TraceStep] {
    var steps: [TraceStep] = []
    for entry in entries {
        if let last = steps.last, last.section == entry.section, last.step == entry.step,
            !last.entries.contains(where: { $0.name == entry.name })
        {
            steps[steps.count - 1].entries.append(entry)
        } else {
            steps.append(TraceStep(section: entry.section, step: entry.step, entries: [entry]))
        }
    }
    return steps
}

/// Runs openssl with arguments; returns stdout. Fails the test on a non-zero exit.
@discardableResult
func openssl(_ arguments: [String], input: Data? = nil, file: StaticString = #filePath, line: UInt = #line) throws -> Data {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/openssl")
    process.arguments = arguments
    let stdout = Pipe()
    let stderr = Pipe()
    process.standardOutput = stdout
    process.standardError = stderr
    let stdin = Pipe()
    process.standardInput = stdin
    try process.run()
    if let input { stdin.fileHandleForWriting.write(input) }
    try stdin.fileHandleForWriting.close()
    let output = stdout.fileHandleForReading.readDataToEndOfFile()
    let errors = stderr.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    if process.terminationStatus != 0 {
        XCTFail("openssl \(arguments.joined(separator: " ")) failed: \(String(decoding: errors, as: UTF8.self))", file: file, line: line)
        throw CocoaError(.executableLoad)
    }
    return output
}

/// A fresh temporary directory, removed at the end of the test.
func makeTemporaryDirectory(_ testCase: XCTestCase) throws -> URL {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("tessera-crypto-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    testCase.addTeardownBlock { try? FileManager.default.removeItem(at: url) }
    return url
}
