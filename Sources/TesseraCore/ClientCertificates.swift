import Foundation
import TesseraCrypto
import TesseraSessions
import TesseraWire

// Client certificates (mutual TLS) pieces both versions and both sides use:
// RFC 5246 §7.4.4, §7.4.6, §7.4.8; RFC 8446 §4.3.2, §4.4.2–§4.4.3.

/// The client's certificate and the scheme it signs its CertificateVerify with.
struct ClientCredentials: Sendable {
    var chain: CertificateChain
    var key: SigningKey
    var scheme: SignatureScheme

    /// The client has something it could send.
    static func available(_ configuration: TLSConfiguration) -> Bool {
        configuration.privateKey != nil && !(configuration.certificateChain?.derEncoded.isEmpty ?? true)
    }

    /// Our chain if our key can sign with one of the server's schemes (and, in TLS 1.2, is of a
    /// certificate type it asked for); nil means an empty Certificate (RFC 5246 §7.4.6,
    /// RFC 8446 §4.4.2).
    static func select(
        _ configuration: TLSConfiguration, version: ProtocolVersion, serverSchemes: [SignatureScheme],
        certificateTypes: [UInt8]?
    ) -> ClientCredentials? {
        guard let chain = configuration.certificateChain, !chain.derEncoded.isEmpty,
              let key = configuration.privateKey else { return nil }
        if let certificateTypes {
            // RFC 5246 §7.4.4: rsa_sign(1); RFC 8422 §5.5: ecdsa_sign(64), also for EdDSA keys.
            let type: UInt8
            switch key.kind {
            case .rsa: type = 1
            case .p256, .p384, .ed25519: type = 64
            }
            guard certificateTypes.contains(type) else { return nil }
        }
        guard let scheme = Negotiation.firstCommon(ours: key.supportedSchemes(version: version), theirs: serverSchemes) else {
            return nil
        }
        return ClientCredentials(chain: chain, key: key, scheme: scheme)
    }

    func message(requestContext: [UInt8]) -> CertificateMessage {
        CertificateMessage(
            requestContext: requestContext,
            entries: chain.derEncoded.map { CertificateEntry(certificate: $0, extensions: []) })
    }
}

/// What a server learnt of the client's certificate in a full handshake.
struct ClientCertificateResult: Sendable {
    var chain: [[UInt8]]
    /// Set once the CertificateVerify checked out (RFC 5246 §7.4.8).
    var scheme: SignatureScheme?
    var verification: VerificationResult?
}

enum ServerClientAuth {
    /// RFC 5246 §7.4.4: ecdsa_sign and rsa_sign, the schemes we verify, the configured CA names.
    static func request12(_ configuration: TLSConfiguration) -> CertificateRequest12 {
        CertificateRequest12(
            certificateTypes: [1, 64], signatureSchemes: schemes(configuration),
            certificateAuthorities: configuration.clientCertificateAuthorityNames)
    }

    /// RFC 8446 §4.3.2: an empty context (not post-handshake), signature_algorithms, and
    /// certificate_authorities (§4.2.4) when CA names are configured.
    static func request13(_ configuration: TLSConfiguration) -> CertificateRequest13 {
        let names = configuration.clientCertificateAuthorityNames
        return CertificateRequest13(
            requestContext: [],
            extensions: [.signatureAlgorithms(schemes(configuration))] + (names.isEmpty ? [] : [.certificateAuthorities(names)]))
    }

    /// The schemes we can check, in our order.
    static func schemes(_ configuration: TLSConfiguration) -> [SignatureScheme] {
        let verifiable = TLSConfiguration.defaultSignatureSchemes
        let schemes = configuration.signatureSchemes.filter { verifiable.contains($0) }
        return schemes.isEmpty ? verifiable : schemes
    }

