import NIOCore

/// A decoded handshake message (RFC 8446 §4, RFC 5246 §7.4).
///
/// ```
/// struct {
///     HandshakeType msg_type;    /* handshake type */
///     uint24 length;             /* remaining bytes in message */
///     select (Handshake.msg_type) {
///         case client_hello:          ClientHello;
///         case server_hello:          ServerHello;
///         case end_of_early_data:     EndOfEarlyData;
///         case encrypted_extensions:  EncryptedExtensions;
///         case certificate_request:   CertificateRequest;
///         case certificate:           Certificate;
///         case certificate_verify:    CertificateVerify;
///         case finished:              Finished;
///         case new_session_ticket:    NewSessionTicket;
///         case key_update:            KeyUpdate;
///     };
/// } Handshake;
/// ```
/// plus the TLS 1.2 messages of RFC 5246 §7.4 and CertificateStatus (RFC 6066 §8).
public enum HandshakeMessage: Sendable, Hashable {
    case helloRequest
    case clientHello(ClientHello)
    case serverHello(ServerHello)
    case helloRetryRequest(ServerHello)
    case newSessionTicket12(NewSessionTicket12)
    case newSessionTicket13(NewSessionTicket13)
    case endOfEarlyData
    case encryptedExtensions(EncryptedExtensions)
    case certificate(CertificateMessage)
    case serverKeyExchange(ServerKeyExchange)
    case certificateRequest12(CertificateRequest12)
    case certificateRequest13(CertificateRequest13)
    case serverHelloDone
    case certificateVerify(CertificateVerify)
    case clientKeyExchange(ClientKeyExchange)
    case finished(Finished)
    case certificateStatus(CertificateStatus)
    case keyUpdate(KeyUpdate)
    case unknown(HandshakeType, [UInt8])

    /// `version`: the negotiated version (use .tls12 before negotiation); selects 1.2 vs 1.3 forms
    /// of Certificate, CertificateRequest and NewSessionTicket.
    public init(decoding raw: RawHandshakeMessage, version: ProtocolVersion) throws(WireError) {
        let body = raw.body
        let isTLS13 = version == .tls13
        switch raw.type {
        case .helloRequest:
            _ = try HelloRequest(decoding: body)
            self = .helloRequest
        case .clientHello:
            self = .clientHello(try ClientHello(decoding: body))
        case .serverHello:
            let hello = try ServerHello(decoding: body)
            self = hello.isHelloRetryRequest ? .helloRetryRequest(hello) : .serverHello(hello)
        case .newSessionTicket:
            self =
                isTLS13
                ? .newSessionTicket13(try NewSessionTicket13(decoding: body))
                : .newSessionTicket12(try NewSessionTicket12(decoding: body))
        case .endOfEarlyData:
            _ = try EndOfEarlyData(decoding: body)
            self = .endOfEarlyData
        case .encryptedExtensions:
            self = .encryptedExtensions(try EncryptedExtensions(decoding: body))
        case .certificate:
            self = .certificate(try CertificateMessage(decoding: body, version: version))
        case .serverKeyExchange:
            self = .serverKeyExchange(try ServerKeyExchange(decoding: body))
        case .certificateRequest:
            self =
                isTLS13
                ? .certificateRequest13(try CertificateRequest13(decoding: body))
                : .certificateRequest12(try CertificateRequest12(decoding: body))
        case .serverHelloDone:
            _ = try ServerHelloDone(decoding: body)
            self = .serverHelloDone
        case .certificateVerify:
            self = .certificateVerify(try CertificateVerify(decoding: body))
        case .clientKeyExchange:
            self = .clientKeyExchange(try ClientKeyExchange(decoding: body))
        case .finished:
            self = .finished(try Finished(decoding: body))
        case .certificateStatus:
            self = .certificateStatus(try CertificateStatus(decoding: body))
        case .keyUpdate:
            self = .keyUpdate(try KeyUpdate(decoding: body))
        default:
            // The state machine answers these with unexpected_message; they are not decode errors.
            self = .unknown(raw.type, body.remainingBytes)
        }
    }

    /// The type on the wire: a HelloRetryRequest is a ServerHello (RFC 8446 §4.1.4).
    public var type: HandshakeType {
        switch self {
        case .helloRequest: return .helloRequest
        case .clientHello: return .clientHello
        case .serverHello, .helloRetryRequest: return .serverHello
        case .newSessionTicket12, .newSessionTicket13: return .newSessionTicket
        case .endOfEarlyData: return .endOfEarlyData
        case .encryptedExtensions: return .encryptedExtensions
        case .certificate: return .certificate
        case .serverKeyExchange: return .serverKeyExchange
        case .certificateRequest12, .certificateRequest13: return .certificateRequest
        case .serverHelloDone: return .serverHelloDone
        case .certificateVerify: return .certificateVerify
        case .clientKeyExchange: return .clientKeyExchange
        case .finished: return .finished
        case .certificateStatus: return .certificateStatus
        case .keyUpdate: return .keyUpdate
        case .unknown(let type, _): return type
        }
    }

    public var isHelloRetryRequest: Bool {
        if case .helloRetryRequest = self { return true }
        return false
    }

    /// Header + body.
    public func encode(into buffer: inout WireWriter, version: ProtocolVersion) {
        buffer.writeInteger(type.rawValue)
        buffer.writeLengthPrefixed24 { body in
            encodeBody(into: &body, version: version)
        }
    }

    /// Header + body, appended to `buffer` in one write.
    public func encode(into buffer: inout ByteBuffer, version: ProtocolVersion) {
        buffer.writeBytes(encodedBytes(version: version))
    }

    public func encoded(version: ProtocolVersion) -> ByteBuffer {
        ByteBuffer(bytes: encodedBytes(version: version))
    }

    /// Header + body in a `WireWriter` (most messages fit its first allocation; a certificate
    /// chain grows it once or twice).
    private func encodedBytes(version: ProtocolVersion) -> [UInt8] {
        var writer = WireWriter()
        encode(into: &writer, version: version)
        return writer.bytes
    }

    /// Body only, without the 4-byte header.
    public func encodeBody(into body: inout WireWriter, version: ProtocolVersion) {
        switch self {
        case .helloRequest, .endOfEarlyData, .serverHelloDone: break
        case .clientHello(let m): m.encode(into: &body)
        case .serverHello(let m), .helloRetryRequest(let m): m.encode(into: &body)
        case .newSessionTicket12(let m): m.encode(into: &body)
        case .newSessionTicket13(let m): m.encode(into: &body)
        case .encryptedExtensions(let m): m.encode(into: &body)
        case .certificate(let m): m.encode(into: &body, version: version)
        case .serverKeyExchange(let m): m.encode(into: &body)
        case .certificateRequest12(let m): m.encode(into: &body)
        case .certificateRequest13(let m): m.encode(into: &body)
        case .certificateVerify(let m): m.encode(into: &body)
        case .clientKeyExchange(let m): m.encode(into: &body)
        case .finished(let m): m.encode(into: &body)
        case .certificateStatus(let m): m.encode(into: &body)
        case .keyUpdate(let m): m.encode(into: &body)
        case .unknown(_, let bytes): body.writeBytes(bytes)
        }
    }
}
