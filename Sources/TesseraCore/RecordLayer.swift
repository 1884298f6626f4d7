import NIOCore
import TesseraCrypto
import TesseraWire

/// One unit of input for a state machine, in the order it arrived.
enum Inbound {
    case handshake(HandshakeMessage, RawHandshakeMessage)
    case changeCipherSpec
    case applicationData(ByteBuffer)
    case alert(Alert)
}

/// Records in and out: framing, protection, handshake reassembly, coalesced output and the
/// `-msg` trace. Shared by both sides and both versions; the state machines decide what is
/// allowed, this only decides what is well formed.
struct RecordLayer: Sendable {
    private var parser = RecordParser()
    private var reassembler = HandshakeReassembler()
    private var readProtection: RecordProtection?
    private var writeProtection: RecordProtection?
    /// The version our records carry. The first ClientHello goes out as TLS 1.0 for old
    /// middleboxes (RFC 8446 §5.1, RFC 5246 Appendix E.1).
    private(set) var writeRecordVersion: ProtocolVersion = .tls12
    /// Once negotiated, every record must carry it.
    var negotiatedVersion: ProtocolVersion?
    /// What `-msg` prints for messages before a version is negotiated.
    var traceVersion: ProtocolVersion = .tls12
    var tracing = false
    /// TLS 1.3 middlebox compatibility (RFC 8446 Appendix D.4): one CCS per side, once.
    var sentCompatibilityCCS = false
    /// Bytes of undecryptable (declined 0-RTT) records still to skip.
    var skipUndecryptableBudget = 0

    /// Handshake messages are packed into as few records as possible (RFC 5246 §6.2.1 and RFC
    /// 8446 §5.1 allow it; BoringSSL does it): a TLS 1.3 server's encrypted flight is one sealed
    /// record instead of four. Off: one message per record, as OpenSSL sends them.
    var packsHandshakeMessages = true
    /// Encoded handshake messages not yet framed into records: the open part of a flight. Sealed
    /// before anything else is written, before the write keys change and before any other action.
    private var pendingHandshake = ByteBuffer()
    /// Where the open flight's first message trace sits in `actions`: its record headers go there.
    private var pendingTraceIndex: Int?

    private var output = ByteBuffer()
    private(set) var actions: [TLSAction] = []
    /// The first failure to protect a record we write (swift-crypto's seal failing). Writing does
    /// not throw: everything written after a failure is dropped, and the driver fails the
    /// connection with it once the handler returns (`ConnectionDriver.run`), as it would have
    /// for a throw. A handler's flight thus has no error exit at every message it writes, and
    /// no clean-up code for one in between the code that runs.
    private(set) var writeFailure: TLSError?
    private static let allocator = ByteBufferAllocator()
    /// Header (5), TLS 1.2 GCM explicit nonce (8), TLS 1.3 content type (1) and AEAD tag (16).
    private static let maximumRecordOverhead = 5 + 8 + 1 + 16

    /// DoS guards: a peer may not make us spin on empty records or warning alerts.
    private var consecutiveEmptyRecords = 0
    private var consecutiveWarnings = 0
    private static let maximumConsecutiveEmptyRecords = 32
    private static let maximumConsecutiveWarnings = 4

    var isReadProtected: Bool { readProtection != nil }
    var isWriteProtected: Bool { writeProtection != nil }
    var hasBufferedHandshakeBytes: Bool { reassembler.hasBufferedBytes }

    // MARK: Input

    mutating func receive(_ bytes: ByteBuffer) {
        parser.append(bytes)
    }

    /// The next message, CCS, alert or application data, or nil when more bytes are needed.
    mutating func nextInbound() throws(TLSError) -> Inbound? {
        while true {
            if let raw = try decoding({ () throws(WireError) in try reassembler.nextMessage() }) {
                let message = try decoding { () throws(WireError) in
                    try HandshakeMessage(decoding: raw, version: negotiatedVersion ?? .tls12)
                }
                trace(.received, .handshake(raw.type), Array(raw.bytes.readableBytesView))
                return .handshake(message, raw)
            }
            guard let record = try decoding({ () throws(WireError) in try parser.nextRecord() }) else {
                return nil
            }
            if let inbound = try process(record) {
                return inbound
            }
        }
    }

