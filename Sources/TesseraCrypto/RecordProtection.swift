import Crypto
import Foundation
import NIOCore
import NIOFoundationCompat
import TesseraWire

/// One direction of record protection: seals or opens records with one key and IV and a 64-bit
/// sequence number (RFC 5246 §6.1, RFC 8446 §5.3). A connection holds one per direction and
/// replaces it at every key change.
///
/// - TLS 1.2 AES-GCM (RFC 5288 §3): nonce = salt(4) || nonce_explicit(8); we send the sequence
///   number as nonce_explicit and read whatever explicit part the peer sent.
/// - TLS 1.2 ChaCha20-Poly1305 (RFC 7905 §2): nonce = IV(12) XOR (0^4 || seq), nothing explicit.
/// - TLS 1.2 AAD (RFC 5246 §6.2.3.3): seq_num(8) || type || version || plaintext length.
/// - TLS 1.3 (RFC 8446 §5.2, §5.3): nonce = IV XOR (0^4 || seq), AAD = the 5-byte record header,
///   the plaintext is TLSInnerPlaintext = content || type || zeros.
public struct RecordProtection: Sendable {
    private enum Cipher: Sendable {
        case aesGCM(SymmetricKey)
        case chaChaPoly(SymmetricKey)
    }

    private let cipher: Cipher
    private let isTLS13: Bool
    /// 8 for TLS 1.2 GCM, else 0.
    private let explicitNonceLength: Int
    /// The first 4 nonce bytes (GCM salt / IV[0..<4]) and the last 8 (IV[4..<12], zero for 1.2 GCM),
    /// both in memory (wire) order, so a nonce is two stores and one XOR on the stack.
    private let ivPrefix: UInt32
    private let ivSuffix: UInt64
    public internal(set) var sequenceNumber: UInt64 = 0
    /// Set once sequence number 2^64-1 has been used: the connection must rekey or close.
    private var exhausted = false

    private static let tagLength = 16

