import Foundation
import NIOCore
import TesseraCrypto
import TesseraSessions
import TesseraWire

// The TLS 1.2 server (RFC 5246 §7.3, RFC 8422, RFC 7627, RFC 5746, RFC 7301).

struct ServerContext: Sendable {
    let configuration: TLSConfiguration
    var records: RecordLayer
}

enum ServerState: Sendable {
    case waitClientHello(WaitClientHello)
    case waitClientCertificate12(WaitClientCertificate12)
    case waitClientKeyExchange(WaitClientKeyExchange)
    case waitClientCertificateVerify12(WaitClientCertificateVerify12)
    case waitClientChainVerification(WaitClientChainVerification)
    case waitClientChangeCipherSpec(WaitClientChangeCipherSpec)
    case waitClientFinished(WaitClientFinished)
    case waitResumedClientChangeCipherSpec(WaitResumedClientChangeCipherSpec)
    case waitResumedClientFinished(WaitResumedClientFinished)
    case waitSecondClientHello(WaitSecondClientHello)
    case waitClientCertificate13(WaitClientCertificate13)
    case waitClientCertificateVerify13(WaitClientCertificateVerify13)
    case waitClientFinished13(WaitClientFinished13)
    case waitEndOfEarlyData(WaitEndOfEarlyData)
    case connected(ServerConnected)
    case connected13(ServerConnected13)
    case closed
}

/// The server's half of a full handshake after its first flight.
struct ServerHandshake12: Sendable {
    var negotiated: Negotiated12
    var group: NamedGroup
    var signatureScheme: SignatureScheme
    var exchange: EphemeralKeyExchange
    var resumptionFailure: ResumptionFailure?
    /// We sent a CertificateRequest (RFC 5246 §7.4.4).
    var clientCertificateRequested = false
    /// The client's certificate, once its CertificateVerify checked out.
    var clientCertificate: ClientCertificateResult?
}

/// RFC 5246 §7.4.1.2: the connection starts with the client's hello.
struct WaitClientHello: Sendable {
    /// Set when the hello renegotiates an established connection (RFC 5746 §3.7).
    var renegotiation: RenegotiationContext?

    consuming func handle(_ message: HandshakeMessage, _ raw: RawHandshakeMessage, _ ctx: inout ServerContext) throws(TLSError) -> ServerState {
        switch message {
        case .clientHello(let hello):
            return try respond(to: hello, raw, &ctx)
        case .helloRequest, .serverHello, .helloRetryRequest, .newSessionTicket12, .newSessionTicket13,
             .endOfEarlyData, .encryptedExtensions, .certificate, .serverKeyExchange, .certificateRequest12,
             .certificateRequest13, .serverHelloDone, .certificateVerify, .clientKeyExchange, .finished,
             .certificateStatus, .keyUpdate, .unknown:
            throw TLSError.unexpectedMessage(expected: [.clientHello], got: message.type)
        }
    }

