import Foundation
import NIOCore
import TesseraCrypto
import TesseraSessions
import TesseraWire

// The TLS 1.3 server (RFC 8446 §2, §4): ServerHello (or a HelloRetryRequest first), then under
// handshake keys EncryptedExtensions, Certificate, CertificateVerify, Finished; the client's
// Finished; then NewSessionTickets under application keys.

/// A HelloRetryRequest was sent; the second ClientHello must answer it (RFC 8446 §4.1.4).
struct HelloRetry13: Sendable {
    var transcript: Transcript
    var parameters: CipherSuiteParameters
    var group: NamedGroup
    var sessionID: [UInt8]
}

enum Server13Start {
    static func respond(
        to hello: ClientHello, _ raw: RawHandshakeMessage, retried: HelloRetry13?, _ ctx: inout ServerContext
    ) throws(TLSError) -> ServerState {
        guard ctx.configuration.certificateChain != nil, let key = ctx.configuration.privateKey else {
            throw TLSError(.internalError, "server has no certificate and key")
        }
        // RFC 8446 §4.1.2: exactly one compression method, null.
        guard hello.compressionMethods == [0] else {
            throw TLSError(.illegalParameter, "TLS 1.3 ClientHello must offer only null compression")
        }
        var clientGroups: [NamedGroup] = []
        var clientShares: [KeyShareEntry]?
        var clientSchemes: [SignatureScheme]?
        var clientALPN: [String]?
        var serverName: String?
        var offeredPSKs: OfferedPSKs?
        var pskModes: [PskKeyExchangeMode] = []
        var clientSendsEarlyData = false
        for ext in hello.extensions {
            switch ext {
            case .earlyData: clientSendsEarlyData = true
            case .preSharedKeyOffered(let offered): offeredPSKs = offered
            case .pskKeyExchangeModes(let modes): pskModes = modes
            case .supportedGroups(let groups): clientGroups = groups
            case .keyShareOffered(let shares): clientShares = shares
            case .signatureAlgorithms(let schemes): clientSchemes = schemes
            case .alpn(let protocols): clientALPN = protocols.compactMap { String(validatingUTF8Bytes: $0) }
            case .serverName(let names): serverName = names.first
            default: continue
            }
        }
        // RFC 8446 §9.2: a TLS 1.3 ClientHello without these is missing_extension.
        guard let clientSchemes else { throw TLSError(.missingExtension, "ClientHello without signature_algorithms") }
        // RFC 8446 §9.2: a PSK-only hello (psk_ke) may leave out key_share and supported_groups;
        // it can then only resume.
        let pskOnlyHello = ctx.configuration.allowPSKKE && offeredPSKs != nil && pskModes.contains(.pskKE) && clientShares == nil
        guard let clientShares = clientShares ?? (pskOnlyHello ? [] : nil) else {
            throw TLSError(.missingExtension, "ClientHello without key_share")
        }
        // RFC 8446 §4.2.8: no two shares for one group, and only groups it supports.
        // Both checks stay linear for long (hostile) lists: a set past a few shares, and
        // ListLookup for the groups.
        let distinct = clientShares.count <= 8
            ? clientShares.indices.allSatisfy { index in !clientShares[..<index].contains { $0.group == clientShares[index].group } }
            : Set(clientShares.map(\.group)).count == clientShares.count
        let listedGroups = ListLookup(clientGroups, probes: clientShares.count)
        guard distinct, clientShares.allSatisfy({ listedGroups.contains($0.group) }) else {
            throw TLSError(.illegalParameter, "bad key_share list")
        }

        let suites = ctx.configuration.tls13Suites
        let parameters: CipherSuiteParameters
        if let retried {
            // RFC 8446 §4.1.4: the second hello keeps the suite the retry chose.
            guard hello.cipherSuites.contains(retried.parameters.suite), hello.sessionID == retried.sessionID else {
                throw TLSError(.illegalParameter, "second ClientHello does not match the first")
            }
            parameters = retried.parameters
        } else {
            guard let chosen = suites.first(where: { hello.cipherSuites.contains($0.suite) }) else {
                throw TLSError(.handshakeFailure, "no shared cipher")
            }
            parameters = chosen
        }
        guard let signatureScheme = Negotiation.firstCommon(ours: key.supportedSchemes(version: .tls13), theirs: clientSchemes) else {
            throw TLSError(.handshakeFailure, "no shared signature algorithm")
        }
        var alpn: String?
        if let clientALPN, !ctx.configuration.alpnProtocols.isEmpty {
            guard let chosen = Negotiation.firstCommon(ours: ctx.configuration.alpnProtocols, theirs: clientALPN) else {
                throw TLSError(.noApplicationProtocol, "no shared application protocol")
            }
            alpn = chosen
        }

        let groups = ctx.configuration.implementedGroups
        // Only a hello offering tickets needs the key hook and the clock.
        let policy = offeredPSKs == nil ? nil : ctx.configuration.ticketKeys.map {
            ServerPSKPolicy(provider: $0, now: ctx.configuration.clock.now())
        }
        // RFC 8446 §4.2.9: psk_ke (no (EC)DHE) only when allowed and the client offers no
        // psk_dhe_ke (or sent no key share to run it with); psk_dhe_ke is preferred. Such a
        // resumption needs no key share, so it is decided before a missing share could ask for
        // another hello.
        let pskKEOnly = ctx.configuration.allowPSKKE && pskModes.contains(.pskKE) && (!pskModes.contains(.pskDHEKE) || pskOnlyHello)
        var resumed: PSKSelection?
        var pskFailure: ResumptionFailure?
        if pskKEOnly, let offeredPSKs, let policy {
            (resumed, pskFailure) = try policy.select(
                offeredPSKs, received: raw.bytes, parameters: parameters, prefix: retried?.transcript, serverName: serverName,
                ctx.configuration)
        }
        var keyShare: (entry: KeyShareEntry, exchange: EphemeralKeyExchange)?
        if resumed == nil {
            let share = groups.lazy.compactMap { group in clientShares.first { $0.group == group } }.first
            guard let share else {
                // RFC 8446 §4.1.4: no usable share but a shared group: ask again, once.
                guard retried == nil, let group = Negotiation.firstCommon(ours: groups, theirs: clientGroups) else {
                    throw TLSError(retried == nil ? .handshakeFailure : .illegalParameter, "no shared group")
                }
                return sendHelloRetryRequest(hello, raw, parameters: parameters, group: group, &ctx)
            }
            if let retried, share.group != retried.group {
                throw TLSError(.illegalParameter, "second ClientHello without the requested key share")
            }
            // RFC 8446 §4.2.11: resume with the first offered ticket we can open, psk_dhe_ke.
            if let offeredPSKs, pskModes.contains(.pskDHEKE), let policy {
                let selection = try policy.select(
                    offeredPSKs, received: raw.bytes, parameters: parameters, prefix: retried?.transcript, serverName: serverName,
                    ctx.configuration)
                resumed = selection.chosen
                pskFailure = pskFailure ?? selection.failure
            }
            let exchange = try crypto { () throws(CryptoError) in try EphemeralKeyExchange(group: share.group) }
            keyShare = (share, exchange)
        }
        // RFC 8446 §7.1: without (EC)DHE the input is Hash.length zeros (deriveHandshakeSecret's
        // empty secret).
        var shared: [UInt8] = []
        if let keyShare {
            shared = try crypto { () throws(CryptoError) in try keyShare.exchange.sharedSecret(peerPublicKey: keyShare.entry.keyExchange) }
        }

        // A resumption's transcript already holds the ClientHello (the binder was checked over it).
        var transcript: Transcript
        if let resumed {
            transcript = resumed.transcript
        } else {
            transcript = retried?.transcript ?? Transcript(hash: parameters.hash)
            transcript.append(raw.bytes)
        }
        let acceptEarlyData = clientSendsEarlyData && retried == nil && resumed.map {
            EarlyData13.acceptable(session: $0.session, index: $0.index, offered: offeredPSKs, parameters: parameters, alpn: alpn, ctx.configuration)
        } == true
        // Only the client's early traffic secret needs the hash of the hello alone (RFC 8446 §7.1).
        let helloHash = acceptEarlyData ? transcript.currentHash() : []
        // One array, appended to (concatenating optional arrays made and copied three).
        var serverHelloExtensions: [Extension] = [.supportedVersionSelected(.tls13)]
        serverHelloExtensions.reserveCapacity(3)
        if let keyShare {
            serverHelloExtensions.append(.keyShareSelected(KeyShareEntry(group: keyShare.entry.group, keyExchange: keyShare.exchange.publicKeyBytes)))
        }
        if let resumed { serverHelloExtensions.append(.preSharedKeySelected(UInt16(truncatingIfNeeded: resumed.index))) }
        // The ServerHello's random and the random values of the tickets this handshake will issue
        // (`WaitClientFinished13.ticketRandom`) in one call: one getentropy per handshake, not two.
        let ticketCount = ctx.configuration.ticketKeys == nil ? 0
            : resumed == nil ? ctx.configuration.ticketCount13 : min(1, ctx.configuration.ticketCount13)
        let random = SecureRandom.bytes(32 + ServerConnected13.randomLength(tickets: ticketCount))
        let serverHello = ServerHello(
            legacyVersion: .tls12, random: Array(random[..<32]), sessionID: hello.sessionID,
            cipherSuite: parameters.suite, compressionMethod: 0, extensions: serverHelloExtensions)
        ctx.records.negotiatedVersion = .tls13
        transcript.append(ctx.records.writeHandshake(.serverHello(serverHello)))
        // Appendix D.4: compatibility mode when the client sent a session ID.
        if !hello.sessionID.isEmpty, retried == nil {
            ctx.records.writeChangeCipherSpec()
        }

        var schedule = resumed?.schedule ?? KeySchedule13(hash: parameters.hash, psk: nil)
        schedule.deriveHandshakeSecret(sharedSecret: shared)
        let hash = transcript.currentHash()
        let clientSecret = schedule.clientHandshakeTrafficSecret(transcriptHash: hash)
        let serverSecret = schedule.serverHandshakeTrafficSecret(transcriptHash: hash)
        TLS13Support.keyLog(ctx.configuration, "CLIENT_HANDSHAKE_TRAFFIC_SECRET", hello.random, clientSecret)
        TLS13Support.keyLog(ctx.configuration, "SERVER_HANDSHAKE_TRAFFIC_SECRET", hello.random, serverSecret)
        // Each handshake secret is keyed once for its record keys and its finished key. What the
        // flight and the client's Finished need from them, and the master secret (whose input
        // needs no transcript, RFC 8446 §7.1), is derived here in one run, while the HMAC code is
        // in the cache; the certificate, its signature and the encoding come after.
        let serverKey = HMACKey(serverSecret, hash: parameters.hash)
        let clientKey = HMACKey(clientSecret, hash: parameters.hash)
        ctx.records.installWriteProtection(serverKey, parameters)
        // With early data accepted, the client's records stay under its early traffic secret until
        // its EndOfEarlyData; the handshake keys are made then.
        let clientHandshakeProtection = acceptEarlyData ? nil : try TLS13Support.protection(clientKey, parameters)
        // RFC 8446 §4.4.4: finished_key, for the one HMAC over the transcript below.
        let serverFinishedKey = KeySchedule13.finishedKey(keyed: serverKey)
        schedule.deriveMasterSecret()

        var encrypted: [Extension] = []
        if let alpn { encrypted.append(.alpn([Array(alpn.utf8)])) }
        if acceptEarlyData { encrypted.append(.earlyData(maxEarlyDataSize: nil)) }
        transcript.append(ctx.records.writeHandshake(.encryptedExtensions(EncryptedExtensions(extensions: encrypted))))
        // RFC 8446 §4.3.2: a CertificateRequest follows EncryptedExtensions, and never in a PSK
        // handshake.
        let requestCertificate = resumed == nil && ctx.configuration.clientAuthentication != .none
        if requestCertificate {
            transcript.append(ctx.records.writeHandshake(.certificateRequest13(ServerClientAuth.request13(ctx.configuration))))
        }
        // RFC 8446 §2.2: a PSK handshake authenticates by the PSK; no certificate.
        if resumed == nil {
            transcript.append(ctx.records.writeHandshake(encoded: ctx.configuration.certificateMessages.tls13, type: .certificate))
            let content = TLS13Support.certificateVerifyContent(server: true, transcriptHash: transcript.currentHash())
            let signature = try crypto { () throws(CryptoError) in try key.sign(content, scheme: signatureScheme) }
            transcript.append(ctx.records.writeHandshake(.certificateVerify(CertificateVerify(scheme: signatureScheme, signature: signature))))
        }
        let verifyData = KeySchedule13.finishedVerifyData(
            finishedKey: serverFinishedKey, transcriptHash: transcript.currentHash(), hash: parameters.hash)
        transcript.append(ctx.records.writeHandshake(.finished(Finished(verifyData: verifyData))))

        let applicationHash = transcript.currentHash()
        let clientApplication = schedule.clientApplicationTrafficSecret(transcriptHash: applicationHash)
        let serverApplication = schedule.serverApplicationTrafficSecret(transcriptHash: applicationHash)
        // RFC 8446 §4.4.4: when nothing can come between this flight and the client's Finished
        // (no client certificate, no early data), its verify_data is over the transcript as it
        // stands now. Worked out here, with the rest of the key schedule, rather than hashing the
        // same transcript again when the Finished arrives.
        let expectedClientFinished = requestCertificate || acceptEarlyData
            ? nil : TLS13Support.finished(keyed: clientKey, transcriptHash: applicationHash)
        TLS13Support.keyLog(ctx.configuration, "CLIENT_TRAFFIC_SECRET_0", hello.random, clientApplication)
        TLS13Support.keyLog(ctx.configuration, "SERVER_TRAFFIC_SECRET_0", hello.random, serverApplication)
        ctx.records.installWriteProtection(serverApplication, parameters)
        if let clientHandshakeProtection {
            try ctx.records.installReadProtection(clientHandshakeProtection)
            // RFC 8446 §4.2.10: early data we declined is skipped, up to a limit.
            if clientSendsEarlyData { ctx.records.skipUndecryptableBudget = max(Int(ctx.configuration.maxEarlyData), 16384) + 4096 }
        } else {
            // Early data accepted, which only a resumption can: RFC 8446 §2.3, the client's early
            // data is under client_early_traffic_secret, up to its EndOfEarlyData. From the PSK's
            // early secret as the binder check derived it.
            guard let resumed else { throw TLSError(.internalError, "early data accepted without a resumed session") }
            let early = resumed.schedule.clientEarlyTrafficSecret(transcriptHash: helloHash)
            TLS13Support.keyLog(ctx.configuration, "CLIENT_EARLY_TRAFFIC_SECRET", hello.random, early)
            try ctx.records.installReadProtection(try TLS13Support.protection(early, parameters))
        }

        var summary = HandshakeSummary(
            version: .tls13, cipherSuite: parameters.suite, resumed: resumed != nil, group: keyShare?.entry.group,
            peerSignatureScheme: nil, serverName: serverName, alpn: alpn, extendedMasterSecret: true,
            secureRenegotiation: false, peerCertificates: resumed?.session.peerCertificate.map { [$0] } ?? [],
            verification: resumed?.session.verifyResult.map { VerificationResult.stored(code: $0) },
            sessionID: hello.sessionID, masterSecret: [], ticket: nil, ticketLifetimeHint: nil)
        summary.clientCertificateRequested = requestCertificate
        summary.session = resumed?.session
        summary.earlyDataAccepted = clientSendsEarlyData ? acceptEarlyData : nil
        summary.resumptionFailure = resumed == nil ? pskFailure : nil
        // Built whole (a `let`, every field in the initializer) from the consumed transcript and
        // schedule: fields set on a `var` afterwards, and the schedule passed without `consume`,
        // made Swift copy the state and the schedule (35 retains and releases per handshake).
        let waiting = WaitClientFinished13(
            transcript: consume transcript, schedule: consume schedule, clientHandshakeKey: clientKey,
            secrets: ApplicationSecrets13(parameters: parameters, client: clientApplication, server: serverApplication, resumptionMasterSecret: []),
            summary: summary, renewing: resumed?.renew ?? false, expectedClientVerifyData: expectedClientFinished,
            ticketRandom: Array(random[32...]))
        if requestCertificate { return .waitClientCertificate13(WaitClientCertificate13(next: waiting)) }
        if acceptEarlyData { return .waitEndOfEarlyData(WaitEndOfEarlyData(next: waiting)) }
        return .waitClientFinished13(waiting)
    }

