import NIOCore
import XCTest

@testable import TesseraWire

/// A small deterministic fuzz loop: mutated vectors through every decoder. The assertions are that
/// nothing traps, that every failure is a WireError, and that whatever decodes re-encodes to bytes
/// that decode to the same value.
final class FuzzTests: XCTestCase {
    private static let iterations = 4000

    private func mutate(_ input: [UInt8], _ rng: inout XorShift) -> [UInt8] {
        var bytes = input
        for _ in 0...rng.below(4) {
            switch rng.below(7) {
            case 0 where !bytes.isEmpty:  // flip a bit
                bytes[rng.below(bytes.count)] ^= UInt8(1) << UInt8(rng.below(8))
            case 1 where !bytes.isEmpty:  // random byte
                bytes[rng.below(bytes.count)] = rng.byte()
            case 2 where !bytes.isEmpty:  // interesting length byte
                bytes[rng.below(bytes.count)] = [0x00, 0x01, 0x7F, 0x80, 0xFF, 0x20, 0x21][rng.below(7)]
            case 3:  // insert
                let at = rng.below(bytes.count + 1)
                bytes.insert(contentsOf: (0..<(1 + rng.below(8))).map { _ in rng.byte() }, at: at)
            case 4 where !bytes.isEmpty:  // delete a range
                let at = rng.below(bytes.count)
                bytes.removeSubrange(at..<min(bytes.count, at + 1 + rng.below(16)))
            case 5 where !bytes.isEmpty:  // duplicate a range
                let at = rng.below(bytes.count)
                let slice = bytes[at..<min(bytes.count, at + 1 + rng.below(16))]
                bytes.insert(contentsOf: slice, at: rng.below(bytes.count + 1))
            default:  // truncate
                bytes = Array(bytes.prefix(rng.below(bytes.count + 1)))
            }
        }
        return bytes
    }

    func testMutatedMessagesNeverCrash() throws {
        let corpus = try Corpus.allMessages()
        var rng = XorShift(seed: 0x7E55_E4A0_2026_0001)
        var decoded = 0
        var rejected = 0
        for _ in 0..<Self.iterations {
            let (original, _) = corpus[rng.below(corpus.count)]
            let mutant: [UInt8]
            if rng.below(4) == 0 {
                mutant = mutate(original, &rng)
            } else {
                // Mostly keep the header honest so that the mutation reaches the body decoders.
                let body = mutate(Array(original.dropFirst(4)), &rng)
                mutant = [original[0]] + [UInt8(truncatingIfNeeded: body.count >> 16), UInt8(truncatingIfNeeded: body.count >> 8), UInt8(truncatingIfNeeded: body.count)] + body
            }

            // Whole message through framing and the enum, under both versions.
            if let raw = try? RawHandshakeMessage(bytes: buffer(mutant)) {
                for version in [ProtocolVersion.tls12, .tls13] {
                    do {
                        let message = try HandshakeMessage(decoding: raw, version: version)
                        decoded += 1
                        let again = try HandshakeMessage(
                            decoding: RawHandshakeMessage(bytes: message.encoded(version: version)), version: version)
                        XCTAssertEqual(again, message, "re-encoding changed \(mutant.hexString)")
                    } catch {
                        // Typed throws: `error` is a WireError by construction.
                        XCTAssertFalse(error.message.isEmpty)
                        rejected += 1
                    }
                }
            }

            // The body through every decoder, matching or not.
            let body = Array(mutant.dropFirst(4))
            for decoder in BodyDecoder.all {
                do {
                    try decoder.decode(buffer(body))
                } catch {
                    XCTAssertTrue(error is WireError, "\(decoder.name) threw \(error)")
                }
            }

            // Extension bodies in every context.
            let extensionType = ExtensionType(UInt16(truncatingIfNeeded: rng.next()) % 0x34)
            for context in [ExtensionContext.clientHello, .serverHello, .helloRetryRequest, .encryptedExtensions, .certificate, .certificateRequest, .newSessionTicket] {
                if let ext = try? Extension(decoding: extensionType, body: buffer(body), context: context) {
                    var out = WireWriter()
                    ext.encode(into: &out)
                    XCTAssertEqual(out.bytes.prefix(2), [UInt8(extensionType.rawValue >> 8), UInt8(extensionType.rawValue & 0xFF)])
                    _ = try? validateTLS13Extensions([ext], in: context)
                }
            }
        }
        XCTAssertGreaterThan(decoded, 100, "mutations too destructive to reach the decoders' success paths")
        XCTAssertGreaterThan(rejected, 1000)
    }

    /// Handshake messages split across records, mutated, fed in random chunk sizes through the record
    /// parser and the reassembler, as a hostile peer's TCP stream would arrive.
    func testRandomStreamsThroughParsers() {
        var rng = XorShift(seed: 0x5EED_0000_0000_0042)
        var records = 0
        var messages = 0
        var errors = 0
        for _ in 0..<Self.iterations {
            var handshake: [UInt8] = []
            for _ in 0..<(1 + rng.below(4)) {
                let length = rng.below(30)
                handshake += [UInt8(rng.below(25)), 0x00, 0x00, UInt8(length)] + (0..<length).map { _ in rng.byte() }
            }
            var stream: [UInt8] = []
            var offset = 0
            while offset < handshake.count {
                let size = 1 + rng.below(40)
                let fragment = Array(handshake[offset..<min(handshake.count, offset + size)])
                stream += [0x16, 0x03, 0x03, 0x00, UInt8(fragment.count)] + fragment
                offset += size
            }
            if rng.below(2) == 0 {
                stream = mutate(stream, &rng)
            }

            var parser = RecordParser(maximumFragmentLength: rng.below(4) == 0 ? 32 : TLSRecord.maxCiphertextLength12)
            var reassembler = HandshakeReassembler(maximumMessageLength: rng.below(4) == 0 ? 16 : 1 << 18)
            var position = 0
            streamLoop: while position < stream.count {
                let chunk = 1 + rng.below(12)
                parser.append(buffer(Array(stream[position..<min(stream.count, position + chunk)])))
                position += chunk
                do {
                    while let record = try parser.nextRecord() {
                        XCTAssertEqual(record.version.major, 0x03)
                        records += 1
                        reassembler.append(record.fragment)
                        while let message = try reassembler.nextMessage() {
                            XCTAssertEqual(message.bytes.readableBytes, message.body.readableBytes + 4)
                            _ = try? HandshakeMessage(decoding: message, version: rng.below(2) == 0 ? .tls12 : .tls13)
                            messages += 1
                        }
                    }
                } catch {
                    XCTAssertTrue([.recordOverflow, .unsupportedRecordVersion, .messageTooLarge].contains(error.code))
                    errors += 1
                    break streamLoop
                }
            }
        }
        XCTAssertGreaterThan(records, 5000)
        XCTAssertGreaterThan(messages, 3000)
        XCTAssertGreaterThan(errors, 100)
    }
}
