import Foundation
import TesseraCrypto
import TesseraSessions
import TesseraWire
import XCTest

/// SessionState against OpenSSL 3.0's own session files and `openssl sess_id`.
final class SessionStateTests: XCTestCase {
    // MARK: OpenSSL's files read by us

    func testEverySessionFileLoadsWithTheFieldsOpenSSLPrints() throws {
        let serverCertificate = try certificateDER("server-ec.crt")
        for name in vectorNames {
            let session = try SessionState(pemEncoded: try vectorText("\(name).pem"))
            let printed = sessIDFields(try vectorText("\(name).txt"))
            let isTLS13 = name.contains("tls13")

            XCTAssertEqual(session.version, isTLS13 ? .tls13 : .tls12, name)
            XCTAssertEqual(session.version.description, printed["Protocol"], name)
            XCTAssertEqual(session.cipherSuite.openSSLName, printed["Cipher"], name)
            XCTAssertEqual(hexString(session.sessionID), printed["Session-ID"], name)
            XCTAssertEqual(hexString(session.sessionIDContext), printed["Session-ID-ctx"], name)
            XCTAssertEqual(hexString(session.masterSecret), printed[isTLS13 ? "Resumption PSK" : "Master-Key"], name)
            XCTAssertEqual(session.ticketLifetimeHint.map { "\($0) (seconds)" }, printed["TLS session ticket lifetime hint"], name)
            XCTAssertEqual(session.ticket, try vectorBytes("\(name).ticket.bin"), name)
            XCTAssertEqual(String(Int64(session.time.timeIntervalSince1970)), printed["Start Time"], name)
            XCTAssertEqual("\(session.timeout) (sec)", printed["Timeout"], name)
            XCTAssertEqual(session.extendedMasterSecret ? "yes" : "no", printed["Extended master secret"], name)
            XCTAssertEqual(printed["Verify return code"], "0 (ok)", name)
            XCTAssertNil(session.verifyResult, "absent [5] means X509_V_OK: \(name)")
            XCTAssertEqual(session.hostname, "localhost", name)
            XCTAssertEqual(session.keyExchangeGroup, .x25519, name)
            XCTAssertEqual(session.peerCertificate, serverCertificate, name)
            XCTAssertEqual(session.masterSecret.count, 48, name)
            XCTAssertEqual(session.sessionID.count, 32, name)
            if isTLS13 {
                XCTAssertEqual(session.cipherSuite, .tlsAES256GCMSHA384, name)
                XCTAssertEqual(session.maxEarlyData.map(String.init), printed["Max Early Data"], name)
                XCTAssertNotNil(session.ticketAgeAdd, name)
                XCTAssertFalse(session.extendedMasterSecret, name)
            } else {
                XCTAssertEqual(session.cipherSuite, .ecdheECDSAWithAES256GCMSHA384, name)
                XCTAssertTrue(session.extendedMasterSecret, name)
                XCTAssertNil(session.ticketAgeAdd, name)
                XCTAssertNil(session.maxEarlyData, name)
            }
        }
    }

    /// Every field OpenSSL wrote is modelled, so our encoding of its session must be its bytes,
    /// in DER and in PEM (down to the line breaks and the final newline).
    func testOpenSSLSessionFilesReencodeByteForByte() throws {
        for name in vectorNames {
            let pem = try vectorText("\(name).pem")
            let session = try SessionState(pemEncoded: pem)
            XCTAssertEqual(session.pemEncoded(), pem, name)
            let der = try derOfPEM(pem)
            XCTAssertEqual(session.derEncoded(), der, name)
            XCTAssertEqual(try SessionState(derEncoded: der), session, name)
        }
    }

    func testTicketPlaintextsDecodeAsServerStateAndReencodeByteForByte() throws {
        for name in vectorNames {
            let plaintext = try vectorBytes("\(name).ticket-plaintext.der")
            let state = try SessionState(derEncoded: plaintext)
            let client = try SessionState(pemEncoded: try vectorText("\(name).pem"))
            XCTAssertEqual(state.derEncoded(), plaintext, name)

            // Server-side fields: nginx's 20-byte sid_ctx, SNI, EMS for 1.2, age_add for 1.3, the group.
            XCTAssertEqual(state.sessionIDContext.count, 20, name)
            XCTAssertEqual(state.hostname, "localhost", name)
            XCTAssertEqual(state.keyExchangeGroup, .x25519, name)
            XCTAssertNil(state.ticket, name)
            XCTAssertNil(state.peerCertificate, name)
            XCTAssertEqual(state.version, client.version, name)
            XCTAssertEqual(state.cipherSuite, client.cipherSuite, name)
            XCTAssertEqual(state.masterSecret, client.masterSecret, name)
            XCTAssertEqual(state.time, client.time, name)
            XCTAssertEqual(state.extendedMasterSecret, client.extendedMasterSecret, name)
            if state.version == .tls13 {
                XCTAssertEqual(state.ticketAgeAdd, client.ticketAgeAdd, name)
                XCTAssertEqual(state.sessionID.count, 32, name)
            } else {
                XCTAssertTrue(state.extendedMasterSecret, name)
                XCTAssertEqual(state.sessionID, [], name)
            }
        }
    }