    private static func sendHelloRetryRequest(
        _ hello: ClientHello, _ raw: RawHandshakeMessage, parameters: CipherSuiteParameters, group: NamedGroup,
        _ ctx: inout ServerContext
    ) -> ServerState {
        var transcript = Transcript(hash: parameters.hash)
        transcript.append(raw.bytes)
        transcript.replaceWithMessageHash()
        let retry = ServerHello(
            legacyVersion: .tls12, random: ServerHello.helloRetryRequestRandom, sessionID: hello.sessionID,
            cipherSuite: parameters.suite, compressionMethod: 0,
            extensions: [.supportedVersionSelected(.tls13), .keyShareRetry(group)])
        ctx.records.negotiatedVersion = .tls13
        transcript.append(ctx.records.writeHandshake(.helloRetryRequest(retry)))
        if !hello.sessionID.isEmpty { ctx.records.writeChangeCipherSpec() }
        return .waitSecondClientHello(WaitSecondClientHello(retry: HelloRetry13(
            transcript: transcript, parameters: parameters, group: group, sessionID: hello.sessionID)))
    }
}

struct WaitSecondClientHello: Sendable {
    var retry: HelloRetry13

    consuming func handle(_ message: HandshakeMessage, _ raw: RawHandshakeMessage, _ ctx: inout ServerContext) throws(TLSError) -> ServerState {
        switch message {
        case .clientHello(let hello):
            guard case .supportedVersionsOffered(let versions)? = hello.extensions.first(.supportedVersions),
                  versions.contains(.tls13) else {
                throw TLSError(.illegalParameter, "second ClientHello without TLS 1.3")
            }
            return try Server13Start.respond(to: hello, raw, retried: retry, &ctx)
        case .helloRequest, .serverHello, .helloRetryRequest, .newSessionTicket12, .newSessionTicket13, .endOfEarlyData,
             .encryptedExtensions, .certificate, .serverKeyExchange, .certificateRequest12, .certificateRequest13,
             .serverHelloDone, .certificateVerify, .clientKeyExchange, .finished, .certificateStatus, .keyUpdate, .unknown:
            throw TLSError.unexpectedMessage(expected: [.clientHello], got: message.type)
        }
    }
}

