import Foundation
import NIOCore
import TesseraCrypto
import TesseraSessions
import TesseraWire

// The TLS 1.2 client (RFC 5246 §7.3, RFC 8422, RFC 7627, RFC 5746, RFC 5077).
// One struct per state, named after what it waits for (DESIGN.md §3). Each `handle` names every
// message type; a wrong one is `unexpected_message`.

/// What the client put in its ClientHello, which the ServerHello is checked against. Held in one
/// reference (about 400 bytes and fifteen references inline): every client state up to the
/// ServerHello's successors carries it, and each hand-over and each move of the state enum copied
/// all of it.
@dynamicMemberLookup
struct ClientOffer: Sendable {
    struct Fields: Sendable {
        var random: [UInt8]
        var sessionID: [UInt8]
        var suites: [CipherSuiteParameters]
        var groups: [NamedGroup]
        var signatureSchemes: [SignatureScheme]
        var extensions: Set<ExtensionType>
        var serverName: String?
        var alpn: [String]
        /// The session offered for resumption (RFC 5077 ticket or session ID), if any.
        var session: SessionState?
        /// Set when this hello renegotiates an established connection.
        var renegotiation: RenegotiationContext?
        /// TLS 1.3: the suites and key shares offered, and whether this is the second hello.
        var suites13: [CipherSuiteParameters]
        var keyShares: [EphemeralKeyExchange]
        var retried: Bool
        /// TLS 1.3: the ticket offered as a PSK.
        var psk: PSKOffer?
        /// TLS 1.3: early data goes out right after this hello.
        var sendsEarlyData: Bool
    }

    /// Immutable: the offer is read by every state up to the handshake's end and changed only
    /// when a HelloRetryRequest narrows it, which builds a new box.
    private final class Box: Sendable {
        let fields: Fields
        init(_ fields: Fields) { self.fields = fields }
    }

    private var box: Box

    init(
        random: [UInt8], sessionID: [UInt8], suites: [CipherSuiteParameters], groups: [NamedGroup],
        signatureSchemes: [SignatureScheme], extensions: Set<ExtensionType>, serverName: String?, alpn: [String],
        session: SessionState?, renegotiation: RenegotiationContext?, suites13: [CipherSuiteParameters] = [],
        keyShares: [EphemeralKeyExchange] = [], retried: Bool = false, psk: PSKOffer? = nil, sendsEarlyData: Bool = false
    ) {
        box = Box(Fields(
            random: random, sessionID: sessionID, suites: suites, groups: groups, signatureSchemes: signatureSchemes,
            extensions: extensions, serverName: serverName, alpn: alpn, session: session, renegotiation: renegotiation,
            suites13: suites13, keyShares: keyShares, retried: retried, psk: psk, sendsEarlyData: sendsEarlyData))
    }

    subscript<Value>(dynamicMember keyPath: KeyPath<Fields, Value>) -> Value {
        box.fields[keyPath: keyPath]
    }

    subscript<Value>(dynamicMember keyPath: WritableKeyPath<Fields, Value>) -> Value {
        get { box.fields[keyPath: keyPath] }
        set {
            var fields = box.fields
            fields[keyPath: keyPath] = newValue
            box = Box(fields)
        }
    }

    var offers13: Bool { !box.fields.suites13.isEmpty }
}

/// RFC 5746 §3.1: the Finished values of the handshake being renegotiated, which the new hellos
/// must carry in renegotiation_info.
struct RenegotiationContext: Sendable {
    var clientVerifyData: [UInt8]
    var serverVerifyData: [UInt8]
}

/// Agreed in the ServerHello; carried through the rest of the handshake.
struct Negotiated12: Sendable {
    var parameters: CipherSuiteParameters
    var clientRandom: [UInt8]
    var serverRandom: [UInt8]
    var sessionID: [UInt8]
    var extendedMasterSecret: Bool
    var secureRenegotiation: Bool
    /// The server acknowledged the SessionTicket extension, so a NewSessionTicket precedes its
    /// ChangeCipherSpec (RFC 5077 §3.2).
    var ticketExpected: Bool
    var alpn: String?
    var serverName: String?
    var transcript: Transcript
}

/// Established keys; what both Finished messages and later renegotiation need.
struct Keys12: Sendable {
    var masterSecret: [UInt8]
    /// The master secret keyed for the PRF once, for the key block and both Finished messages.
    var prfKey: HMACKey
    var clientProtection: RecordProtection
    var serverProtection: RecordProtection

    /// RFC 5246 §7.4.9 verify_data of `sender`'s Finished over the transcript hash so far.
    func verifyData(_ sender: TLS12.Sender, handshakeHash: [UInt8]) -> [UInt8] {
        TLS12.verifyData(masterSecret: prfKey, sender: sender, handshakeHash: handshakeHash)
    }
}

struct ClientContext: Sendable {
    let configuration: TLSConfiguration
    var records: RecordLayer
    var serverName: String?
    /// A stored session to offer.
    var session: SessionState?
    /// TLS 1.3 0-RTT data to send with the hello (RFC 8446 §2.3), if the session allows it.
    var earlyData: ByteBuffer?
    /// How much of it went out as early data.
    var earlyDataSent = 0
}

