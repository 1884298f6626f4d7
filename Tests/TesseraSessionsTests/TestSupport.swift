import Foundation
import TesseraSessions
import XCTest

/// The package root, from this file's path (…/Tests/TesseraSessionsTests/TestSupport.swift).
let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

/// shared/vectors/nginx-tickets, next to the package (the worktrees live beside `shared`).
let vectorDirectory = packageRoot.appendingPathComponent("../shared/vectors/nginx-tickets").standardizedFileURL

/// The four nginx vector sets: TLS 1.2 / 1.3 tickets under the 48- and 80-byte key files.
let vectorNames = ["nginx-tls12-key48", "nginx-tls12-key80", "nginx-tls13-key48", "nginx-tls13-key80"]

/// The key file a vector's ticket was sealed with, as its name says.
func keyFileName(forVector name: String) -> String {
    name.hasSuffix("key48") ? "key48.key" : "key80.key"
}

enum VectorError: Error { case missing(String) }

/// A vector file's bytes. A missing file fails the test (never a skip).
func vectorBytes(_ fileName: String, file: StaticString = #filePath, line: UInt = #line) throws -> [UInt8] {
    let url = vectorDirectory.appendingPathComponent(fileName)
    guard let data = FileManager.default.contents(atPath: url.path) else {
        XCTFail("missing test vector \(url.path)", file: file, line: line)
        throw VectorError.missing(url.path)
    }
    return [UInt8](data)
}

func vectorText(_ fileName: String, file: StaticString = #filePath, line: UInt = #line) throws -> String {
    String(decoding: try vectorBytes(fileName, file: file, line: line), as: UTF8.self)
}

func hexString(_ bytes: [UInt8]) -> String {
    bytes.map { String(format: "%02X", $0) }.joined()
}

func bytes(hex: String) -> [UInt8] {
    let digits = Array(hex.utf8)
    var out = [UInt8]()
    var index = 0
    while index + 1 < digits.count {
        if let byte = UInt8(String(decoding: digits[index...index + 1], as: UTF8.self), radix: 16) {
            out.append(byte)
        }
        index += 2
    }
    return out
}

/// The `Key: value` lines of `openssl sess_id -noout -text`, keyed by the trimmed key.
func sessIDFields(_ text: String) -> [String: String] {
    var fields: [String: String] = [:]
    for line in text.split(separator: "\n") {
        guard let colon = line.firstIndex(of: ":") else { continue }
        let key = line[..<colon].trimmingCharacters(in: .whitespaces)
        let value = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        if fields[key] == nil { fields[key] = value }
    }
    return fields
}

/// Runs /usr/bin/openssl; returns stdout, fails the test on a non-zero exit.
@discardableResult
func openssl(_ arguments: [String], file: StaticString = #filePath, line: UInt = #line) throws -> Data {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/openssl")
    process.arguments = arguments
    let errorFile = FileManager.default.temporaryDirectory.appendingPathComponent("openssl-stderr-\(UUID().uuidString)")
    _ = FileManager.default.createFile(atPath: errorFile.path, contents: nil)
    defer { try? FileManager.default.removeItem(at: errorFile) }
    let stdout = Pipe()
    process.standardOutput = stdout
    process.standardError = try FileHandle(forWritingTo: errorFile)
    process.standardInput = FileHandle.nullDevice
    try process.run()
    let output = stdout.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    if process.terminationStatus != 0 {
        let errors = (try? String(contentsOf: errorFile, encoding: .utf8)) ?? ""
        XCTFail("openssl \(arguments.joined(separator: " ")) failed: \(errors)", file: file, line: line)
        throw VectorError.missing("openssl exit \(process.terminationStatus)")
    }
    return output
}

/// A fresh temporary directory, removed at the end of the test.
func makeTemporaryDirectory(_ testCase: XCTestCase) throws -> URL {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("tessera-sessions-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    testCase.addTeardownBlock { try? FileManager.default.removeItem(at: url) }
    return url
}

/// Runs `body`, expecting a `SessionError` with `code`; anything else fails.
func assertSessionError(
    _ code: SessionError.Code,
    _ context: @autoclosure () -> String = "",
    file: StaticString = #filePath,
    line: UInt = #line,
    _ body: () throws -> Void
) {
    do {
        try body()
        XCTFail("expected SessionError(\(code)) \(context())", file: file, line: line)
    } catch let error as SessionError {
        XCTAssertEqual(error.code, code, "\(error) \(context())", file: file, line: line)
        XCTAssertFalse(error.message.isEmpty, file: file, line: line)
    } catch {
        XCTFail("expected SessionError(\(code)), got \(error) \(context())", file: file, line: line)
    }
}