/// RFC 8446 §4.5: accepted early data (delivered as application data) up to EndOfEarlyData.
struct WaitEndOfEarlyData: Sendable {
    var next: WaitClientFinished13

    consuming func handle(_ message: HandshakeMessage, _ raw: RawHandshakeMessage, _ ctx: inout ServerContext) throws(TLSError) -> ServerState {
        switch message {
        case .endOfEarlyData:
            var waiting = next
            waiting.transcript.append(raw.bytes)
            try ctx.records.installReadProtection(try TLS13Support.protection(waiting.clientHandshakeKey, waiting.secrets.parameters))
            return .waitClientFinished13(waiting)
        case .helloRequest, .clientHello, .serverHello, .helloRetryRequest, .newSessionTicket12, .newSessionTicket13,
             .encryptedExtensions, .certificate, .serverKeyExchange, .certificateRequest12, .certificateRequest13,
             .serverHelloDone, .certificateVerify, .clientKeyExchange, .finished, .certificateStatus, .keyUpdate, .unknown:
            throw TLSError.unexpectedMessage(expected: [.endOfEarlyData], got: message.type)
        }
    }
}

/// RFC 8446 §4.4.2: we asked, so the client's Certificate (maybe empty) comes first, under its
/// handshake keys.
struct WaitClientCertificate13: Sendable {
    var next: WaitClientFinished13