    private mutating func process(_ record: TLSRecord) throws(TLSError) -> Inbound? {
        if tracing {
            var header = ByteBuffer()
            header.writeInteger(record.contentType.rawValue)
            header.writeInteger(record.version.rawValue)
            header.writeInteger(UInt16(truncatingIfNeeded: record.fragment.readableBytes))
            trace(.received, .recordHeader, Array(header.readableBytesView))
        }
        // RFC 5246 Appendix E.1: once the version is settled every protected record carries it.
        // Plaintext handshake records are judged by the state machine, which tells a stray
        // message (unexpected_message) from a wrong one.
        if let negotiatedVersion, readProtection != nil, record.version != negotiatedVersion,
           !(negotiatedVersion == .tls13 && record.version == .tls12) {
            throw TLSError(.protocolVersion, "wrong version number: record carries \(record.version)")
        }
        var contentType = record.contentType
        var fragment = record.fragment
        if readProtection != nil {
            // RFC 8446 §5: a CCS may arrive unprotected during a TLS 1.3 handshake; never in 1.2.
            if negotiatedVersion == .tls13, record.contentType == .changeCipherSpec {
                contentType = .changeCipherSpec
            } else {
                // Opened in place (optional chaining), so the protection's key is not copied out
                // and back for every record.
                let opened: (contentType: ContentType, plaintext: ByteBuffer)?
                do {
                    opened = try readProtection?.open(record)
                } catch {
                    // RFC 8446 §4.2.10: early data the server declined is skipped, up to a limit.
                    if error.code == .badRecordMAC, record.contentType == .applicationData,
                       record.fragment.readableBytes <= skipUndecryptableBudget {
                        skipUndecryptableBudget -= record.fragment.readableBytes
                        return nil
                    }
                    throw TLSError(error)
                }
                skipUndecryptableBudget = 0
                guard let opened else { throw TLSError(.internalError, "read protection vanished while opening a record") }
                contentType = opened.contentType
                fragment = opened.plaintext
            }
        } else if fragment.readableBytes > TLSRecord.maxPlaintextLength {
            // RFC 5246 §6.2.1
            throw TLSError(.recordOverflow, "plaintext record of \(fragment.readableBytes) bytes")
        }

        if fragment.readableBytes == 0 {
            consecutiveEmptyRecords += 1
            guard consecutiveEmptyRecords <= Self.maximumConsecutiveEmptyRecords else {
                throw TLSError.unexpected("run of empty records")
            }
        } else {
            consecutiveEmptyRecords = 0
        }
        if contentType != .alert { consecutiveWarnings = 0 }

        switch contentType {
        case .handshake:
            // RFC 8446 §5.1: no zero-length handshake fragments.
            guard fragment.readableBytes > 0 else { throw TLSError.unexpected("empty handshake record") }
            reassembler.append(fragment)
            return nil
        case .changeCipherSpec:
            // RFC 5246 §7.1: a single byte of value 1, never interleaved with a partial message.
            try decoding { () throws(WireError) in try ChangeCipherSpec.validate(fragment) }
            guard !reassembler.hasBufferedBytes else {
                throw TLSError.unexpected("ChangeCipherSpec inside a fragmented handshake message")
            }
            trace(.received, .changeCipherSpec, Array(fragment.readableBytesView))
            return .changeCipherSpec
        case .alert:
            guard !reassembler.hasBufferedBytes else {
                throw TLSError.unexpected("alert inside a fragmented handshake message")
            }
            let alert = try decoding { () throws(WireError) in try Alert(decoding: fragment) }
            trace(.received, .alert(alert), Array(fragment.readableBytesView))
            if alert.level == .warning, alert.alertDescription != .closeNotify {
                consecutiveWarnings += 1
                guard consecutiveWarnings <= Self.maximumConsecutiveWarnings else {
                    throw TLSError.unexpected("run of warning alerts")
                }
            }
            return .alert(alert)
        case .applicationData:
            guard !reassembler.hasBufferedBytes else {
                throw TLSError.unexpected("application data inside a fragmented handshake message")
            }
            guard readProtection != nil else {
                throw TLSError.unexpected("unprotected application data")
            }
            return .applicationData(fragment)
        default:
            throw TLSError(.unexpectedMessage, "unexpected record type \(contentType)")
        }
    }

    // MARK: Keys

    /// Keys change only at record boundaries (RFC 8446 §5.1).
    mutating func installReadProtection(_ protection: consuming RecordProtection) throws(TLSError) {
        guard !reassembler.hasBufferedBytes else {
            throw TLSError.unexpected("key change with a partial handshake message buffered")
        }
        readProtection = protection
    }

    /// Before anything is written.
    mutating func setInitialRecordVersion(_ version: ProtocolVersion) {
        writeRecordVersion = version
    }

