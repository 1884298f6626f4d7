import NIOCore
import XCTest

@testable import TesseraWire

/// Real bytes (OpenSSL/nginx from the seed report, the RFC 8448-layout TLS 1.3 trace) decode and
/// re-encode byte for byte.
final class VectorTests: XCTestCase {
    func testSeedMessagesRoundTrip() throws {
        let seed = try Vectors.seed()
        XCTAssertEqual(seed.count, 10)
        var handshakes = 0
        for (label, contentType, bytes) in seed {
            switch contentType {
            case "Handshake":
                // TLS 1.0 connection: 1.2 semantics (NewSessionTicket is RFC 5077's).
                let (message, encoded) = try roundTrip(bytes, version: .tls12)
                XCTAssertEqual(encoded, bytes, "\(label) did not re-encode byte for byte")
                XCTAssertEqual(message.type.displayName, label)
                handshakes += 1
            case "ChangeCipherSpec":
                try ChangeCipherSpec.validate(buffer(bytes))
                XCTAssertEqual(bytes, ChangeCipherSpec.body)
            case "Alert":
                let alert = try Alert(decoding: buffer(bytes))
                XCTAssertEqual(alert.description, label)
                var out = ByteBuffer()
                alert.encode(into: &out)
                XCTAssertEqual(out.bytes, bytes)
            default:
                XCTFail("unexpected content type \(contentType)")
            }
        }
        XCTAssertEqual(handshakes, 7)
    }

    func testSeedFieldValues() throws {
        let seed = try Vectors.seed()
        let serverHelloBytes = try XCTUnwrap(seed.first { $0.label == "ServerHello" }?.bytes)
        guard case .serverHello(let hello) = try roundTrip(serverHelloBytes, version: .tls12).0 else {
            return XCTFail("not a ServerHello")
        }
        XCTAssertEqual(hello.legacyVersion, .tls10)
        XCTAssertEqual(hello.cipherSuite, .dheRSAWithAES256CBCSHA)
        XCTAssertEqual(hello.cipherSuite.openSSLName, "DHE-RSA-AES256-SHA")
        XCTAssertEqual(hello.extension(.sessionTicket), .sessionTicket([]))
        XCTAssertEqual(hello.compressionMethod, 0)
        XCTAssertFalse(hello.isHelloRetryRequest)

        let clientHellos = seed.filter { $0.label == "ClientHello" }
        XCTAssertEqual(clientHellos.count, 2)
        guard case .clientHello(let first) = try roundTrip(clientHellos[0].bytes, version: .tls12).0,
            case .clientHello(let renegotiation) = try roundTrip(clientHellos[1].bytes, version: .tls12).0
        else {
            return XCTFail("not ClientHellos")
        }
        XCTAssertEqual(first.legacyVersion, .tls10)
        XCTAssertTrue(first.cipherSuites.contains(.dheRSAWithAES256CBCSHA))
        XCTAssertTrue(first.cipherSuites.contains(.emptyRenegotiationInfoSCSV))
        guard case .sessionTicket(let ticket)? = first.extension(.sessionTicket) else {
            return XCTFail("first ClientHello offers no ticket")
        }
        XCTAssertEqual(ticket.count, 0xA0)
        XCTAssertEqual(
            first.extension(.ecPointFormats),
            .ecPointFormats([.uncompressed, .ansiX962CompressedPrime, .ansiX962CompressedChar2]))
        // The renegotiation carries the client's previous verify_data (RFC 5746 §3.5).
        guard case .renegotiationInfo(let verifyData)? = renegotiation.extension(.renegotiationInfo) else {
            return XCTFail("renegotiation ClientHello lacks renegotiation_info")
        }
        XCTAssertEqual(verifyData.hexString, "f9f5a5cbec19067938fc50ed")

        let tickets = seed.filter { $0.label == "NewSessionTicket" }
        for ticket in tickets {
            guard case .newSessionTicket12(let nst) = try roundTrip(ticket.bytes, version: .tls12).0 else {
                return XCTFail("not a NewSessionTicket12")
            }
            XCTAssertEqual(nst.lifetimeHint, 0)
            XCTAssertEqual(nst.ticket.count, 0xC0)
        }
    }

    func testTraceHandshakeMessagesRoundTrip() throws {
        let trace = try Vectors.trace()
        var checked = 0
        var prefixes = 0
        for vector in trace where Vectors.handshakeNames.contains(vector.name) {
            guard declaredMessageLength(vector.bytes) == vector.bytes.count else {
                // The resumed 0-RTT "ClientHello" is printed before its binders exist (RFC 8448 §4):
                // a prefix, checked against encodedWithoutBinders below.
                XCTAssertEqual(vector.name, "ClientHello", "\(vector.section) \(vector.name) is not a whole message")
                prefixes += 1
                continue
            }
            let (message, encoded) = try roundTrip(vector.bytes, version: .tls13)
            XCTAssertEqual(encoded, vector.bytes, "\(vector.section) \(vector.name)")
            XCTAssertEqual(message.type.displayName, vector.name)
            checked += 1
        }
        XCTAssertEqual(checked, 39)
        XCTAssertEqual(prefixes, 1)
    }

