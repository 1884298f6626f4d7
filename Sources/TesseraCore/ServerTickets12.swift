import Crypto
import Foundation
import NIOCore
import TesseraCrypto
import TesseraSessions
import TesseraWire

// RFC 5077 on the server: accept a ticket for the abbreviated handshake (renewing it when the key
// hook says so), fall back to a full handshake for any ticket it will not resume, and issue
// tickets after full handshakes.

/// OpenSSL's client names a TLS 1.2 ticket session by the SHA-256 of its ticket and sends that
/// session ID with the ticket, so that a resuming server's echo tells it "resumed"
/// (RFC 5077 §3.4). Session files must carry it for `openssl s_client -sess_in` to resume.
func sessionID(forTicket ticket: [UInt8]) -> [UInt8] {
    SHA256.hash(data: ticket).byteArray
}

/// What the server decided about an offered ticket.
enum TicketDecision {
    case resume(SessionState, renew: Bool)
    case fullHandshake(ResumptionFailure?)
}

struct ServerTicketPolicy {
    let provider: any TicketKeyProvider
    let now: Date
    let scope: [UInt8]
    // No copy of the configuration is kept (twenty-odd references to retain and release on every
    // handshake): `evaluate` and `issue` borrow it.

    /// RFC 5077 §3.1, §4; RFC 7627 §5.3; RFC 5246 §7.4.1.2. Throws only where the RFC says to
    /// abort (EMS dropped by the client) or the key hook fails.
    func evaluate(
        ticket: [UInt8], hello: ClientHello, clientOffersEMS: Bool, serverName: String?, _ configuration: TLSConfiguration
    ) throws(TLSError) -> TicketDecision {
        guard ticket.count <= TicketSealing.maximumTicketLength else { return .fullHandshake(.tooLarge) }
        guard let name = TicketSealing.keyName(of: ticket) else { return .fullHandshake(.undecodable) }
        let lookup: TicketKeyLookup
        do {
            lookup = try provider.lookup(keyName: name, at: now)
        } catch {
            throw TLSError(.internalError, "ticket key hook failed: \(error)")
        }
        let key: TicketKey
        let renew: Bool
        switch lookup {
        case .notFound(.unknownKey): return .fullHandshake(.unknownKey)
        case .notFound(.expiredKey): return .fullHandshake(.expiredKey)
        case .valid(let found): key = found; renew = false
        case .validRenew(let found): key = found; renew = true
        }
        let plaintext: [UInt8]
        do {
            plaintext = try TicketSealing.open(ticket, key: key)
        } catch {
            return .fullHandshake(.badMAC)
        }
        guard let session = try? SessionState(derEncoded: plaintext) else { return .fullHandshake(.undecodable) }

        // RFC 5246 §7.4.1.2: same version, and a suite the client still offers and we still run.
        guard session.version == .tls12, hello.cipherSuites.contains(session.cipherSuite),
              configuration.tls12Suites.contains(where: { $0.suite == session.cipherSuite }) else {
            return .fullHandshake(.versionOrCipherMismatch)
        }
        // DESIGN.md §5: a session belongs to one context (virtual host).
        guard session.sessionIDContext == scope, ServerClientAuth.resumable(session, configuration) else {
            return .fullHandshake(.scopeMismatch)
        }
        if let serverName, let hostname = session.hostname, serverName.lowercased() != hostname.lowercased() {
            return .fullHandshake(.scopeMismatch)
        }
        // RFC 7627 §5.3.
        if session.extendedMasterSecret, !clientOffersEMS {
            throw TLSError(.handshakeFailure, "client dropped extended master secret for an EMS session")
        }
        if !session.extendedMasterSecret, clientOffersEMS || configuration.requireExtendedMasterSecret {
            return .fullHandshake(.emsMismatch)
        }
        // Lifetime from the original authentication, never extended by renewal.
        let age = now.timeIntervalSince(session.time)
        guard age >= -60, age < min(TimeInterval(session.timeout), configuration.maxSessionLifetime) else {
            return .fullHandshake(.lifetimeCap)
        }
        return .resume(session, renew: renew)
    }

