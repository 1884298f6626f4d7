import NIOCore
import XCTest

@testable import TesseraWire

final class RecordParserTests: XCTestCase {
    private func record(_ type: UInt8, _ body: [UInt8], version: UInt16 = 0x0303) -> [UInt8] {
        [type, UInt8(version >> 8), UInt8(version & 0xFF), UInt8(body.count >> 8), UInt8(body.count & 0xFF)] + body
    }

    func testOneByteAtATime() throws {
        let body = Array(0..<200).map { UInt8($0) }
        let bytes = record(0x16, body) + record(0x15, [0x02, 0x28])
        var parser = RecordParser()
        var records: [TLSRecord] = []
        for byte in bytes {
            parser.append(buffer([byte]))
            while let record = try parser.nextRecord() {
                records.append(record)
            }
        }
        XCTAssertEqual(records.count, 2)
        XCTAssertEqual(records[0].contentType, .handshake)
        XCTAssertEqual(records[0].version, .tls12)
        XCTAssertEqual(records[0].fragment.bytes, body)
        XCTAssertEqual(records[1].contentType, .alert)
        XCTAssertEqual(try Alert(decoding: records[1].fragment), Alert(level: .fatal, alertDescription: .handshakeFailure))
        XCTAssertEqual(parser.bufferedByteCount, 0)
    }

    func testPartialHeaderAndBodyReportNeedMore() throws {
        var parser = RecordParser()
        parser.append(buffer([0x16, 0x03, 0x01]))
        XCTAssertNil(try parser.nextRecord())
        XCTAssertEqual(parser.bufferedByteCount, 3)
        parser.append(buffer([0x00, 0x04, 0xAA, 0xBB]))
        XCTAssertNil(try parser.nextRecord())
        parser.append(buffer([0xCC, 0xDD, 0x17]))
        let record = try XCTUnwrap(try parser.nextRecord())
        XCTAssertEqual(record.version, .tls10)
        XCTAssertEqual(record.fragment.bytes, [0xAA, 0xBB, 0xCC, 0xDD])
        XCTAssertNil(try parser.nextRecord())
        XCTAssertEqual(parser.bufferedByteCount, 1)
    }

    func testSeveralRecordsInOneChunk() throws {
        let chunk = record(0x14, [0x01]) + record(0x16, [0x14, 0x00, 0x00, 0x00]) + record(0x17, [1, 2, 3])
        var parser = RecordParser()
        parser.append(buffer(chunk))
        let types = try [parser.nextRecord(), parser.nextRecord(), parser.nextRecord()].map { $0?.contentType }
        XCTAssertEqual(types, [.changeCipherSpec, .handshake, .applicationData])
        XCTAssertNil(try parser.nextRecord())
    }

    func testOverflowLength() throws {
        var parser = RecordParser(maximumFragmentLength: TLSRecord.maxCiphertextLength13)
        // Only the header: the length alone must condemn the record before its body arrives.
        parser.append(buffer([0x17, 0x03, 0x03, 0x41, 0x01]))  // 16641 = 2^14 + 256 + 1
        assertWireError(.recordOverflow) { _ = try parser.nextRecord() }

        var exact = RecordParser(maximumFragmentLength: TLSRecord.maxCiphertextLength13)
        exact.append(buffer(record(0x17, [UInt8](repeating: 7, count: TLSRecord.maxCiphertextLength13))))
        XCTAssertEqual(try exact.nextRecord()?.fragment.readableBytes, TLSRecord.maxCiphertextLength13)

        var lowered = RecordParser()
        lowered.setMaximumFragmentLength(TLSRecord.maxPlaintextLength)
        lowered.append(buffer([0x16, 0x03, 0x03, 0x40, 0x01]))  // 2^14 + 1
        assertWireError(.recordOverflow) { _ = try lowered.nextRecord() }
    }

    func testMajorVersionNotThree() throws {
        var parser = RecordParser()
        parser.append(buffer([0x16, 0x02, 0x00, 0x00, 0x01, 0x00]))
        assertWireError(.unsupportedRecordVersion) { _ = try parser.nextRecord() }
        // An SSLv2-framed ClientHello: 0x80 0x2e 0x01 0x03 0x01 ...
        var sslv2 = RecordParser()
        sslv2.append(buffer([0x80, 0x2E, 0x01, 0x03, 0x01, 0x00, 0x15]))
        assertWireError(.unsupportedRecordVersion) { _ = try sslv2.nextRecord() }
        // HTTP on the TLS port.
        var http = RecordParser()
        http.append(buffer(Array("GET / HTTP/1.1\r\n".utf8)))
        assertWireError(.unsupportedRecordVersion) { _ = try http.nextRecord() }
    }

    func testZeroLengthFragmentIsReturned() throws {
        var parser = RecordParser()
        parser.append(buffer(record(0x17, []) + record(0x16, [])))
        let first = try XCTUnwrap(try parser.nextRecord())
        XCTAssertEqual(first.contentType, .applicationData)
        XCTAssertEqual(first.fragment.readableBytes, 0)
        XCTAssertEqual(try parser.nextRecord()?.fragment.readableBytes, 0)
        XCTAssertNil(try parser.nextRecord())
    }

