import NIOCore
import TesseraWire
import XCTest

@testable import TesseraCrypto

/// Replays each section of the RFC 8448-style trace through the public API: ECDHE from the trace's
/// private keys, `Transcript`, `KeySchedule13`, traffic keys, Finished, binder, resumption PSK, and
/// `RecordProtection` on every protected record (open and compare the plaintext, re-seal and
/// compare the ciphertext byte for byte: RFC 8448 uses no padding, so sealing is deterministic).
final class TLS13TraceTests: XCTestCase {
    private let parameters = CipherSuite.tlsAES128GCMSHA256.parameters

    func testAllSectionsEndToEnd() throws {
        let steps = groupSteps(try loadTraces())
        let sections = steps.reduce(into: [String]()) { if !$0.contains($1.section) { $0.append($1.section) } }
        XCTAssertEqual(sections.count, 5)
        var resumptionPSK: [UInt8]?
        var protectedRecords = 0
        for section in sections {
            let result = try replay(steps.filter { $0.section == section }, previousPSK: resumptionPSK)
            resumptionPSK = resumptionPSK ?? result.psk
            protectedRecords += result.protectedRecords
        }
        // Protected records: 1-RTT 7, 0-RTT 8, HRR 4, client auth 4, compatibility mode 4.
        XCTAssertEqual(protectedRecords, 27)
    }

    private struct SideKeys {
        var write: RecordProtection
        var read: RecordProtection
        var phase: String
    }