enum ClientState: Sendable {
    case start
    case waitServerHello(WaitServerHello)
    case waitCertificate(WaitCertificate)
    case waitServerKeyExchange(WaitServerKeyExchange)
    case waitServerHelloDone(WaitServerHelloDone)
    case waitPeerVerification(WaitPeerVerification)
    case waitNewSessionTicket(WaitNewSessionTicket)
    case waitChangeCipherSpec(WaitChangeCipherSpec)
    case waitFinished(WaitFinished)
    case waitServerFlight(WaitServerFlight)
    case waitResumedNewSessionTicket(WaitResumedNewSessionTicket)
    case waitResumedChangeCipherSpec(WaitResumedChangeCipherSpec)
    case waitResumedFinished(WaitResumedFinished)
    case waitEncryptedExtensions(WaitEncryptedExtensions)
    case waitCertificate13(WaitCertificate13)
    case waitCertificateVerify13(WaitCertificateVerify13)
    case waitFinished13(WaitFinished13)
    case waitPeerVerification13(WaitPeerVerification13)
    case connected(ClientConnected)
    case connected13(ClientConnected13)
    case closed
}

// MARK: - ClientHello

enum ClientHelloBuilder {
    /// RFC 5246 §7.4.1.2 with the extensions of RFC 6066, 8422, 7627, 5746, 7301, 5077.
    /// What a HelloRetryRequest asked for (RFC 8446 §4.1.4).
    struct Retry {
        var previous: ClientOffer
        var group: NamedGroup
        var cookie: [UInt8]?
        /// message_hash(ClientHello1) and the HelloRetryRequest: what a new binder also covers.
        var transcript: Transcript
    }

    static func make(_ ctx: ClientContext, renegotiation: RenegotiationContext? = nil, retry: Retry? = nil) throws(TLSError) -> (ClientHello, ClientOffer) {
        // RFC 8446 §4.2.1: TLS 1.3 is offered through supported_versions, never in a renegotiation.
        let offers13 = ctx.configuration.maximumVersion == .tls13 && renegotiation == nil
        let offers12 = ctx.configuration.minimumVersion.rawValue <= ProtocolVersion.tls12.rawValue
        let suites = offers12 ? ctx.configuration.tls12Suites : []
        let suites13 = offers13 ? ctx.configuration.tls13Suites : []
        guard !suites.isEmpty || !suites13.isEmpty else {
            throw TLSError(.internalError, "no usable cipher suite configured")
        }
        let groups = ctx.configuration.implementedGroups
        guard !groups.isEmpty else { throw TLSError(.internalError, "no usable group configured") }

        var extensions: [Extension] = []
        if let name = ctx.serverName, !name.isEmpty, !name.isIPAddressLiteral {
            extensions.append(.serverName([name]))
        }
        extensions.append(.supportedGroups(groups))
        if offers12 { extensions.append(.ecPointFormats([.uncompressed])) }
        extensions.append(.signatureAlgorithms(ctx.configuration.signatureSchemes))
        if !ctx.configuration.alpnProtocols.isEmpty {
            extensions.append(.alpn(ctx.configuration.alpnProtocols.map { Array($0.utf8) }))
        }
        // RFC 5077 §3.4: a stored ticket goes in the extension, with a fresh session ID so the
        // server's echo says "resumed"; a session without a ticket is offered by its ID.
        let session = renegotiation == nil && retry == nil && offers12
            ? ctx.session.flatMap { offerable($0, suites: suites) } : nil
        var sessionID: [UInt8] = []
        if ctx.configuration.sessionTickets, offers12 {
            if let ticket = session?.ticket, !ticket.isEmpty {
                extensions.append(.sessionTicket(ticket))
                if ctx.configuration.ticketSessionID { sessionID = SecureRandom.bytes(32) }
            } else {
                extensions.append(.sessionTicket([]))
            }
        }
        if let session, session.ticket?.isEmpty ?? true, !session.sessionID.isEmpty {
            sessionID = session.sessionID
        }
        if offers12, ctx.configuration.extendedMasterSecret || session?.extendedMasterSecret == true {
            extensions.append(.extendedMasterSecret)
        }
        if offers12 {
            // RFC 5746 §3.4 / §3.5: empty on the initial handshake, our last verify_data when
            // renegotiating.
            extensions.append(.renegotiationInfo(renegotiation?.clientVerifyData ?? []))
        }

        var keyShares: [EphemeralKeyExchange] = []
        if offers13 {
            // RFC 8446 §4.2.1, §4.2.8, §4.2.9; Appendix D.4: a 32-byte legacy_session_id turns on
            // middlebox compatibility mode.
            extensions.append(.supportedVersionsOffered(offers12 ? [.tls13, .tls12] : [.tls13]))
            let group = retry?.group ?? groups[0]
            keyShares = [try crypto { () throws(CryptoError) in try EphemeralKeyExchange(group: group) }]
            extensions.append(.keyShareOffered(keyShares.map { KeyShareEntry(group: $0.group, keyExchange: $0.publicKeyBytes) }))
            extensions.append(.pskKeyExchangeModes(ctx.configuration.pskModesToOffer))
            if let cookie = retry?.cookie { extensions.append(.cookie(cookie)) }
            if sessionID.isEmpty { sessionID = SecureRandom.bytes(32) }
        }
        // RFC 8446 §4.1.2: the second hello keeps the first one's random and session ID.
        let random = retry?.previous.random ?? SecureRandom.bytes(32)
        if let previous = retry?.previous { sessionID = previous.sessionID }

        // RFC 8446 §4.2.11: a stored TLS 1.3 ticket is offered as a PSK, last of all extensions.
        let psk = offers13 ? (retry?.previous.psk ?? ctx.session.flatMap { PSKOffer(session: $0, suites: suites13, now: ctx.configuration.clock.now()) }) : nil
        // RFC 8446 §4.2.10: early data only with the first PSK, on the first hello, and only as
        // much as the ticket allows.
        let sendsEarlyData = psk != nil && retry == nil && ctx.earlyData.map { $0.readableBytes > 0 } == true
            && (psk?.session.maxEarlyData ?? 0) > 0
        if sendsEarlyData { extensions.append(.earlyData(maxEarlyDataSize: nil)) }
        if let psk {
            extensions.append(.preSharedKeyOffered(OfferedPSKs(
                identities: [PSKIdentity(identity: psk.ticket, obfuscatedTicketAge: psk.obfuscatedAge)],
                binders: [[UInt8](repeating: 0, count: psk.hash.outputLength)])))
        }

        var hello = ClientHello(
            legacyVersion: .tls12,
            random: random,
            sessionID: sessionID,
            cipherSuites: suites13.map(\.suite) + suites.map(\.suite),
            compressionMethods: [0],
            extensions: extensions
        )
        if let psk {
            hello.extensions[hello.extensions.count - 1] = .preSharedKeyOffered(OfferedPSKs(
                identities: [PSKIdentity(identity: psk.ticket, obfuscatedTicketAge: psk.obfuscatedAge)],
                binders: [psk.binder(for: hello, prefix: retry?.transcript)]))
        }
        let offer = ClientOffer(
            random: random,
            sessionID: sessionID,
            suites: suites,
            groups: groups,
            signatureSchemes: ctx.configuration.signatureSchemes,
            extensions: Set(extensions.map(\.type)),
            serverName: ctx.serverName,
            alpn: ctx.configuration.alpnProtocols,
            session: session,
            renegotiation: renegotiation,
            suites13: suites13,
            keyShares: keyShares,
            retried: retry != nil,
            psk: psk,
            sendsEarlyData: sendsEarlyData
        )
        return (hello, offer)
    }

