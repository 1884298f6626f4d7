import Foundation
import SwiftASN1
import TesseraCrypto
import TesseraWire

/// OpenSSL's `SSL_SESSION_ASN1` (ssl/ssl_asn1.c, OpenSSL 3.0), the state inside every OpenSSL or
/// nginx ticket and every `-sess_out` file:
///
/// ```
/// SSL_SESSION_ASN1 ::= SEQUENCE {
///     version                      INTEGER,      -- 1 (SSL_SESSION_ASN1_VERSION)
///     ssl_version                  INTEGER,      -- 0x0303 / 0x0304
///     cipher                       OCTET STRING, -- the 2-byte suite
///     session_id                   OCTET STRING, -- 0..32 bytes
///     master_key                   OCTET STRING, -- 0..512 bytes
///     key_arg                  [0] IMPLICIT OCTET STRING OPTIONAL,  -- SSLv2, never written
///     time                     [1] INTEGER OPTIONAL, -- time_t; zero omitted
///     timeout                  [2] INTEGER OPTIONAL, -- seconds; zero omitted
///     peer                     [3] Certificate OPTIONAL,
///     session_id_context       [4] OCTET STRING OPTIONAL,  -- always written, even empty
///     verify_result            [5] INTEGER OPTIONAL, -- zero omitted
///     tlsext_hostname          [6] OCTET STRING OPTIONAL,
///     psk_identity_hint        [7] OCTET STRING OPTIONAL,  -- not modelled
///     psk_identity             [8] OCTET STRING OPTIONAL,  -- not modelled
///     tlsext_tick_lifetime_hint [9] INTEGER OPTIONAL, -- zero omitted
///     tlsext_tick             [10] OCTET STRING OPTIONAL,
///     comp_id                 [11] OCTET STRING OPTIONAL,  -- not modelled (no compression)
///     srp_username            [12] OCTET STRING OPTIONAL,  -- not modelled
///     flags                   [13] INTEGER OPTIONAL, -- zero omitted; 0x1 = SSL_SESS_FLAG_EXTMS
///     tlsext_tick_age_add     [14] INTEGER OPTIONAL, -- zero omitted
///     max_early_data          [15] INTEGER OPTIONAL, -- zero omitted
///     alpn_selected           [16] OCTET STRING OPTIONAL,
///     max_fragment_len_mode   [17] INTEGER OPTIONAL,       -- not modelled
///     ticket_appdata          [18] OCTET STRING OPTIONAL,  -- not modelled
///     kex_group               [19] INTEGER OPTIONAL, -- always written by 3.0, even zero
///     peer_rpk                [20] OCTET STRING OPTIONAL   -- OpenSSL 3.2+, not modelled
/// }
/// ```
/// Tags [1] to [20] are EXPLICIT and context-specific. Reading, unmodelled and unknown fields are
/// skipped (never fatal); the modelled ones must come in tag order, once each, as DER and OpenSSL
/// require. Writing, we omit exactly what OpenSSL omits, so OpenSSL's own files re-encode byte for
/// byte when they hold only modelled fields. A zero written in a field OpenSSL omits when zero
/// (ZINT/ZUINT: [5], [9], [14], [15]) reads as if absent, so decoding, encoding and decoding
/// again always gives the same session (found by FuzzSession).
extension SessionState {
    /// `SSL_SESSION_ASN1_VERSION`.
    static let asn1Version: UInt32 = 1
    /// `SSL3_MAX_SSL_SESSION_ID_LENGTH` (RFC 5246 §7.4.1.2: `SessionID<0..32>`).
    static let maximumSessionIDLength = 32
    /// `TLS13_MAX_RESUMPTION_PSK_LENGTH` in OpenSSL 3.0.
    static let maximumMasterSecretLength = 512
    /// `SSL_MAX_SID_CTX_LENGTH`.
    static let maximumSessionIDContextLength = 32
    /// RFC 5077 §3.3 / RFC 8446 §4.6.1: `opaque ticket<1..2^16-1>`.
    static let maximumTicketLength = 0xFFFF
    /// RFC 7301 §3.1: `opaque ProtocolName<1..2^8-1>`.
    static let maximumALPNLength = 0xFF