    func testRecordEncode() {
        let record = TLSRecord(contentType: .alert, version: .tls12, fragment: buffer([0x01, 0x00]))
        var out = ByteBuffer()
        record.encode(into: &out)
        XCTAssertEqual(out.bytes, [0x15, 0x03, 0x03, 0x00, 0x02, 0x01, 0x00])
    }
}

final class ReassemblerTests: XCTestCase {
    private func message(_ type: UInt8, _ body: [UInt8]) -> [UInt8] {
        [type, UInt8(body.count >> 16), UInt8((body.count >> 8) & 0xFF), UInt8(body.count & 0xFF)] + body
    }

    func testMessageSpanningThreeRecords() throws {
        let body = (0..<300).map { UInt8(truncatingIfNeeded: $0) }
        let bytes = message(0x0B, body)
        var reassembler = HandshakeReassembler()
        reassembler.append(buffer(Array(bytes[0..<2])))  // inside the header
        XCTAssertNil(try reassembler.nextMessage())
        XCTAssertTrue(reassembler.hasBufferedBytes)
        reassembler.append(buffer(Array(bytes[2..<150])))
        XCTAssertNil(try reassembler.nextMessage())
        XCTAssertTrue(reassembler.hasBufferedBytes)
        reassembler.append(buffer(Array(bytes[150...])))
        let raw = try XCTUnwrap(try reassembler.nextMessage())
        XCTAssertEqual(raw.type, .certificate)
        XCTAssertEqual(raw.body.bytes, body)
        XCTAssertEqual(raw.bytes.bytes, bytes)
        XCTAssertFalse(reassembler.hasBufferedBytes)
        XCTAssertNil(try reassembler.nextMessage())
    }

    func testThreeMessagesInOneRecord() throws {
        let finished = message(0x14, [UInt8](repeating: 0xAB, count: 12))
        let chunk = message(0x02, [1, 2, 3]) + message(0x0E, []) + finished
        var reassembler = HandshakeReassembler()
        reassembler.append(buffer(chunk))
        let first = try XCTUnwrap(try reassembler.nextMessage())
        XCTAssertTrue(reassembler.hasBufferedBytes)
        let second = try XCTUnwrap(try reassembler.nextMessage())
        let third = try XCTUnwrap(try reassembler.nextMessage())
        XCTAssertEqual([first.type, second.type, third.type], [.serverHello, .serverHelloDone, .finished])
        XCTAssertEqual(second.body.readableBytes, 0)
        XCTAssertEqual(third.bytes.bytes, finished)
        XCTAssertEqual(try HandshakeMessage(decoding: second, version: .tls12), .serverHelloDone)
        XCTAssertEqual(
            try HandshakeMessage(decoding: third, version: .tls12),
            .finished(Finished(verifyData: [UInt8](repeating: 0xAB, count: 12))))
        XCTAssertFalse(reassembler.hasBufferedBytes)
        XCTAssertNil(try reassembler.nextMessage())
    }

    func testMaximumLengthCheckedFromHeader() throws {
        var reassembler = HandshakeReassembler(maximumMessageLength: 100)
        reassembler.append(buffer([0x0B, 0x00, 0x00, 0x65]))  // 101: no body needed to refuse it
        assertWireError(.messageTooLarge) { _ = try reassembler.nextMessage() }

        var atLimit = HandshakeReassembler(maximumMessageLength: 100)
        atLimit.append(buffer(message(0x0B, [UInt8](repeating: 0, count: 100))))
        XCTAssertEqual(try atLimit.nextMessage()?.body.readableBytes, 100)

        var huge = HandshakeReassembler()
        huge.append(buffer([0x01, 0xFF, 0xFF, 0xFF]))
        assertWireError(.messageTooLarge) { _ = try huge.nextMessage() }
    }

    func testHasBufferedBytesAtRecordBoundary() throws {
        var reassembler = HandshakeReassembler()
        XCTAssertFalse(reassembler.hasBufferedBytes)
        reassembler.append(buffer(message(0x14, [1, 2, 3]) + [0x14]))
        XCTAssertNotNil(try reassembler.nextMessage())
        // One byte of the next message is pending: a key change now would be an error (RFC 8446 §5.1).
        XCTAssertTrue(reassembler.hasBufferedBytes)
        XCTAssertNil(try reassembler.nextMessage())
    }

    func testRawHandshakeMessageInit() throws {
        let raw = RawHandshakeMessage(type: .finished, body: buffer([9, 9]))
        XCTAssertEqual(raw.bytes.bytes, [0x14, 0x00, 0x00, 0x02, 9, 9])
        XCTAssertEqual(try RawHandshakeMessage(bytes: raw.bytes), raw)
        assertWireError(.trailingBytes) { _ = try RawHandshakeMessage(bytes: buffer([0x14, 0, 0, 1, 9, 9])) }
        assertWireError(.truncated) { _ = try RawHandshakeMessage(bytes: buffer([0x14, 0, 0, 3, 9, 9])) }
    }
}