    /// A stored session is offered only if this configuration could resume it.
    private static func offerable(_ session: SessionState, suites: [CipherSuiteParameters]) -> SessionState? {
        guard session.version == .tls12, suites.contains(where: { $0.suite == session.cipherSuite }),
              session.masterSecret.count == 48,
              !(session.ticket?.isEmpty ?? true) || !session.sessionID.isEmpty else { return nil }
        return session
    }
}

// MARK: - States

/// RFC 5246 §7.4.1.3: the server answers the ClientHello with its ServerHello.
struct WaitServerHello: Sendable {
    var offer: ClientOffer
    var transcript: Transcript
    /// When renegotiating: the connection to fall back to if the server refuses.
    var previous: ClientConnected?

    /// RFC 5746 §4.4 / RFC 5246 §7.2.2: a server may refuse renegotiation with a
    /// no_renegotiation warning; the connection then goes on as it was.
    func handleWarning(_ alert: Alert) -> ClientState? {
        guard alert.alertDescription == .noRenegotiation, let previous else { return nil }
        return .connected(previous)
    }

    consuming func handle(_ message: HandshakeMessage, _ raw: RawHandshakeMessage, _ ctx: inout ClientContext) throws(TLSError) -> ClientState {
        switch message {
        case .serverHello(let hello):
            if case .supportedVersionSelected(.tls13)? = hello.extensions.first(.supportedVersions), offer.offers13 {
                return try Client13Start.accept(hello, raw, offer: offer, transcript: transcript, &ctx)
            }
            return try accept(hello, raw, &ctx)
        case .helloRetryRequest(let retry):
            return try Client13Start.retry(retry, raw, offer: offer, transcript: transcript, &ctx)
        case .helloRequest:
            return .waitServerHello(self)  // RFC 5246 §7.4.1.1: ignored while negotiating
        case .clientHello, .newSessionTicket12, .newSessionTicket13, .endOfEarlyData,
             .encryptedExtensions, .certificate, .serverKeyExchange, .certificateRequest12,
             .certificateRequest13, .serverHelloDone, .certificateVerify, .clientKeyExchange, .finished,
             .certificateStatus, .keyUpdate, .unknown:
            throw TLSError.unexpectedMessage(expected: [.serverHello], got: message.type)
        }
    }

