import NIOCore
import TesseraCore
import TesseraWire
import XCTest

/// DESIGN.md §3's expected-flights table, the oracle for every handshake shape.
enum ExpectedFlights {
    typealias Flight = [String]  // "C:ClientHello", "S:CCS", ...

    static let full12Ticket: Flight = [
        "C:ClientHello", "S:ServerHello", "S:Certificate", "S:ServerKeyExchange", "S:ServerHelloDone",
        "C:ClientKeyExchange", "C:CCS", "C:Finished", "S:NewSessionTicket", "S:CCS", "S:Finished",
    ]
    static let full12: Flight = full12Ticket.filter { $0 != "S:NewSessionTicket" }
    static let resumed12: Flight = ["C:ClientHello", "S:ServerHello", "S:CCS", "S:Finished", "C:CCS", "C:Finished"]
    static let resumedRenewed12: Flight = [
        "C:ClientHello", "S:ServerHello", "S:NewSessionTicket", "S:CCS", "S:Finished", "C:CCS", "C:Finished",
    ]

    // Client certificates "in the usual places" (RFC 5246 §7.3, RFC 8446 §2).
    static let full12ClientAuth: Flight = [
        "C:ClientHello", "S:ServerHello", "S:Certificate", "S:ServerKeyExchange", "S:CertificateRequest",
        "S:ServerHelloDone", "C:Certificate", "C:ClientKeyExchange", "C:CertificateVerify", "C:CCS", "C:Finished",
        "S:CCS", "S:Finished",
    ]
    /// An empty client Certificate has no CertificateVerify (RFC 5246 §7.4.8).
    static let full12EmptyClientCertificate: Flight = full12ClientAuth.filter { $0 != "C:CertificateVerify" }
    static let full13ClientAuth: Flight = [
        "C:ClientHello", "S:ServerHello", "S:CCS", "S:EncryptedExtensions", "S:CertificateRequest", "S:Certificate",
        "S:CertificateVerify", "S:Finished", "C:CCS", "C:Certificate", "C:CertificateVerify", "C:Finished",
    ]
    static let full13EmptyClientCertificate: Flight = full13ClientAuth.filter { $0 != "C:CertificateVerify" }
    /// RFC 8446 §4.3.2: never a CertificateRequest with a PSK.
    static let resumed13: Flight = [
        "C:ClientHello", "S:ServerHello", "S:CCS", "S:EncryptedExtensions", "S:Finished", "C:CCS", "C:Finished",
    ]

    /// Both sides' sent messages merged in the order they were produced: each side's own order
    /// is kept and a side's flight starts when the other's ends.
    static func record(_ pair: Pair) -> Flight {
        // Trace events are per side; interleave by the protocol's turn-taking: the sides
        // alternate flights, and every flight ends when the other side sends next. Rebuild it
        // from each side's ordered sends and its received messages.
        var flight: Flight = []
        var clientSent = pair.clientLog.sentFlight.map { "C:" + $0 }[...]
        var serverSent = pair.serverLog.sentFlight.map { "S:" + $0 }[...]
        // The server received exactly what the client sent; the client's receive trace tells
        // when each server message arrived relative to its own sends.
        for event in pair.clientLog.traces {
            switch (event.direction, event.kind) {
            case (.sent, .handshake), (.sent, .changeCipherSpec):
                if let next = clientSent.popFirst() { flight.append(next) }
            case (.received, .handshake), (.received, .changeCipherSpec):
                if let next = serverSent.popFirst() { flight.append(next) }
            default:
                continue
            }
        }
        flight.append(contentsOf: clientSent)
        flight.append(contentsOf: serverSent)
        return flight
    }
}

final class FlightTests: XCTestCase {
    func testFullHandshakeWithoutTicketFollowsTheTable() {
        var pair = Pair()
        pair.handshake()
        XCTAssertNotNil(pair.clientLog.summary)
        XCTAssertEqual(ExpectedFlights.record(pair), ExpectedFlights.full12)
    }

    func testTraceCarriesRecordHeadersAndMessagesInOpenSSLOrder() {
        var pair = Pair()
        pair.handshake()
        let first = pair.clientLog.traces.prefix(2).map(\.kind)
        XCTAssertEqual(first, [.recordHeader, .handshake(.clientHello)])
        // The first ClientHello record says TLS 1.0 (RFC 5246 Appendix E.1), the message TLS 1.2.
        XCTAssertEqual(pair.clientLog.traces.first?.version, .tls10)
        XCTAssertEqual(pair.clientLog.traces.dropFirst().first?.version, .tls12)
        XCTAssertEqual(pair.clientLog.traces.first?.bytes.first, 0x16)
    }
}

/// Drop, duplicate and reorder each message of a full handshake: the receiver must answer with a
/// fatal alert (unexpected_message where the wrong message is readable) and never crash.
final class MutationTests: XCTestCase {
    enum Mutation: CaseIterable { case drop, duplicate, swapWithNext }

    func testEveryServerMessageMutated() {
        let count = serverRecords().count
        for index in 0..<count {
            for mutation in Mutation.allCases {
                checkServerMutation(index: index, mutation, count: count)
            }
        }
    }