    consuming func handle(_ message: HandshakeMessage, _ raw: RawHandshakeMessage, _ ctx: inout ServerContext) throws(TLSError) -> ServerState {
        switch message {
        case .certificate(let certificate):
            // RFC 8446 §4.4.2: the context of our request (empty) echoed.
            guard certificate.requestContext.isEmpty else {
                throw TLSError(.illegalParameter, "client Certificate with a request context we did not send")
            }
            var waiting = next
            guard let key = try ServerClientAuth.leafKey(certificate) else {
                // RFC 8446 §4.4.2.4: an empty Certificate; abort only when one is required.
                if ctx.configuration.clientAuthentication == .required {
                    throw TLSError(.certificateRequired, "peer did not return a certificate")
                }
                waiting.transcript.append(raw.bytes)
                return .waitClientFinished13(waiting)
            }
            waiting.transcript.append(raw.bytes)
            waiting.summary.peerCertificates = certificate.entries.map(\.certificate)
            return .waitClientCertificateVerify13(WaitClientCertificateVerify13(next: waiting, clientKey: key))
        case .helloRequest, .clientHello, .serverHello, .helloRetryRequest, .newSessionTicket12, .newSessionTicket13,
             .endOfEarlyData, .encryptedExtensions, .serverKeyExchange, .certificateRequest12, .certificateRequest13,
             .serverHelloDone, .certificateVerify, .clientKeyExchange, .finished, .certificateStatus, .keyUpdate, .unknown:
            throw TLSError.unexpectedMessage(expected: [.certificate], got: message.type)
        }
    }
}

