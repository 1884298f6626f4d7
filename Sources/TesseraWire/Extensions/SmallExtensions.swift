import NIOCore

// The extensions whose bodies are a single short field.

/// renegotiation_info (RFC 5746 §3.2).
///
/// ```
/// struct {
///     opaque renegotiated_connection<0..255>;
/// } RenegotiationInfo;
/// ```
extension Extension {
    static func decodeRenegotiationInfo(_ body: inout WireReader) throws(WireError) -> [UInt8] {
        try body.readLengthPrefixed8("renegotiated_connection").remainingBytes
    }

    static func encodeRenegotiationInfo(_ verifyData: [UInt8], into body: inout WireWriter) {
        body.writeLengthPrefixed8 { $0.writeBytes(verifyData) }
    }
}

/// psk_key_exchange_modes (RFC 8446 §4.2.9).
///
/// ```
/// struct {
///     PskKeyExchangeMode ke_modes<1..255>;
/// } PskKeyExchangeModes;
/// ```
extension Extension {
    static func decodePSKModes(_ body: inout WireReader) throws(WireError) -> [PskKeyExchangeMode] {
        let list = try body.readLengthPrefixed8("ke_modes", min: 1)
        return list.readableBytesView.map(PskKeyExchangeMode.init(_:))
    }

    static func encodePSKModes(_ modes: [PskKeyExchangeMode], into body: inout WireWriter) {
        body.writeLengthPrefixed8 { list in
            for mode in modes { list.writeInteger(mode.rawValue) }
        }
    }
}

/// early_data (RFC 8446 §4.2.10).
///
/// ```
/// struct {} Empty;
///
/// struct {
///     select (Handshake.msg_type) {
///         case new_session_ticket:   uint32 max_early_data_size;
///         case client_hello:         Empty;
///         case encrypted_extensions: Empty;
///     };
/// } EarlyDataIndication;
/// ```
extension Extension {
    static func decodeEarlyData(_ body: inout WireReader, context: ExtensionContext) throws(WireError) -> Extension? {
        switch context {
        case .clientHello, .encryptedExtensions:
            return .earlyData(maxEarlyDataSize: nil)
        case .newSessionTicket:
            return .earlyData(maxEarlyDataSize: try body.readUInt32("max_early_data_size"))
        case .serverHello, .helloRetryRequest, .certificate, .certificateRequest:
            return nil
        }
    }
}

/// cookie (RFC 8446 §4.2.2).
///
/// ```
/// struct {
///     opaque cookie<1..2^16-1>;
/// } Cookie;
/// ```
extension Extension {
    static func decodeCookie(_ body: inout WireReader) throws(WireError) -> [UInt8] {
        try body.readLengthPrefixed16("cookie", min: 1).remainingBytes
    }

    static func encodeCookie(_ cookie: [UInt8], into body: inout WireWriter) {
        body.writeLengthPrefixed16 { $0.writeBytes(cookie) }
    }
}

/// certificate_authorities (RFC 8446 §4.2.4).
///
/// ```
/// opaque DistinguishedName<1..2^16-1>;
///
/// struct {
///     DistinguishedName authorities<3..2^16-1>;
/// } CertificateAuthoritiesExtension;
/// ```
extension Extension {
    static func decodeCertificateAuthorities(_ body: inout WireReader) throws(WireError) -> [[UInt8]] {
        var list = try body.readLengthPrefixed16("authorities", min: 3)
        var names: [[UInt8]] = []
        while list.readableBytes > 0 {
            names.append(try list.readLengthPrefixed16("DistinguishedName", min: 1).remainingBytes)
        }
        return names
    }

    static func encodeCertificateAuthorities(_ names: [[UInt8]], into body: inout WireWriter) {
        body.writeLengthPrefixed16 { list in
            for name in names {
                list.writeLengthPrefixed16 { $0.writeBytes(name) }
            }
        }
    }
}

/// padding (RFC 7685 §3): `extension_data` is zero bytes of any length. RFC 7685 §3 says the server
/// MUST NOT check they are zero, so non-zero padding is kept verbatim as `.unknown`, not rejected.
extension Extension {
    static func decodePadding(_ body: inout WireReader) -> Extension? {
        guard body.readableBytesView.allSatisfy({ $0 == 0 }) else { return nil }
        let count = body.readableBytes
        body.moveReaderIndex(forwardBy: count)
        return .padding(count)
    }
}