    /// The context-specific tags we model, in encoding order.
    enum Tag: UInt, CaseIterable {
        case time = 1
        case timeout = 2
        case peer = 3
        case sessionIDContext = 4
        case verifyResult = 5
        case hostname = 6
        case ticketLifetimeHint = 9
        case ticket = 10
        case flags = 13
        case ticketAgeAdd = 14
        case maxEarlyData = 15
        case alpn = 16
        case keyExchangeGroup = 19

        /// OpenSSL's field name, for error messages.
        var fieldName: String {
            switch self {
            case .time: return "[1] time"
            case .timeout: return "[2] timeout"
            case .peer: return "[3] peer"
            case .sessionIDContext: return "[4] session_id_context"
            case .verifyResult: return "[5] verify_result"
            case .hostname: return "[6] tlsext_hostname"
            case .ticketLifetimeHint: return "[9] tlsext_tick_lifetime_hint"
            case .ticket: return "[10] tlsext_tick"
            case .flags: return "[13] flags"
            case .ticketAgeAdd: return "[14] tlsext_tick_age_add"
            case .maxEarlyData: return "[15] max_early_data"
            case .alpn: return "[16] alpn_selected"
            case .keyExchangeGroup: return "[19] kex_group"
            }
        }
    }

    /// `SSL_SESS_FLAG_EXTMS` (RFC 7627 §5.3).
    static let extendedMasterSecretFlag: UInt64 = 0x1