    public init(parameters: CipherSuiteParameters, key: [UInt8], iv: [UInt8]) throws(CryptoError) {
        guard key.count == parameters.aead.keyLength else {
            throw CryptoError(.invalidKey, "record key must be \(parameters.aead.keyLength) bytes for \(parameters.aead), got \(key.count)")
        }
        guard iv.count == parameters.fixedIVLength, iv.count == 4 || iv.count == 12 else {
            throw CryptoError(.invalidKey, "record IV must be \(parameters.fixedIVLength) bytes, got \(iv.count)")
        }
        let symmetricKey = SymmetricKey(data: key)
        switch parameters.aead {
        case .aes128GCM, .aes256GCM: cipher = .aesGCM(symmetricKey)
        case .chacha20Poly1305: cipher = .chaChaPoly(symmetricKey)
        }
        isTLS13 = parameters.version == .tls13
        explicitNonceLength = isTLS13 ? 0 : parameters.explicitNonceLength
        ivPrefix = iv.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: 0, as: UInt32.self) }
        ivSuffix = iv.count == 12 ? iv.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: 4, as: UInt64.self) } : 0
    }

    // MARK: - Seal

    /// Protects one record and appends the whole record (5-byte header + protected fragment) to `out`.
    /// TLS 1.2: header carries `contentType` and version 0x0303. TLS 1.3: header is
    /// application_data/0x0303 and `contentType` goes into TLSInnerPlaintext. plaintext.count <= 2^14.
    public mutating func seal(contentType: ContentType, plaintext: ByteBufferView, into out: inout ByteBuffer) throws(CryptoError) {
        guard plaintext.count <= TLSRecord.maxPlaintextLength else {
            throw CryptoError(.recordOverflow, "plaintext of \(plaintext.count) bytes exceeds 2^14")
        }
        let sequence = try nextSequenceNumber()
        if isTLS13 {
            try seal13(contentType: contentType, plaintext: plaintext, sequence: sequence, into: &out)
        } else {
            try seal12(contentType: contentType, plaintext: plaintext, sequence: sequence, into: &out)
        }
    }

    /// Convenience for callers holding bytes in an array.
    public mutating func seal(contentType: ContentType, plaintext: [UInt8], into out: inout ByteBuffer) throws(CryptoError) {
        let buffer = ByteBuffer(bytes: plaintext)
        try seal(contentType: contentType, plaintext: buffer.readableBytesView, into: &out)
    }

    private func seal12(contentType: ContentType, plaintext: ByteBufferView, sequence: UInt64, into out: inout ByteBuffer) throws(CryptoError) {
        let version = ProtocolVersion.tls12.rawValue
        // RFC 5246 §6.2.3.3: additional_data = seq_num + TLSCompressed.type + TLSCompressed.version + TLSCompressed.length.
        let sealed = try withAAD12(sequence: sequence, type: contentType.rawValue, version: version, length: plaintext.count) {
            aad throws(CryptoError) in
            // As in seal13: the plaintext as a raw buffer for swift-crypto's generic entry point.
            try plaintext.withUnsafeBytes { bytes in
                Result { () throws(CryptoError) in try self.aead(seal: bytes, sequence: sequence, explicit: nil, aad: aad) }
            }.get()
        }
        let sealedCount = sealed.bytes.count - sealed.offset
        out.reserveCapacity(minimumWritableBytes: TLSRecord.headerLength + explicitNonceLength + sealedCount)
        out.writeInteger(contentType.rawValue)
        out.writeInteger(version)
        out.writeInteger(UInt16(truncatingIfNeeded: explicitNonceLength + sealedCount))
        if explicitNonceLength == 8 {
            // RFC 5288 §3: nonce_explicit; the sequence number guarantees uniqueness.
            out.writeInteger(sequence)
        }
        Self.write(sealed, into: &out)
    }

    private func seal13(contentType: ContentType, plaintext: ByteBufferView, sequence: UInt64, into out: inout ByteBuffer) throws(CryptoError) {
        // RFC 8446 §5.2: TLSInnerPlaintext = content || type || zeros (we add no padding), and the
        // record header (which is the AAD) carries the ciphertext length = inner + tag.
        let innerLength = plaintext.count + 1
        let headerIndex = out.writerIndex
        out.reserveCapacity(minimumWritableBytes: TLSRecord.headerLength + innerLength + Self.tagLength)
        out.writeInteger(ContentType.applicationData.rawValue)
        out.writeInteger(ProtocolVersion.tls12.rawValue)
        out.writeInteger(UInt16(truncatingIfNeeded: innerLength + Self.tagLength))
        let bodyIndex = out.writerIndex
        // Build the inner plaintext in place in `out`, encrypt it from there, then overwrite it with
        // the ciphertext: no scratch buffer.
        out.writeBytes(plaintext)
        out.writeInteger(contentType.rawValue)
        let sealed: (bytes: Data, offset: Int)
        do throws(CryptoError) {
            // Header and inner plaintext go to swift-crypto as raw buffers: its generic AEAD entry
            // points take them through fewer protocol witnesses than ByteBufferView.
            let start = headerIndex - out.readerIndex
            let result = out.withUnsafeReadableBytes { readable -> Result<(bytes: Data, offset: Int), CryptoError> in
                guard start >= 0, readable.count >= start + TLSRecord.headerLength + innerLength else {
                    return .failure(CryptoError(.badRecordMAC, "internal: record buffer out of range"))
                }
                let header = UnsafeRawBufferPointer(rebasing: readable[start..<(start + TLSRecord.headerLength)])
                let bodyStart = start + TLSRecord.headerLength
                let inner = UnsafeRawBufferPointer(rebasing: readable[bodyStart..<(bodyStart + innerLength)])
                return Result { () throws(CryptoError) in try aead(seal: inner, sequence: sequence, explicit: nil, aad: header) }
            }
            sealed = try result.get()
        } catch {
            out.moveWriterIndex(to: headerIndex)  // leave no half-written record behind
            throw error
        }
        out.moveWriterIndex(to: bodyIndex)
        Self.write(sealed, into: &out)
    }

    private static func write(_ sealed: (bytes: Data, offset: Int), into out: inout ByteBuffer) {
        sealed.bytes.withUnsafeBytes { raw in
            guard sealed.offset <= raw.count else { return }
            out.writeBytes(UnsafeRawBufferPointer(rebasing: raw[sealed.offset...]))
        }
    }

    // MARK: - Open

    /// Opens one record. Returns the real content type and the plaintext.
    /// Throws `.badRecordMAC` on any authentication failure (including a fragment too short for
    /// nonce and tag), `.recordOverflow` when the plaintext exceeds 2^14 (TLS 1.3: inner plaintext
    /// over 2^14 + 1), `.invalidInnerPlaintext` for a TLS 1.3 inner plaintext without a content type.
    /// A failed open leaves the sequence number unchanged.
    public mutating func open(_ record: TLSRecord) throws(CryptoError) -> (contentType: ContentType, plaintext: ByteBuffer) {
        if exhausted { throw CryptoError(.sequenceOverflow, "record sequence number exhausted") }
        let result = isTLS13 ? try open13(record) : try open12(record)
        advanceSequenceNumber()
        return result
    }

    private func open12(_ record: TLSRecord) throws(CryptoError) -> (contentType: ContentType, plaintext: ByteBuffer) {
        let fragment = record.fragment
        let overhead = explicitNonceLength + Self.tagLength
        guard fragment.readableBytes >= overhead else {
            throw CryptoError(.badRecordMAC, "record fragment of \(fragment.readableBytes) bytes is shorter than nonce and tag")
        }
        let plaintextLength = fragment.readableBytes - overhead
        // RFC 5246 §6.2.3: TLSCompressed.length MUST NOT exceed 2^14 (+1024 with compression, which we never do).
        guard plaintextLength <= TLSRecord.maxPlaintextLength else {
            throw CryptoError(.recordOverflow, "record plaintext of \(plaintextLength) bytes exceeds 2^14")
        }
        let explicit: UInt64? =
            explicitNonceLength == 8 ? fragment.getInteger(at: fragment.readerIndex, as: UInt64.self) : nil
        guard let body = fragment.viewBytes(at: fragment.readerIndex + explicitNonceLength, length: plaintextLength + Self.tagLength)
        else {
            throw CryptoError(.badRecordMAC, "record fragment out of range")
        }
        let plaintext = try withAAD12(
            sequence: sequenceNumber, type: record.contentType.rawValue, version: record.version.rawValue, length: plaintextLength
        ) { aad throws(CryptoError) in
            try self.aead(open: body, sequence: sequenceNumber, explicit: explicit, aad: aad)
        }
        return (record.contentType, plaintext.withUnsafeBytes { Self.buffer($0) })
    }

    private func open13(_ record: TLSRecord) throws(CryptoError) -> (contentType: ContentType, plaintext: ByteBuffer) {
        let fragment = record.fragment
        let length = fragment.readableBytes
        // RFC 8446 §5.2: TLSCiphertext.length MUST NOT exceed 2^14 + 256.
        guard length <= TLSRecord.maxCiphertextLength13 else {
            throw CryptoError(.recordOverflow, "protected record of \(length) bytes exceeds 2^14 + 256")
        }
        guard length >= Self.tagLength, let body = fragment.viewBytes(at: fragment.readerIndex, length: length) else {
            throw CryptoError(.badRecordMAC, "record fragment of \(length) bytes is shorter than the tag")
        }
        // RFC 8446 §5.2: additional_data = TLSCiphertext.opaque_type || legacy_record_version || length,
        // taken from the record as received.
        var header = (record.contentType.rawValue, UInt8(truncatingIfNeeded: record.version.rawValue >> 8),
                      UInt8(truncatingIfNeeded: record.version.rawValue), UInt8(truncatingIfNeeded: length >> 8),
                      UInt8(truncatingIfNeeded: length))
        let inner = try withUnsafeBytes(of: &header) { aad throws(CryptoError) in
            try self.aead(open: body, sequence: sequenceNumber, explicit: nil, aad: aad)
        }
        // RFC 8446 §5.4: the inner plaintext MUST NOT exceed 2^14 + 1 octets.
        guard inner.count <= TLSRecord.maxPlaintextLength + 1 else {
            throw CryptoError(.recordOverflow, "inner plaintext of \(inner.count) bytes exceeds 2^14 + 1")
        }
        // RFC 8446 §5.4: strip the zero padding; the last non-zero byte is the real content type.
        // No non-zero byte at all is an unexpected_message. Read through the raw bytes: `Data`'s
        // own collection methods and slices run generic index code per call.
        let opened = inner.withUnsafeBytes { raw -> (contentType: ContentType, plaintext: ByteBuffer)? in
            guard let typeIndex = raw.lastIndex(where: { $0 != 0 }) else { return nil }
            return (ContentType(rawValue: raw[typeIndex]), Self.buffer(UnsafeRawBufferPointer(rebasing: raw[..<typeIndex])))
        }
        guard let opened else {
            throw CryptoError(.invalidInnerPlaintext, "TLS 1.3 inner plaintext has no content type")
        }
        return opened
    }

    private static let allocator = ByteBufferAllocator()

    /// A buffer of its own holding `bytes`.
    private static func buffer(_ bytes: UnsafeRawBufferPointer) -> ByteBuffer {
        var buffer = allocator.buffer(capacity: bytes.count)
        buffer.writeBytes(bytes)
        return buffer
    }

    // MARK: - AEAD and nonce

    /// Ciphertext || tag: `bytes` from `offset` on. Both sealed boxes hold nonce || ciphertext || tag
    /// in one `Data`; it is returned whole with the nonce's length as the offset, because slicing
    /// a `Data` (`dropFirst`) runs generic index arithmetic, a few hundred instructions per record.
    private func aead(
        seal plaintext: some DataProtocol, sequence: UInt64, explicit: UInt64?, aad: some DataProtocol
    ) throws(CryptoError) -> (bytes: Data, offset: Int) {
        do {
            return try withNonce(sequence: sequence, explicit: explicit) { nonce in
                switch cipher {
                case .aesGCM(let key):
                    let box = try AES.GCM.seal(plaintext, using: key, nonce: AES.GCM.Nonce(data: nonce), authenticating: aad)
                    if let combined = box.combined { return (combined, nonce.count) }
                    return (box.ciphertext + box.tag, 0)
                case .chaChaPoly(let key):
                    let box = try ChaChaPoly.seal(plaintext, using: key, nonce: ChaChaPoly.Nonce(data: nonce), authenticating: aad)
                    return (box.combined, nonce.count)
                }
            }
        } catch {
            throw CryptoError(.badRecordMAC, "AEAD seal failed: \(error)")
        }
    }

    /// `body` is ciphertext || tag.
    private func aead(open body: ByteBufferView, sequence: UInt64, explicit: UInt64?, aad: some DataProtocol) throws(CryptoError) -> Data {
        do {
            return try withNonce(sequence: sequence, explicit: explicit) { nonce in
                // Both sealed boxes take nonce || ciphertext || tag as one buffer: built with one
                // allocation and two copies, where the (nonce:ciphertext:tag:) form appends three
                // generic collections.
                var combined = Data(capacity: nonce.count + body.count)
                combined.append(contentsOf: nonce)
                body.withUnsafeBytes { combined.append(contentsOf: $0) }
                switch cipher {
                case .aesGCM(let key):
                    return try AES.GCM.open(AES.GCM.SealedBox(combined: combined), using: key, authenticating: aad)
                case .chaChaPoly(let key):
                    return try ChaChaPoly.open(ChaChaPoly.SealedBox(combined: combined), using: key, authenticating: aad)
                }
            }
        } catch {
            // Never say why: a padding-oracle-style distinction is exactly what bad_record_mac hides.
            throw CryptoError(.badRecordMAC, "record authentication failed")
        }
    }

    /// Builds the 12-byte nonce on the stack. With `explicit` (TLS 1.2 GCM, opening) the last
    /// 8 bytes are the peer's nonce_explicit; else they are IV[4..<12] XOR the big-endian sequence
    /// number (for TLS 1.2 GCM sealing, IV[4..<12] is zero, so this is the sequence number itself).
    private func withNonce<R>(sequence: UInt64, explicit: UInt64?, _ body: (UnsafeRawBufferPointer) throws -> R) throws -> R {
        var nonce: (UInt32, UInt32, UInt32) = (0, 0, 0)
        return try withUnsafeMutableBytes(of: &nonce) { bytes in
            bytes.storeBytes(of: ivPrefix, toByteOffset: 0, as: UInt32.self)
            let suffix = explicit.map { $0.bigEndian } ?? (ivSuffix ^ sequence.bigEndian)
            bytes.storeBytes(of: suffix, toByteOffset: 4, as: UInt64.self)
            return try body(UnsafeRawBufferPointer(bytes))
        }
    }

    /// RFC 5246 §6.2.3.3 additional_data, 13 bytes on the stack.
    private func withAAD12<R>(
        sequence: UInt64, type: UInt8, version: UInt16, length: Int, _ body: (UnsafeRawBufferPointer) throws(CryptoError) -> R
    ) throws(CryptoError) -> R {
        var aad: (UInt64, UInt64) = (0, 0)
        return try withUnsafeMutableBytes(of: &aad) { bytes throws(CryptoError) in
            bytes.storeBytes(of: sequence.bigEndian, toByteOffset: 0, as: UInt64.self)
            bytes.storeBytes(of: type, toByteOffset: 8, as: UInt8.self)
            bytes.storeBytes(of: version.bigEndian, toByteOffset: 9, as: UInt16.self)
            bytes.storeBytes(of: UInt16(truncatingIfNeeded: length).bigEndian, toByteOffset: 11, as: UInt16.self)
            return try body(UnsafeRawBufferPointer(rebasing: bytes[0..<13]))
        }
    }

    // MARK: - Sequence numbers

    private mutating func nextSequenceNumber() throws(CryptoError) -> UInt64 {
        if exhausted { throw CryptoError(.sequenceOverflow, "record sequence number exhausted") }
        let current = sequenceNumber
        advanceSequenceNumber()
        return current
    }

    /// RFC 5246 §6.1 / RFC 8446 §5.3: sequence numbers do not wrap.
    private mutating func advanceSequenceNumber() {
        if sequenceNumber == UInt64.max {
            exhausted = true
        } else {
            sequenceNumber += 1
        }
    }
}
