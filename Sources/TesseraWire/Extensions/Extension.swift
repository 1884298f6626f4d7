import NIOCore

/// Where an extension block sits; a few extensions (supported_versions, key_share, pre_shared_key,
/// early_data) have a different body in each message (RFC 8446 §4.2).
public enum ExtensionContext: Sendable, Hashable {
    case clientHello, serverHello, helloRetryRequest, encryptedExtensions, certificate, certificateRequest,
        newSessionTicket
}

/// One extension (RFC 8446 §4.2, RFC 5246 §7.4.1.4).
///
/// ```
/// struct {
///     ExtensionType extension_type;
///     opaque extension_data<0..2^16-1>;
/// } Extension;
/// ```
///
/// Known bodies are parsed (parse, don't validate); anything else, including a known type whose body
/// has no defined form in this message, is kept as `.unknown` so that it re-encodes byte for byte and
/// `validateTLS13Extensions` can still judge it by type.
public enum Extension: Sendable, Hashable {
    /// host_name entries; empty body (ServerHello/EE ack) = [].
    case serverName([String])
    case supportedGroups([NamedGroup])
    case ecPointFormats([ECPointFormat])
    case signatureAlgorithms([SignatureScheme])
    case signatureAlgorithmsCert([SignatureScheme])
    /// protocol_name_list; ServerHello/EE carry exactly one.
    case alpn([[UInt8]])
    /// Raw body (CH: request, SH: empty, 1.3 Certificate entry: CertificateStatus).
    case statusRequest([UInt8])
    /// RFC 5077: raw ticket, possibly empty.
    case sessionTicket([UInt8])
    /// RFC 7627, empty.
    case extendedMasterSecret
    /// RFC 5746 renegotiated_connection<0..255>.
    case renegotiationInfo([UInt8])
    /// ClientHello.
    case supportedVersionsOffered([ProtocolVersion])
    /// ServerHello / HelloRetryRequest.
    case supportedVersionSelected(ProtocolVersion)
    /// ClientHello.
    case keyShareOffered([KeyShareEntry])
    /// ServerHello.
    case keyShareSelected(KeyShareEntry)
    /// HelloRetryRequest.
    case keyShareRetry(NamedGroup)
    /// ClientHello; must be the last extension (the decoder enforces it).
    case preSharedKeyOffered(OfferedPSKs)
    /// ServerHello.
    case preSharedKeySelected(UInt16)
    case pskKeyExchangeModes([PskKeyExchangeMode])
    /// nil in ClientHello / EncryptedExtensions, the limit in NewSessionTicket.
    case earlyData(maxEarlyDataSize: UInt32?)
    case cookie([UInt8])
    /// certificate_authorities (RFC 8446 §4.2.4): DER-encoded X.501 names, in a ClientHello or a
    /// CertificateRequest.
    case certificateAuthorities([[UInt8]])
    /// Number of zero bytes. Padding with non-zero bytes decodes as `.unknown` to stay round-trippable.
    case padding(Int)
    case unknown(ExtensionType, [UInt8])

    public var type: ExtensionType {
        switch self {
        case .serverName: return .serverName
        case .supportedGroups: return .supportedGroups
        case .ecPointFormats: return .ecPointFormats
        case .signatureAlgorithms: return .signatureAlgorithms
        case .signatureAlgorithmsCert: return .signatureAlgorithmsCert
        case .alpn: return .alpn
        case .statusRequest: return .statusRequest
        case .sessionTicket: return .sessionTicket
        case .extendedMasterSecret: return .extendedMasterSecret
        case .renegotiationInfo: return .renegotiationInfo
        case .supportedVersionsOffered, .supportedVersionSelected: return .supportedVersions
        case .keyShareOffered, .keyShareSelected, .keyShareRetry: return .keyShare
        case .preSharedKeyOffered, .preSharedKeySelected: return .preSharedKey
        case .pskKeyExchangeModes: return .pskKeyExchangeModes
        case .earlyData: return .earlyData
        case .cookie: return .cookie
        case .certificateAuthorities: return .certificateAuthorities
        case .padding: return .padding
        case .unknown(let type, _): return type
        }
    }

    /// Decodes one `extension_data`; `body` must be consumed exactly (.trailingBytes otherwise).
    public init(decoding type: ExtensionType, body: ByteBuffer, context: ExtensionContext) throws(WireError) {
        var body = body
        self = try body.withWireReader { reader throws(WireError) in
            try Extension(decoding: type, reader: reader, context: context)
        }
    }