    /// Reads an SSL_SESSION as OpenSSL's `d2i_SSL_SESSION` would, with a `SessionError` that names
    /// the field for anything it would refuse.
    public init(derEncoded bytes: [UInt8]) throws(SessionError) {
        let root: ASN1Node
        do {
            root = try DER.parse(bytes)
        } catch {
            throw SessionError(.notDER, "not a DER SSL_SESSION (\(bytes.count) bytes): \(error)")
        }
        guard root.identifier == .sequence, case .constructed(let children) = root.content else {
            throw SessionError(.notDER, "an SSL_SESSION is a SEQUENCE, found \(root.identifier)")
        }
        // Each node is read where it is taken from the iterator, borrowed by the field readers:
        // a copied `ASN1Node` costs two reference counts and its destruction two more, and this
        // runs once per resumed handshake (the state in a ticket).
        var fields = children.makeIterator()

        let asn1Version: UInt32 = try DERField.integer(DERField.next(&fields, "version"), "version")
        guard asn1Version == Self.asn1Version else {
            throw SessionError(.unsupportedVersion, "SSL_SESSION ASN.1 version \(asn1Version), expected 1")
        }
        // Tessera speaks TLS 1.2 and 1.3 only; an older session could never be resumed.
        let sslVersion: Int32 = try DERField.integer(DERField.next(&fields, "ssl_version"), "ssl_version")
        guard sslVersion == 0x0303 || sslVersion == 0x0304 else {
            throw SessionError(.unsupportedVersion, "ssl_version \(hex(sslVersion)) is neither TLS 1.2 (0x0303) nor TLS 1.3 (0x0304)")
        }
        let cipher = try DERField.octets(DERField.next(&fields, "cipher"), "cipher", maximumLength: 2)
        guard cipher.count == 2, let cipherHigh = cipher.first, let cipherLow = cipher.last else {
            throw SessionError(.invalidField, "cipher: expected 2 bytes, got \(cipher.count)")
        }
        let sessionID = try DERField.bytes(DERField.next(&fields, "session_id"), "session_id", maximumLength: Self.maximumSessionIDLength)
        let masterSecret = try DERField.bytes(DERField.next(&fields, "master_key"), "master_key", maximumLength: Self.maximumMasterSecretLength)

        let isTLS13 = sslVersion == 0x0304
        var time: Int64 = 0
        var timeout: UInt32 = 0
        var peerCertificate: [UInt8]?
        var sessionIDContext: [UInt8] = []
        var verifyResult: Int?
        var hostname: String?
        var ticketLifetimeHint: UInt32?
        var ticket: [UInt8]?
        var flags: UInt64 = 0
        // OpenSSL reads an absent [14] / [15] as 0, which for TLS 1.3 is a real value.
        var ticketAgeAdd: UInt32? = isTLS13 ? 0 : nil
        var maxEarlyData: UInt32? = isTLS13 ? 0 : nil
        var alpn: [UInt8]?
        var keyExchangeGroup: NamedGroup?

        var previousTag: UInt = 0
        while let node = DERField.next(&fields) {
            guard node.identifier.tagClass == .contextSpecific, let tag = Tag(rawValue: node.identifier.tagNumber) else {
                continue  // [0] key_arg, [7], [8], [11], [12], [17], [18], [20] and anything newer: skipped
            }
            guard tag.rawValue > previousTag else {
                throw SessionError(.invalidField, "\(tag.fieldName) is repeated or out of order")
            }
            previousTag = tag.rawValue
            let name = tag.fieldName
            let value = try DERField.explicitContent(node, name)
            switch tag {
            case .time:
                time = try DERField.integer(value, name)
            case .timeout:
                let seconds: Int64 = try DERField.integer(value, name)
                guard let fitted = UInt32(exactly: seconds) else {
                    throw SessionError(.invalidField, "\(name): \(seconds) seconds is out of range")
                }
                timeout = fitted
            case .peer:
                // Kept as DER; only its outer shape is checked, X.509 parsing is the verifier's job.
                guard value.identifier == .sequence else {
                    throw SessionError(.invalidField, "\(name): a certificate is a SEQUENCE, found \(value.identifier)")
                }
                peerCertificate = Array(value.encodedBytes)
            case .sessionIDContext:
                sessionIDContext = try DERField.bytes(value, name, maximumLength: Self.maximumSessionIDContextLength)
            case .verifyResult:
                let result: Int32 = try DERField.integer(value, name)
                // Zero is what an absent field means (OpenSSL's ZINT32), and what we omit.
                verifyResult = result == 0 ? nil : Int(result)
            case .hostname:
                let bytes = try DERField.octets(value, name, maximumLength: 0xFFFF)
                // RFC 6066 §3: HostName is ASCII; a NUL would be cut by OpenSSL's strndup.
                guard !bytes.contains(0), let text = String(validatingUTF8Bytes: bytes) else {
                    throw SessionError(.invalidField, "\(name) is not valid UTF-8 text")
                }
                hostname = text
            case .ticketLifetimeHint:
                let hint: UInt64 = try DERField.integer(value, name)
                guard let fitted = UInt32(exactly: hint) else {
                    throw SessionError(.invalidField, "\(name): \(hint) does not fit the 32-bit wire field")
                }
                ticketLifetimeHint = fitted == 0 ? nil : fitted  // ZUINT64: zero means absent
            case .ticket:
                ticket = try DERField.bytes(value, name, maximumLength: Self.maximumTicketLength)
            case .flags:
                flags = try DERField.integer(value, name)
            case .ticketAgeAdd:
                // ZUINT32: a written zero reads like an absent field (0 in TLS 1.3, none before).
                let add: UInt32 = try DERField.integer(value, name)
                ticketAgeAdd = add != 0 || isTLS13 ? add : nil
            case .maxEarlyData:
                let limit: UInt32 = try DERField.integer(value, name)
                maxEarlyData = limit != 0 || isTLS13 ? limit : nil
            case .alpn:
                alpn = try DERField.bytes(value, name, maximumLength: Self.maximumALPNLength)
            case .keyExchangeGroup:
                let group: UInt32 = try DERField.integer(value, name)
                guard let raw = UInt16(exactly: group) else {
                    throw SessionError(.invalidField, "\(name): \(group) is not a TLS NamedGroup")
                }
                keyExchangeGroup = raw == 0 ? nil : NamedGroup(rawValue: raw)
            }
        }

        self.init(
            version: ProtocolVersion(rawValue: UInt16(truncatingIfNeeded: sslVersion)),
            cipherSuite: CipherSuite(rawValue: UInt16(cipherHigh) << 8 | UInt16(cipherLow)),
            sessionID: sessionID,
            masterSecret: masterSecret,
            time: Date(timeIntervalSince1970: TimeInterval(time)),
            timeout: timeout,
            peerCertificate: peerCertificate,
            sessionIDContext: sessionIDContext,
            verifyResult: verifyResult,
            hostname: hostname,
            ticketLifetimeHint: ticketLifetimeHint,
            ticket: ticket,
            extendedMasterSecret: flags & Self.extendedMasterSecretFlag != 0,
            ticketAgeAdd: ticketAgeAdd,
            maxEarlyData: maxEarlyData,
            alpn: alpn,
            keyExchangeGroup: keyExchangeGroup
        )
    }