    private func respond(to hello: ClientHello, _ raw: RawHandshakeMessage, _ ctx: inout ServerContext) throws(TLSError) -> ServerState {
        guard ctx.configuration.certificateChain != nil, let key = ctx.configuration.privateKey else {
            throw TLSError(.internalError, "server has no certificate and key")
        }
        if try negotiateVersion(hello, ctx.configuration) == .tls13 {
            return try Server13Start.respond(to: hello, raw, retried: nil, &ctx)
        }

        // RFC 5246 §7.4.1.2: null compression must be offered.
        guard hello.compressionMethods.contains(0) else {
            throw TLSError(.illegalParameter, "client did not offer null compression")
        }

        // RFC 5746 §3.6: the SCSV or an empty renegotiation_info says the client is secure;
        // §3.7: when renegotiating, the SCSV is forbidden and the extension must carry our
        // client's last verify_data.
        let offersSCSV = hello.cipherSuites.contains(.emptyRenegotiationInfoSCSV)
        if renegotiation != nil, offersSCSV {
            throw TLSError(.handshakeFailure, "renegotiation_info SCSV in a renegotiation")
        }
        var secureRenegotiation = offersSCSV
        var clientGroups: [NamedGroup]?
        var clientSchemes: [SignatureScheme]?
        var clientALPN: [String]?
        var serverName: String?
        var extendedMasterSecret = false
        var clientOffersEMS = false
        var pointFormatsOffered = false
        var offeredTicket: [UInt8]?
        for ext in hello.extensions {
            switch ext {
            case .renegotiationInfo(let data):
                guard constantTimeEquals(data, renegotiation?.clientVerifyData ?? []) else {
                    throw TLSError(.handshakeFailure, "renegotiation_info does not match")
                }
                secureRenegotiation = true
            case .supportedGroups(let groups):
                clientGroups = groups
            case .signatureAlgorithms(let schemes):
                clientSchemes = schemes
            case .alpn(let protocols):
                clientALPN = protocols.compactMap { String(validatingUTF8Bytes: $0) }
            case .serverName(let names):
                serverName = names.first
            case .extendedMasterSecret:
                clientOffersEMS = true
                extendedMasterSecret = ctx.configuration.extendedMasterSecret
            case .sessionTicket(let ticket):
                offeredTicket = ticket
            case .ecPointFormats(let formats):
                // RFC 8422 §5.1.2: uncompressed is the one format we speak.
                guard formats.contains(.uncompressed) else {
                    throw TLSError(.illegalParameter, "client does not support uncompressed points")
                }
                pointFormatsOffered = true
            case .signatureAlgorithmsCert, .statusRequest, .supportedVersionsOffered,
                 .supportedVersionSelected, .keyShareOffered, .keyShareSelected, .keyShareRetry,
                 .preSharedKeyOffered, .preSharedKeySelected, .pskKeyExchangeModes, .earlyData, .cookie,
                 .certificateAuthorities, .padding, .unknown:
                continue
            }
        }
        if ctx.configuration.requireExtendedMasterSecret, !extendedMasterSecret {
            throw TLSError(.handshakeFailure, "client does not support extended master secret")
        }
        if renegotiation != nil, !secureRenegotiation {
            throw TLSError(.handshakeFailure, "renegotiation without renegotiation_info")
        }
        let renegotiationInfo = renegotiation.map { $0.clientVerifyData + $0.serverVerifyData } ?? []

        var alpn: String?
        if let clientALPN, !ctx.configuration.alpnProtocols.isEmpty {
            // RFC 7301 §3.2: no overlap is fatal.
            guard let chosen = Negotiation.firstCommon(ours: ctx.configuration.alpnProtocols, theirs: clientALPN) else {
                throw TLSError(.noApplicationProtocol, "no shared application protocol")
            }
            alpn = chosen
        }

        // RFC 5077 §3.1: a ticket the key hook accepts resumes; any other falls back to a full
        // handshake (with a fresh ticket).
        var policy: ServerTicketPolicy?
        if let provider = ctx.configuration.ticketKeys {
            policy = ServerTicketPolicy(
                provider: provider, now: ctx.configuration.clock.now(), scope: ServerTicketPolicy.scope(ctx.configuration))
        }
        var resumptionFailure: ResumptionFailure?
        if let policy, let ticket = offeredTicket, !ticket.isEmpty {
            switch try policy.evaluate(ticket: ticket, hello: hello, clientOffersEMS: clientOffersEMS, serverName: serverName, ctx.configuration) {
            case .resume(let session, let renew):
                // No key can encrypt: resume without renewing rather than send an empty ticket.
                return try resume(session, renew: renew && policy.canIssue, hello: hello, raw, policy: policy, secureRenegotiation: secureRenegotiation,
                                  renegotiationInfo: renegotiationInfo, alpn: alpn, serverName: serverName,
                                  pointFormats: pointFormatsOffered, &ctx)
            case .fullHandshake(let reason):
                resumptionFailure = reason
            }
        }
        // RFC 5077 §3.2: acknowledge the extension only if a ticket can be sealed now.
        let issueTicket = offeredTicket != nil && (policy?.canIssue ?? false)

        // RFC 8422 §4: without supported_groups the client is taken to accept any curve.
        let groups = ctx.configuration.implementedGroups
        guard let group = Negotiation.firstCommon(ours: groups, theirs: clientGroups ?? groups) else {
            throw TLSError(.handshakeFailure, "no shared group")
        }
        guard let parameters = Negotiation.selectSuite12(
            offered: hello.cipherSuites, configured: ctx.configuration.tls12Suites, key: key) else {
            throw TLSError(.handshakeFailure, "no shared cipher")
        }
        // RFC 5246 §7.4.1.4.1: without signature_algorithms the client only takes SHA-1, which we
        // do not sign with.
        guard let signatureScheme = Negotiation.firstCommon(
            ours: key.supportedSchemes(version: .tls12), theirs: clientSchemes ?? []) else {
            throw TLSError(.handshakeFailure, "no shared signature algorithm")
        }

        var serverExtensions: [Extension] = []
        if secureRenegotiation { serverExtensions.append(.renegotiationInfo(renegotiationInfo)) }
        if extendedMasterSecret { serverExtensions.append(.extendedMasterSecret) }
        if pointFormatsOffered { serverExtensions.append(.ecPointFormats([.uncompressed])) }
        if let alpn { serverExtensions.append(.alpn([Array(alpn.utf8)])) }
        if issueTicket { serverExtensions.append(.sessionTicket([])) }

        var serverRandom = SecureRandom.bytes(32)
        if ctx.configuration.maximumVersion == .tls13 {
            // RFC 8446 §4.1.3: a TLS 1.3 server negotiating TLS 1.2 says so in its random.
            serverRandom.replaceSubrange(24..<32, with: ServerHello.downgradeTLS12Sentinel)
        }
        let serverHello = ServerHello(
            legacyVersion: .tls12, random: serverRandom, sessionID: [],
            cipherSuite: parameters.suite, compressionMethod: 0, extensions: serverExtensions)

        var transcript = Transcript(hash: parameters.hash)
        // RFC 5246 §7.4.8: the client's CertificateVerify signs the raw messages.
        let requestCertificate = ctx.configuration.clientAuthentication != .none
        if requestCertificate { transcript.retainMessages() }
        transcript.append(raw.bytes)
        ctx.records.negotiatedVersion = .tls12
        transcript.append(ctx.records.writeHandshake(.serverHello(serverHello)))

        transcript.append(ctx.records.writeHandshake(encoded: ctx.configuration.certificateMessages.tls12, type: .certificate))

        // RFC 8422 §5.4: sign client_random + server_random + ServerECDHParams.
        let exchange = try crypto { () throws(CryptoError) in try EphemeralKeyExchange(group: group) }
        var keyExchange = ServerKeyExchange(
            curveType: 3, group: group, publicKey: exchange.publicKeyBytes,
            signatureScheme: signatureScheme, signature: [])
        let signed = keyExchange.signedContent(clientRandom: hello.random, serverRandom: serverRandom)
        keyExchange.signature = try crypto { () throws(CryptoError) in try key.sign(signed, scheme: signatureScheme) }
        transcript.append(ctx.records.writeHandshake(.serverKeyExchange(keyExchange)))
        // RFC 5246 §7.4.4: CertificateRequest after ServerKeyExchange.
        if requestCertificate {
            transcript.append(ctx.records.writeHandshake(.certificateRequest12(ServerClientAuth.request12(ctx.configuration))))
        }
        transcript.append(ctx.records.writeHandshake(.serverHelloDone))

        let negotiated = Negotiated12(
            parameters: parameters, clientRandom: hello.random, serverRandom: serverRandom, sessionID: [],
            extendedMasterSecret: extendedMasterSecret, secureRenegotiation: secureRenegotiation,
            ticketExpected: issueTicket, alpn: alpn, serverName: serverName, transcript: transcript)
        let handshake = ServerHandshake12(
            negotiated: negotiated, group: group, signatureScheme: signatureScheme, exchange: exchange,
            resumptionFailure: resumptionFailure, clientCertificateRequested: requestCertificate)
        // RFC 5246 §7.4.6: having asked, the client's Certificate comes first.
        if requestCertificate { return .waitClientCertificate12(WaitClientCertificate12(handshake: handshake)) }
        return .waitClientKeyExchange(WaitClientKeyExchange(handshake: handshake, clientKey: nil))
    }

