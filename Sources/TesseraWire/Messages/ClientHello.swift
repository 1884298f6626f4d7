import NIOCore

/// ClientHello (RFC 8446 §4.1.2, RFC 5246 §7.4.1.2).
///
/// ```
/// uint16 ProtocolVersion;
/// opaque Random[32];
///
/// uint8 CipherSuite[2];    /* Cryptographic suite selector */
///
/// struct {
///     ProtocolVersion legacy_version = 0x0303;    /* TLS v1.2 */
///     Random random;
///     opaque legacy_session_id<0..32>;
///     CipherSuite cipher_suites<2..2^16-2>;
///     opaque legacy_compression_methods<1..2^8-1>;
///     Extension extensions<8..2^16-1>;
/// } ClientHello;
/// ```
///
/// RFC 5246 §7.4.1.2 lets a TLS 1.2 client omit the extensions block entirely ("the presence of
/// extensions can be detected by determining whether there are bytes following the
/// compression_methods"), so decoding accepts both, and encoding omits an empty block.
public struct ClientHello: Sendable, Hashable {
    public var legacyVersion: ProtocolVersion
    public var random: [UInt8]
    public var sessionID: [UInt8]
    public var cipherSuites: [CipherSuite]
    public var compressionMethods: [UInt8]
    public var extensions: [Extension]

    public init(
        legacyVersion: ProtocolVersion, random: [UInt8], sessionID: [UInt8], cipherSuites: [CipherSuite],
        compressionMethods: [UInt8], extensions: [Extension]
    ) {
        self.legacyVersion = legacyVersion
        self.random = random
        self.sessionID = sessionID
        self.cipherSuites = cipherSuites
        self.compressionMethods = compressionMethods
        self.extensions = extensions
    }

    public init(decoding body: ByteBuffer) throws(WireError) {
        var body = body
        self = try body.withWireReader { (reader: inout WireReader) throws(WireError) -> ClientHello in
            try ClientHello(reading: &reader)
        }
    }

    /// Decoded from borrowed bytes: the peer's first message, on every handshake (`WireReader`).
    init(reading body: inout WireReader) throws(WireError) {
        self.legacyVersion = ProtocolVersion(try body.readUInt16("legacy_version"))
        self.random = try body.readFixedBytes(32, "random")
        self.sessionID = try body.readLengthPrefixed8("legacy_session_id", max: 32).remainingBytes
        var suites = try body.readLengthPrefixed16("cipher_suites", min: 2, max: 0xFFFE)
        guard suites.readableBytes % 2 == 0 else {
            throw WireError(.invalidLength, "cipher_suites: odd length \(suites.readableBytes)")
        }
        var cipherSuites: [CipherSuite] = []
        cipherSuites.reserveCapacity(suites.readableBytes / 2)
        while suites.readableBytes > 0 {
            cipherSuites.append(CipherSuite(try suites.readUInt16("CipherSuite")))
        }
        self.cipherSuites = cipherSuites
        self.compressionMethods = try body.readLengthPrefixed8("legacy_compression_methods", min: 1).remainingBytes
        if body.readableBytes > 0 {
            self.extensions = try ExtensionList.decode(&body, context: .clientHello)
        } else {
            self.extensions = []
        }
        try body.expectFullyConsumed("ClientHello")
    }

    /// Body only. Lengths beyond the RFC bounds are cut (see `writeLengthPrefixed8`), never trapped on.
    public func encode(into buffer: inout WireWriter) {
        buffer.writeInteger(legacyVersion.rawValue)
        buffer.writeBytes(fixedLength(random, 32))
        buffer.writeLengthPrefixed8(max: 32) { $0.writeBytes(sessionID) }
        buffer.writeLengthPrefixed16(max: 0xFFFE) { list in
            for suite in cipherSuites { list.writeInteger(suite.rawValue) }
        }
        buffer.writeLengthPrefixed8 { $0.writeBytes(compressionMethods) }
        if !extensions.isEmpty {
            ExtensionList.encode(extensions, into: &buffer)
        }
    }

    public func `extension`(_ type: ExtensionType) -> Extension? {
        extensions.first { $0.type == type }
    }

    /// The full message bytes *including* the 4-byte handshake header, truncated right before the
    /// `binders` list of a trailing pre_shared_key extension (RFC 8446 §4.2.11.2): what the PSK binder
    /// is computed over. The length fields stay those of the complete message, as the RFC requires.
    /// nil if the last extension is not an offered pre_shared_key.
    public func encodedWithoutBinders() -> ByteBuffer? {
        guard case .preSharedKeyOffered(let offered)? = extensions.last else { return nil }
        var full = HandshakeMessage.clientHello(self).encoded(version: .tls12)
        let keep = full.readableBytes - offered.bindersEncodedLength
        guard keep >= 0 else { return nil }
        return full.readSlice(length: keep)
    }
}

/// `opaque Random[32]` and similar fixed arrays: pads or cuts a wrong-sized value so that the
/// encoding keeps its shape (encoders are given valid values; this only avoids emitting garbage).
func fixedLength(_ bytes: [UInt8], _ count: Int) -> [UInt8] {
    if bytes.count == count { return bytes }
    if bytes.count > count { return Array(bytes.prefix(count)) }
    return bytes + [UInt8](repeating: 0, count: count - bytes.count)
}
