import Crypto
import Foundation
import NIOCore
import TesseraCrypto
import TesseraSessions
import TesseraWire

// TLS 1.3 resumption with PSK tickets (RFC 8446 §2.2, §4.2.11, §4.6.1): psk_dhe_ke, and psk_ke
// when configured (§4.2.9).

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
    /// Client: over our own ClientHello's encoding, truncated before the binders.
    static func compute(psk: [UInt8], hash: HashAlgorithm, hello: ClientHello, prefix: Transcript?) -> [UInt8]? {
        guard let truncated = hello.encodedWithoutBinders() else { return nil }
        return compute(psk: psk, hash: hash, truncatedHello: truncated, prefix: prefix).binder
    }

    /// Server: over the ClientHello exactly as received, up to its binders list (RFC 8446
    /// §4.2.11.2). pre_shared_key is the last extension (the decoder enforces it), so the binders
    /// vector is the message's tail; re-encoding the decoded hello is not needed.
    static func truncated(received: ByteBuffer, offered: OfferedPSKs) -> ByteBuffer? {
        let keep = received.readableBytes - offered.bindersEncodedLength
        guard keep >= 0 else { return nil }
        return received.getSlice(at: received.readerIndex, length: keep)
    }

    /// RFC 8446 §4.2.11.2: a Finished over the transcript up to the binders (after
    /// message_hash(ClientHello1) and the HelloRetryRequest when there was one), under the binder
    /// key of the PSK's early secret. The transcript and the key schedule come back with it: a
    /// server that accepts the PSK goes on with both, so the hello is hashed and the early secret
    /// extracted once.
    static func compute(
        psk: [UInt8], hash: HashAlgorithm, truncatedHello: ByteBuffer, prefix: Transcript?
    ) -> (binder: [UInt8], transcript: Transcript, schedule: KeySchedule13) {
        var transcript = prefix ?? Transcript(hash: hash)
        transcript.append(truncatedHello)
        let schedule = KeySchedule13(hash: hash, psk: psk)
        let binder = TLS13Support.finished(secret: schedule.binderKey(external: false), transcriptHash: transcript.currentHash(), hash: hash)
        return (binder, transcript, schedule)
    }
}

/// The server's decision about the PSKs a ClientHello offers.
struct ServerPSKPolicy {
    let provider: any TicketKeyProvider
    let now: Date

    /// The first identity we can resume, with its binder checked (a bad binder aborts, RFC 8446
    /// §4.2.11). Tickets we cannot use are skipped; `failure` is why the first one was (the
    /// resumption-failure metrics, the same reasons as TLS 1.2's).
    func select(
        _ offered: OfferedPSKs, received: ByteBuffer, parameters: CipherSuiteParameters, prefix: Transcript?,
        serverName: String?, _ configuration: TLSConfiguration
    ) throws(TLSError) -> (chosen: PSKSelection?, failure: ResumptionFailure?) {
        var failure: ResumptionFailure?
        for (index, identity) in offered.identities.enumerated() where index < offered.binders.count {
            let session: SessionState
            let renew: Bool
            switch try open(identity, parameters: parameters, serverName: serverName, configuration) {
            case .failure(let reason):
                failure = failure ?? reason
                continue
            case .success(let opened):
                (session, renew) = opened
            }
            // RFC 8446 §4.2.11.2. The early secret and the transcript go on into the handshake
            // (`PSKSelection`), completed with the binders.
            guard let truncated = PSKBinder.truncated(received: received, offered: offered),
                  let binders = received.getSlice(
                      at: received.readerIndex + truncated.readableBytes, length: received.readableBytes - truncated.readableBytes)
            else {
                throw TLSError(.decryptError, "PSK binder does not verify")
            }
            let (expected, hashedHello, schedule) = PSKBinder.compute(
                psk: session.masterSecret, hash: parameters.hash, truncatedHello: truncated, prefix: prefix)
            guard constantTimeEquals(expected, offered.binders[index]) else {
                throw TLSError(.decryptError, "PSK binder does not verify")
            }
            var transcript = consume hashedHello
            transcript.append(binders)
            return (PSKSelection(index: index, session: session, renew: renew, schedule: schedule, transcript: transcript), nil)
        }
        return (nil, failure)
    }

    private enum Opened {
        case success((SessionState, Bool))
        case failure(ResumptionFailure)
    }