    /// RFC 5077 §3.1 Figure 2 (and §3.3 when renewing): ServerHello, [NewSessionTicket],
    /// ChangeCipherSpec, Finished.
    private func resume(
        _ session: SessionState, renew: Bool, hello: ClientHello, _ raw: RawHandshakeMessage,
        policy: ServerTicketPolicy, secureRenegotiation: Bool, renegotiationInfo: [UInt8], alpn: String?,
        serverName: String?, pointFormats: Bool, _ ctx: inout ServerContext
    ) throws(TLSError) -> ServerState {
        guard let parameters = session.cipherSuite.parameters else {
            throw TLSError(.internalError, "resumed suite has no parameters")
        }
        var serverExtensions: [Extension] = []
        if secureRenegotiation { serverExtensions.append(.renegotiationInfo(renegotiationInfo)) }
        if session.extendedMasterSecret { serverExtensions.append(.extendedMasterSecret) }
        if pointFormats { serverExtensions.append(.ecPointFormats([.uncompressed])) }
        if let alpn { serverExtensions.append(.alpn([Array(alpn.utf8)])) }
        if renew { serverExtensions.append(.sessionTicket([])) }

        // RFC 5077 §3.4: echo the client's session ID so it knows at once.
        let serverRandom = SecureRandom.bytes(32)
        let serverHello = ServerHello(
            legacyVersion: .tls12, random: serverRandom, sessionID: hello.sessionID,
            cipherSuite: parameters.suite, compressionMethod: 0, extensions: serverExtensions)
        var transcript = Transcript(hash: parameters.hash)
        transcript.append(raw.bytes)
        ctx.records.negotiatedVersion = .tls12
        transcript.append(ctx.records.writeHandshake(.serverHello(serverHello)))

        var renewed = false
        if renew {
            let ticket = policy.issue(session, ctx.configuration)
            renewed = !ticket.ticket.isEmpty
            transcript.append(ctx.records.writeHandshake(.newSessionTicket12(ticket)))
        }

        var negotiated = Negotiated12(
            parameters: parameters, clientRandom: hello.random, serverRandom: serverRandom, sessionID: hello.sessionID,
            extendedMasterSecret: session.extendedMasterSecret, secureRenegotiation: secureRenegotiation,
            ticketExpected: renew, alpn: alpn, serverName: serverName, transcript: transcript)
        let keys = try Keys12.fromMasterSecret(session.masterSecret, negotiated: negotiated)
        ctx.records.writeChangeCipherSpec()
        ctx.records.installWriteProtection(keys.serverProtection)
        let verifyData = keys.verifyData(.server, handshakeHash: negotiated.transcript.currentHash())
        negotiated.transcript.append(ctx.records.writeHandshake(.finished(Finished(verifyData: verifyData))))

        var summary = HandshakeSummary(
            version: .tls12, cipherSuite: parameters.suite, resumed: true, group: nil, peerSignatureScheme: nil,
            serverName: serverName, alpn: alpn, extendedMasterSecret: session.extendedMasterSecret,
            secureRenegotiation: secureRenegotiation, peerCertificates: session.peerCertificate.map { [$0] } ?? [],
            verification: session.verifyResult.map { VerificationResult.stored(code: $0) },
            sessionID: hello.sessionID, masterSecret: keys.masterSecret, ticket: nil, ticketLifetimeHint: nil)
        summary.ticketRenewed = renewed
        summary.ticketsIssued = renewed ? 1 : 0
        summary.session = session
        return .waitResumedClientChangeCipherSpec(WaitResumedClientChangeCipherSpec(resumed: ServerResumed12(
            negotiated: negotiated, keys: keys, serverVerifyData: verifyData, summary: summary)))
    }