/// RFC 8446 §4.4.3: the client's signature over the transcript through its Certificate.
struct WaitClientCertificateVerify13: Sendable {
    var next: WaitClientFinished13
    var clientKey: PeerPublicKey

    consuming func handle(_ message: HandshakeMessage, _ raw: RawHandshakeMessage, _ ctx: inout ServerContext) throws(TLSError) -> ServerState {
        switch message {
        case .certificateVerify(let verify):
            let content = TLS13Support.certificateVerifyContent(server: false, transcriptHash: next.transcript.currentHash())
            try ServerClientAuth.checkProof(verify, key: clientKey, signed: content, version: .tls13, ctx.configuration)
            var waiting = next
            waiting.transcript.append(raw.bytes)
            waiting.summary.peerSignatureScheme = verify.scheme
            waiting.summary.clientCertificateSent = true
            return WaitClientChainVerification.start(waiting.summary.peerCertificates, then: .tls13(waiting), &ctx)
        case .helloRequest, .clientHello, .serverHello, .helloRetryRequest, .newSessionTicket12, .newSessionTicket13,
             .endOfEarlyData, .encryptedExtensions, .certificate, .serverKeyExchange, .certificateRequest12,
             .certificateRequest13, .serverHelloDone, .clientKeyExchange, .finished, .certificateStatus, .keyUpdate, .unknown:
            throw TLSError.unexpectedMessage(expected: [.certificateVerify], got: message.type)
        }
    }
}