    private func replay(_ steps: [TraceStep], previousPSK: [UInt8]?) throws -> (psk: [UInt8]?, protectedRecords: Int) {
        let section = steps[0].section
        let parameters = try XCTUnwrap(parameters)
        var transcript = Transcript()
        var schedule: KeySchedule13?
        var privateKeys: [String: (group: NamedGroup, key: [UInt8], publicKey: [UInt8])] = [:]
        var secrets: [String: [UInt8]] = [:]  // label -> secret
        var writers: [String: (protection: RecordProtection, phase: String)] = [:]  // side -> current write keys
        var pendingClientHello = false
        var psk: [UInt8]?
        var protectedRecords = 0

        for step in steps {
            let context = "\(section) / \(step.step)"
            let side = step.side
            switch true {
            case step.step.contains("create an ephemeral"):
                let group: NamedGroup = step.step.contains("P-256") ? .secp256r1 : .x25519
                let keyPair = try EphemeralKeyExchange(group: group, privateKey: try XCTUnwrap(step["private key"]))
                XCTAssertEqual(keyPair.publicKeyBytes, step["public key"], context)
                privateKeys[side] = (group, try XCTUnwrap(step["private key"]), try XCTUnwrap(step["public key"]))

            case step.step.contains("construct a"):
                let message = try XCTUnwrap(step.entries.first?.bytes)
                if message.first == 0x01 {
                    // The complete ClientHello is the next record's payload (with PSK binders in section 4).
                    pendingClientHello = true
                } else if message.first == 0x02, Array(message[6..<38]) == helloRetryRequestRandom {
                    // RFC 8446 §4.4.1: ClientHello1 is replaced by message_hash before the HRR.
                    transcript.selectHash(.sha256)
                    transcript.replaceWithMessageHash()
                    transcript.append(bytes: message)
                } else {
                    transcript.append(bytes: message)
                    if message.first == 0x02 { transcript.selectHash(.sha256) }
                }

            case step.step.contains("extract secret \"early\""):
                let ikm = try XCTUnwrap(step["IKM"])
                let usesPSK = ikm.contains { $0 != 0 }
                if usesPSK {
                    // Section 4 resumes with the PSK derived from section 3's NewSessionTicket.
                    XCTAssertEqual(ikm, previousPSK, "\(context): resumption PSK")
                    // The PSK fixes the hash before ServerHello (0-RTT keys need Hash(ClientHello)).
                    transcript.selectHash(.sha256)
                }
                schedule = KeySchedule13(hash: .sha256, psk: usesPSK ? ikm : nil)
                XCTAssertEqual(schedule?.earlySecret, step["secret"], context)

            case step.step.contains("calculate PSK binder"):
                let prefix = try XCTUnwrap(step["ClientHello prefix"])
                var binderTranscript = Transcript(hash: .sha256)
                binderTranscript.append(bytes: prefix)
                XCTAssertEqual(binderTranscript.currentHash(), step["binder hash"], context)
                let binderKey = try XCTUnwrap(schedule).binderKey(external: false)
                XCTAssertEqual(binderKey, step["PRK"], context)
                XCTAssertEqual(KeySchedule13.finishedKey(secret: binderKey, hash: .sha256), step["expanded"], context)
                XCTAssertEqual(
                    try XCTUnwrap(schedule).binder(external: false, truncatedHelloHash: binderTranscript.currentHash()),
                    step["finished"], context)

            case step.step.contains("derive secret for handshake"), step.step.contains("derive secret for master"):
                // The "derived" salt (RFC 8446 §7.1).
                let base = step.step.contains("for handshake") ? schedule?.earlySecret : schedule?.handshakeSecret
                XCTAssertEqual(base, step["PRK"], context)
                XCTAssertEqual(
                    TLS13.deriveSecret(secret: try XCTUnwrap(base), label: "derived", transcriptHash: TLS13.emptyHash(.sha256), hash: .sha256),
                    step["expanded"], context)

            case step.step.contains("extract secret \"handshake\""):
                let client = try XCTUnwrap(privateKeys["client"])
                let server = try XCTUnwrap(privateKeys["server"])
                // ECDHE both directions must give the trace's IKM.
                let clientSide = try EphemeralKeyExchange(group: client.group, privateKey: client.key)
                let serverSide = try EphemeralKeyExchange(group: server.group, privateKey: server.key)
                let shared = try clientSide.sharedSecret(peerPublicKey: server.publicKey)
                XCTAssertEqual(shared, step["IKM"], context)
                XCTAssertEqual(try serverSide.sharedSecret(peerPublicKey: client.publicKey), shared, context)
                schedule?.deriveHandshakeSecret(sharedSecret: shared)
                XCTAssertEqual(schedule?.handshakeSecret, step["secret"], context)

            case step.step.contains("extract secret \"master\""):
                schedule?.deriveMasterSecret()
                XCTAssertEqual(schedule?.masterSecret, step["secret"], context)

            case step.step.contains("derive secret \"tls13 "):
                let schedule = try XCTUnwrap(schedule)
                let label = try XCTUnwrap(step.quoted).replacingOccurrences(of: "tls13 ", with: "")
                // The trace's context hash must be our running transcript hash.
                XCTAssertEqual(transcript.currentHash(), step["hash"], context)
                let hash = transcript.currentHash()
                let secret: [UInt8]
                switch label {
                case "c e traffic": secret = schedule.clientEarlyTrafficSecret(transcriptHash: hash)
                case "e exp master": secret = schedule.earlyExporterMasterSecret(transcriptHash: hash)
                case "c hs traffic": secret = schedule.clientHandshakeTrafficSecret(transcriptHash: hash)
                case "s hs traffic": secret = schedule.serverHandshakeTrafficSecret(transcriptHash: hash)
                case "c ap traffic": secret = schedule.clientApplicationTrafficSecret(transcriptHash: hash)
                case "s ap traffic": secret = schedule.serverApplicationTrafficSecret(transcriptHash: hash)
                case "exp master": secret = schedule.exporterMasterSecret(transcriptHash: hash)
                case "res master": secret = schedule.resumptionMasterSecret(transcriptHash: hash)
                default:
                    XCTFail("\(context): unexpected label \(label)")
                    continue
                }
                XCTAssertEqual(secret, step["expanded"], context)
                secrets[label] = secret

            case step.step.contains("traffic keys"):
                // Which secret these keys come from, by who derives them and for what.
                let writerSide = step.step.contains("read traffic keys") ? (side == "server" ? "client" : "server") : side
                let phase =
                    step.step.contains("early") ? "e" : step.step.contains("handshake data") ? "hs" : "ap"
                let label = phase == "e" ? "c e traffic" : "\(writerSide.prefix(1)) \(phase) traffic"
                let secret = try XCTUnwrap(secrets[label], "\(context): \(label) not derived yet")
                XCTAssertEqual(secret, step["PRK"], context)
                let keys = KeySchedule13.trafficKeys(secret: secret, parameters: parameters)
                XCTAssertEqual(keys.key, step["key expanded"], context)
                XCTAssertEqual(keys.iv, step["iv expanded"], context)
                writers[writerSide] = (try RecordProtection(parameters: parameters, key: keys.key, iv: keys.iv), label)

            case step.step.contains("calculate finished"):
                let label = side == "server" ? "s hs traffic" : "c hs traffic"
                let baseKey = try XCTUnwrap(secrets[label])
                XCTAssertEqual(baseKey, step["PRK"], context)
                let finishedKey = KeySchedule13.finishedKey(secret: baseKey, hash: .sha256)
                XCTAssertEqual(finishedKey, step["expanded"], context)
                XCTAssertEqual(
                    KeySchedule13.finishedVerifyData(finishedKey: finishedKey, transcriptHash: transcript.currentHash(), hash: .sha256),
                    step["finished"], context)

            case step.step.contains("generate resumption secret"):
                let nonce = try XCTUnwrap(step["hash"])
                let rms = try XCTUnwrap(secrets["res master"])
                XCTAssertEqual(rms, step["PRK"], context)
                psk = KeySchedule13.resumptionPSK(resumptionMasterSecret: rms, nonce: nonce, hash: .sha256)
                XCTAssertEqual(psk, step["expanded"], context)

            case step.step.contains("send"):
                let payload = try XCTUnwrap(step["payload"])
                let record = try XCTUnwrap(step["complete record"])
                if pendingClientHello, step.step.contains("handshake record"), payload.first == 0x01 {
                    transcript.append(bytes: payload)
                    pendingClientHello = false
                }
                let contentType: ContentType =
                    step.step.contains("application_data") ? .applicationData
                    : step.step.contains("alert") ? .alert
                    : step.step.contains("change_cipher_spec") ? .changeCipherSpec : .handshake
                if record.count == payload.count + 5 {
                    // Plaintext record (ClientHello, ServerHello, CCS).
                    XCTAssertEqual(record[0], contentType.rawValue, context)
                    XCTAssertEqual(Array(record[5...]), payload, context)
                    continue
                }
                protectedRecords += 1
                var writer = try XCTUnwrap(writers[side], "\(context): no keys")
                // Seal with the sender's keys and compare the record byte for byte.
                let sequence = writer.protection.sequenceNumber
                var opener = writer.protection  // same keys and sequence number: the receiver's view
                var sealed = ByteBuffer()
                try writer.protection.seal(contentType: contentType, plaintext: ByteBuffer(bytes: payload).readableBytesView, into: &sealed)
                XCTAssertEqual(Array(sealed.readableBytesView), record, "\(context) (\(writer.phase), seq \(sequence))")
                XCTAssertEqual(writer.protection.sequenceNumber, sequence + 1, context)
                writers[side] = writer
                // Open the trace's record and compare the plaintext and the real content type.
                let parsed = TLSRecord(
                    contentType: ContentType(rawValue: record[0]), version: ProtocolVersion(rawValue: UInt16(record[1]) << 8 | UInt16(record[2])),
                    fragment: ByteBuffer(bytes: record[5...]))
                XCTAssertEqual(parsed.contentType, .applicationData, context)
                let opened = try opener.open(parsed)
                XCTAssertEqual(opened.contentType, contentType, context)
                XCTAssertEqual(Array(opened.plaintext.readableBytesView), payload, context)
                XCTAssertEqual(opener.sequenceNumber, sequence + 1, context)

            default:
                continue
            }
        }
        return (psk, protectedRecords)
    }

    private let helloRetryRequestRandom = hex("cf21ad74e59a6111be1d8c021e65b891c2a211167abb8c5e079e09e2c8a8339c")
}