    private func accept(_ hello: ServerHello, _ raw: RawHandshakeMessage, _ ctx: inout ClientContext) throws(TLSError) -> ClientState {
        // RFC 8446 §4.2.1: a 1.3 server says so in supported_versions, which we did not offer.
        if hello.extensions.contains(.supportedVersions) {
            throw TLSError(.unsupportedExtension, "server sent supported_versions, which was not offered")
        }
        guard hello.legacyVersion == .tls12, !offer.suites.isEmpty else {
            throw TLSError(.protocolVersion, "server chose \(hello.legacyVersion), which we do not allow")
        }
        // RFC 8446 §4.1.3: a TLS 1.3 client must refuse a downgrade the server marked.
        if offer.offers13, hello.random.suffix(8).elementsEqual(ServerHello.downgradeTLS12Sentinel) {
            throw TLSError(.illegalParameter, "server signals a downgrade from TLS 1.3")
        }
        guard let parameters = offer.suites.first(where: { $0.suite == hello.cipherSuite }) else {
            throw TLSError(.illegalParameter, "server chose cipher suite \(hello.cipherSuite), which was not offered")
        }
        guard hello.compressionMethod == 0 else {
            throw TLSError(.illegalParameter, "server chose compression method \(hello.compressionMethod)")
        }
        // RFC 5246 §7.4.1.4: only extensions we offered may come back, each once.
        for ext in hello.extensions where !offer.extensions.contains(ext.type) {
            throw TLSError(.unsupportedExtension, "server sent \(ext.type), which was not offered")
        }

        var secureRenegotiation = false
        var extendedMasterSecret = false
        var ticketExpected = false
        var alpn: String?
        for ext in hello.extensions {
            switch ext {
            case .renegotiationInfo(let data):
                // RFC 5746 §3.4: empty on the initial handshake; §3.5: both verify_data when
                // renegotiating (compared in constant time).
                let expected = offer.renegotiation.map { $0.clientVerifyData + $0.serverVerifyData } ?? []
                guard constantTimeEquals(data, expected) else {
                    throw TLSError(.handshakeFailure, "renegotiation_info does not match")
                }
                secureRenegotiation = true
            case .extendedMasterSecret:
                extendedMasterSecret = true
            case .sessionTicket(let data):
                // RFC 5077 §3.2: the server's extension is empty.
                guard data.isEmpty else { throw TLSError(.decodeError, "non-empty SessionTicket extension from server") }
                ticketExpected = true
            case .alpn(let protocols):
                // RFC 7301 §3.1: exactly one, and one we offered.
                guard protocols.count == 1, let chosen = String(validatingUTF8Bytes: protocols[0]),
                      offer.alpn.contains(chosen) else {
                    throw TLSError(.illegalParameter, "server selected an ALPN protocol that was not offered")
                }
                alpn = chosen
            case .ecPointFormats(let formats):
                // RFC 8422 §5.2: uncompressed must be among them.
                guard formats.contains(.uncompressed) else {
                    throw TLSError(.illegalParameter, "server does not support uncompressed points")
                }
            case .serverName, .supportedGroups, .signatureAlgorithms, .signatureAlgorithmsCert, .statusRequest,
                 .supportedVersionsOffered, .supportedVersionSelected, .keyShareOffered, .keyShareSelected,
                 .keyShareRetry, .preSharedKeyOffered, .preSharedKeySelected, .pskKeyExchangeModes, .earlyData,
                 .cookie, .certificateAuthorities, .padding, .unknown:
                continue
            }
        }
        if ctx.configuration.requireExtendedMasterSecret, !extendedMasterSecret {
            throw TLSError(.handshakeFailure, "server does not support extended master secret")
        }
        // RFC 5746 §3.5: a renegotiation needs the extension back.
        if offer.renegotiation != nil, !secureRenegotiation {
            throw TLSError(.handshakeFailure, "server renegotiates without renegotiation_info")
        }

        var transcript = self.transcript
        // RFC 5246 §7.4.8: a client that may have to sign a CertificateVerify keeps the raw
        // messages until it knows whether the server asks for a certificate.
        if ClientCredentials.available(ctx.configuration) { transcript.retainMessages() }
        transcript.selectHash(parameters.hash)
        transcript.append(raw.bytes)
        ctx.records.negotiatedVersion = .tls12
        var negotiated = Negotiated12(
            parameters: parameters,
            clientRandom: offer.random,
            serverRandom: hello.random,
            sessionID: hello.sessionID,
            extendedMasterSecret: extendedMasterSecret,
            secureRenegotiation: secureRenegotiation,
            ticketExpected: ticketExpected,
            alpn: alpn,
            serverName: offer.serverName,
            transcript: transcript
        )
        guard let session = offer.session else {
            return .waitCertificate(WaitCertificate(negotiated: negotiated, offer: offer))
        }
        // RFC 5077 §3.4: an echoed session ID means resumed; an empty offered ID leaves it to the
        // next message; anything else is a full handshake.
        if !offer.sessionID.isEmpty {
            if hello.sessionID == offer.sessionID {
                negotiated.transcript.stopRetaining()  // no certificate in an abbreviated handshake
                negotiated.sessionID = session.sessionID.isEmpty ? hello.sessionID : session.sessionID
                return try ResumedClient12.start(session: session, negotiated: negotiated, &ctx)
            }
            ctx.records.emit(.sessionRejected)
            return .waitCertificate(WaitCertificate(negotiated: negotiated, offer: offer))
        }
        return .waitServerFlight(WaitServerFlight(negotiated: negotiated, offer: offer, session: session))
    }
}

/// RFC 5077 §3.4: we offered a ticket with an empty session ID, so the server's next message
/// tells: Certificate means a full handshake, NewSessionTicket or ChangeCipherSpec a resumed one.
struct WaitServerFlight: Sendable {
    var negotiated: Negotiated12
    var offer: ClientOffer
    var session: SessionState