    /// Whether a ticket can be issued now. When no key may encrypt (only staged or retiring keys,
    /// say), the server does not acknowledge the SessionTicket extension at all, so it sends no
    /// NewSessionTicket and the handshake goes on without one (RFC 5077 §3.2: the extension is
    /// acknowledged only when a ticket will be sent).
    var canIssue: Bool { provider.canEncrypt(at: now) }

    /// A NewSessionTicket for `session` under the current key, or an empty one (RFC 5077 §3.3)
    /// when no key may encrypt now (the key vanished after the hello was answered).
    func issue(_ session: SessionState, _ configuration: TLSConfiguration) -> NewSessionTicket12 {
        guard let key = provider.encryptionKey(at: now) else {
            return NewSessionTicket12(lifetimeHint: 0, ticket: [])
        }
        // The sealed state carries no ticket of its own. A server's sessions have none, so the
        // copy that strips them is made only for one that does.
        let state: [UInt8]
        if session.ticket == nil, session.ticketLifetimeHint == nil {
            state = session.derEncoded()
        } else {
            var sealed = session
            sealed.ticket = nil
            sealed.ticketLifetimeHint = nil
            state = sealed.derEncoded()
        }
        let remaining = min(TimeInterval(session.timeout), configuration.maxSessionLifetime) - now.timeIntervalSince(session.time)
        let hint = UInt32(clamping: min(Int(provider.lifetimeHint(at: now)), max(0, Int(remaining))))
        return NewSessionTicket12(lifetimeHint: hint, ticket: TicketSealing.seal(state, key: key))
    }

    /// The default scope: the leaf certificate's identity, so different hosts never share.
    static func scope(_ configuration: TLSConfiguration) -> [UInt8] {
        configuration.sessionIDContext ?? configuration.leafScope
    }
}

/// RFC 5077 §3.1 Figure 2: the server resumed; its Finished is out, the client's CCS is next.
struct WaitResumedClientChangeCipherSpec: Sendable {
    var resumed: ServerResumed12

    consuming func handle(_ message: HandshakeMessage) throws(TLSError) -> ServerState {
        throw TLSError(.unexpectedMessage, "unexpected message: expected ChangeCipherSpec, got \(message.type.displayName)")
    }

    consuming func handleChangeCipherSpec(_ ctx: inout ServerContext) throws(TLSError) -> ServerState {
        try ctx.records.installReadProtection(resumed.keys.clientProtection)
        return .waitResumedClientFinished(WaitResumedClientFinished(resumed: resumed))
    }
}

struct WaitResumedClientFinished: Sendable {
    var resumed: ServerResumed12

    consuming func handle(_ message: HandshakeMessage, _ raw: RawHandshakeMessage, _ ctx: inout ServerContext) throws(TLSError) -> ServerState {
        switch message {
        case .finished(let finished):
            let expected = resumed.keys.verifyData(.client, handshakeHash: resumed.negotiated.transcript.currentHash())
            guard constantTimeEquals(expected, finished.verifyData) else {
                throw TLSError(.decryptError, "client Finished does not verify")
            }
            // The action takes a copy of the summary; the connected state takes it by move.
            ctx.records.emit(.handshakeCompleted(resumed.summary))
            return .connected(ServerConnected(
                summary: HandshakeSummary.moving(&resumed.summary), clientVerifyData: finished.verifyData,
                serverVerifyData: resumed.serverVerifyData))
        case .helloRequest, .clientHello, .serverHello, .helloRetryRequest, .newSessionTicket12,
             .newSessionTicket13, .endOfEarlyData, .encryptedExtensions, .certificate, .serverKeyExchange,
             .certificateRequest12, .certificateRequest13, .serverHelloDone, .certificateVerify,
             .clientKeyExchange, .certificateStatus, .keyUpdate, .unknown:
            throw TLSError.unexpectedMessage(expected: [.finished], got: message.type)
        }
    }
}

/// A resumed server handshake after its flight (ServerHello, [NewSessionTicket], CCS, Finished).
struct ServerResumed12: Sendable {
    var negotiated: Negotiated12
    var keys: Keys12
    var serverVerifyData: [UInt8]
    /// Carries the resumed session (`summary.session`), reported once the client's Finished checks out.
    var summary: HandshakeSummary
}
