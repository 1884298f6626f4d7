import Foundation
import NIOCore
import TesseraCrypto
import TesseraSessions
import TesseraWire

// The TLS 1.3 client (RFC 8446 §2, §4): ServerHello (maybe after a HelloRetryRequest), then
// under handshake keys EncryptedExtensions, [CertificateRequest], Certificate,
// CertificateVerify, Finished; our Finished; tickets and KeyUpdate afterwards.

/// The handshake so far, from the ServerHello on: the fields of `ClientHandshake13.State`, held
/// in one copy-on-write reference.
///
/// Each TLS 1.3 client state passes this on to the next. As an inline struct (about 800 bytes,
/// some thirty references) every hand-over copied it, a retain per reference, and destroyed the
/// original, a release per reference: Swift copies a stored property of a `consuming self`. Boxed,
/// a state takes it with `take()` (one reference moved) and mutates it in place, since nothing
/// else holds the box. A copy of a connection still gets its own: the first mutation of a shared
/// box copies it.
@dynamicMemberLookup
struct ClientHandshake13: Sendable {
    struct State: Sendable {
        var parameters: CipherSuiteParameters
        var schedule: KeySchedule13
        var transcript: Transcript
        var offer: ClientOffer
        /// nil after a psk_ke resumption (RFC 8446 §4.2.9): no (EC)DHE.
        var group: NamedGroup?
        /// The two handshake traffic secrets, keyed once each for their record keys and finished keys.
        var clientHandshakeKey: HMACKey
        var serverHandshakeKey: HMACKey
        var alpn: String?
        /// The server's CertificateRequest (RFC 8446 §4.3.2), answered after its Finished.
        var certificateRequest: CertificateRequest13?
        var chain: [[UInt8]] = []
        var signatureScheme: SignatureScheme?
        /// The stored session the server resumed (RFC 8446 §2.2): no certificate follows.
        var resumed: SessionState?
        /// 0-RTT: nil when none was sent, else whether EncryptedExtensions accepted it.
        var earlyDataAccepted: Bool?
    }

    private final class Box: @unchecked Sendable {
        // Mutated only through `ClientHandshake13`'s `_modify`, after it made the box unique.
        var state: State
        init(_ state: State) { self.state = state }
    }

    private var box: Box

    init(_ state: State) {
        box = Box(state)
    }

    subscript<Value>(dynamicMember keyPath: KeyPath<State, Value>) -> Value {
        box.state[keyPath: keyPath]
    }

    subscript<Value>(dynamicMember keyPath: WritableKeyPath<State, Value>) -> Value {
        get { box.state[keyPath: keyPath] }
        _modify {
            if !isKnownUniquelyReferenced(&box) { box = Box(box.state) }
            yield &box.state[keyPath: keyPath]
        }
    }

    /// The handshake, leaving an empty one behind: the state that passes it on drops its
    /// reference here, so the next state's mutations need no copy.
    mutating func take() -> ClientHandshake13 {
        var taken = Self.emptyHandshake
        swap(&taken, &self)
        return taken
    }

    /// What `take()` leaves behind (shared, never mutated in place).
    private static let emptyHandshake = ClientHandshake13(State(
        parameters: CipherSuiteParameters.all[0], schedule: KeySchedule13(hash: .sha256, psk: nil), transcript: Transcript(),
        offer: ClientOffer(
            random: [], sessionID: [], suites: [], groups: [], signatureSchemes: [], extensions: [], serverName: nil, alpn: [],
            session: nil, renegotiation: nil),
        group: nil, clientHandshakeKey: HMACKey([], hash: .sha256), serverHandshakeKey: HMACKey([], hash: .sha256)))
}