/// RFC 8446 §4.4.4: the client's Finished under its handshake keys.
struct WaitClientFinished13: Sendable {
    var transcript: Transcript {
        // A precomputed client Finished holds only for the transcript it was computed over.
        didSet { expectedClientVerifyData = nil }
    }
    var schedule: KeySchedule13
    /// client_handshake_traffic_secret, keyed: its finished key checks the client's Finished.
    var clientHandshakeKey: HMACKey
    var secrets: ApplicationSecrets13
    var summary: HandshakeSummary
    /// The resumed ticket's key is retiring (the key hook said valid-renew).
    var renewing = false
    /// The client's Finished verify_data, when the server's flight could work it out already
    /// (nothing can come before it); cleared by any change to `transcript`.
    var expectedClientVerifyData: [UInt8]?
    /// Random values for the tickets `connect` makes, drawn with the ServerHello's random
    /// (`ServerConnected13.makeTickets`); empty to draw them then.
    var ticketRandom: [UInt8] = []

    consuming func handle(_ message: HandshakeMessage, _ raw: RawHandshakeMessage, _ ctx: inout ServerContext) throws(TLSError) -> ServerState {
        switch message {
        case .finished(let finished):
            let parameters = secrets.parameters
            let expected = expectedClientVerifyData
                ?? TLS13Support.finished(keyed: clientHandshakeKey, transcriptHash: transcript.currentHash())
            guard constantTimeEquals(expected, finished.verifyData) else {
                throw TLSError(.decryptError, "client Finished does not verify")
            }
            transcript.append(raw.bytes)
            try ctx.records.installReadProtection(try TLS13Support.protection(secrets.client, parameters))
            // The connected state takes this state's summary and secrets, moved out (swapped with
            // empty values: `self` is consumed, but Swift copies a stored property that is passed
            // on) and completed in `connect`, so that nothing on the way copies them (each holds a
            // dozen references).
            let resumptionMasterSecret = schedule.resumptionMasterSecret(transcriptHash: transcript.currentHash())
            return Self.connect(
                summary: HandshakeSummary.moving(&summary), secrets: ApplicationSecrets13.moving(&secrets),
                resumptionMasterSecret: resumptionMasterSecret, renewing: renewing, ticketRandom: ticketRandom, &ctx)
        case .helloRequest, .clientHello, .serverHello, .helloRetryRequest, .newSessionTicket12, .newSessionTicket13,
             .endOfEarlyData, .encryptedExtensions, .certificate, .serverKeyExchange, .certificateRequest12,
             .certificateRequest13, .serverHelloDone, .certificateVerify, .clientKeyExchange, .certificateStatus,
             .keyUpdate, .unknown:
            throw TLSError.unexpectedMessage(expected: [.finished], got: message.type)
        }
    }
}