    /// "payload" entries of handshake records hold one or more whole messages: reassemble, decode,
    /// re-encode each.
    func testTracePayloadsThroughReassembler() throws {
        let trace = try Vectors.trace()
        var messages = 0
        for vector in trace where vector.name == "payload" && vector.step.contains("send handshake record") {
            var reassembler = HandshakeReassembler()
            reassembler.append(buffer(vector.bytes))
            var reencoded: [UInt8] = []
            while let raw = try reassembler.nextMessage() {
                let message = try HandshakeMessage(decoding: raw, version: .tls13)
                XCTAssertEqual(message.type, raw.type)
                reencoded += message.encoded(version: .tls13).bytes
                messages += 1
            }
            XCTAssertFalse(reassembler.hasBufferedBytes, "\(vector.section): partial message left")
            XCTAssertEqual(reencoded, vector.bytes, "\(vector.section) \(vector.step)")
        }
        XCTAssertGreaterThanOrEqual(messages, 25)
    }

    /// Every "complete record" parses as a record; plaintext handshake and CCS records are decoded
    /// down to their messages and must equal the step's payload.
    func testTraceCompleteRecords() throws {
        let trace = try Vectors.trace()
        var plaintextHandshakes = 0
        var changeCipherSpecs = 0
        for (index, vector) in trace.enumerated() where vector.name == "complete record" {
            var parser = RecordParser(maximumFragmentLength: TLSRecord.maxCiphertextLength13)
            parser.append(buffer(vector.bytes))
            let record = try XCTUnwrap(try parser.nextRecord(), "\(vector.section) \(vector.step)")
            XCTAssertNil(try parser.nextRecord())
            XCTAssertEqual(parser.bufferedByteCount, 0)
            XCTAssertEqual(record.fragment.readableBytes + TLSRecord.headerLength, vector.bytes.count)
            var reencoded = ByteBuffer()
            record.encode(into: &reencoded)
            XCTAssertEqual(reencoded.bytes, vector.bytes)

            let payload = try XCTUnwrap(
                trace[..<index].last { $0.name == "payload" && $0.step == vector.step && $0.section == vector.section })
            switch record.contentType {
            case .handshake:
                XCTAssertEqual(record.fragment.bytes, payload.bytes)
                var reassembler = HandshakeReassembler()
                reassembler.append(record.fragment)
                while let raw = try reassembler.nextMessage() {
                    let message = try HandshakeMessage(decoding: raw, version: .tls13)
                    XCTAssertEqual(message.encoded(version: .tls13), raw.bytes)
                }
                XCTAssertFalse(reassembler.hasBufferedBytes)
                plaintextHandshakes += 1
            case .changeCipherSpec:
                try ChangeCipherSpec.validate(record.fragment)
                changeCipherSpecs += 1
            case .applicationData:
                // Protected: 1.3 disguises every encrypted record as application_data 0x0303 (RFC 8446 §5.2).
                XCTAssertEqual(record.version, .tls12)
            default:
                XCTFail("unexpected record type \(record.contentType)")
            }
        }
        XCTAssertEqual(plaintextHandshakes, 12)
        XCTAssertEqual(changeCipherSpecs, 2)
    }