enum Client13Start {
    /// RFC 8446 §4.1.3: a ServerHello that selected TLS 1.3.
    static func accept(
        _ hello: ServerHello, _ raw: RawHandshakeMessage, offer: ClientOffer, transcript: Transcript,
        _ ctx: inout ClientContext
    ) throws(TLSError) -> ClientState {
        guard hello.legacyVersion == .tls12 else {
            throw TLSError(.illegalParameter, "TLS 1.3 ServerHello with legacy_version \(hello.legacyVersion)")
        }
        guard hello.sessionID == offer.sessionID else {
            throw TLSError(.illegalParameter, "legacy_session_id_echo does not match")
        }
        guard let parameters = offer.suites13.first(where: { $0.suite == hello.cipherSuite }) else {
            throw TLSError(.illegalParameter, "server chose \(hello.cipherSuite), which was not offered")
        }
        guard hello.compressionMethod == 0 else {
            throw TLSError(.illegalParameter, "TLS 1.3 ServerHello with compression")
        }
        try decoding { () throws(WireError) in try validateTLS13Extensions(hello.extensions, in: .serverHello) }
        var serverShare: KeyShareEntry?
        var selectedPSK: UInt16?
        for ext in hello.extensions {
            switch ext {
            case .keyShareSelected(let entry): serverShare = entry
            case .preSharedKeySelected(let index): selectedPSK = index
            case .supportedVersionSelected: continue
            default:
                throw TLSError(.unsupportedExtension, "\(ext.type) in a TLS 1.3 ServerHello")
            }
        }
        // RFC 8446 §4.2.8, §4.2.9: a key share is required unless the server resumed with
        // psk_ke, which we offered; then the (EC)DHE input is zeros (§7.1).
        var shared: [UInt8] = []
        if let serverShare {
            guard let exchange = offer.keyShares.first(where: { $0.group == serverShare.group }) else {
                throw TLSError(.illegalParameter, "server answered a key share for \(serverShare.group), which was not offered")
            }
            shared = try crypto { () throws(CryptoError) in try exchange.sharedSecret(peerPublicKey: serverShare.keyExchange) }
        } else if selectedPSK == nil || !ctx.configuration.pskModesToOffer.contains(.pskKE) {
            throw TLSError(.missingExtension, "TLS 1.3 ServerHello without key_share")
        }

        var transcript = transcript
        if transcript.hashAlgorithm == nil { transcript.selectHash(parameters.hash) }
        transcript.append(raw.bytes)
        ctx.records.negotiatedVersion = .tls13
        // RFC 8446 §4.2.11: the server may pick our (only) PSK, whose hash must be the suite's.
        var resumed: SessionState?
        if let selectedPSK {
            guard selectedPSK == 0, let psk = offer.psk, psk.hash == parameters.hash else {
                throw TLSError(.illegalParameter, "server selected a PSK that was not offered")
            }
            resumed = psk.session
        }
        var schedule = KeySchedule13(hash: parameters.hash, psk: resumed?.masterSecret)
        schedule.deriveHandshakeSecret(sharedSecret: shared)
        let hash = transcript.currentHash()
        let clientSecret = schedule.clientHandshakeTrafficSecret(transcriptHash: hash)
        let serverSecret = schedule.serverHandshakeTrafficSecret(transcriptHash: hash)
        TLS13Support.keyLog(ctx.configuration, "CLIENT_HANDSHAKE_TRAFFIC_SECRET", offer.random, clientSecret)
        TLS13Support.keyLog(ctx.configuration, "SERVER_HANDSHAKE_TRAFFIC_SECRET", offer.random, serverSecret)
        let serverKey = HMACKey(serverSecret, hash: parameters.hash)
        try ctx.records.installReadProtection(try TLS13Support.protection(serverKey, parameters))
        if offer.retried { ctx.records.sentCompatibilityCCS = true }
        if offer.psk != nil, resumed == nil { ctx.records.emit(.sessionRejected) }
        var handshake = ClientHandshake13(.init(
            parameters: parameters, schedule: schedule, transcript: transcript, offer: offer, group: serverShare?.group,
            clientHandshakeKey: HMACKey(clientSecret, hash: parameters.hash), serverHandshakeKey: serverKey))
        handshake.resumed = resumed
        return .waitEncryptedExtensions(WaitEncryptedExtensions(handshake: handshake))
    }