    consuming func handle(_ message: HandshakeMessage, _ raw: RawHandshakeMessage, _ ctx: inout ClientContext) throws(TLSError) -> ClientState {
        switch message {
        case .certificate:
            ctx.records.emit(.sessionRejected)
            return try WaitCertificate(negotiated: negotiated, offer: offer).handle(message, raw, &ctx)
        case .newSessionTicket12:
            let state = try ResumedClient12.start(session: session, negotiated: negotiated, &ctx)
            guard case .waitResumedNewSessionTicket(let waiting) = state else {
                throw TLSError.unexpectedMessage(expected: [.certificate], got: message.type)
            }
            return try waiting.handle(message, raw, &ctx)
        case .helloRequest:
            return .waitServerFlight(self)
        case .clientHello, .serverHello, .helloRetryRequest, .newSessionTicket13, .endOfEarlyData,
             .encryptedExtensions, .serverKeyExchange, .certificateRequest12, .certificateRequest13,
             .serverHelloDone, .certificateVerify, .clientKeyExchange, .finished, .certificateStatus, .keyUpdate,
             .unknown:
            throw TLSError.unexpectedMessage(expected: [.certificate, .newSessionTicket], got: message.type)
        }
    }

    consuming func handleChangeCipherSpec(_ ctx: inout ClientContext) throws(TLSError) -> ClientState {
        let state = try ResumedClient12.start(session: session, negotiated: negotiated, &ctx)
        switch state {
        case .waitResumedChangeCipherSpec(let waiting):
            return try waiting.handleChangeCipherSpec(&ctx)
        default:
            // The server acknowledged the ticket extension, so its NewSessionTicket was due first.
            throw TLSError.unexpected("ChangeCipherSpec before the NewSessionTicket the server announced")
        }
    }
}

/// RFC 5246 §7.4.2: ECDHE suites always authenticate the server with a certificate.
struct WaitCertificate: Sendable {
    var negotiated: Negotiated12
    var offer: ClientOffer

    consuming func handle(_ message: HandshakeMessage, _ raw: RawHandshakeMessage, _ ctx: inout ClientContext) throws(TLSError) -> ClientState {
        switch message {
        case .certificate(let certificate):
            guard let leaf = certificate.entries.first else {
                throw TLSError(.decodeError, "server sent an empty certificate list")
            }
            let key: PeerPublicKey
            do {
                key = try PeerPublicKey(certificateDER: leaf.certificate)
            } catch {
                throw TLSError(.badCertificate, "server certificate: \(error.message)")
            }
            guard Negotiation.peerKeyServes(key, negotiated.parameters.keyExchange) else {
                throw TLSError(.unsupportedCertificate, "server certificate key does not fit \(negotiated.parameters.suite.openSSLName)")
            }
            var next = negotiated
            next.transcript.append(raw.bytes)
            return .waitServerKeyExchange(WaitServerKeyExchange(
                negotiated: next, offer: offer, chain: certificate.entries.map(\.certificate), peerKey: key))
        case .helloRequest:
            return .waitCertificate(self)
        case .clientHello, .serverHello, .helloRetryRequest, .newSessionTicket12, .newSessionTicket13,
             .endOfEarlyData, .encryptedExtensions, .serverKeyExchange, .certificateRequest12,
             .certificateRequest13, .serverHelloDone, .certificateVerify, .clientKeyExchange, .finished,
             .certificateStatus, .keyUpdate, .unknown:
            throw TLSError.unexpectedMessage(expected: [.certificate], got: message.type)
        }
    }
}

/// RFC 8422 §5.4: the server's ephemeral key, signed over both randoms.
struct WaitServerKeyExchange: Sendable {
    var negotiated: Negotiated12
    var offer: ClientOffer
    var chain: [[UInt8]]
    var peerKey: PeerPublicKey

    consuming func handle(_ message: HandshakeMessage, _ raw: RawHandshakeMessage, _ ctx: inout ClientContext) throws(TLSError) -> ClientState {
        switch message {
        case .serverKeyExchange(let exchange):
            guard offer.groups.contains(exchange.group) else {
                throw TLSError(.illegalParameter, "server chose group \(exchange.group), which was not offered")
            }
            guard offer.signatureSchemes.contains(exchange.signatureScheme),
                  peerKey.canVerify(exchange.signatureScheme, version: .tls12) else {
                throw TLSError(.illegalParameter, "server signed with \(exchange.signatureScheme), which was not offered or does not fit its key")
            }
            let signed = exchange.signedContent(clientRandom: negotiated.clientRandom, serverRandom: negotiated.serverRandom)
            guard peerKey.verify(signature: exchange.signature, data: signed, scheme: exchange.signatureScheme) else {
                throw TLSError(.decryptError, "bad ServerKeyExchange signature")
            }
            var next = negotiated
            next.transcript.append(raw.bytes)
            return .waitServerHelloDone(WaitServerHelloDone(
                negotiated: next, chain: chain, group: exchange.group, serverPublicKey: exchange.publicKey,
                signatureScheme: exchange.signatureScheme, certificateRequest: nil))
        case .helloRequest:
            return .waitServerKeyExchange(self)
        case .clientHello, .serverHello, .helloRetryRequest, .newSessionTicket12, .newSessionTicket13,
             .endOfEarlyData, .encryptedExtensions, .certificate, .certificateRequest12, .certificateRequest13,
             .serverHelloDone, .certificateVerify, .clientKeyExchange, .finished, .certificateStatus, .keyUpdate,
             .unknown:
            throw TLSError.unexpectedMessage(expected: [.serverKeyExchange], got: message.type)
        }
    }
}

/// RFC 5246 §7.4.4–7.4.5: an optional CertificateRequest, then ServerHelloDone.
struct WaitServerHelloDone: Sendable {
    var negotiated: Negotiated12
    var chain: [[UInt8]]
    var group: NamedGroup
    var serverPublicKey: [UInt8]
    var signatureScheme: SignatureScheme
    var certificateRequest: CertificateRequest12?

