import Foundation
import NIOCore
import XCTest

@testable import TesseraWire

/// One labelled hex value from a vectors file.
struct Vector {
    var section: String
    var step: String
    var name: String
    var bytes: [UInt8]
}

enum Vectors {
    /// `../shared` beside the package root (this file is `<root>/Tests/TesseraWireTests/`).
    static var sharedDirectory: URL {
        URL(fileURLWithPath: #filePath)
            .deletingLastPathComponent()  // TesseraWireTests
            .deletingLastPathComponent()  // Tests
            .deletingLastPathComponent()  // package root
            .appendingPathComponent("../shared")
            .standardizedFileURL
    }

    /// Throws (so the test fails, never skips) when the file is missing or malformed.
    static func load(_ relativePath: String) throws -> Any {
        let url = sharedDirectory.appendingPathComponent(relativePath)
        let data = try Data(contentsOf: url)
        return try JSONSerialization.jsonObject(with: data)
    }

    /// seed-messages.json: (label, record content type, bytes).
    static func seed() throws -> [(label: String, contentType: String, bytes: [UInt8])] {
        let root = try XCTUnwrap(try load("seed/seed-messages.json") as? [String: Any])
        let messages = try XCTUnwrap(root["messages"] as? [[String: Any]])
        return try messages.map { message in
            let hex = try XCTUnwrap(message["hex"] as? String)
            let bytes = try XCTUnwrap([UInt8](hexString: hex), "bad hex in seed")
            let length = try XCTUnwrap(message["length"] as? Int)
            XCTAssertEqual(bytes.count, length, "seed length field disagrees with its hex")
            return (
                try XCTUnwrap(message["label"] as? String), try XCTUnwrap(message["record_content_type"] as? String),
                bytes
            )
        }
    }

    static func trace() throws -> [Vector] {
        let entries = try XCTUnwrap(try load("vectors/tls13-example-traces.json") as? [[String: Any]])
        return try entries.map { entry in
            let hex = try XCTUnwrap(entry["hex"] as? String)
            let octets = try XCTUnwrap(entry["octets"] as? Int)
            let bytes = try XCTUnwrap([UInt8](hexString: hex), "bad hex in trace")
            XCTAssertEqual(bytes.count, octets)
            return Vector(
                section: try XCTUnwrap(entry["section"] as? String), step: try XCTUnwrap(entry["step"] as? String),
                name: try XCTUnwrap(entry["name"] as? String), bytes: bytes)
        }
    }

    static let handshakeNames: Set<String> = [
        "ClientHello", "ServerHello", "EncryptedExtensions", "Certificate", "CertificateRequest",
        "CertificateVerify", "Finished", "NewSessionTicket", "EndOfEarlyData",
    ]
}

extension ByteBuffer {
    var bytes: [UInt8] { Array(readableBytesView) }
}

func buffer(_ bytes: [UInt8]) -> ByteBuffer { ByteBuffer(bytes: bytes) }

/// Decodes a whole handshake message (header + body) and re-encodes it.
func roundTrip(_ bytes: [UInt8], version: ProtocolVersion) throws -> (HandshakeMessage, [UInt8]) {
    let raw = try RawHandshakeMessage(bytes: buffer(bytes))
    let message = try HandshakeMessage(decoding: raw, version: version)
    return (message, message.encoded(version: version).bytes)
}

/// Handshake message length from a 4-byte header, to tell whole messages from prefixes.
func declaredMessageLength(_ bytes: [UInt8]) -> Int? {
    guard bytes.count >= 4 else { return nil }
    return 4 + (Int(bytes[1]) << 16 | Int(bytes[2]) << 8 | Int(bytes[3]))
}

/// xorshift64*: deterministic, seedable, no dependencies.
struct XorShift {
    var state: UInt64
    init(seed: UInt64) { state = seed == 0 ? 0x9E37_79B9_7F4A_7C15 : seed }
    mutating func next() -> UInt64 {
        state ^= state >> 12
        state ^= state << 25
        state ^= state >> 27
        return state &* 0x2545_F491_4F6C_DD1D
    }
    mutating func below(_ n: Int) -> Int { n <= 0 ? 0 : Int(next() % UInt64(n)) }
    mutating func byte() -> UInt8 { UInt8(truncatingIfNeeded: next()) }
}

/// A named body decoder, one per message type, for the malformed-input and fuzz tests.
struct BodyDecoder: Sendable {
    var name: String
    var decode: @Sendable (ByteBuffer) throws -> Void

    static let all: [BodyDecoder] = [
        BodyDecoder(name: "ClientHello") { _ = try ClientHello(decoding: $0) },
        BodyDecoder(name: "ServerHello") { _ = try ServerHello(decoding: $0) },
        BodyDecoder(name: "Certificate12") { _ = try CertificateMessage(decoding: $0, version: .tls12) },
        BodyDecoder(name: "Certificate13") { _ = try CertificateMessage(decoding: $0, version: .tls13) },
        BodyDecoder(name: "ServerKeyExchange") { _ = try ServerKeyExchange(decoding: $0) },
        BodyDecoder(name: "ClientKeyExchange") { _ = try ClientKeyExchange(decoding: $0) },
        BodyDecoder(name: "CertificateRequest12") { _ = try CertificateRequest12(decoding: $0) },
        BodyDecoder(name: "CertificateRequest13") { _ = try CertificateRequest13(decoding: $0) },
        BodyDecoder(name: "ServerHelloDone") { _ = try ServerHelloDone(decoding: $0) },
        BodyDecoder(name: "HelloRequest") { _ = try HelloRequest(decoding: $0) },
        BodyDecoder(name: "EndOfEarlyData") { _ = try EndOfEarlyData(decoding: $0) },
        BodyDecoder(name: "CertificateVerify") { _ = try CertificateVerify(decoding: $0) },
        BodyDecoder(name: "Finished") { _ = try Finished(decoding: $0) },
        BodyDecoder(name: "NewSessionTicket12") { _ = try NewSessionTicket12(decoding: $0) },
        BodyDecoder(name: "NewSessionTicket13") { _ = try NewSessionTicket13(decoding: $0) },
        BodyDecoder(name: "EncryptedExtensions") { _ = try EncryptedExtensions(decoding: $0) },
        BodyDecoder(name: "KeyUpdate") { _ = try KeyUpdate(decoding: $0) },
        BodyDecoder(name: "CertificateStatus") { _ = try CertificateStatus(decoding: $0) },
        BodyDecoder(name: "Alert") { _ = try Alert(decoding: $0) },
        BodyDecoder(name: "ChangeCipherSpec") { try ChangeCipherSpec.validate($0) },
    ]
}

/// Asserts that `body` throws a WireError with `code`.
func assertWireError(
    _ code: WireError.Code, _ body: () throws -> Void, file: StaticString = #filePath, line: UInt = #line
) {
    do {
        try body()
        XCTFail("expected \(code), decoded fine", file: file, line: line)
    } catch let error as WireError {
        XCTAssertEqual(error.code, code, "\(error)", file: file, line: line)
    } catch {
        XCTFail("unexpected error type \(error)", file: file, line: line)
    }
}