    func testTraceFieldValues() throws {
        let trace = try Vectors.trace()
        let sections = Set(trace.map(\.section))
        var x25519Checks = 0
        for section in sections.sorted() {
            let entries = trace.filter { $0.section == section }
            let clientHellos = try entries.filter {
                $0.name == "ClientHello" && declaredMessageLength($0.bytes) == $0.bytes.count
            }.map { vector -> ClientHello in
                guard case .clientHello(let hello) = try roundTrip(vector.bytes, version: .tls13).0 else {
                    throw WireError(.invalidValue, "not a ClientHello")
                }
                return hello
            }
            let payloadClientHellos = try entries.filter {
                $0.name == "payload" && $0.bytes.first == 0x01 && $0.step.contains("{client}  send handshake record")
            }.map { vector -> ClientHello in
                guard case .clientHello(let hello) = try roundTrip(vector.bytes, version: .tls13).0 else {
                    throw WireError(.invalidValue, "not a ClientHello")
                }
                return hello
            }
            let hellos = clientHellos.isEmpty ? payloadClientHellos : clientHellos
            let first = try XCTUnwrap(hellos.first, section)
            XCTAssertEqual(first.legacyVersion, .tls12)
            XCTAssertEqual(first.extension(.supportedVersions), .supportedVersionsOffered([.tls13]))

            // The client's x25519 key pair is the one its first ClientHello offers.
            let clientKeyStep = entries.first { $0.step.contains("{client}  create an ephemeral x25519") && $0.name == "public key" }
            if let clientKey = clientKeyStep {
                guard case .keyShareOffered(let shares)? = first.extension(.keyShare) else {
                    return XCTFail("\(section): no key_share")
                }
                XCTAssertEqual(shares.first { $0.group == .x25519 }?.keyExchange, clientKey.bytes, section)
                x25519Checks += 1
            }
            let serverKey = entries.first { $0.step.contains("{server}  create an ephemeral x25519") && $0.name == "public key" }
            let serverHellos = try entries.filter { $0.name == "ServerHello" }.map {
                try roundTrip($0.bytes, version: .tls13).0
            }
            if let serverKey {
                let selected = serverHellos.compactMap { message -> KeyShareEntry? in
                    guard case .serverHello(let hello) = message,
                        case .keyShareSelected(let entry)? = hello.extension(.keyShare)
                    else { return nil }
                    return entry
                }
                XCTAssertEqual(selected.first?.group, .x25519, section)
                XCTAssertEqual(selected.first?.keyExchange, serverKey.bytes, section)
            }

            if section.contains("HelloRetryRequest") {
                guard case .helloRetryRequest(let hrr) = try XCTUnwrap(serverHellos.first) else {
                    return XCTFail("first server message of the HRR section is not a HelloRetryRequest")
                }
                XCTAssertTrue(hrr.isHelloRetryRequest)
                XCTAssertEqual(HandshakeMessage.helloRetryRequest(hrr).type, .serverHello)
                XCTAssertEqual(hrr.extension(.keyShare), .keyShareRetry(.secp256r1))
                XCTAssertEqual(hrr.extension(.supportedVersions), .supportedVersionSelected(.tls13))
                guard case .cookie(let cookie)? = hrr.extension(.cookie) else { return XCTFail("HRR without cookie") }
                // The retried ClientHello echoes the cookie (RFC 8446 §4.2.2).
                XCTAssertEqual(hellos.last?.extension(.cookie), .cookie(cookie))
            }

            if section.contains("Resumed") {
                let full = try XCTUnwrap(payloadClientHellos.first)
                guard case .preSharedKeyOffered(let offered)? = full.extensions.last else {
                    return XCTFail("resumed ClientHello: pre_shared_key is not last")
                }
                XCTAssertEqual(offered.identities.count, 1)
                XCTAssertEqual(offered.binders.map(\.count), [32])
                XCTAssertEqual(full.extension(.earlyData), .earlyData(maxEarlyDataSize: nil))
                let prefix = try XCTUnwrap(entries.first { $0.name == "ClientHello prefix" })
                XCTAssertEqual(full.encodedWithoutBinders()?.bytes, prefix.bytes)
                // The section's "ClientHello" entry is that same prefix.
                let partial = try XCTUnwrap(entries.first { $0.name == "ClientHello" })
                XCTAssertEqual(full.encodedWithoutBinders()?.bytes, partial.bytes)
            } else {
                XCTAssertNil(first.encodedWithoutBinders())
            }

            if section.contains("Compatibility") {
                XCTAssertEqual(first.sessionID.count, 32)
            }
        }
        XCTAssertEqual(x25519Checks, 5)
    }

    func testTraceNewSessionTicketAndCertificate() throws {
        let trace = try Vectors.trace()
        let ticket = try XCTUnwrap(trace.first { $0.name == "NewSessionTicket" })
        guard case .newSessionTicket13(let nst) = try roundTrip(ticket.bytes, version: .tls13).0 else {
            return XCTFail("not a NewSessionTicket13")
        }
        XCTAssertEqual(nst.lifetime, 0x1E)
        XCTAssertFalse(nst.ticket.isEmpty)
        XCTAssertNotNil(nst.maxEarlyDataSize)

        let certificate = try XCTUnwrap(trace.first { $0.name == "Certificate" })
        guard case .certificate(let chain) = try roundTrip(certificate.bytes, version: .tls13).0 else {
            return XCTFail("not a Certificate")
        }
        XCTAssertEqual(chain.requestContext, [])
        XCTAssertEqual(chain.entries.count, 1)
        XCTAssertEqual(chain.entries.first?.certificate.first, 0x30)  // DER SEQUENCE

        let request = try XCTUnwrap(trace.first { $0.name == "CertificateRequest" })
        guard case .certificateRequest13(let cr) = try roundTrip(request.bytes, version: .tls13).0 else {
            return XCTFail("not a CertificateRequest13")
        }
        guard case .signatureAlgorithms(let schemes)? = cr.extension(.signatureAlgorithms) else {
            return XCTFail("CertificateRequest without signature_algorithms")
        }
        XCTAssertTrue(schemes.contains(.rsaPSSRSAESHA256))
    }
}