    consuming func handle(_ message: HandshakeMessage, _ raw: RawHandshakeMessage, _ ctx: inout ClientContext) throws(TLSError) -> ClientState {
        switch message {
        case .certificateRequest12(let request) where certificateRequest == nil:
            var next = self
            next.certificateRequest = request
            next.negotiated.transcript.append(raw.bytes)
            return .waitServerHelloDone(next)
        case .serverHelloDone:
            var next = self
            next.negotiated.transcript.append(raw.bytes)
            if next.certificateRequest == nil { next.negotiated.transcript.stopRetaining() }
            let pending = WaitPeerVerification(pending: next)
            switch ctx.configuration.certificateVerification {
            case .none:
                return try pending.sendFlight(verification: nil, &ctx)
            case .required, .reportOnly:
                ctx.records.emit(.verifyPeer(PeerVerificationRequest(chain: next.chain, hostname: ctx.serverName)))
                return .waitPeerVerification(pending)
            }
        case .helloRequest:
            return .waitServerHelloDone(self)
        case .certificateRequest12, .clientHello, .serverHello, .helloRetryRequest, .newSessionTicket12,
             .newSessionTicket13, .endOfEarlyData, .encryptedExtensions, .certificate, .serverKeyExchange,
             .certificateRequest13, .certificateVerify, .clientKeyExchange, .finished, .certificateStatus,
             .keyUpdate, .unknown:
            throw TLSError.unexpectedMessage(expected: [.serverHelloDone], got: message.type)
        }
    }
}

/// The server's chain is being verified outside the state machine (swift-certificates' verifier
/// is asynchronous); nothing is read until the driver reports the result.
struct WaitPeerVerification: Sendable {
    var pending: WaitServerHelloDone

    consuming func handle(_ message: HandshakeMessage) throws(TLSError) -> ClientState {
        // Unreachable in practice: input is held while verifying. Kept total for safety.
        throw TLSError.unexpectedMessage(expected: [], got: message.type)
    }

    /// RFC 5246 §7.4.6–7.4.9: [Certificate], ClientKeyExchange, ChangeCipherSpec, Finished.
    func sendFlight(verification: VerificationResult?, _ ctx: inout ClientContext) throws(TLSError) -> ClientState {
        if let verification, !verification.isValid, ctx.configuration.certificateVerification == .required {
            throw TLSError.verificationFailed(verification)
        }
        var negotiated = pending.negotiated

        // RFC 5246 §7.4.6: a requested Certificate comes first; without a certificate that fits
        // the request it is empty.
        var credentials: ClientCredentials?
        if let request = pending.certificateRequest {
            credentials = ClientCredentials.select(
                ctx.configuration, version: .tls12, serverSchemes: request.signatureSchemes,
                certificateTypes: request.certificateTypes)
            negotiated.transcript.append(ctx.records.writeHandshake(.certificate(credentials?.message(requestContext: [])
                ?? CertificateMessage(requestContext: [], entries: []))))
            if credentials == nil { negotiated.transcript.stopRetaining() }
        }

        let exchange = try crypto { () throws(CryptoError) in try EphemeralKeyExchange(group: pending.group) }
        let preMasterSecret = try crypto { () throws(CryptoError) in
            try exchange.sharedSecret(peerPublicKey: pending.serverPublicKey)
        }
        let keyExchange = HandshakeMessage.clientKeyExchange(ClientKeyExchange(publicKey: exchange.publicKeyBytes))
        negotiated.transcript.append(ctx.records.writeHandshake(keyExchange))

        // RFC 7627 §3: the session hash ends with ClientKeyExchange, before CertificateVerify.
        let keys = try Keys12.derive(preMasterSecret: preMasterSecret, negotiated: negotiated, ctx.configuration)
        if let credentials {
            // RFC 5246 §7.4.8: signed over handshake_messages, from ClientHello up to here.
            guard let messages = negotiated.transcript.retainedMessages else {
                throw TLSError(.internalError, "handshake messages for CertificateVerify were not kept")
            }
            let signature = try crypto { () throws(CryptoError) in try credentials.key.sign(messages, scheme: credentials.scheme) }
            negotiated.transcript.stopRetaining()
            negotiated.transcript.append(ctx.records.writeHandshake(
                .certificateVerify(CertificateVerify(scheme: credentials.scheme, signature: signature))))
        }
        ctx.records.writeChangeCipherSpec()
        ctx.records.installWriteProtection(keys.clientProtection)

        let verifyData = keys.verifyData(.client, handshakeHash: negotiated.transcript.currentHash())
        negotiated.transcript.append(ctx.records.writeHandshake(.finished(Finished(verifyData: verifyData))))

        let handshake = ClientHandshake12(
            negotiated: negotiated, keys: keys, chain: pending.chain, group: pending.group,
            signatureScheme: pending.signatureScheme, verification: verification, clientVerifyData: verifyData,
            clientCertificateRequested: pending.certificateRequest != nil, clientCertificateSent: credentials != nil,
            clientCertificateAuthorities: pending.certificateRequest?.certificateAuthorities ?? [])
        if negotiated.ticketExpected {
            return .waitNewSessionTicket(WaitNewSessionTicket(handshake: handshake))
        }
        return .waitChangeCipherSpec(WaitChangeCipherSpec(handshake: handshake, ticket: nil))
    }
}