    /// RFC 5246 §7.4.8, RFC 8446 §4.4.3: the client's CertificateVerify must use a scheme from our
    /// CertificateRequest that fits its key (and the version), else `illegal_parameter`, and its
    /// signature over `signed` must verify under the key, else `decrypt_error`.
    static func checkProof(
        _ verify: CertificateVerify, key: PeerPublicKey, signed: [UInt8], version: ProtocolVersion,
        _ configuration: TLSConfiguration
    ) throws(TLSError) {
        guard schemes(configuration).contains(verify.scheme), key.canVerify(verify.scheme, version: version) else {
            throw TLSError(.illegalParameter, "client signed with \(verify.scheme), which was not offered or does not fit its key")
        }
        guard key.verify(signature: verify.signature, data: signed, scheme: verify.scheme) else {
            throw TLSError(.decryptError, "bad client CertificateVerify signature")
        }
    }

    /// The client's leaf key; a certificate we cannot use is `bad_certificate` (or
    /// `unsupported_certificate` for a key type we do not handle), as OpenSSL answers.
    static func leafKey(_ certificate: CertificateMessage) throws(TLSError) -> PeerPublicKey? {
        guard let leaf = certificate.entries.first else { return nil }
        do {
            return try PeerPublicKey(certificateDER: leaf.certificate)
        } catch {
            switch error.code {
            case .unsupportedAlgorithm, .invalidKey:
                throw TLSError(.unsupportedCertificate, "client certificate: \(error.message)")
            case .badRecordMAC, .recordOverflow, .invalidInnerPlaintext, .invalidPublicKey, .invalidSharedSecret,
                 .signatureFailed, .sequenceOverflow, .invalidCertificate, .io:
                throw TLSError(.badCertificate, "client certificate: \(error.message)")
            }
        }
    }

    /// A session resumed under `.required` must have authenticated a client (a configuration
    /// change may leave older sessions without one).
    static func resumable(_ session: SessionState, _ configuration: TLSConfiguration) -> Bool {
        configuration.clientAuthentication != .required || session.peerCertificate != nil
    }

    /// The leaf as a session keeps it (OpenSSL's `[3] peer` is the leaf only), bounded so that
    /// the ticket stays well under `TicketSealing.maximumTicketLength`.
    static func sessionPeer(_ chain: [[UInt8]]) -> [UInt8]? {
        guard let leaf = chain.first, leaf.count <= 8192 else { return nil }
        return leaf
    }
}

/// The client's chain is being verified outside the state machine (swift-certificates'
/// verifier is asynchronous), after its CertificateVerify checked out; nothing is read until the
/// driver reports the result through `peerVerificationCompleted(_:)`.
struct WaitClientChainVerification: Sendable {
    enum Next: Sendable {
        case tls12(WaitClientChangeCipherSpec)
        case tls13(WaitClientFinished13)
    }

    var next: Next

    /// Asks the driver to verify `chain` (no host name: a client certificate names no host),
    /// unless verification is off.
    static func start(_ chain: [[UInt8]], then next: Next, _ ctx: inout ServerContext) -> ServerState {
        let waiting = WaitClientChainVerification(next: next)
        switch ctx.configuration.certificateVerification {
        case .none:
            return waiting.proceed(verification: nil)
        case .required, .reportOnly:
            ctx.records.emit(.verifyPeer(PeerVerificationRequest(chain: chain, hostname: nil, purpose: .client)))
            return .waitClientChainVerification(waiting)
        }
    }

    consuming func handle(_ message: HandshakeMessage) throws(TLSError) -> ServerState {
        // Unreachable in practice: input is held while verifying. Kept total for safety.
        throw TLSError.unexpectedMessage(expected: [], got: message.type)
    }

    /// A chain that does not verify aborts under `.required` with the alert OpenSSL picks for
    /// its verify code (unknown_ca, certificate_expired, bad_certificate).
    func completed(_ verification: VerificationResult, _ ctx: inout ServerContext) throws(TLSError) -> ServerState {
        if !verification.isValid, ctx.configuration.certificateVerification == .required {
            throw TLSError.verificationFailed(verification)
        }
        return proceed(verification: verification)
    }

    private func proceed(verification: VerificationResult?) -> ServerState {
        switch next {
        case .tls12(var waiting):
            waiting.handshake.clientCertificate?.verification = verification
            return .waitClientChangeCipherSpec(waiting)
        case .tls13(var waiting):
            waiting.summary.verification = verification
            return .waitClientFinished13(waiting)
        }
    }
}