    /// RFC 5246 Appendix E.1 and RFC 8446 §4.2.1: TLS 1.2 or nothing. Older clients get
    /// protocol_version.
    /// RFC 8446 §4.2.1 and RFC 5246 Appendix E.1: the highest version both allow. Clients below
    /// TLS 1.2 get protocol_version.
    private func negotiateVersion(_ hello: ClientHello, _ configuration: TLSConfiguration) throws(TLSError) -> ProtocolVersion {
        let ours: [ProtocolVersion] = [.tls13, .tls12].filter {
            $0.rawValue <= configuration.maximumVersion.rawValue && $0.rawValue >= configuration.minimumVersion.rawValue
        }
        if case .supportedVersionsOffered(let versions) = hello.extensions.first(.supportedVersions), renegotiation == nil {
            guard let chosen = ours.first(where: { versions.contains($0) }) else {
                throw TLSError(.protocolVersion, "client offers none of our versions: \(versions)")
            }
            return chosen
        }
        guard hello.legacyVersion.rawValue >= ProtocolVersion.tls12.rawValue, ours.contains(.tls12) else {
            throw TLSError(.protocolVersion, "client offers \(hello.legacyVersion); TLS 1.2 is the minimum")
        }
        return .tls12
    }
}

/// RFC 5246 §7.4.6: we asked for a certificate, so the client's Certificate (maybe empty) comes
/// before its ClientKeyExchange.
struct WaitClientCertificate12: Sendable {
    var handshake: ServerHandshake12