    /// The SSL_SESSION DER, as OpenSSL 3.0's `i2d_SSL_SESSION` writes it.
    ///
    /// Never fails for values that fit the format. What cannot be written is left out rather than
    /// producing bytes OpenSSL would refuse: a `peerCertificate` that is not one DER element, a
    /// `verifyResult` outside 32 bits is clamped. Other flag bits than EMS are not kept.
    public func derEncoded() -> [UInt8] {
        var fields = SessionDERWriter()
        writeHead(into: &fields)
        fields.octetString(masterSecret)
        writeMiddle(into: &fields)
        Self.writeTicketAgeAdd(ticketAgeAdd, into: &fields)
        writeTail(into: &fields)
        return Self.derSequence(containing: fields.bytes)
    }

    /// The DER of this session once for each of `variants`, each in place of this session's own
    /// master secret and ticket_age_add: a server's batch of TLS 1.3 tickets, which differ only
    /// in those two fields (RFC 8446 §4.6.1: a PSK and an age_add per ticket). The other fields are
    /// written once for the whole batch. Element i equals the `derEncoded()` of this session with
    /// variant i's values (a test checks it).
    public func derEncoded(variants: [(masterSecret: [UInt8], ticketAgeAdd: UInt32?)]) -> [[UInt8]] {
        // One writer for the whole batch: the shared parts, then every variant's two fields back
        // to back; the offsets say where each part ends.
        var fields = SessionDERWriter()
        writeHead(into: &fields)
        let headEnd = fields.bytes.count
        writeMiddle(into: &fields)
        let middleEnd = fields.bytes.count
        writeTail(into: &fields)
        let sharedEnd = fields.bytes.count
        var ends: [(masterKey: Int, ageAdd: Int)] = []
        ends.reserveCapacity(variants.count)
        for variant in variants {
            fields.octetString(variant.masterSecret)
            let masterKeyEnd = fields.bytes.count
            Self.writeTicketAgeAdd(variant.ticketAgeAdd, into: &fields)
            ends.append((masterKeyEnd, fields.bytes.count))
        }
        return fields.bytes.withUnsafeBytes { bytes in
            var start = sharedEnd
            var batch: [[UInt8]] = []
            batch.reserveCapacity(ends.count)
            for end in ends {
                let length = sharedEnd + end.ageAdd - start
                // The SEQUENCE's header, then its five parts copied as raw bytes: appending array
                // slices ran generic collection code per part.
                var encoded = [UInt8]()
                encoded.reserveCapacity(DERHeader.size(forLength: length) + length)
                DERHeader.append(0x30, length: length, to: &encoded)
                func part(_ from: Int, _ to: Int) {
                    encoded.append(contentsOf: UnsafeRawBufferPointer(rebasing: bytes[from..<to]))
                }
                part(0, headEnd)
                part(start, end.masterKey)
                part(headEnd, middleEnd)
                part(end.masterKey, end.ageAdd)
                part(middleEnd, sharedEnd)
                batch.append(encoded)
                start = end.ageAdd
            }
            return batch
        }
    }

    /// A SEQUENCE (X.690 §8.9: universal 16, constructed, identifier octet 0x30) around `content`.
    static func derSequence(containing content: [UInt8]) -> [UInt8] {
        var encoded = [UInt8]()
        encoded.reserveCapacity(content.count + 6)
        DERHeader.append(0x30, length: content.count, to: &encoded)
        encoded.append(contentsOf: content)
        return encoded
    }

    // The SEQUENCE's fields, in OpenSSL's order, in the parts `derEncoded(variants:)` keeps apart:
    // head, master_key, middle, [14] ticket_age_add, tail. The zero checks mirror OpenSSL's
    // ZINT/ZUINT templates, which omit zeros.

