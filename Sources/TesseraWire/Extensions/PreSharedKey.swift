import NIOCore

/// One PSK the client offers (RFC 8446 §4.2.11).
///
/// ```
/// struct {
///     opaque identity<1..2^16-1>;
///     uint32 obfuscated_ticket_age;
/// } PskIdentity;
/// ```
public struct PSKIdentity: Sendable, Hashable {
    public var identity: [UInt8]
    public var obfuscatedTicketAge: UInt32

    public init(identity: [UInt8], obfuscatedTicketAge: UInt32) {
        self.identity = identity
        self.obfuscatedTicketAge = obfuscatedTicketAge
    }
}

/// pre_shared_key in the ClientHello (RFC 8446 §4.2.11).
///
/// ```
/// opaque PskBinderEntry<32..255>;
///
/// struct {
///     PskIdentity identities<7..2^16-1>;
///     PskBinderEntry binders<33..2^16-1>;
/// } OfferedPsks;
///
/// struct {
///     select (Handshake.msg_type) {
///         case client_hello: OfferedPsks;
///         case server_hello: uint16 selected_identity;
///     };
/// } PreSharedKeyExtension;
/// ```
public struct OfferedPSKs: Sendable, Hashable {
    public var identities: [PSKIdentity]
    public var binders: [[UInt8]]

    public init(identities: [PSKIdentity], binders: [[UInt8]]) {
        self.identities = identities
        self.binders = binders
    }

    /// Bytes the `binders` vector takes on the wire, length prefix included: what RFC 8446 §4.2.11.2
    /// cuts off the ClientHello before hashing it for the binders.
    public var bindersEncodedLength: Int {
        2 + binders.reduce(0) { $0 + 1 + min($1.count, 0xFF) }
    }

    init(decoding body: inout WireReader) throws(WireError) {
        var identityList = try body.readLengthPrefixed16("identities", min: 7)
        var identities: [PSKIdentity] = []
        while identityList.readableBytes > 0 {
            let identity = try identityList.readLengthPrefixed16("PskIdentity identity", min: 1).remainingBytes
            let age = try identityList.readUInt32("obfuscated_ticket_age")
            identities.append(PSKIdentity(identity: identity, obfuscatedTicketAge: age))
        }
        var binderList = try body.readLengthPrefixed16("binders", min: 33)
        var binders: [[UInt8]] = []
        while binderList.readableBytes > 0 {
            binders.append(try binderList.readLengthPrefixed8("PskBinderEntry", min: 32).remainingBytes)
        }
        // RFC 8446 §4.2.11: one binder per identity; a mismatch is illegal_parameter.
        guard binders.count == identities.count else {
            throw WireError(
                .invalidValue, "pre_shared_key: \(identities.count) identities but \(binders.count) binders")
        }
        self.identities = identities
        self.binders = binders
    }

    func encode(into buffer: inout WireWriter) {
        buffer.writeLengthPrefixed16 { list in
            for identity in identities {
                list.writeLengthPrefixed16 { $0.writeBytes(identity.identity) }
                list.writeInteger(identity.obfuscatedTicketAge)
            }
        }
        buffer.writeLengthPrefixed16 { list in
            for binder in binders {
                list.writeLengthPrefixed8 { $0.writeBytes(binder) }
            }
        }
    }
}

extension Extension {
    static func decodePreSharedKey(_ body: inout WireReader, context: ExtensionContext) throws(WireError) -> Extension? {
        switch context {
        case .clientHello:
            return .preSharedKeyOffered(try OfferedPSKs(decoding: &body))
        case .serverHello:
            return .preSharedKeySelected(try body.readUInt16("selected_identity"))
        case .helloRetryRequest, .encryptedExtensions, .certificate, .certificateRequest, .newSessionTicket:
            return nil
        }
    }
}