    /// RFC 8446 §4.1.4: a HelloRetryRequest asks for another key share (and maybe a cookie); the
    /// transcript starts over from message_hash(ClientHello1).
    static func retry(
        _ request: ServerHello, _ raw: RawHandshakeMessage, offer: ClientOffer, transcript: Transcript,
        _ ctx: inout ClientContext
    ) throws(TLSError) -> ClientState {
        guard offer.offers13, !offer.retried else {
            throw TLSError.unexpectedMessage(expected: [.serverHello], got: .helloRetryRequest)
        }
        guard case .supportedVersionSelected(.tls13)? = request.extensions.first(.supportedVersions),
              let parameters = offer.suites13.first(where: { $0.suite == request.cipherSuite }),
              request.sessionID == offer.sessionID else {
            throw TLSError(.illegalParameter, "HelloRetryRequest does not fit our ClientHello")
        }
        var group: NamedGroup?
        var cookie: [UInt8]?
        for ext in request.extensions {
            switch ext {
            case .keyShareRetry(let requested): group = requested
            case .cookie(let value): cookie = value
            case .supportedVersionSelected: continue
            default: throw TLSError(.unsupportedExtension, "\(ext.type) in a HelloRetryRequest")
            }
        }
        // RFC 8446 §4.1.4: the retry must change something, and ask for a group we offered
        // but did not send a share for.
        if let group {
            guard offer.groups.contains(group), !offer.keyShares.contains(where: { $0.group == group }) else {
                throw TLSError(.illegalParameter, "HelloRetryRequest asks for group \(group)")
            }
        } else if cookie == nil {
            throw TLSError(.illegalParameter, "HelloRetryRequest that changes nothing")
        }
        var transcript = transcript
        transcript.selectHash(parameters.hash)
        transcript.replaceWithMessageHash()
        transcript.append(raw.bytes)
        ctx.records.negotiatedVersion = .tls13
        // Appendix D.4: in compatibility mode the CCS goes before the second ClientHello.
        ctx.records.writeChangeCipherSpec()
        let retry = ClientHelloBuilder.Retry(
            previous: offer, group: group ?? offer.keyShares.first?.group ?? .x25519, cookie: cookie,
            transcript: transcript)
        let (hello, newOffer) = try ClientHelloBuilder.make(ctx, retry: retry)
        var restricted = newOffer
        restricted.suites13 = [parameters]
        restricted.suites = []
        transcript.append(ctx.records.writeHandshake(.clientHello(hello)))
        return .waitServerHello(WaitServerHello(offer: restricted, transcript: transcript, previous: nil))
    }
}

/// RFC 8446 §4.3.1.
struct WaitEncryptedExtensions: Sendable {
    var handshake: ClientHandshake13

    consuming func handle(_ message: HandshakeMessage, _ raw: RawHandshakeMessage, _ ctx: inout ClientContext) throws(TLSError) -> ClientState {
        switch message {
        case .encryptedExtensions(let encrypted):
            var next = handshake.take()
            if next.offer.sendsEarlyData {
                // RFC 8446 §4.2.10: accepted only with the PSK we offered first.
                let accepted = encrypted.extensions.contains(.earlyData)
                if accepted, next.resumed == nil {
                    throw TLSError(.illegalParameter, "server accepted early data without the PSK")
                }
                next.earlyDataAccepted = accepted
            }
            for ext in encrypted.extensions {
                guard next.offer.extensions.contains(ext.type) else {
                    throw TLSError(.unsupportedExtension, "server sent \(ext.type), which was not offered")
                }
                if case .alpn(let protocols) = ext {
                    guard protocols.count == 1, let chosen = String(validatingUTF8Bytes: protocols[0]),
                          next.offer.alpn.contains(chosen) else {
                        throw TLSError(.illegalParameter, "server selected an ALPN protocol that was not offered")
                    }
                    next.alpn = chosen
                }
            }
            next.transcript.append(raw.bytes)
            // RFC 8446 §2.2: a PSK handshake has no Certificate or CertificateVerify.
            if let resumed = next.resumed {
                next.chain = resumed.peerCertificate.map { [$0] } ?? []
                return .waitFinished13(WaitFinished13(handshake: next))
            }
            return .waitCertificate13(WaitCertificate13(handshake: next))
        case .helloRequest, .clientHello, .serverHello, .helloRetryRequest, .newSessionTicket12, .newSessionTicket13,
             .endOfEarlyData, .certificate, .serverKeyExchange, .certificateRequest12, .certificateRequest13,
             .serverHelloDone, .certificateVerify, .clientKeyExchange, .finished, .certificateStatus, .keyUpdate, .unknown:
            throw TLSError.unexpectedMessage(expected: [.encryptedExtensions], got: message.type)
        }
    }
}