    /// The ticket's session and whether its key asks for renewal, or why it cannot resume.
    private func open(
        _ identity: PSKIdentity, parameters: CipherSuiteParameters, serverName: String?, _ configuration: TLSConfiguration
    ) throws(TLSError) -> Opened {
        let ticket = identity.identity
        guard ticket.count <= TicketSealing.maximumTicketLength else { return .failure(.tooLarge) }
        guard let name = TicketSealing.keyName(of: ticket) else { return .failure(.undecodable) }
        let lookup: TicketKeyLookup
        do {
            lookup = try provider.lookup(keyName: name, at: now)
        } catch {
            throw TLSError(.internalError, "ticket key hook failed: \(error)")
        }
        let key: TicketKey
        let renew: Bool
        switch lookup {
        case .notFound(.unknownKey): return .failure(.unknownKey)
        case .notFound(.expiredKey): return .failure(.expiredKey)
        case .valid(let found): key = found; renew = false
        case .validRenew(let found): key = found; renew = true
        }
        guard let plaintext = try? TicketSealing.open(ticket, key: key) else { return .failure(.badMAC) }
        guard let session = try? SessionState(derEncoded: plaintext) else { return .failure(.undecodable) }
        guard session.version == .tls13, session.cipherSuite.parameters?.hash == parameters.hash else {
            return .failure(.versionOrCipherMismatch)
        }
        guard session.sessionIDContext == ServerTicketPolicy.scope(configuration),
              ServerClientAuth.resumable(session, configuration) else { return .failure(.scopeMismatch) }
        if let serverName, let hostname = session.hostname, serverName.lowercased() != hostname.lowercased() {
            return .failure(.scopeMismatch)
        }
        // Lifetime from the original authentication (never extended by later tickets).
        let age = now.timeIntervalSince(session.time)
        guard age >= -60, age < min(TimeInterval(session.timeout), configuration.maxSessionLifetime, 604_800) else {
            return .failure(.lifetimeCap)
        }
        return .success((session, renew))
    }
}

/// The PSK a server resumes: its position in the client's list, the session, and whether the
/// key hook asked for renewal (the ticket's key is retiring; the new ticket sent after the
/// handshake replaces it, and the handshake counts as renewed).
struct PSKSelection: Sendable {
    var index: Int
    var session: SessionState
    var renew: Bool
    /// The key schedule at its early secret (RFC 8446 §7.1, from this PSK), as the binder used it.
    var schedule: KeySchedule13
    /// The transcript through the whole ClientHello (after the HelloRetryRequest prefix, if any).
    var transcript: Transcript
}

/// RFC 8446 §8: accept each ticket's early data once. Bounded: entries expire with the ticket's
/// freshness window, and past `capacity` live entries new early data is refused (never
/// accepted twice).
public final class EarlyDataReplayCache: @unchecked Sendable {
    private let lock = NSLock()
    private var seen: [[UInt8]: Date] = [:]
    private let capacity: Int

    public init(capacity: Int = 100_000) {
        self.capacity = capacity
    }

    /// True the first time `identity` is offered before `expiry`.
    func firstUse(of identity: [UInt8], now: Date, expiry: Date) -> Bool {
        let key = SHA256.hash(data: identity).byteArray
        lock.lock()
        defer { lock.unlock() }
        if seen.count >= capacity { seen = seen.filter { $0.value > now } }
        guard seen[key] == nil, seen.count < capacity else { return false }
        seen[key] = expiry
        return true
    }
}

enum EarlyData13 {
    /// RFC 8446 §4.2.10, §8: accept 0-RTT only with the first PSK, a ticket that allows it, the
    /// ticket's suite and ALPN, a fresh ticket age, and never twice for one ticket.
    static func acceptable(
        session: SessionState, index: Int, offered: OfferedPSKs?, parameters: CipherSuiteParameters, alpn: String?,
        _ configuration: TLSConfiguration
    ) -> Bool {
        guard index == 0, configuration.maxEarlyData > 0, (session.maxEarlyData ?? 0) > 0,
              session.cipherSuite == parameters.suite,
              session.alpn == alpn.map({ Array($0.utf8) }),
              let identity = offered?.identities.first else { return false }
        let now = configuration.clock.now()
        // The client's view of the ticket's age against ours (§8.3). Tickets carry the time they
        // were issued after a full handshake; renewed ones keep the original time and so are
        // never fresh enough: they resume, without 0-RTT.
        let clientAge = TimeInterval(identity.obfuscatedTicketAge &- (session.ticketAgeAdd ?? 0)) / 1000
        let serverAge = now.timeIntervalSince(session.time)
        guard abs(clientAge - serverAge) <= configuration.earlyDataFreshness else { return false }
        return configuration.earlyDataReplay.firstUse(
            of: identity.identity, now: now, expiry: session.time + TimeInterval(session.timeout))
    }

    /// RFC 8446 §2.3, §7.1: after the ClientHello, a compatibility CCS, then the early data under
    /// client_early_traffic_secret (at most what the ticket allows; the rest waits).
    static func send(_ data: ByteBuffer, psk: PSKOffer, hello: ByteBuffer, random: [UInt8], _ ctx: inout ClientContext) throws(TLSError) {
        guard let parameters = psk.session.cipherSuite.parameters else { return }
        var transcript = Transcript(hash: psk.hash)
        transcript.append(hello)
        let secret = KeySchedule13(hash: psk.hash, psk: psk.psk).clientEarlyTrafficSecret(transcriptHash: transcript.currentHash())
        TLS13Support.keyLog(ctx.configuration, "CLIENT_EARLY_TRAFFIC_SECRET", random, secret)
        ctx.records.writeChangeCipherSpec()
        ctx.records.sentCompatibilityCCS = true
        ctx.records.installWriteProtection(secret, parameters)
        let allowed = Int(psk.session.maxEarlyData ?? 0)
        var early = data
        if let slice = early.readSlice(length: min(allowed, early.readableBytes)) {
            try ctx.records.writeApplicationData(slice)
            ctx.earlyDataSent = slice.readableBytes
        }
    }
}