    // MARK: Our files read by OpenSSL

    func testOpenSSLReadsOurSessionsAndWritesTheSameBytesBack() throws {
        let directory = try makeTemporaryDirectory(self)
        var sessions = try Self.syntheticSessions()
        for name in vectorNames {
            sessions.append((name, try SessionState(pemEncoded: try vectorText("\(name).pem"))))
        }
        for (name, session) in sessions {
            let file = directory.appendingPathComponent("\(name).pem")
            try session.pemEncoded().write(to: file, atomically: true, encoding: .utf8)

            let printed = sessIDFields(String(decoding: try openssl(["sess_id", "-in", file.path, "-noout", "-text"]), as: UTF8.self))
            XCTAssertEqual(printed["Protocol"], session.version.description, name)
            XCTAssertEqual(printed["Cipher"], session.cipherSuite.openSSLName, name)
            XCTAssertEqual(printed["Session-ID"], hexString(session.sessionID), name)
            XCTAssertEqual(printed["Session-ID-ctx"], hexString(session.sessionIDContext), name)
            XCTAssertEqual(printed[session.version == .tls13 ? "Resumption PSK" : "Master-Key"], hexString(session.masterSecret), name)
            XCTAssertEqual(printed["Start Time"], String(Int64(session.time.timeIntervalSince1970)), name)
            XCTAssertEqual(printed["Timeout"], "\(session.timeout) (sec)", name)
            XCTAssertEqual(printed["Extended master secret"], session.extendedMasterSecret ? "yes" : "no", name)
            XCTAssertEqual(printed["TLS session ticket lifetime hint"], session.ticketLifetimeHint.map { "\($0) (seconds)" }, name)
            XCTAssertEqual(printed["Verify return code"]?.prefix(while: { $0 != " " }).description, String(session.verifyResult ?? 0), name)
            if session.version == .tls13 {
                XCTAssertEqual(printed["Max Early Data"], String(session.maxEarlyData ?? 0), name)
            }

            // OpenSSL's i2d of what it read is our DER: every field means the same to both.
            let reencoded = try openssl(["sess_id", "-in", file.path, "-outform", "DER"])
            XCTAssertEqual([UInt8](reencoded), session.derEncoded(), name)
        }
    }

    // MARK: Round trips

    func testSyntheticSessionsRoundTripThroughDERAndPEM() throws {
        for (name, session) in try Self.syntheticSessions() {
            XCTAssertEqual(try SessionState(derEncoded: session.derEncoded()), session, name)
            XCTAssertEqual(try SessionState(pemEncoded: session.pemEncoded()), session, name)
            let pem = session.pemEncoded()
            XCTAssertTrue(pem.hasPrefix("-----BEGIN SSL SESSION PARAMETERS-----\n"), name)
            XCTAssertTrue(pem.hasSuffix("-----END SSL SESSION PARAMETERS-----\n"), name)
            for line in pem.split(separator: "\n") where !line.hasPrefix("-----") {
                XCTAssertLessThanOrEqual(line.count, 64, name)
            }
        }
    }

    /// OpenSSL omits zero-valued INTEGER fields; what that means when reading back.
    func testZeroValuedFieldsFollowOpenSSLsDefaults() throws {
        let zeroes13 = SessionState(
            version: .tls13, cipherSuite: .tlsAES128GCMSHA256, masterSecret: [UInt8](repeating: 7, count: 32),
            time: Date(timeIntervalSince1970: 1_700_000_000), timeout: 300,
            verifyResult: 0, ticketLifetimeHint: 0, ticketAgeAdd: 0, maxEarlyData: 0
        )
        let read13 = try SessionState(derEncoded: zeroes13.derEncoded())
        XCTAssertEqual(read13.ticketAgeAdd, 0, "TLS 1.3: absent age_add is 0")
        XCTAssertEqual(read13.maxEarlyData, 0, "TLS 1.3: absent max_early_data is 0")
        XCTAssertNil(read13.verifyResult, "0 is written as absent, read as nil")
        XCTAssertNil(read13.ticketLifetimeHint, "a zero hint is written as absent")
        XCTAssertNil(read13.keyExchangeGroup, "[19] 0 reads as no group")

        let plain12 = SessionState(
            version: .tls12, cipherSuite: .ecdheRSAWithAES128GCMSHA256, masterSecret: [UInt8](repeating: 1, count: 48),
            time: Date(timeIntervalSince1970: 1_700_000_000), timeout: 300
        )
        let read12 = try SessionState(derEncoded: plain12.derEncoded())
        XCTAssertEqual(read12, plain12)
        XCTAssertNil(read12.ticketAgeAdd)
        XCTAssertNil(read12.maxEarlyData)
    }

