import NIOCore

/// ServerHello and HelloRetryRequest (RFC 8446 §4.1.3, §4.1.4; RFC 5246 §7.4.1.3).
///
/// ```
/// struct {
///     ProtocolVersion legacy_version = 0x0303;    /* TLS v1.2 */
///     Random random;
///     opaque legacy_session_id_echo<0..32>;
///     CipherSuite cipher_suite;
///     uint8 legacy_compression_method = 0;
///     Extension extensions<6..2^16-1>;
/// } ServerHello;
/// ```
///
/// A HelloRetryRequest is a ServerHello whose random is the fixed value of RFC 8446 §4.1.3; its
/// extensions are decoded in the `.helloRetryRequest` context (key_share carries only a group).
/// As for ClientHello, a TLS 1.2 server may omit the extensions block (RFC 5246 §7.4.1.3).
public struct ServerHello: Sendable, Hashable {
    public var legacyVersion: ProtocolVersion
    public var random: [UInt8]
    public var sessionID: [UInt8]
    public var cipherSuite: CipherSuite
    public var compressionMethod: UInt8
    public var extensions: [Extension]

    /// RFC 8446 §4.1.3: SHA-256("HelloRetryRequest").
    public static let helloRetryRequestRandom: [UInt8] = [
        0xCF, 0x21, 0xAD, 0x74, 0xE5, 0x9A, 0x61, 0x11, 0xBE, 0x1D, 0x8C, 0x02, 0x1E, 0x65, 0xB8, 0x91,
        0xC2, 0xA2, 0x11, 0x16, 0x7A, 0xBB, 0x8C, 0x5E, 0x07, 0x9E, 0x09, 0xE2, 0xC8, 0xA8, 0x33, 0x9C,
    ]

    /// RFC 8446 §4.1.3: the last 8 bytes of a TLS 1.3 server's random when it negotiates TLS 1.2
    /// ("DOWNGRD" 01).
    public static let downgradeTLS12Sentinel: [UInt8] = [0x44, 0x4F, 0x57, 0x4E, 0x47, 0x52, 0x44, 0x01]
    /// The same for TLS 1.1 or below ("DOWNGRD" 00).
    public static let downgradeTLS11Sentinel: [UInt8] = [0x44, 0x4F, 0x57, 0x4E, 0x47, 0x52, 0x44, 0x00]

    public init(
        legacyVersion: ProtocolVersion, random: [UInt8], sessionID: [UInt8], cipherSuite: CipherSuite,
        compressionMethod: UInt8, extensions: [Extension]
    ) {
        self.legacyVersion = legacyVersion
        self.random = random
        self.sessionID = sessionID
        self.cipherSuite = cipherSuite
        self.compressionMethod = compressionMethod
        self.extensions = extensions
    }

    public init(decoding body: ByteBuffer) throws(WireError) {
        var body = body
        self.legacyVersion = ProtocolVersion(try body.readUInt16("legacy_version"))
        self.random = try body.readFixedBytes(32, "random")
        self.sessionID = try body.readLengthPrefixed8("legacy_session_id_echo", max: 32).remainingBytes
        self.cipherSuite = CipherSuite(try body.readUInt16("cipher_suite"))
        self.compressionMethod = try body.readUInt8("legacy_compression_method")
        let isHRR = random == Self.helloRetryRequestRandom
        if body.readableBytes > 0 {
            let context: ExtensionContext = isHRR ? .helloRetryRequest : .serverHello
            self.extensions = try ExtensionList.decode(&body, context: context)
        } else {
            self.extensions = []
        }
        try body.expectFullyConsumed("ServerHello")
        // A HelloRetryRequest exists only in TLS 1.3, and so does a ServerHello selecting 1.3 through
        // supported_versions: their extensions are judged by the RFC 8446 §4.2 table here, once.
        // A TLS 1.2 ServerHello is judged by the client against what it offered.
        if isHRR {
            try validateTLS13Extensions(extensions, in: .helloRetryRequest)
        } else if extensions.contains(.supportedVersionSelected(.tls13)) {
            try validateTLS13Extensions(extensions, in: .serverHello)
        }
    }

    public func encode(into buffer: inout WireWriter) {
        buffer.writeInteger(legacyVersion.rawValue)
        buffer.writeBytes(fixedLength(random, 32))
        buffer.writeLengthPrefixed8(max: 32) { $0.writeBytes(sessionID) }
        buffer.writeInteger(cipherSuite.rawValue)
        buffer.writeInteger(compressionMethod)
        if !extensions.isEmpty {
            ExtensionList.encode(extensions, into: &buffer)
        }
    }

    public var isHelloRetryRequest: Bool { random == Self.helloRetryRequestRandom }

    public func `extension`(_ type: ExtensionType) -> Extension? {
        extensions.first { $0.type == type }
    }
}