/// Everything the end of a full client handshake needs.
struct ClientHandshake12: Sendable {
    var negotiated: Negotiated12
    var keys: Keys12
    var chain: [[UInt8]]
    var group: NamedGroup
    var signatureScheme: SignatureScheme
    var verification: VerificationResult?
    var clientVerifyData: [UInt8]
    var clientCertificateRequested = false
    var clientCertificateSent = false
    var clientCertificateAuthorities: [[UInt8]] = []
}

/// RFC 5077 §3.3: the server acknowledged SessionTicket, so NewSessionTicket comes before its CCS.
struct WaitNewSessionTicket: Sendable {
    var handshake: ClientHandshake12

    consuming func handle(_ message: HandshakeMessage, _ raw: RawHandshakeMessage, _ ctx: inout ClientContext) throws(TLSError) -> ClientState {
        switch message {
        case .newSessionTicket12(let ticket):
            var next = handshake
            next.negotiated.transcript.append(raw.bytes)
            // Not valid until the server's Finished is verified.
            return .waitChangeCipherSpec(WaitChangeCipherSpec(handshake: next, ticket: ticket))
        case .helloRequest:
            return .waitNewSessionTicket(self)
        case .clientHello, .serverHello, .helloRetryRequest, .newSessionTicket13, .endOfEarlyData,
             .encryptedExtensions, .certificate, .serverKeyExchange, .certificateRequest12, .certificateRequest13,
             .serverHelloDone, .certificateVerify, .clientKeyExchange, .finished, .certificateStatus, .keyUpdate,
             .unknown:
            throw TLSError.unexpectedMessage(expected: [.newSessionTicket], got: message.type)
        }
    }

    consuming func handleChangeCipherSpec() throws(TLSError) -> ClientState {
        throw TLSError.unexpected("ChangeCipherSpec before the NewSessionTicket the server announced")
    }
}

struct WaitChangeCipherSpec: Sendable {
    var handshake: ClientHandshake12
    var ticket: NewSessionTicket12?

    consuming func handle(_ message: HandshakeMessage) throws(TLSError) -> ClientState {
        if case .helloRequest = message { return .waitChangeCipherSpec(self) }
        throw TLSError(.unexpectedMessage, "unexpected message: expected ChangeCipherSpec, got \(message.type.displayName)")
    }

    consuming func handleChangeCipherSpec(_ ctx: inout ClientContext) throws(TLSError) -> ClientState {
        try ctx.records.installReadProtection(handshake.keys.serverProtection)
        return .waitFinished(WaitFinished(handshake: handshake, ticket: ticket))
    }
}

/// RFC 5246 §7.4.9: the server's Finished, compared in constant time.
struct WaitFinished: Sendable {
    var handshake: ClientHandshake12
    var ticket: NewSessionTicket12?

    consuming func handle(_ message: HandshakeMessage, _ raw: RawHandshakeMessage, _ ctx: inout ClientContext) throws(TLSError) -> ClientState {
        switch message {
        case .finished(let finished):
            let negotiated = handshake.negotiated
            let expected = handshake.keys.verifyData(.server, handshakeHash: negotiated.transcript.currentHash())
            guard constantTimeEquals(expected, finished.verifyData) else {
                throw TLSError(.decryptError, "server Finished does not verify")
            }
            var summary = HandshakeSummary(
                version: .tls12,
                cipherSuite: negotiated.parameters.suite,
                resumed: false,
                group: handshake.group,
                peerSignatureScheme: handshake.signatureScheme,
                serverName: negotiated.serverName,
                alpn: negotiated.alpn,
                extendedMasterSecret: negotiated.extendedMasterSecret,
                secureRenegotiation: negotiated.secureRenegotiation,
                peerCertificates: handshake.chain,
                verification: handshake.verification,
                sessionID: negotiated.sessionID,
                masterSecret: handshake.keys.masterSecret,
                ticket: ticket.flatMap { $0.ticket.isEmpty ? nil : $0.ticket },
                ticketLifetimeHint: ticket?.lifetimeHint
            )
            summary.clientCertificateRequested = handshake.clientCertificateRequested
            summary.clientCertificateAuthorities = handshake.clientCertificateAuthorities
            summary.clientCertificateSent = handshake.clientCertificateSent
            // RFC 5077 §3.3: the ticket is ours only now that the server's Finished verified.
            let now = ctx.configuration.clock.now()
            let issued = ticket.flatMap { $0.ticket.isEmpty ? nil : $0 }
            if issued != nil || !negotiated.sessionID.isEmpty {
                let session = SessionState(
                    version: .tls12, cipherSuite: negotiated.parameters.suite,
                    sessionID: issued.map { sessionID(forTicket: $0.ticket) } ?? negotiated.sessionID,
                    masterSecret: handshake.keys.masterSecret, time: now.wholeSeconds, timeout: issued?.lifetimeHint ?? 7200,
                    peerCertificate: handshake.chain.first, verifyResult: handshake.verification?.code,
                    hostname: negotiated.serverName, ticketLifetimeHint: issued?.lifetimeHint, ticket: issued?.ticket,
                    extendedMasterSecret: negotiated.extendedMasterSecret,
                    alpn: negotiated.alpn.map { Array($0.utf8) })
                summary.session = session
                ctx.records.emit(.sessionIssued(session))
            }
            ctx.records.emit(.handshakeCompleted(summary))
            return .connected(ClientConnected(
                summary: summary, clientVerifyData: handshake.clientVerifyData, serverVerifyData: finished.verifyData))
        case .helloRequest:
            return .waitFinished(self)
        case .clientHello, .serverHello, .helloRetryRequest, .newSessionTicket12, .newSessionTicket13,
             .endOfEarlyData, .encryptedExtensions, .certificate, .serverKeyExchange, .certificateRequest12,
             .certificateRequest13, .serverHelloDone, .certificateVerify, .clientKeyExchange, .certificateStatus,
             .keyUpdate, .unknown:
            throw TLSError.unexpectedMessage(expected: [.finished], got: message.type)
        }
    }
}