    private func writeHead(into out: inout SessionDERWriter) {
        out.integer(Int64(Self.asn1Version))
        out.integer(Int64(version.rawValue))
        out.octetString([UInt8(cipherSuite.rawValue >> 8), UInt8(cipherSuite.rawValue & 0xFF)])
        out.octetString(sessionID)
    }

    /// [1] time to [13] flags.
    private func writeMiddle(into out: inout SessionDERWriter) {
        let seconds = Self.wholeSeconds(time)
        if seconds != 0 { out.integer(seconds, explicitTag: Tag.time) }
        if timeout != 0 { out.integer(Int64(timeout), explicitTag: Tag.timeout) }
        // Only one DER element is written as a certificate (it is kept as received; X.509 parsing
        // is the verifier's job).
        if let peerCertificate, let node = try? DER.parse(peerCertificate), node.identifier == .sequence {
            out.element(peerCertificate, explicitTag: Tag.peer)
        }
        // OpenSSL always writes [4], even empty.
        out.octetString(sessionIDContext, explicitTag: Tag.sessionIDContext)
        if let verifyResult, verifyResult != 0 {
            out.integer(Int64(Int32(clamping: verifyResult)), explicitTag: Tag.verifyResult)
        }
        if let hostname { out.octetString(Array(hostname.utf8), explicitTag: Tag.hostname) }
        if let ticketLifetimeHint, ticketLifetimeHint != 0 {
            out.integer(Int64(ticketLifetimeHint), explicitTag: Tag.ticketLifetimeHint)
        }
        if let ticket { out.octetString(ticket, explicitTag: Tag.ticket) }
        if extendedMasterSecret { out.integer(Int64(Self.extendedMasterSecretFlag), explicitTag: Tag.flags) }
    }

    /// [14], omitted when zero (ZUINT).
    private static func writeTicketAgeAdd(_ ticketAgeAdd: UInt32?, into out: inout SessionDERWriter) {
        if let ticketAgeAdd, ticketAgeAdd != 0 { out.integer(Int64(ticketAgeAdd), explicitTag: Tag.ticketAgeAdd) }
    }

    /// [15] max_early_data to [19] kex_group.
    private func writeTail(into out: inout SessionDERWriter) {
        if let maxEarlyData, maxEarlyData != 0 { out.integer(Int64(maxEarlyData), explicitTag: Tag.maxEarlyData) }
        if let alpn { out.octetString(alpn, explicitTag: Tag.alpn) }
        // kex_group is a plain UINT32 in OpenSSL's template, so 3.0 writes it even when 0.
        out.integer(Int64(keyExchangeGroup?.rawValue ?? 0), explicitTag: Tag.keyExchangeGroup)
    }
}

/// The DER of a session's fields, written directly: INTEGERs (X.690 §8.3), OCTET STRINGs (§8.7)
/// and EXPLICIT context-specific tags around them (§8.14; every tag here is below 31, so one
/// identifier octet, 0xA0 | tag).
///
/// swift-asn1 reads sessions (`init(derEncoded:)`, peer input). Writing them goes through this
/// instead, once per ticket a server issues: a `DER.Serializer` allocates a kilobyte up front (a
/// size glibc's thread cache does not keep, so a slow `malloc` and `free` per ticket batch) and
/// runs generic integer code per field, about 13 k instructions and 200 instruction-cache misses
/// per TLS 1.3 ticket batch. `SessionDERWriterTests` checks every field's bytes, at every length
/// form and integer boundary, against swift-asn1's serializer.
struct SessionDERWriter {
    private(set) var bytes: [UInt8] = []

    init() {
        // A session without a certificate or ticket fits; more grows the array.
        bytes.reserveCapacity(256)
    }

    /// INTEGER: two's complement, big-endian, in the fewest octets that keep the sign.
    mutating func integer(_ value: Int64) {
        let count = Self.integerContentLength(value)
        bytes.append(0x02)
        bytes.append(UInt8(count))
        for index in stride(from: count - 1, through: 0, by: -1) {
            bytes.append(UInt8(truncatingIfNeeded: value >> (index * 8)))
        }
    }

    mutating func integer(_ value: Int64, explicitTag tag: SessionState.Tag) {
        DERHeader.append(Self.explicitIdentifier(tag), length: 2 + Self.integerContentLength(value), to: &bytes)
        integer(value)
    }