/// RFC 8446 §4.3.2, §4.4.2: an optional CertificateRequest, then the server's Certificate.
struct WaitCertificate13: Sendable {
    var handshake: ClientHandshake13

    consuming func handle(_ message: HandshakeMessage, _ raw: RawHandshakeMessage, _ ctx: inout ClientContext) throws(TLSError) -> ClientState {
        switch message {
        case .certificateRequest13(let request) where handshake.certificateRequest == nil:
            // RFC 8446 §4.3.2: in the handshake the context is empty and signature_algorithms
            // is required. (A PSK handshake never gets here: after its EncryptedExtensions
            // only Finished is expected.)
            guard request.requestContext.isEmpty else {
                throw TLSError(.illegalParameter, "CertificateRequest in the handshake with a request context")
            }
            guard request.extension(.signatureAlgorithms) != nil else {
                throw TLSError(.missingExtension, "CertificateRequest without signature_algorithms")
            }
            var next = handshake.take()
            next.certificateRequest = request
            next.transcript.append(raw.bytes)
            return .waitCertificate13(WaitCertificate13(handshake: next))
        case .certificate(let certificate):
            guard certificate.requestContext.isEmpty else {
                throw TLSError(.illegalParameter, "server Certificate with a request context")
            }
            guard let leaf = certificate.entries.first else {
                throw TLSError(.decodeError, "server sent an empty certificate list")
            }
            let key: PeerPublicKey
            do {
                key = try PeerPublicKey(certificateDER: leaf.certificate)
            } catch {
                throw TLSError(.badCertificate, "server certificate: \(error.message)")
            }
            var next = handshake.take()
            next.chain = certificate.entries.map(\.certificate)
            next.transcript.append(raw.bytes)
            return .waitCertificateVerify13(WaitCertificateVerify13(handshake: next, peerKey: key))
        case .helloRequest, .clientHello, .serverHello, .helloRetryRequest, .newSessionTicket12, .newSessionTicket13,
             .endOfEarlyData, .encryptedExtensions, .serverKeyExchange, .certificateRequest12, .certificateRequest13,
             .serverHelloDone, .certificateVerify, .clientKeyExchange, .finished, .certificateStatus, .keyUpdate, .unknown:
            throw TLSError.unexpectedMessage(expected: [.certificate], got: message.type)
        }
    }
}

/// RFC 8446 §4.4.3: the signature over the transcript proves the server holds the key.
struct WaitCertificateVerify13: Sendable {
    var handshake: ClientHandshake13
    var peerKey: PeerPublicKey

    consuming func handle(_ message: HandshakeMessage, _ raw: RawHandshakeMessage, _ ctx: inout ClientContext) throws(TLSError) -> ClientState {
        switch message {
        case .certificateVerify(let verify):
            guard handshake.offer.signatureSchemes.contains(verify.scheme), peerKey.canVerify(verify.scheme, version: .tls13) else {
                throw TLSError(.illegalParameter, "server signed with \(verify.scheme), which was not offered or does not fit its key")
            }
            let content = TLS13Support.certificateVerifyContent(server: true, transcriptHash: handshake.transcript.currentHash())
            guard peerKey.verify(signature: verify.signature, data: content, scheme: verify.scheme) else {
                throw TLSError(.decryptError, "bad CertificateVerify signature")
            }
            var next = handshake.take()
            next.signatureScheme = verify.scheme
            next.transcript.append(raw.bytes)
            return .waitFinished13(WaitFinished13(handshake: next))
        case .helloRequest, .clientHello, .serverHello, .helloRetryRequest, .newSessionTicket12, .newSessionTicket13,
             .endOfEarlyData, .encryptedExtensions, .certificate, .serverKeyExchange, .certificateRequest12,
             .certificateRequest13, .serverHelloDone, .clientKeyExchange, .finished, .certificateStatus, .keyUpdate, .unknown:
            throw TLSError.unexpectedMessage(expected: [.certificateVerify], got: message.type)
        }
    }
}