    consuming func handle(_ message: HandshakeMessage, _ raw: RawHandshakeMessage, _ ctx: inout ServerContext) throws(TLSError) -> ServerState {
        switch message {
        case .certificate(let certificate):
            var next = handshake
            guard let key = try ServerClientAuth.leafKey(certificate) else {
                // RFC 5246 §7.4.6: without a certificate the server may go on or abort with
                // handshake_failure (certificate_required is TLS 1.3's).
                if ctx.configuration.clientAuthentication == .required {
                    throw TLSError(.handshakeFailure, "peer did not return a certificate")
                }
                next.negotiated.transcript.stopRetaining()
                next.negotiated.transcript.append(raw.bytes)
                return .waitClientKeyExchange(WaitClientKeyExchange(handshake: next, clientKey: nil))
            }
            next.negotiated.transcript.append(raw.bytes)
            next.clientCertificate = ClientCertificateResult(chain: certificate.entries.map(\.certificate))
            return .waitClientKeyExchange(WaitClientKeyExchange(handshake: next, clientKey: key))
        case .helloRequest, .clientHello, .serverHello, .helloRetryRequest, .newSessionTicket12,
             .newSessionTicket13, .endOfEarlyData, .encryptedExtensions, .serverKeyExchange,
             .certificateRequest12, .certificateRequest13, .serverHelloDone, .certificateVerify, .clientKeyExchange,
             .finished, .certificateStatus, .keyUpdate, .unknown:
            throw TLSError.unexpectedMessage(expected: [.certificate], got: message.type)
        }
    }
}

/// RFC 5246 §7.4.7: the client's ephemeral key.
struct WaitClientKeyExchange: Sendable {
    var handshake: ServerHandshake12
    /// The leaf key of a client certificate, whose CertificateVerify follows (RFC 5246 §7.4.8).
    var clientKey: PeerPublicKey?

    consuming func handle(_ message: HandshakeMessage, _ raw: RawHandshakeMessage, _ ctx: inout ServerContext) throws(TLSError) -> ServerState {
        switch message {
        case .clientKeyExchange(let keyExchange):
            let preMasterSecret = try crypto { () throws(CryptoError) in
                try handshake.exchange.sharedSecret(peerPublicKey: keyExchange.publicKey)
            }
            // In place on the consumed state: a copy of the negotiation and of the handshake
            // (a dozen references each) on the way cost more than the rest of this step.
            handshake.negotiated.transcript.append(raw.bytes)
            // RFC 7627 §3: the session hash ends here, before any CertificateVerify.
            let keys = try Keys12.derive(preMasterSecret: preMasterSecret, negotiated: handshake.negotiated, ctx.configuration)
            if let clientKey {
                return .waitClientCertificateVerify12(WaitClientCertificateVerify12(handshake: handshake, keys: keys, clientKey: clientKey))
            }
            return .waitClientChangeCipherSpec(WaitClientChangeCipherSpec(handshake: handshake, keys: keys))
        case .helloRequest, .clientHello, .serverHello, .helloRetryRequest, .newSessionTicket12,
             .newSessionTicket13, .endOfEarlyData, .encryptedExtensions, .certificate, .serverKeyExchange,
             .certificateRequest12, .certificateRequest13, .serverHelloDone, .certificateVerify, .finished,
             .certificateStatus, .keyUpdate, .unknown:
            throw TLSError.unexpectedMessage(expected: [.clientKeyExchange], got: message.type)
        }
    }
}

/// RFC 5246 §7.4.8: the client proves it holds its certificate's key by signing the handshake
/// messages up to its ClientKeyExchange.
struct WaitClientCertificateVerify12: Sendable {
    var handshake: ServerHandshake12
    var keys: Keys12
    var clientKey: PeerPublicKey