    init(decoding type: ExtensionType, reader: WireReader, context: ExtensionContext) throws(WireError) {
        var body = reader
        let decoded: Extension?
        switch type {
        case .serverName: decoded = try Self.decodeServerName(&body)
        case .supportedGroups: decoded = .supportedGroups(try Self.decodeNamedGroupList(&body))
        case .ecPointFormats: decoded = .ecPointFormats(try Self.decodeECPointFormats(&body))
        case .signatureAlgorithms: decoded = .signatureAlgorithms(try Self.decodeSchemeList(&body, "signature_algorithms"))
        case .signatureAlgorithmsCert:
            decoded = .signatureAlgorithmsCert(try Self.decodeSchemeList(&body, "signature_algorithms_cert"))
        case .alpn: decoded = .alpn(try Self.decodeALPN(&body, context: context))
        case .statusRequest: decoded = .statusRequest(body.readRemainingBytes())
        case .sessionTicket: decoded = .sessionTicket(body.readRemainingBytes())
        case .extendedMasterSecret: decoded = .extendedMasterSecret
        case .renegotiationInfo: decoded = .renegotiationInfo(try Self.decodeRenegotiationInfo(&body))
        case .supportedVersions: decoded = try Self.decodeSupportedVersions(&body, context: context)
        case .keyShare: decoded = try Self.decodeKeyShare(&body, context: context)
        case .preSharedKey: decoded = try Self.decodePreSharedKey(&body, context: context)
        case .pskKeyExchangeModes: decoded = .pskKeyExchangeModes(try Self.decodePSKModes(&body))
        case .earlyData: decoded = try Self.decodeEarlyData(&body, context: context)
        case .cookie: decoded = .cookie(try Self.decodeCookie(&body))
        case .certificateAuthorities: decoded = .certificateAuthorities(try Self.decodeCertificateAuthorities(&body))
        case .padding: decoded = Self.decodePadding(&body)
        default: decoded = nil
        }
        if let decoded {
            // The parsers above consume what their structure declares; anything after it is an error.
            try body.expectFullyConsumed("\(type) extension")
            self = decoded
        } else {
            self = .unknown(type, body.remainingBytes)
        }
    }

    /// type + length + body.
    public func encode(into buffer: inout WireWriter) {
        buffer.writeInteger(type.rawValue)
        buffer.writeLengthPrefixed16 { body in
            encodeBody(into: &body)
        }
    }

    private func encodeBody(into body: inout WireWriter) {
        switch self {
        case .serverName(let names): Self.encodeServerName(names, into: &body)
        case .supportedGroups(let groups): Self.encodeNamedGroupList(groups, into: &body)
        case .ecPointFormats(let formats): Self.encodeECPointFormats(formats, into: &body)
        case .signatureAlgorithms(let schemes), .signatureAlgorithmsCert(let schemes):
            Self.encodeSchemeList(schemes, into: &body)
        case .alpn(let protocols): Self.encodeALPN(protocols, into: &body)
        case .statusRequest(let raw), .sessionTicket(let raw): body.writeBytes(raw)
        case .extendedMasterSecret: break
        case .renegotiationInfo(let verifyData): Self.encodeRenegotiationInfo(verifyData, into: &body)
        case .supportedVersionsOffered(let versions): Self.encodeSupportedVersions(versions, into: &body)
        case .supportedVersionSelected(let version): body.writeInteger(version.rawValue)
        case .keyShareOffered(let entries): Self.encodeKeyShareList(entries, into: &body)
        case .keyShareSelected(let entry): entry.encode(into: &body)
        case .keyShareRetry(let group): body.writeInteger(group.rawValue)
        case .preSharedKeyOffered(let offered): offered.encode(into: &body)
        case .preSharedKeySelected(let index): body.writeInteger(index)
        case .pskKeyExchangeModes(let modes): Self.encodePSKModes(modes, into: &body)
        case .earlyData(let limit): if let limit { body.writeInteger(limit) }
        case .cookie(let cookie): Self.encodeCookie(cookie, into: &body)
        case .certificateAuthorities(let names): Self.encodeCertificateAuthorities(names, into: &body)
        case .padding(let count): body.writeRepeatingByte(0, count: max(0, min(count, 0xFFFF)))
        case .unknown(_, let raw): body.writeBytes(raw)
        }
    }
}