/// RFC 8446 §4.4.4: the server's Finished, then (after chain verification) ours.
struct WaitFinished13: Sendable {
    var handshake: ClientHandshake13

    consuming func handle(_ message: HandshakeMessage, _ raw: RawHandshakeMessage, _ ctx: inout ClientContext) throws(TLSError) -> ClientState {
        switch message {
        case .finished(let finished):
            var next = handshake.take()
            let expected = TLS13Support.finished(keyed: next.serverHandshakeKey, transcriptHash: next.transcript.currentHash())
            guard constantTimeEquals(expected, finished.verifyData) else {
                throw TLSError(.decryptError, "server Finished does not verify")
            }
            next.transcript.append(raw.bytes)
            next.schedule.deriveMasterSecret()
            let transcriptHash = next.transcript.currentHash()
            let clientSecret = next.schedule.clientApplicationTrafficSecret(transcriptHash: transcriptHash)
            let serverSecret = next.schedule.serverApplicationTrafficSecret(transcriptHash: transcriptHash)
            TLS13Support.keyLog(ctx.configuration, "CLIENT_TRAFFIC_SECRET_0", next.offer.random, clientSecret)
            TLS13Support.keyLog(ctx.configuration, "SERVER_TRAFFIC_SECRET_0", next.offer.random, serverSecret)
            TLS13Support.keyLog(ctx.configuration, "EXPORTER_SECRET", next.offer.random, next.schedule.exporterMasterSecret(transcriptHash: transcriptHash))
            // The server's next records (tickets, data) are under its application keys.
            try ctx.records.installReadProtection(try TLS13Support.protection(serverSecret, next.parameters))
            let pending = WaitPeerVerification13(handshake: next, clientApplicationSecret: clientSecret, serverApplicationSecret: serverSecret)
            if let resumed = next.resumed {
                return try pending.sendFlight(verification: resumed.verifyResult.map { VerificationResult.stored(code: $0) }, &ctx)
            }
            switch ctx.configuration.certificateVerification {
            case .none:
                return try pending.sendFlight(verification: nil, &ctx)
            case .required, .reportOnly:
                ctx.records.emit(.verifyPeer(PeerVerificationRequest(chain: next.chain, hostname: ctx.serverName)))
                return .waitPeerVerification13(pending)
            }
        case .helloRequest, .clientHello, .serverHello, .helloRetryRequest, .newSessionTicket12, .newSessionTicket13,
             .endOfEarlyData, .encryptedExtensions, .certificate, .serverKeyExchange, .certificateRequest12,
             .certificateRequest13, .serverHelloDone, .certificateVerify, .clientKeyExchange, .certificateStatus,
             .keyUpdate, .unknown:
            throw TLSError.unexpectedMessage(expected: [.finished], got: message.type)
        }
    }
}

/// The chain is verified outside (asynchronously); then our flight: [CCS], [Certificate], Finished.
struct WaitPeerVerification13: Sendable {
    var handshake: ClientHandshake13
    var clientApplicationSecret: [UInt8]
    var serverApplicationSecret: [UInt8]

    consuming func handle(_ message: HandshakeMessage) throws(TLSError) -> ClientState {
        throw TLSError.unexpectedMessage(expected: [], got: message.type)
    }