extension WaitClientFinished13 {
    /// The handshake is complete: tickets are made (one after a resumption, the configured count
    /// after a full handshake; a resumed session keeps its original authentication time, the
    /// lifetime cap), the completion goes out, then the tickets. A resumption whose ticket was
    /// under a retiring key counts as renewed once its replacement is issued; the tickets are made
    /// first so the summary can say so. `summary` and `secrets` end in the connected state by move.
    private static func connect(
        summary: consuming HandshakeSummary, secrets: consuming ApplicationSecrets13, resumptionMasterSecret: [UInt8],
        renewing: Bool, ticketRandom: [UInt8], _ ctx: inout ServerContext
    ) -> ServerState {
        secrets.resumptionMasterSecret = resumptionMasterSecret
        summary.masterSecret = resumptionMasterSecret
        let resumed = summary.resumed
        let count = resumed ? min(1, ctx.configuration.ticketCount13) : ctx.configuration.ticketCount13
        var ticketsSent = 0
        let tickets = ServerConnected13.makeTickets(
            count, original: summary.sessionBox, secrets: secrets, summary: summary, ticketsSent: &ticketsSent,
            random: ticketRandom, &ctx)
        summary.ticketsIssued = tickets.filter { !$0.ticket.isEmpty }.count
        summary.ticketRenewed = resumed && renewing && summary.ticketIssued
        ctx.records.emit(.handshakeCompleted(copy summary))  // the action's own copy
        for ticket in tickets {
            ctx.records.writeHandshake(.newSessionTicket13(ticket))
        }
        return .connected13(ServerConnected13(summary: consume summary, secrets: consume secrets, ticketsSent: ticketsSent))
    }
}

struct ServerConnected13: Sendable {
    var summary: HandshakeSummary
    var secrets: ApplicationSecrets13
    var ticketsSent: Int

    consuming func handle(_ message: HandshakeMessage, _ ctx: inout ServerContext) throws(TLSError) -> ServerState {
        switch message {
        case .keyUpdate(let update):
            var next = self
            if let secrets = try KeyUpdate13.received(update, secrets: next.secrets, isClient: false, &ctx.records) {
                next.secrets = secrets
            }
            return .connected13(next)
        case .helloRequest, .clientHello, .serverHello, .helloRetryRequest, .newSessionTicket12, .newSessionTicket13,
             .endOfEarlyData, .encryptedExtensions, .certificate, .serverKeyExchange, .certificateRequest12,
             .certificateRequest13, .serverHelloDone, .certificateVerify, .clientKeyExchange, .finished,
             .certificateStatus, .unknown:
            throw TLSError.unexpectedMessage(expected: [.keyUpdate], got: message.type)
        }
    }

    /// RFC 8446 §4.6.1: tickets sealed by the same key hook as TLS 1.2's, each with its own nonce
    /// and ticket_age_add; the PSK is derived from the resumption master secret.
    mutating func sendTickets(_ count: Int, _ ctx: inout ServerContext) {
        let tickets = Self.makeTickets(
            count, original: summary.sessionBox, secrets: secrets, summary: summary, ticketsSent: &ticketsSent, &ctx)
        for ticket in tickets {
            ctx.records.writeHandshake(.newSessionTicket13(ticket))
        }
    }

    /// Random bytes `makeTickets` needs for `tickets` tickets: a ticket_age_add (4) and a sealing
    /// IV each.
    static func randomLength(tickets: Int) -> Int { max(0, tickets) * (4 + TicketSealing.ivLength) }