    consuming func handle(_ message: HandshakeMessage, _ raw: RawHandshakeMessage, _ ctx: inout ServerContext) throws(TLSError) -> ServerState {
        switch message {
        case .certificateVerify(let verify):
            var next = handshake
            guard let messages = next.negotiated.transcript.retainedMessages else {
                throw TLSError(.internalError, "handshake messages for CertificateVerify were not kept")
            }
            try ServerClientAuth.checkProof(verify, key: clientKey, signed: messages, version: .tls12, ctx.configuration)
            next.negotiated.transcript.stopRetaining()
            next.negotiated.transcript.append(raw.bytes)
            next.clientCertificate?.scheme = verify.scheme
            let waiting = WaitClientChangeCipherSpec(handshake: next, keys: keys)
            return WaitClientChainVerification.start(next.clientCertificate?.chain ?? [], then: .tls12(waiting), &ctx)
        case .helloRequest, .clientHello, .serverHello, .helloRetryRequest, .newSessionTicket12,
             .newSessionTicket13, .endOfEarlyData, .encryptedExtensions, .certificate, .serverKeyExchange,
             .certificateRequest12, .certificateRequest13, .serverHelloDone, .clientKeyExchange, .finished,
             .certificateStatus, .keyUpdate, .unknown:
            throw TLSError.unexpectedMessage(expected: [.certificateVerify], got: message.type)
        }
    }

    consuming func handleChangeCipherSpec() throws(TLSError) -> ServerState {
        throw TLSError.unexpected("ChangeCipherSpec before the client's CertificateVerify")
    }
}

struct WaitClientChangeCipherSpec: Sendable {
    var handshake: ServerHandshake12
    var keys: Keys12
    /// The client's verify_data, worked out as soon as the messages it covers are all in (RFC 5246
    /// §7.4.9: every handshake message before its Finished; a ChangeCipherSpec is none), right
    /// after the key derivation whose HMAC code it shares.
    var expectedClientVerifyData: [UInt8]

    init(handshake: ServerHandshake12, keys: Keys12) {
        self.handshake = handshake
        self.keys = keys
        expectedClientVerifyData = keys.verifyData(.client, handshakeHash: handshake.negotiated.transcript.currentHash())
    }

    consuming func handle(_ message: HandshakeMessage) throws(TLSError) -> ServerState {
        throw TLSError(.unexpectedMessage, "unexpected message: expected ChangeCipherSpec, got \(message.type.displayName)")
    }

    consuming func handleChangeCipherSpec(_ ctx: inout ServerContext) throws(TLSError) -> ServerState {
        try ctx.records.installReadProtection(keys.clientProtection)
        return .waitClientFinished(WaitClientFinished(handshake: handshake, keys: keys, expectedClientVerifyData: expectedClientVerifyData))
    }
}

/// RFC 5246 §7.4.9: verify the client's Finished, then send ours.
struct WaitClientFinished: Sendable {
    var handshake: ServerHandshake12
    var keys: Keys12
    var expectedClientVerifyData: [UInt8]