    consuming func sendFlight(verification: VerificationResult?, _ ctx: inout ClientContext) throws(TLSError) -> ClientState {
        if handshake.resumed == nil, let verification, !verification.isValid, ctx.configuration.certificateVerification == .required {
            throw TLSError.verificationFailed(verification)
        }
        var handshake = self.handshake.take()
        let parameters = handshake.parameters
        // Appendix D.4: compatibility mode sends a CCS before the first encrypted record.
        if !ctx.records.sentCompatibilityCCS {
            ctx.records.writeChangeCipherSpec()
            ctx.records.sentCompatibilityCCS = true
        }
        // RFC 8446 §4.5: accepted early data ends with EndOfEarlyData under the early key.
        if handshake.earlyDataAccepted == true {
            handshake.transcript.append(ctx.records.writeHandshake(.endOfEarlyData))
        }
        ctx.records.installWriteProtection(handshake.clientHandshakeKey, parameters)
        // RFC 8446 §4.4.2: a request is answered with our Certificate (the request's context
        // echoed), empty when we have none that fits; §4.4.3: a CertificateVerify if not empty.
        var credentials: ClientCredentials?
        if let request = handshake.certificateRequest {
            var serverSchemes: [SignatureScheme] = []
            if case .signatureAlgorithms(let schemes)? = request.extension(.signatureAlgorithms) { serverSchemes = schemes }
            credentials = ClientCredentials.select(
                ctx.configuration, version: .tls13, serverSchemes: serverSchemes, certificateTypes: nil)
            let certificate = credentials?.message(requestContext: request.requestContext)
                ?? CertificateMessage(requestContext: request.requestContext, entries: [])
            handshake.transcript.append(ctx.records.writeHandshake(.certificate(certificate)))
            if let credentials {
                let content = TLS13Support.certificateVerifyContent(server: false, transcriptHash: handshake.transcript.currentHash())
                let signature = try crypto { () throws(CryptoError) in try credentials.key.sign(content, scheme: credentials.scheme) }
                handshake.transcript.append(ctx.records.writeHandshake(
                    .certificateVerify(CertificateVerify(scheme: credentials.scheme, signature: signature))))
            }
        }
        let verifyData = TLS13Support.finished(keyed: handshake.clientHandshakeKey, transcriptHash: handshake.transcript.currentHash())
        handshake.transcript.append(ctx.records.writeHandshake(.finished(Finished(verifyData: verifyData))))
        ctx.records.installWriteProtection(clientApplicationSecret, parameters)
        let resumption = handshake.schedule.resumptionMasterSecret(transcriptHash: handshake.transcript.currentHash())
        // Declined early data goes again, now as ordinary application data; accepted early data
        // is followed by whatever did not fit the ticket's limit.
        if let accepted = handshake.earlyDataAccepted, var data = ctx.earlyData {
            if accepted { data.moveReaderIndex(forwardBy: min(ctx.earlyDataSent, data.readableBytes)) }
            if data.readableBytes > 0 { try ctx.records.writeApplicationData(data) }
        }

        var summary = HandshakeSummary(
            version: .tls13, cipherSuite: parameters.suite, resumed: handshake.resumed != nil, group: handshake.group,
            peerSignatureScheme: handshake.signatureScheme, serverName: handshake.offer.serverName,
            alpn: handshake.alpn, extendedMasterSecret: true, secureRenegotiation: false,
            peerCertificates: handshake.chain, verification: verification, sessionID: handshake.offer.sessionID,
            masterSecret: resumption, ticket: nil, ticketLifetimeHint: nil)
        summary.ticketRenewed = false
        summary.clientCertificateRequested = handshake.certificateRequest != nil
        if case .certificateAuthorities(let names)? = handshake.certificateRequest?.extension(.certificateAuthorities) {
            summary.clientCertificateAuthorities = names
        }
        summary.clientCertificateSent = credentials != nil
        summary.session = handshake.resumed
        summary.earlyDataAccepted = handshake.earlyDataAccepted
        ctx.records.emit(.handshakeCompleted(summary))
        let secrets = ApplicationSecrets13(
            parameters: parameters, client: clientApplicationSecret, server: serverApplicationSecret,
            resumptionMasterSecret: resumption)
        return .connected13(ClientConnected13(summary: summary, secrets: secrets, chain: handshake.chain, verifyResult: verification?.code))
    }
}