    func testEveryClientMessageMutated() {
        let count = clientRecords().count
        for index in 0..<count {
            for mutation in Mutation.allCases {
                checkClientMutation(index: index, mutation, count: count)
            }
        }
    }

    /// The server's handshake records, one message each: SH, Cert, SKE, SHD | CCS, Finished.
    private func serverRecords() -> [ByteBuffer] {
        var pair = Pair.unpacked()
        pair.handshake()
        return pair.serverLog.sent.flatMap(splitRecords)
    }

    private func clientRecords() -> [ByteBuffer] {
        var pair = Pair.unpacked()
        pair.handshake()
        return pair.clientLog.sent.flatMap(splitRecords)
    }

    private func mutate(_ records: [ByteBuffer], _ index: Int, _ mutation: Mutation) -> [ByteBuffer]? {
        var records = records
        switch mutation {
        case .drop:
            records.remove(at: index)
        case .duplicate:
            records.insert(records[index], at: index)
        case .swapWithNext:
            guard index + 1 < records.count else { return nil }
            records.swapAt(index, index + 1)
        }
        return records
    }

    /// A fresh client fed the server's (mutated) records one by one; the server is real, so its
    /// answers stay consistent with the client's own hello.
    private func checkServerMutation(index: Int, _ mutation: Mutation, count: Int) {
        var pair = Pair.unpacked()
        // Run the server once to get its first flight for this client.
        var firstFlight = pair.serverFirstFlight()
        let label = "server record \(index) \(mutation)"
        // The server's second flight (CCS, Finished) only exists after the client's; mutate the
        // first flight, or the second one after a clean first.
        if index < firstFlight.count {
            guard let mutated = mutate(firstFlight, index, mutation) else { return }
            for record in mutated { pair.absorbClient(pair.client.receive(record)) }
            expectFailureOrStall(pair.clientLog, mutation: mutation, isLastOfFlight: index == firstFlight.count - 1, plaintext: true, label)
            return
        }
        for record in firstFlight { pair.absorbClient(pair.client.receive(record)) }
        firstFlight = []
        let clientFlight = pair.toServer
        pair.toServer = []
        for record in clientFlight { pair.absorbServer(pair.server.receive(record)) }
        let secondFlight = pair.toClient
        pair.toClient = []
        let secondIndex = index - (count - secondFlight.count)
        guard secondIndex >= 0, let mutated = mutate(secondFlight, secondIndex, mutation) else { return }
        for record in mutated { pair.absorbClient(pair.client.receive(record)) }
        expectFailureOrStall(pair.clientLog, mutation: mutation, isLastOfFlight: secondIndex == secondFlight.count - 1, plaintext: false, label)
    }

    private func checkClientMutation(index: Int, _ mutation: Mutation, count: Int) {
        var pair = Pair.unpacked()
        let label = "client record \(index) \(mutation)"
        if index == 0 {
            pair.start()
            guard let mutated = mutate(pair.toServer, 0, mutation) else { return }
            pair.toServer = []
            for record in mutated { pair.absorbServer(pair.server.receive(record)) }
            expectFailureOrStall(pair.serverLog, mutation: mutation, isLastOfFlight: true, plaintext: true, label)
            return
        }
        let flight = pair.clientSecondFlight()  // hello to the server, its flight back, the client's answer
        guard let mutated = mutate(flight, index - 1, mutation) else { return }
        for record in mutated { pair.absorbServer(pair.server.receive(record)) }
        // Only the ClientKeyExchange (and a CCS ahead of it) are read in the clear.
        expectFailureOrStall(pair.serverLog, mutation: mutation, isLastOfFlight: index - 1 == flight.count - 1, plaintext: index == 1, label)
    }

    /// Dropping the last message of a flight leaves the receiver waiting (no alert is possible);
    /// every other mutation must close it with a fatal alert.
    private func expectFailureOrStall(_ log: SideLog, mutation: Mutation, isLastOfFlight: Bool, plaintext: Bool, _ label: String) {
        if mutation == .drop, isLastOfFlight {
            XCTAssertNil(log.summary, label)
            XCTAssertFalse(log.isClosed, label)
            return
        }
        guard let error = log.closeError else {
            // Out of place, an encrypted record reads as random plaintext: it may parse as an
            // (ignored) HelloRequest and a partial message, so the receiver waits for more.
            // That is fine as long as nothing completed; readable messages must fail.
            if plaintext { XCTFail("\(label): no failure") }
            XCTAssertNil(log.summary, label)
            return
        }
        // A duplicated last message arrives after the handshake completed; anything else fails it.
        if !(mutation == .duplicate && isLastOfFlight) {
            XCTAssertNil(log.summary, label)
        }
        XCTAssertNotNil(error.alert, label)
        // Encrypted records moved out of place fail authentication or parse as garbage; every
        // readable out-of-place message is unexpected_message.
        if plaintext {
            XCTAssertEqual(error.code, .unexpectedMessage, "\(label): \(error)")
        } else {
            let allowed: [TLSError.Code] = [.unexpectedMessage, .badRecordMAC, .decodeError, .recordOverflow]
            XCTAssertTrue(allowed.contains(error.code), "\(label): \(error)")
        }
        XCTAssertEqual(plaintextAlert(in: log.sent)?.level ?? .fatal, .fatal, label)
    }
}
