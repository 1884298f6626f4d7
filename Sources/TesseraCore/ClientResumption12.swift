import Foundation
import NIOCore
import TesseraCrypto
import TesseraSessions
import TesseraWire

// The abbreviated TLS 1.2 handshake on the client (RFC 5246 §7.3 Figure 2, RFC 5077 §3.1–3.4):
// ServerHello, [NewSessionTicket], ChangeCipherSpec, Finished from the server; then our
// ChangeCipherSpec and Finished. The report this project began from is exactly the renewed
// shape, which OpenSSL's client once refused.

/// A resumed client handshake: keys from the stored master secret and the new randoms.
struct ResumedClient12: Sendable {
    var negotiated: Negotiated12
    var keys: Keys12
    var session: SessionState

    /// Decided once, from the ServerHello: an acknowledged SessionTicket extension means a
    /// NewSessionTicket (renewal) comes before the server's ChangeCipherSpec.
    static func start(session: SessionState, negotiated: Negotiated12, _ ctx: inout ClientContext) throws(TLSError) -> ClientState {
        // RFC 5246 §7.4.1.3: a resumed session keeps its suite.
        guard negotiated.parameters.suite == session.cipherSuite else {
            throw TLSError(.illegalParameter, "server resumed with \(negotiated.parameters.suite), the session has \(session.cipherSuite)")
        }
        // RFC 7627 §5.3: the EMS state of a resumed session must not change.
        guard negotiated.extendedMasterSecret == session.extendedMasterSecret else {
            throw TLSError(.handshakeFailure, "server resumed with extended master secret \(negotiated.extendedMasterSecret ? "on" : "off"), the session had it \(session.extendedMasterSecret ? "on" : "off")")
        }
        let keys = try Keys12.fromMasterSecret(session.masterSecret, negotiated: negotiated)
        let resumed = ResumedClient12(negotiated: negotiated, keys: keys, session: session)
        if negotiated.ticketExpected {
            return .waitResumedNewSessionTicket(WaitResumedNewSessionTicket(resumed: resumed))
        }
        return .waitResumedChangeCipherSpec(WaitResumedChangeCipherSpec(resumed: resumed, ticket: nil))
    }
}

/// RFC 5077 §3.1 Figure 2: the server resumed and acknowledged the SessionTicket extension, so it
/// renews the ticket before its ChangeCipherSpec.
struct WaitResumedNewSessionTicket: Sendable {
    var resumed: ResumedClient12

