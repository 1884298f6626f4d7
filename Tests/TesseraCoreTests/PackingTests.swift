import Foundation
import NIOCore
import TesseraCore
import TesseraCrypto
import TesseraSessions
import TesseraWire
import XCTest

/// Handshake messages of a flight share records (RFC 5246 §6.2.1, RFC 8446 §5.1), never across a
/// key change or a record version change, and never beyond 2^14 bytes of plaintext per record.
final class PackingTests: XCTestCase {
    /// (content type, fragment length) of each record in `bytes`.
    private func records(_ bytes: ByteBuffer) -> [(type: UInt8, length: Int)] {
        splitRecords(bytes).map { record in
            let header = Array(record.readableBytesView.prefix(TLSRecord.headerLength))
            return (header[0], Int(header[3]) << 8 | Int(header[4]))
        }
    }

    private func types(_ bytes: ByteBuffer) -> [UInt8] { records(bytes).map(\.type) }

    private func config13(_ base: TLSConfiguration) -> TLSConfiguration {
        var configuration = base
        configuration.maximumVersion = .tls13
        return configuration
    }

    func testTLS12ServerHelloFlightIsOneRecord() throws {
        var pair = Pair()
        pair.handshake()
        XCTAssertNotNil(pair.clientLog.summary)
        let first = try XCTUnwrap(pair.serverLog.sent.first)
        XCTAssertEqual(types(first), [22], "ServerHello, Certificate, ServerKeyExchange, ServerHelloDone")
        XCTAssertEqual(Array(pair.serverLog.sentTrace.prefix(5)),
                       ["header", "ServerHello", "Certificate", "ServerKeyExchange", "ServerHelloDone"])
        // The client's ClientKeyExchange, CCS and Finished cannot share: three content types.
        XCTAssertEqual(types(pair.clientLog.sent[1]), [22, 20, 22])

        var unpacked = Pair.unpacked()
        unpacked.handshake()
        XCTAssertNotNil(unpacked.clientLog.summary)
        XCTAssertEqual(types(try XCTUnwrap(unpacked.serverLog.sent.first)), [22, 22, 22, 22])
        XCTAssertEqual(Array(unpacked.serverLog.sentTrace.prefix(8)), [
            "header", "ServerHello", "header", "Certificate", "header", "ServerKeyExchange", "header",
            "ServerHelloDone",
        ])
    }

    /// ServerHello in the clear, the compatibility CCS, then EncryptedExtensions, Certificate,
    /// CertificateVerify and Finished sealed together; both NewSessionTickets in one record.
    func testTLS13ServerFlightIsOneProtectedRecord() throws {
        var server = config13(serverConfiguration())
        server.ticketKeys = TicketKeyRing(start: Date())
        var pair = Pair(client: config13(clientConfiguration()), server: server)
        pair.handshake()
        XCTAssertNotNil(pair.clientLog.summary)
        XCTAssertEqual(pair.clientLog.issued.count, 2)
        XCTAssertEqual(pair.serverLog.sent.count, 2)
        XCTAssertEqual(types(pair.serverLog.sent[0]), [22, 20, 23])
        XCTAssertEqual(types(pair.serverLog.sent[1]), [23], "two NewSessionTickets, one record")
        XCTAssertEqual(Array(pair.serverLog.sentTrace.prefix(9)), [
            "header", "ServerHello", "header", "CCS", "header", "EncryptedExtensions", "Certificate",
            "CertificateVerify", "Finished",
        ])
        XCTAssertEqual(types(pair.clientLog.sent[1]), [20, 23])

        var unpacked = Pair(client: config13(clientConfiguration()).unpacked, server: server.unpacked)
        unpacked.handshake()
        XCTAssertEqual(unpacked.clientLog.issued.count, 2)
        XCTAssertEqual(types(unpacked.serverLog.sent[0]), [22, 20, 23, 23, 23, 23])
        XCTAssertEqual(types(unpacked.serverLog.sent[1]), [23, 23])
    }

    /// A flight bigger than one record (a long chain) is split at 2^14 bytes of plaintext, and
    /// the peer reassembles it.
    func testLargeFlightIsSplitAtTheRecordLimit() throws {
        let leaf = try XCTUnwrap(Credentials.p256.0.certificates.first)
        let chain = CertificateChain(certificates: Array(repeating: leaf, count: 80))
        let chainBytes = chain.derEncoded.reduce(0) { $0 + $1.count }
        XCTAssertGreaterThan(chainBytes, TLSRecord.maxPlaintextLength)
        for version in [ProtocolVersion.tls12, .tls13] {
            var server = serverConfiguration((chain, Credentials.p256.1))
            server.maximumVersion = version
            var client = clientConfiguration()
            client.maximumVersion = version
            var pair = Pair(client: client, server: server)
            pair.handshake()
            XCTAssertEqual(pair.clientLog.summary?.version, version)
            XCTAssertEqual(pair.clientLog.summary?.peerCertificates.count, 80)
            let flight = records(try XCTUnwrap(pair.serverLog.sent.first))
            let handshakeType: UInt8 = version == .tls13 ? 23 : 22
            let carrying = flight.filter { $0.type == handshakeType }
            XCTAssertGreaterThan(carrying.count, 1, "\(version)")
            // Plaintext at most 2^14; sealed TLS 1.3 adds the content type and a 16-byte tag.
            let limit = TLSRecord.maxPlaintextLength + (version == .tls13 ? 17 : 0)
            XCTAssertEqual(carrying.filter { $0.length > limit }.count, 0, "\(version)")
            XCTAssertEqual(carrying.first?.length, limit, "\(version): the first record is full")
        }
    }
}