    /// `count` NewSessionTickets under the current key (none when no key may encrypt), for the
    /// connection with these `secrets` and `summary`; `original` is the resumed session, if any
    /// (boxed: only a few of its fields are read). `random`, when it holds
    /// `randomLength(tickets: count)` fresh random bytes, supplies the tickets' random values;
    /// otherwise they are drawn here.
    static func makeTickets(
        _ count: Int, original: SessionBox?, secrets: ApplicationSecrets13, summary: HandshakeSummary,
        ticketsSent: inout Int, random supplied: [UInt8] = [], _ ctx: inout ServerContext
    ) -> [NewSessionTicket13] {
        guard let provider = ctx.configuration.ticketKeys, count > 0 else { return [] }
        let now = ctx.configuration.clock.now()
        guard let key = provider.encryptionKey(at: now) else { return [] }
        var tickets: [NewSessionTicket13] = []
        let parameters = secrets.parameters
        var lifetime = min(provider.lifetimeHint(at: now), ctx.configuration.sessionTimeout, 604_800)
        if let original {
            // Never past the original session's end.
            let remaining = TimeInterval(original.session.timeout) - now.timeIntervalSince(original.session.time)
            lifetime = min(lifetime, UInt32(clamping: max(0, Int(remaining))))
        }
        // Every ticket's ticket_age_add (4 bytes each), then every sealing IV (16 each), drawn in
        // one call (or with the ServerHello's random): never two system calls per ticket.
        // Keyed once for a batch; a single ticket (after a resumption) derives its PSK unkeyed.
        let resumptionKey = count > 1 ? HMACKey(secrets.resumptionMasterSecret, hash: parameters.hash) : nil
        let random = supplied.count == randomLength(tickets: count) ? supplied : SecureRandom.bytes(randomLength(tickets: count))
        var nonces: [[UInt8]] = [], variants: [(masterSecret: [UInt8], ticketAgeAdd: UInt32?)] = []
        nonces.reserveCapacity(count)
        variants.reserveCapacity(count)
        for index in 0..<count {
            let nonce = withUnsafeBytes(of: UInt64(ticketsSent).bigEndian) { Array($0) }
            ticketsSent += 1
            let ageAdd = random.withUnsafeBytes { UInt32(bigEndian: $0.loadUnaligned(fromByteOffset: index * 4, as: UInt32.self)) }
            nonces.append(nonce)
            let psk = if let resumptionKey {
                KeySchedule13.resumptionPSK(keyed: resumptionKey, nonce: nonce)
            } else {
                KeySchedule13.resumptionPSK(resumptionMasterSecret: secrets.resumptionMasterSecret, nonce: nonce, hash: parameters.hash)
            }
            variants.append((psk, ageAdd))
        }
        // One session for the batch; the tickets differ only in PSK and ticket_age_add, so its
        // other fields are encoded once (`derEncoded(variants:)`).
        let session = SessionState(
            version: .tls13, cipherSuite: parameters.suite, sessionID: [], masterSecret: [],
            time: original?.session.time ?? now.wholeSeconds,
            timeout: original?.session.timeout ?? lifetime,
            // The client's certificate goes with the session, so a resumption can name it.
            peerCertificate: original?.session.peerCertificate ?? ServerClientAuth.sessionPeer(summary.peerCertificates),
            sessionIDContext: ServerTicketPolicy.scope(ctx.configuration),
            verifyResult: original?.session.verifyResult ?? summary.verification?.code,
            hostname: summary.serverName, extendedMasterSecret: true,
            maxEarlyData: ctx.configuration.maxEarlyData > 0 ? ctx.configuration.maxEarlyData : nil,
            alpn: summary.alpn.map { Array($0.utf8) })
        let earlyData: [Extension] = ctx.configuration.maxEarlyData > 0 ? [.earlyData(maxEarlyDataSize: ctx.configuration.maxEarlyData)] : []
        // Sealed as one batch: every ticket encrypted, then every MAC (`TicketSealing.seal(_:key:ivs:)`).
        let ivs = Array(random[(count * 4)...])
        for (index, ticket) in TicketSealing.seal(session.derEncoded(variants: variants), key: key, ivs: ivs).enumerated() {
            tickets.append(NewSessionTicket13(
                lifetime: lifetime, ageAdd: variants[index].ticketAgeAdd ?? 0, nonce: nonces[index],
                ticket: ticket, extensions: earlyData))
        }
        return tickets
    }
}
