import NIOCore
@testable import TesseraCore
@testable import TesseraCrypto
import TesseraWire
import XCTest

/// A record that cannot be protected (here: the write sequence number used up, RFC 8446 §5.3)
/// fails the connection as a throw did: nothing written after it goes out, no action after it is
/// delivered, and the driver closes with the failure once the handler returns.
final class WriteFailureTests: XCTestCase {
    /// A record layer under TLS 1.3 write keys with one sequence number left.
    private func nearlyExhaustedRecords() throws -> RecordLayer {
        let parameters = try XCTUnwrap(CipherSuiteParameters.all.first { $0.suite == .tlsAES128GCMSHA256 })
        var protection = try RecordProtection(
            parameters: parameters, key: [UInt8](repeating: 0x42, count: 16), iv: [UInt8](repeating: 7, count: 12))
        protection.sequenceNumber = UInt64.max
        var records = RecordLayer()
        records.negotiatedVersion = .tls13
        records.tracing = true
        records.installWriteProtection(protection)
        return records
    }

    private func sentBytes(_ actions: [TLSAction]) -> Int {
        actions.reduce(0) { total, action in
            if case .send(let bytes) = action { return total + bytes.readableBytes }
            return total
        }
    }

    private func tracedHandshakeTypes(_ actions: [TLSAction]) -> [HandshakeType] {
        actions.compactMap { action in
            if case .trace(let event) = action, case .handshake(let type) = event.kind { return type }
            return nil
        }
    }

    func testWritesAfterAFailedSealAreDropped() throws {
        var records = try nearlyExhaustedRecords()
        records.writeHandshake(.finished(Finished(verifyData: [UInt8](repeating: 1, count: 32))))
        records.sealPendingHandshake()  // the last sequence number: sealed
        XCTAssertNil(records.writeFailure)
        records.writeHandshake(.keyUpdate(KeyUpdate(request: .updateNotRequested)))
        records.sealPendingHandshake()  // none left
        let failure = try XCTUnwrap(records.writeFailure)
        XCTAssertEqual(failure.alert, .internalError)

        // Nothing more is traced, written or delivered; the alert and application data throw.
        let bytes = records.writeHandshake(.finished(Finished(verifyData: [UInt8](repeating: 2, count: 32))))
        XCTAssertEqual(bytes.readableBytes, 0)
        records.writeChangeCipherSpec()
        records.emit(.sessionRejected)
        XCTAssertThrowsError(try records.writeAlert(.fatal(.internalError)))
        XCTAssertThrowsError(try records.writeApplicationData(ByteBuffer(bytes: [1, 2, 3])))
        let actions = records.takeActions()
        // The Finished sealed before the failure goes out (5-byte header, 36 bytes + type, tag).
        XCTAssertEqual(sentBytes(actions), 5 + 36 + 1 + 16)
        XCTAssertEqual(tracedHandshakeTypes(actions), [.finished, .keyUpdate], "the KeyUpdate was traced before its seal failed")
        XCTAssertFalse(actions.contains { if case .sessionRejected = $0 { return true } else { return false } })
    }

    func testTheDriverFailsTheConnectionAfterTheHandler() throws {
        var driver = ConnectionDriver(machine: WritingMachine(records: try nearlyExhaustedRecords()))
        driver.run { (machine: inout WritingMachine) throws(TLSError) in
            machine.records.writeHandshake(.finished(Finished(verifyData: [UInt8](repeating: 1, count: 32))))
            machine.records.emit(.sessionRejected)  // seals the Finished: the last sequence number
            machine.records.writeHandshake(.keyUpdate(KeyUpdate(request: .updateNotRequested)))
            machine.records.emit(.sessionRejected)  // its seal fails: dropped
            machine.handled = true
        }
        XCTAssertTrue(driver.machine.handled, "the handler runs to its end")
        XCTAssertTrue(driver.machine.isClosed)
        let actions = driver.machine.records.takeActions()
        let rejected = actions.filter { if case .sessionRejected = $0 { return true } else { return false } }
        XCTAssertEqual(rejected.count, 1, "only the action emitted before the failure")
        guard case .closed(let error)? = actions.last else { return XCTFail("no close: \(actions)") }
        XCTAssertEqual(error?.alert, .internalError)
        // No alert can be protected either: what went out is the Finished alone.
        XCTAssertEqual(sentBytes(actions), 5 + 36 + 1 + 16)
    }
}

/// The least machine the driver runs: a record layer and a flag the handler sets.
private struct WritingMachine: ConnectionMachine {
    var records: RecordLayer
    var handled = false
    var closed = false

    var isConnected: Bool { false }
    var isPaused: Bool { false }
    var isClosed: Bool { closed }
    mutating func handle(_ message: HandshakeMessage, _ raw: RawHandshakeMessage) throws(TLSError) {}
    mutating func handleChangeCipherSpec() throws(TLSError) {}
    mutating func markClosed() { closed = true }
}