    consuming func handle(_ message: HandshakeMessage, _ raw: RawHandshakeMessage, _ ctx: inout ClientContext) throws(TLSError) -> ClientState {
        switch message {
        case .newSessionTicket12(let ticket):
            var next = resumed
            next.negotiated.transcript.append(raw.bytes)
            // RFC 5077 §3.3: not valid until the server's Finished is verified.
            return .waitResumedChangeCipherSpec(WaitResumedChangeCipherSpec(resumed: next, ticket: ticket))
        case .helloRequest:
            return .waitResumedNewSessionTicket(self)
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

struct WaitResumedChangeCipherSpec: Sendable {
    var resumed: ResumedClient12
    var ticket: NewSessionTicket12?

    consuming func handle(_ message: HandshakeMessage) throws(TLSError) -> ClientState {
        if case .helloRequest = message { return .waitResumedChangeCipherSpec(self) }
        throw TLSError(.unexpectedMessage, "unexpected message: expected ChangeCipherSpec, got \(message.type.displayName)")
    }

    consuming func handleChangeCipherSpec(_ ctx: inout ClientContext) throws(TLSError) -> ClientState {
        try ctx.records.installReadProtection(resumed.keys.serverProtection)
        return .waitResumedFinished(WaitResumedFinished(resumed: resumed, ticket: ticket))
    }
}

/// The server's Finished (constant-time check), then our ChangeCipherSpec and Finished. Only
/// now does a renewed ticket replace the stored session.
struct WaitResumedFinished: Sendable {
    var resumed: ResumedClient12
    var ticket: NewSessionTicket12?

    consuming func handle(_ message: HandshakeMessage, _ raw: RawHandshakeMessage, _ ctx: inout ClientContext) throws(TLSError) -> ClientState {
        switch message {
        case .finished(let finished):
            var negotiated = resumed.negotiated
            let keys = resumed.keys
            let expected = keys.verifyData(.server, handshakeHash: negotiated.transcript.currentHash())
            guard constantTimeEquals(expected, finished.verifyData) else {
                throw TLSError(.decryptError, "server Finished does not verify")
            }
            negotiated.transcript.append(raw.bytes)
            ctx.records.writeChangeCipherSpec()
            ctx.records.installWriteProtection(keys.clientProtection)
            let clientVerifyData = keys.verifyData(.client, handshakeHash: negotiated.transcript.currentHash())
            negotiated.transcript.append(ctx.records.writeHandshake(.finished(Finished(verifyData: clientVerifyData))))

            // RFC 5077 §3.3: an empty ticket keeps the session we have.
            var session = resumed.session
            var renewed = false
            if let ticket, !ticket.ticket.isEmpty {
                session.ticket = ticket.ticket
                session.ticketLifetimeHint = ticket.lifetimeHint
                session.sessionID = sessionID(forTicket: ticket.ticket)
                renewed = true
                ctx.records.emit(.sessionIssued(session))
            }
            var summary = HandshakeSummary(
                version: .tls12, cipherSuite: negotiated.parameters.suite, resumed: true, group: nil,
                peerSignatureScheme: nil, serverName: negotiated.serverName, alpn: negotiated.alpn,
                extendedMasterSecret: negotiated.extendedMasterSecret,
                secureRenegotiation: negotiated.secureRenegotiation,
                peerCertificates: session.peerCertificate.map { [$0] } ?? [],
                verification: session.verifyResult.map { VerificationResult.stored(code: $0) },
                sessionID: negotiated.sessionID, masterSecret: keys.masterSecret, ticket: session.ticket,
                ticketLifetimeHint: session.ticketLifetimeHint)
            summary.session = session
            summary.ticketRenewed = renewed
            ctx.records.emit(.handshakeCompleted(summary))
            return .connected(ClientConnected(
                summary: summary, clientVerifyData: clientVerifyData, serverVerifyData: finished.verifyData))
        case .helloRequest:
            return .waitResumedFinished(self)
        case .clientHello, .serverHello, .helloRetryRequest, .newSessionTicket12, .newSessionTicket13,
             .endOfEarlyData, .encryptedExtensions, .certificate, .serverKeyExchange, .certificateRequest12,
             .certificateRequest13, .serverHelloDone, .certificateVerify, .clientKeyExchange, .certificateStatus,
             .keyUpdate, .unknown:
            throw TLSError.unexpectedMessage(expected: [.finished], got: message.type)
        }
    }
}

extension VerificationResult {
    /// The verification result a stored session remembers (no new verification happens on
    /// resumption).
    static func stored(code: Int) -> VerificationResult {
        VerificationResult(isValid: code == 0, code: code, message: openSSLMessage(code))
    }

    /// OpenSSL's words for its verify codes (`X509_verify_cert_error_string`).
    public static func openSSLMessage(_ code: Int) -> String {
        switch code {
        case 0: return "ok"
        case 9: return "certificate is not yet valid"
        case 10: return "certificate has expired"
        case 18: return "self-signed certificate"
        case 19: return "self-signed certificate in certificate chain"
        case 20: return "unable to get local issuer certificate"
        case 21: return "unable to verify the first certificate"
        case 22: return "certificate chain too long"
        case 24: return "invalid CA certificate"
        case 25: return "path length constraint exceeded"
        case 26: return "unsupported certificate purpose"
        case 34: return "unhandled critical extension"
        case 62: return "hostname mismatch"
        case 64: return "IP address mismatch"
        default: return "verify error \(code)"
        }
    }
}