    /// The version later records carry; what was written before goes out under the old one.
    mutating func setWriteRecordVersion(_ version: ProtocolVersion) {
        sealPendingHandshake()
        writeRecordVersion = version
    }

    /// Keys change only at record boundaries: the open flight is sealed under the old keys first.
    mutating func installWriteProtection(_ protection: consuming RecordProtection) {
        sealPendingHandshake()
        writeProtection = protection
    }

    /// Records `error` as the `writeFailure` (the first one stays): nothing is written after it.
    mutating func failWrites(_ error: TLSError) {
        sealPendingHandshake()
        if writeFailure == nil { writeFailure = error }
    }

    // MARK: Output

    /// Encodes `message`, adds it to the open flight (or writes it in its own record(s) when
    /// packing is off) and returns its bytes for the transcript.
    @discardableResult
    mutating func writeHandshake(_ message: HandshakeMessage) -> ByteBuffer {
        let version = negotiatedVersion ?? .tls12
        return writeHandshake(message.type) { message.encode(into: &$0, version: version) }
    }

    /// The same for a message encoded beforehand (`bytes` is the whole message, header
    /// included): a server's Certificate, which is the same on every handshake.
    @discardableResult
    mutating func writeHandshake(encoded bytes: [UInt8], type: HandshakeType) -> ByteBuffer {
        writeHandshake(type) { $0.writeBytes(bytes) }
    }

    /// A handshake message that `write` appends, header included: straight into the open
    /// flight, the caller's copy (for its transcript) a slice of it, so a message is written once
    /// and never copied; or, with packing off, into records of its own. Nothing after a
    /// `writeFailure`.
    private mutating func writeHandshake(_ type: HandshakeType, _ write: (inout ByteBuffer) -> Void) -> ByteBuffer {
        guard writeFailure == nil else { return ByteBuffer() }
        guard packsHandshakeMessages else {
            // Most messages fit; a certificate chain grows it once or twice.
            var bytes = ByteBufferAllocator().buffer(capacity: 256)
            write(&bytes)
            trace(.sent, .handshake(type), Array(bytes.readableBytesView))
            writeRecords(.handshake, bytes.readableBytesView)
            return bytes
        }
        if pendingTraceIndex == nil { pendingTraceIndex = actions.count }
        // A flight starts in storage of its own: reserving on the empty `ByteBuffer()` would go
        // through NIO's copy-on-write path (a copy of its shared empty storage).
        if pendingHandshake.capacity == 0 { pendingHandshake = Self.allocator.buffer(capacity: 1024) }
        let start = pendingHandshake.writerIndex
        write(&pendingHandshake)
        let bytes = pendingHandshake.getSlice(at: start, length: pendingHandshake.writerIndex - start) ?? ByteBuffer()
        trace(.sent, .handshake(type), Array(bytes.readableBytesView))
        return bytes
    }

    /// Frames and protects the open flight's messages (RFC 8446 §5.1: never across a key change).
    mutating func sealPendingHandshake() {
        guard pendingHandshake.readableBytes > 0 else { return }
        let headerIndex = pendingTraceIndex
        pendingTraceIndex = nil
        // Swapped out rather than copied and cleared: an established connection keeps no flight
        // buffer (clear() on a shared buffer would allocate one of the same size).
        var flight = ByteBuffer()
        swap(&flight, &pendingHandshake)
        writeRecords(.handshake, flight.readableBytesView, headerTraceIndex: headerIndex)
    }

    mutating func writeChangeCipherSpec() {
        sealPendingHandshake()
        guard writeFailure == nil else { return }
        let body = ByteBuffer(bytes: ChangeCipherSpec.body)
        trace(.sent, .changeCipherSpec, ChangeCipherSpec.body)
        writeRecords(.changeCipherSpec, body.readableBytesView)
    }

    /// Throws the `writeFailure`, if any, this or an earlier write met.
    mutating func writeAlert(_ alert: Alert) throws(TLSError) {
        sealPendingHandshake()
        if let writeFailure { throw writeFailure }
        var body = ByteBuffer()
        alert.encode(into: &body)
        trace(.sent, .alert(alert), Array(body.readableBytesView))
        writeRecords(.alert, body.readableBytesView)
        if let writeFailure { throw writeFailure }
    }

    /// Throws the `writeFailure`, if any, this or an earlier write met.
    mutating func writeApplicationData(_ data: ByteBuffer) throws(TLSError) {
        sealPendingHandshake()
        writeRecords(.applicationData, data.readableBytesView)
        if let writeFailure { throw writeFailure }
    }