/// After the handshake: tickets at any time (RFC 8446 §4.6.1), KeyUpdate (§4.6.3).
struct ClientConnected13: Sendable {
    var summary: HandshakeSummary
    var secrets: ApplicationSecrets13
    var chain: [[UInt8]]
    var verifyResult: Int?

    consuming func handle(_ message: HandshakeMessage, _ ctx: inout ClientContext) throws(TLSError) -> ClientState {
        switch message {
        case .newSessionTicket13(let ticket):
            // RFC 8446 §4.6.1: PSK = HKDF-Expand-Label(resumption_master_secret, "resumption", nonce).
            let psk = KeySchedule13.resumptionPSK(
                resumptionMasterSecret: secrets.resumptionMasterSecret, nonce: ticket.nonce, hash: secrets.parameters.hash)
            var maxEarlyData: UInt32?
            for case .earlyData(let size) in ticket.extensions { maxEarlyData = size }
            let session = SessionState(
                version: .tls13, cipherSuite: secrets.parameters.suite, sessionID: [], masterSecret: psk,
                time: ctx.configuration.clock.now().wholeSeconds, timeout: min(ticket.lifetime, 604_800),
                peerCertificate: chain.first, verifyResult: verifyResult, hostname: summary.serverName,
                ticketLifetimeHint: ticket.lifetime, ticket: ticket.ticket, extendedMasterSecret: true,
                ticketAgeAdd: ticket.ageAdd, maxEarlyData: maxEarlyData, alpn: summary.alpn.map { Array($0.utf8) })
            ctx.records.emit(.sessionIssued(session))
            return .connected13(self)
        case .keyUpdate(let update):
            return try KeyUpdate13.received(update, secrets: secrets, isClient: true, &ctx.records)
                .map { .connected13(ClientConnected13(summary: summary, secrets: $0, chain: chain, verifyResult: verifyResult)) }
                ?? .connected13(self)
        case .helloRequest, .clientHello, .serverHello, .helloRetryRequest, .newSessionTicket12, .endOfEarlyData,
             .encryptedExtensions, .certificate, .serverKeyExchange, .certificateRequest12, .certificateRequest13,
             .serverHelloDone, .certificateVerify, .clientKeyExchange, .finished, .certificateStatus, .unknown:
            throw TLSError.unexpectedMessage(expected: [.newSessionTicket, .keyUpdate], got: message.type)
        }
    }
}

enum KeyUpdate13 {
    /// RFC 8446 §4.6.3: move the peer's traffic secret on; answer update_requested with our own
    /// KeyUpdate (and move ours on).
    static func received(
        _ update: KeyUpdate, secrets: ApplicationSecrets13, isClient: Bool, _ records: inout RecordLayer
    ) throws(TLSError) -> ApplicationSecrets13? {
        var next = secrets
        let hash = secrets.parameters.hash
        if isClient {
            next.server = KeySchedule13.nextTrafficSecret(secrets.server, hash: hash)
            try records.installReadProtection(try TLS13Support.protection(next.server, secrets.parameters))
        } else {
            next.client = KeySchedule13.nextTrafficSecret(secrets.client, hash: hash)
            try records.installReadProtection(try TLS13Support.protection(next.client, secrets.parameters))
        }
        if update.request == .updateRequested {
            next = send(next, isClient: isClient, request: .updateNotRequested, &records)
        }
        return next
    }

    /// Sends a KeyUpdate and moves our own traffic secret on.
    static func send(
        _ secrets: ApplicationSecrets13, isClient: Bool, request: KeyUpdateRequest, _ records: inout RecordLayer
    ) -> ApplicationSecrets13 {
        var next = secrets
        records.writeHandshake(.keyUpdate(KeyUpdate(request: request)))
        let hash = secrets.parameters.hash
        if isClient {
            next.client = KeySchedule13.nextTrafficSecret(secrets.client, hash: hash)
            records.installWriteProtection(next.client, secrets.parameters)
        } else {
            next.server = KeySchedule13.nextTrafficSecret(secrets.server, hash: hash)
            records.installWriteProtection(next.server, secrets.parameters)
        }
        return next
    }
}