    consuming func handle(_ message: HandshakeMessage, _ raw: RawHandshakeMessage, _ ctx: inout ServerContext) throws(TLSError) -> ServerState {
        switch message {
        case .finished(let finished):
            guard constantTimeEquals(expectedClientVerifyData, finished.verifyData) else {
                throw TLSError(.decryptError, "client Finished does not verify")
            }
            // The negotiation is read and its transcript extended in place on the consumed state,
            // not copied out (a dozen references).
            handshake.negotiated.transcript.append(raw.bytes)

            // RFC 5077 §3.3: the ticket goes before our ChangeCipherSpec.
            var session: SessionState?
            var ticketsIssued = 0
            if handshake.negotiated.ticketExpected, let provider = ctx.configuration.ticketKeys {
                let now = ctx.configuration.clock.now()
                let policy = ServerTicketPolicy(provider: provider, now: now, scope: ServerTicketPolicy.scope(ctx.configuration))
                let state = SessionState(
                    version: .tls12, cipherSuite: handshake.negotiated.parameters.suite, sessionID: [],
                    masterSecret: keys.masterSecret, time: now.wholeSeconds, timeout: ctx.configuration.sessionTimeout,
                    peerCertificate: handshake.clientCertificate.flatMap { ServerClientAuth.sessionPeer($0.chain) },
                    sessionIDContext: policy.scope, verifyResult: handshake.clientCertificate?.verification?.code,
                    hostname: handshake.negotiated.serverName,
                    extendedMasterSecret: handshake.negotiated.extendedMasterSecret,
                    alpn: handshake.negotiated.alpn.map { Array($0.utf8) })
                session = state
                let ticket = policy.issue(state, ctx.configuration)
                ticketsIssued = ticket.ticket.isEmpty ? 0 : 1
                handshake.negotiated.transcript.append(ctx.records.writeHandshake(.newSessionTicket12(ticket)))
            }

            // Our verify_data covers the NewSessionTicket, not the ChangeCipherSpec: worked out before
            // it, next to the ticket's HMAC.
            let serverVerifyData = keys.verifyData(.server, handshakeHash: handshake.negotiated.transcript.currentHash())
            ctx.records.writeChangeCipherSpec()
            ctx.records.installWriteProtection(keys.serverProtection)
            handshake.negotiated.transcript.append(ctx.records.writeHandshake(.finished(Finished(verifyData: serverVerifyData))))

            var summary = HandshakeSummary(
                version: .tls12, cipherSuite: handshake.negotiated.parameters.suite, resumed: false,
                group: handshake.group, peerSignatureScheme: handshake.clientCertificate?.scheme,
                serverName: handshake.negotiated.serverName,
                alpn: handshake.negotiated.alpn, extendedMasterSecret: handshake.negotiated.extendedMasterSecret,
                secureRenegotiation: handshake.negotiated.secureRenegotiation,
                peerCertificates: handshake.clientCertificate?.chain ?? [],
                verification: handshake.clientCertificate?.verification,
                sessionID: handshake.negotiated.sessionID, masterSecret: keys.masterSecret, ticket: nil, ticketLifetimeHint: nil)
            summary.clientCertificateRequested = handshake.clientCertificateRequested
            summary.clientCertificateSent = handshake.clientCertificate != nil
            summary.session = session
            summary.ticketsIssued = ticketsIssued
            summary.resumptionFailure = handshake.resumptionFailure
            ctx.records.emit(.handshakeCompleted(summary))
            return .connected(ServerConnected(
                summary: summary, clientVerifyData: finished.verifyData, serverVerifyData: serverVerifyData))
        case .helloRequest, .clientHello, .serverHello, .helloRetryRequest, .newSessionTicket12,
             .newSessionTicket13, .endOfEarlyData, .encryptedExtensions, .certificate, .serverKeyExchange,
             .certificateRequest12, .certificateRequest13, .serverHelloDone, .certificateVerify,
             .clientKeyExchange, .certificateStatus, .keyUpdate, .unknown:
            throw TLSError.unexpectedMessage(expected: [.finished], got: message.type)
        }
    }
}

struct ServerConnected: Sendable {
    var summary: HandshakeSummary
    var clientVerifyData: [UInt8]
    var serverVerifyData: [UInt8]

    consuming func handle(_ message: HandshakeMessage, _ raw: RawHandshakeMessage, _ ctx: inout ServerContext) throws(TLSError) -> ServerState {
        switch message {
        case .clientHello:
            // RFC 5746 §4.4 / RFC 5246 §7.2.2: renegotiation is off by default (and never
            // without secure renegotiation); refuse with a warning and go on.
            guard ctx.configuration.allowClientRenegotiation, summary.secureRenegotiation else {
                try ctx.records.writeAlert(.warning(.noRenegotiation))
                return .connected(self)
            }
            let context = RenegotiationContext(clientVerifyData: clientVerifyData, serverVerifyData: serverVerifyData)
            return try WaitClientHello(renegotiation: context).handle(message, raw, &ctx)
        case .helloRequest, .serverHello, .helloRetryRequest, .newSessionTicket12, .newSessionTicket13,
             .endOfEarlyData, .encryptedExtensions, .certificate, .serverKeyExchange, .certificateRequest12,
             .certificateRequest13, .serverHelloDone, .certificateVerify, .clientKeyExchange, .finished,
             .certificateStatus, .keyUpdate, .unknown:
            throw TLSError.unexpectedMessage(expected: [.clientHello], got: message.type)
        }
    }
}