struct ClientConnected: Sendable {
    var summary: HandshakeSummary
    /// RFC 5746 §3.1: kept for a later renegotiation's renegotiation_info.
    var clientVerifyData: [UInt8]
    var serverVerifyData: [UInt8]

    /// RFC 5246 §7.4.1.2 / RFC 5746 §3.5: a new ClientHello inside the connection, under its
    /// current keys. Only over a connection that negotiated secure renegotiation.
    func renegotiate(_ ctx: inout ClientContext) throws(TLSError) -> ClientState {
        guard summary.secureRenegotiation else {
            throw TLSError(.handshakeFailure, "the server does not support secure renegotiation")
        }
        let context = RenegotiationContext(clientVerifyData: clientVerifyData, serverVerifyData: serverVerifyData)
        let (hello, offer) = try ClientHelloBuilder.make(ctx, renegotiation: context)
        var transcript = Transcript()
        transcript.append(ctx.records.writeHandshake(.clientHello(hello)))
        return .waitServerHello(WaitServerHello(offer: offer, transcript: transcript, previous: self))
    }

    consuming func handle(_ message: HandshakeMessage, _ ctx: inout ClientContext) throws(TLSError) -> ClientState {
        switch message {
        case .helloRequest:
            // RFC 5246 §7.4.1.1 / RFC 5746 §4.2: we do not renegotiate; say so and go on.
            try ctx.records.writeAlert(.warning(.noRenegotiation))
            return .connected(self)
        case .clientHello, .serverHello, .helloRetryRequest, .newSessionTicket12, .newSessionTicket13,
             .endOfEarlyData, .encryptedExtensions, .certificate, .serverKeyExchange, .certificateRequest12,
             .certificateRequest13, .serverHelloDone, .certificateVerify, .clientKeyExchange, .finished,
             .certificateStatus, .keyUpdate, .unknown:
            throw TLSError.unexpectedMessage(expected: [.helloRequest], got: message.type)
        }
    }
}

// MARK: - Keys

extension Keys12 {
    /// RFC 5246 §8.1 (or RFC 7627 §4 with extended master secret) and §6.3.
    static func derive(preMasterSecret: [UInt8], negotiated: Negotiated12, _ configuration: TLSConfiguration) throws(TLSError) -> Keys12 {
        let parameters = negotiated.parameters
        let masterSecret: [UInt8]
        if negotiated.extendedMasterSecret {
            // The session hash covers the handshake up to and including ClientKeyExchange.
            masterSecret = TLS12.extendedMasterSecret(
                preMasterSecret: preMasterSecret, sessionHash: negotiated.transcript.currentHash(), hash: parameters.hash)
        } else {
            masterSecret = TLS12.masterSecret(
                preMasterSecret: preMasterSecret, clientRandom: negotiated.clientRandom,
                serverRandom: negotiated.serverRandom, hash: parameters.hash)
        }
        if let keyLog = configuration.keyLog {
            keyLog(NSSKeyLog.line(label: "CLIENT_RANDOM", clientRandom: negotiated.clientRandom, secret: masterSecret))
        }
        return try fromMasterSecret(masterSecret, negotiated: negotiated)
    }

    static func fromMasterSecret(_ masterSecret: [UInt8], negotiated: Negotiated12) throws(TLSError) -> Keys12 {
        let parameters = negotiated.parameters
        let prfKey = HMACKey(masterSecret, hash: parameters.hash)
        let block = TLS12.keyBlock(
            masterSecret: prfKey, clientRandom: negotiated.clientRandom,
            serverRandom: negotiated.serverRandom, parameters: parameters)
        let client = try crypto { () throws(CryptoError) in
            try RecordProtection(parameters: parameters, key: block.clientWriteKey, iv: block.clientWriteIV)
        }
        let server = try crypto { () throws(CryptoError) in
            try RecordProtection(parameters: parameters, key: block.serverWriteKey, iv: block.serverWriteIV)
        }
        return Keys12(masterSecret: masterSecret, prfKey: prfKey, clientProtection: client, serverProtection: server)
    }
}

extension TLSError {
    /// The alert for a chain that did not verify, as OpenSSL picks it from the verify code.
    static func verificationFailed(_ result: VerificationResult) -> TLSError {
        switch result.code {
        case 10: return TLSError(.certificateExpired, "certificate verify failed: \(result.message)")
        // ssl_verify_alarm_type: issuer not found, self-signed, chain too long, path length, invalid CA.
        case 18, 19, 20, 21, 22, 24, 25: return TLSError(.unknownCA, "certificate verify failed: \(result.message)")
        case 26: return TLSError(.unsupportedCertificate, "certificate verify failed: \(result.message)")
        default: return TLSError(.badCertificate, "certificate verify failed: \(result.message)")
        }
    }
}