    /// Splits into records of at most 2^14 bytes (RFC 5246 §6.2.1) and protects them. Record
    /// header traces go at `headerTraceIndex` (a packed flight's first message), otherwise before
    /// the message just traced. A record that cannot be protected sets `writeFailure`; nothing is
    /// written after it.
    private mutating func writeRecords(_ type: ContentType, _ payload: ByteBufferView, headerTraceIndex: Int? = nil) {
        guard writeFailure == nil else { return }
        var headerTraceIndex = headerTraceIndex
        var start = payload.startIndex
        if output.capacity == 0 {
            // Room for the records of a flight (header, explicit nonce, content type and tag per
            // record), allocated directly rather than by copy-on-write from the empty buffer.
            let records = max(1, (payload.count + TLSRecord.maxPlaintextLength - 1) / TLSRecord.maxPlaintextLength)
            output = Self.allocator.buffer(capacity: payload.count + records * Self.maximumRecordOverhead)
        }
        repeat {
            let end = payload.index(start, offsetBy: min(TLSRecord.maxPlaintextLength, payload.endIndex - start))
            let chunk = payload[start..<end]
            if writeProtection != nil {
                let headerIndex = output.writerIndex
                // Sealed in place (optional chaining): the key is not copied out and back.
                do {
                    try writeProtection?.seal(contentType: type, plaintext: chunk, into: &output)
                } catch {
                    writeFailure = TLSError(error)
                    return
                }
                traceHeader(at: headerIndex, traceIndex: &headerTraceIndex)
            } else {
                output.reserveCapacity(minimumWritableBytes: TLSRecord.headerLength + chunk.count)
                let headerIndex = output.writerIndex
                output.writeInteger(type.rawValue)
                output.writeInteger(writeRecordVersion.rawValue)
                output.writeInteger(UInt16(truncatingIfNeeded: chunk.count))
                output.writeBytes(chunk)
                traceHeader(at: headerIndex, traceIndex: &headerTraceIndex)
            }
            start = end
        } while start < payload.endIndex
    }

    private mutating func traceHeader(at index: Int, traceIndex: inout Int?) {
        guard tracing, let header = output.getBytes(at: index, length: TLSRecord.headerLength) else { return }
        // OpenSSL prints the record header before the message it carries.
        let event = TraceEvent(direction: .sent, version: recordTraceVersion(header), kind: .recordHeader, bytes: header)
        if let position = traceIndex, position <= actions.count {
            actions.insert(.trace(event), at: position)
            traceIndex = position + 1
        } else if let last = actions.last, case .trace(let previous) = last, previous.direction == .sent,
           previous.kind != .recordHeader {
            actions.insert(.trace(event), at: actions.count - 1)
        } else {
            actions.append(.trace(event))
        }
    }

    private func recordTraceVersion(_ header: [UInt8]) -> ProtocolVersion {
        guard header.count >= 3 else { return traceVersion }
        return ProtocolVersion(rawValue: UInt16(header[1]) << 8 | UInt16(header[2]))
    }

    /// `bytes` is only evaluated when tracing: an untraced connection copies no message.
    private mutating func trace(_ direction: TraceEvent.Direction, _ kind: TraceEvent.Kind, _ bytes: @autoclosure () -> [UInt8]) {
        guard tracing else { return }
        let bytes = bytes()
        let version: ProtocolVersion
        if case .recordHeader = kind {
            version = recordTraceVersion(bytes)
        } else {
            version = negotiatedVersion ?? traceVersion
        }
        actions.append(.trace(TraceEvent(direction: direction, version: version, kind: kind, bytes: bytes)))
    }

    /// Adds a non-trace action after everything written before it (the open flight is sealed
    /// first), so that actions keep their order. Dropped after a `writeFailure`: the connection
    /// is failing.
    mutating func emit(_ action: consuming TLSAction) {
        sealPendingHandshake()
        guard writeFailure == nil else { return }
        flush()
        actions.append(action)
    }

    /// For a connection that is failing or closing: what is left of an open flight is dropped
    /// (its alert has already been written), then `action`.
    mutating func emitDiscardingOpenFlight(_ action: TLSAction) {
        pendingHandshake = ByteBuffer()
        pendingTraceIndex = nil
        flush()
        actions.append(action)
    }

    private mutating func flush() {
        guard output.readableBytes > 0 else { return }
        actions.append(.send(output))
        output = ByteBuffer()
    }

    mutating func takeActions() -> [TLSAction] {
        flush()
        defer { actions.removeAll(keepingCapacity: true) }
        return actions
    }
}