    mutating func octetString(_ content: [UInt8]) {
        DERHeader.append(0x04, length: content.count, to: &bytes)
        bytes.append(contentsOf: content)
    }

    mutating func octetString(_ content: [UInt8], explicitTag tag: SessionState.Tag) {
        DERHeader.append(Self.explicitIdentifier(tag), length: DERHeader.size(forLength: content.count) + content.count, to: &bytes)
        octetString(content)
    }

    /// An element that is already DER (a certificate), as it stands.
    mutating func element(_ encoded: [UInt8], explicitTag tag: SessionState.Tag) {
        DERHeader.append(Self.explicitIdentifier(tag), length: encoded.count, to: &bytes)
        bytes.append(contentsOf: encoded)
    }

    /// Context-specific (0x80), constructed (0x20), the tag number in the low five bits.
    private static func explicitIdentifier(_ tag: SessionState.Tag) -> UInt8 {
        0xA0 | UInt8(truncatingIfNeeded: tag.rawValue)
    }

    /// 1 to 8: the significant bits of the value (of its complement when negative) and a sign bit.
    static func integerContentLength(_ value: Int64) -> Int {
        let magnitude = value < 0 ? ~value : value
        return (Int64.bitWidth - magnitude.leadingZeroBitCount) / 8 + 1
    }
}

/// Field readers that turn swift-asn1's errors into `SessionError`s naming the OpenSSL field.
enum DERField {
    // The readers are outlined (`@inline(never)`): swift-asn1's iterator and the array copy are
    // inlinable, and inlined at every field they made the decoder 14 KB of code, a hundred cache
    // lines of it run per resumed handshake.

    /// The next element of a SEQUENCE, which must be there.
    @inline(never)
    static func next(_ fields: inout ASN1NodeCollection.Iterator, _ name: String) throws(SessionError) -> ASN1Node {
        guard let node = fields.next() else {
            throw SessionError(.missingField, "\(name) is missing")
        }
        return node
    }

    /// The next element of a SEQUENCE, if any.
    @inline(never)
    static func next(_ fields: inout ASN1NodeCollection.Iterator) -> ASN1Node? {
        fields.next()
    }

    /// An OCTET STRING's content, copied to keep.
    @inline(never)
    static func bytes(_ node: ASN1Node, _ name: String, maximumLength: Int) throws(SessionError) -> [UInt8] {
        Array(try octets(node, name, maximumLength: maximumLength))
    }

    static func integer<Value: ASN1IntegerRepresentable>(_ node: ASN1Node, _ name: String) throws(SessionError) -> Value {
        guard node.identifier == .integer else {
            throw SessionError(.invalidField, "\(name): expected INTEGER, found \(node.identifier)")
        }
        do {
            return try Value(derEncoded: node)
        } catch {
            throw SessionError(.invalidField, "\(name): \(error)")
        }
    }

    /// The content of an OCTET STRING, a slice of the parsed bytes: callers that keep it copy it.
    static func octets(_ node: ASN1Node, _ name: String, maximumLength: Int) throws(SessionError) -> ArraySlice<UInt8> {
        guard node.identifier == .octetString, case .primitive(let bytes) = node.content else {
            throw SessionError(.invalidField, "\(name): expected OCTET STRING, found \(node.identifier)")
        }
        guard bytes.count <= maximumLength else {
            throw SessionError(.invalidField, "\(name): \(bytes.count) bytes, at most \(maximumLength) allowed")
        }
        return bytes
    }

    /// The single element inside an EXPLICIT tag.
    static func explicitContent(_ node: ASN1Node, _ name: String) throws(SessionError) -> ASN1Node {
        guard case .constructed(let children) = node.content else {
            throw SessionError(.invalidField, "\(name): an explicit tag must be constructed")
        }
        var iterator = children.makeIterator()
        guard let child = iterator.next(), iterator.next() == nil else {
            throw SessionError(.invalidField, "\(name): an explicit tag holds exactly one element")
        }
        return child
    }
}

private func hex(_ value: Int32) -> String {
    value < 0 ? "-0x" + String(value.magnitude, radix: 16) : "0x" + String(value, radix: 16)
}