    func testTimeIsKeptInWholeSecondsAndAgeIsMeasuredFromIt() throws {
        let session = SessionState(
            version: .tls12, cipherSuite: .ecdheRSAWithAES128GCMSHA256, masterSecret: [UInt8](repeating: 1, count: 48),
            time: Date(timeIntervalSince1970: 1_700_000_000.75), timeout: 60
        )
        XCTAssertEqual(session.time, Date(timeIntervalSince1970: 1_700_000_000))
        XCTAssertEqual(session.age(at: Date(timeIntervalSince1970: 1_700_000_010)), 10)
        XCTAssertEqual(session.expiresAt, Date(timeIntervalSince1970: 1_700_000_060))
        XCTAssertFalse(session.isExpired(at: Date(timeIntervalSince1970: 1_700_000_059)))
        XCTAssertTrue(session.isExpired(at: Date(timeIntervalSince1970: 1_700_000_060)))
        XCTAssertEqual(try SessionState(derEncoded: session.derEncoded()), session)
    }

    func testUnknownAndUnmodelledFieldsAreSkipped() throws {
        let session = try Self.syntheticSessions()[0].1
        let der = session.derEncoded()
        // Append [7] psk_identity_hint, [17] max_fragment_len_mode, [25] and [40] (unknown) inside the
        // SEQUENCE: fields we do not model must not make a session unreadable.
        let extra: [UInt8] = [
            0xA7, 0x05, 0x04, 0x03, 0x61, 0x62, 0x63,
            0xB1, 0x03, 0x02, 0x01, 0x02,
            0xB9, 0x03, 0x02, 0x01, 0x05,
            0xBF, 0x28, 0x02, 0x05, 0x00,
        ]
        let patched = Self.rewrap(Self.sequenceContent(der) + extra)
        XCTAssertEqual(try SessionState(derEncoded: patched), session)
    }

    // MARK: Helpers

    /// A TLS 1.2 session with every optional field, a TLS 1.3 one with the peer certificate and a
    /// high-bit age_add, and a minimal one.
    static func syntheticSessions() throws -> [(String, SessionState)] {
        let certificate = try certificateDER("server-ec.crt")
        let full12 = SessionState(
            version: .tls12,
            cipherSuite: .ecdheRSAWithAES128GCMSHA256,
            sessionID: Array(1...32),
            masterSecret: Array(repeating: 0xAB, count: 48),
            time: Date(timeIntervalSince1970: 1_700_000_000),
            timeout: 7200,
            sessionIDContext: [1, 2, 3, 4, 5],
            verifyResult: 18,
            hostname: "example.com",
            ticketLifetimeHint: 300,
            ticket: Array(repeating: 0x5A, count: 100),
            extendedMasterSecret: true,
            alpn: Array("h2".utf8),
            keyExchangeGroup: .secp256r1
        )
        let full13 = SessionState(
            version: .tls13,
            cipherSuite: .tlsAES128GCMSHA256,
            sessionID: Array(repeating: 0xEE, count: 32),
            masterSecret: Array(repeating: 0x11, count: 32),
            time: Date(timeIntervalSince1970: 2_000_000_000),
            timeout: 604_800,
            peerCertificate: certificate,
            sessionIDContext: [],
            hostname: "localhost",
            ticketLifetimeHint: 86_400,
            ticket: Array(repeating: 0x42, count: 200),
            ticketAgeAdd: 0xDEAD_BEEF,
            maxEarlyData: 16_384,
            alpn: Array("http/1.1".utf8),
            keyExchangeGroup: .x25519
        )
        let minimal = SessionState(
            version: .tls12,
            cipherSuite: .ecdheECDSAWithChaCha20Poly1305SHA256,
            masterSecret: Array(repeating: 0x01, count: 48),
            time: Date(timeIntervalSince1970: 1_000_000_000),
            timeout: 1
        )
        return [("synthetic-tls12-full", full12), ("synthetic-tls13-full", full13), ("synthetic-minimal", minimal)]
    }

    /// The body of a DER SEQUENCE whose length fits the short or two-byte long form.
    static func sequenceContent(_ der: [UInt8]) -> [UInt8] {
        switch der[1] {
        case 0x81: return Array(der[3...])
        case 0x82: return Array(der[4...])
        default: return Array(der[2...])
        }
    }

    static func rewrap(_ content: [UInt8]) -> [UInt8] {
        let count = content.count
        if count < 0x80 { return [0x30, UInt8(count)] + content }
        if count < 0x100 { return [0x30, 0x81, UInt8(count)] + content }
        return [0x30, 0x82, UInt8(count >> 8), UInt8(count & 0xFF)] + content
    }
}

/// The DER inside a one-block PEM file.
func derOfPEM(_ pem: String) throws -> [UInt8] {
    let body = pem.split(separator: "\n").filter { !$0.hasPrefix("-----") }.joined()
    guard let data = Data(base64Encoded: body) else { throw VectorError.missing("base64") }
    return [UInt8](data)
}

func certificateDER(_ fileName: String) throws -> [UInt8] {
    try derOfPEM(try vectorText(fileName))
}
