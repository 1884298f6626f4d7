import Foundation
import NIOCore
import TesseraCrypto
import TesseraSessions
import TesseraWire

// TLS 1.3 resumption with PSK tickets (RFC 8446 §2.2, §4.2.11, §4.6.1), psk_dhe_ke only.

/// A stored TLS 1.3 session offered in a ClientHello.
struct PSKOffer: Sendable {
    var session: SessionState
    var ticket: [UInt8]
    var psk: [UInt8]
    var hash: HashAlgorithm
    var obfuscatedAge: UInt32

    /// nil when the session cannot be offered here (not TLS 1.3, no ticket, no suite with its hash).
    init?(session: SessionState, suites: [CipherSuiteParameters], now: Date) {
        guard session.version == .tls13, let ticket = session.ticket, !ticket.isEmpty,
              let parameters = session.cipherSuite.parameters,
              suites.contains(where: { $0.hash == parameters.hash }),
              session.masterSecret.count == parameters.hash.outputLength else { return nil }
        // RFC 8446 §4.6.1: never use a ticket past its lifetime.
        let age = now.timeIntervalSince(session.time)
        guard age >= 0, age < TimeInterval(session.ticketLifetimeHint ?? session.timeout) else { return nil }
        self.session = session
        self.ticket = ticket
        self.psk = session.masterSecret
        self.hash = parameters.hash
        // RFC 8446 §4.2.11.1: age in milliseconds plus ticket_age_add, modulo 2^32.
        let milliseconds = UInt32(truncatingIfNeeded: Int64(age * 1000))
        self.obfuscatedAge = milliseconds &+ (session.ticketAgeAdd ?? 0)
    }

    /// RFC 8446 §4.2.11.2: the binder is a Finished over the hello up to the binders (after
    /// message_hash(ClientHello1) and the HelloRetryRequest when there was one).
    func binder(for hello: ClientHello, prefix: Transcript?) -> [UInt8] {
        PSKBinder.compute(psk: psk, hash: hash, hello: hello, prefix: prefix) ?? []
    }
}

enum PSKBinder {
    static func compute(psk: [UInt8], hash: HashAlgorithm, hello: ClientHello, prefix: Transcript?) -> [UInt8]? {
        guard let truncated = hello.encodedWithoutBinders() else { return nil }
        var transcript = prefix ?? Transcript(hash: hash)
        transcript.append(truncated)
        let schedule = KeySchedule13(hash: hash, psk: psk)
        return TLS13Support.finished(secret: schedule.binderKey(external: false), transcriptHash: transcript.currentHash(), hash: hash)
    }
}

/// The server's decision about the PSKs a ClientHello offers.
struct ServerPSKPolicy {
    let configuration: TLSConfiguration
    let provider: any TicketKeyProvider
    let now: Date

    /// The first identity we can resume, with its binder checked (a bad binder aborts, RFC 8446
    /// §4.2.11). Tickets we cannot use are skipped; the reason of the first is reported.
    func select(
        _ offered: OfferedPSKs, hello: ClientHello, parameters: CipherSuiteParameters, prefix: Transcript?,
        serverName: String?
    ) throws(TLSError) -> (index: Int, session: SessionState)? {
        for (index, identity) in offered.identities.enumerated() {
            guard index < offered.binders.count, let session = try open(identity, parameters: parameters, serverName: serverName) else {
                continue
            }
            guard let expected = PSKBinder.compute(psk: session.masterSecret, hash: parameters.hash, hello: hello, prefix: prefix),
                  constantTimeEquals(expected, offered.binders[index]) else {
                throw TLSError(.decryptError, "PSK binder does not verify")
            }
            return (index, session)
        }
        return nil
    }

    private func open(_ identity: PSKIdentity, parameters: CipherSuiteParameters, serverName: String?) throws(TLSError) -> SessionState? {
        let ticket = identity.identity
        guard ticket.count <= TicketSealing.maximumTicketLength, let name = TicketSealing.keyName(of: ticket) else { return nil }
        let lookup: TicketKeyLookup
        do {
            lookup = try provider.lookup(keyName: name, at: now)
        } catch {
            throw TLSError(.internalError, "ticket key hook failed: \(error)")
        }
        let key: TicketKey
        switch lookup {
        case .notFound: return nil
        case .valid(let found), .validRenew(let found): key = found
        }
        guard let plaintext = try? TicketSealing.open(ticket, key: key),
              let session = try? SessionState(derEncoded: plaintext),
              session.version == .tls13,
              session.cipherSuite.parameters?.hash == parameters.hash,
              session.sessionIDContext == ServerTicketPolicy.scope(configuration) else { return nil }
        if let serverName, let hostname = session.hostname, serverName.lowercased() != hostname.lowercased() { return nil }
        // Lifetime from the original authentication (never extended by later tickets).
        let age = now.timeIntervalSince(session.time)
        guard age >= -60, age < min(TimeInterval(session.timeout), configuration.maxSessionLifetime, 604_800) else { return nil }
        return session
    }
}
