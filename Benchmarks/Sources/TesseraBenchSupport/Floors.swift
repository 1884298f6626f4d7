import Crypto
import Foundation
import SwiftASN1
import TesseraCrypto
import TesseraSessions
import TesseraWire
import _CryptoExtras

// The library floors' work (Benchmarks/README.md, "Library floors"): the swift-crypto and
// swift-asn1 calls a TLS server makes for one piece of work, with no TLS code around them. The
// benchmarks (Benchmarks/TLS12Handshake/Floors.swift, Paired.swift) and the callgrind profile
// (Sources/HandshakeProfile, run-callgrind.sh) run the same structs.

/// One handshake's library calls, inputs prepared once; `run()` returns a value to keep.
public protocol HandshakeFloorWork {
    func run() -> Int
}

/// The inputs of one resumed TLS 1.2 server handshake, made once; `run()` does its library calls.
public struct ResumedServerFloor: HandshakeFloorWork, Sendable {
    let ticketKey = TicketKey.generate()
    let ticket: [UInt8]
    let clientHello = [UInt8](repeating: 0x01, count: 320)  // with a ~200-byte ticket
    let serverHello = [UInt8](repeating: 0x02, count: 90)
    let finished = [UInt8](repeating: 0x14, count: 16)
    let clientRandom = [UInt8](repeating: 0x03, count: 32)
    let clientFinishedRecord: AES.GCM.SealedBox
    let clientWriteKey = [UInt8](repeating: 0x04, count: 16)
    let serverWriteKey = [UInt8](repeating: 0x05, count: 16)
    let nonce: AES.GCM.Nonce
    let aad = [UInt8](repeating: 0x16, count: 13)
    let parameters = CipherSuite.ecdheECDSAWithAES128GCMSHA256.parameters

    public init() {
        // What Tessera's server seals for the benchmark's sessions.
        ticket = TicketSealing.seal(floorSessionDER(.tls12), key: ticketKey)
        nonce = AES.GCM.Nonce()
        clientFinishedRecord = try! AES.GCM.seal(finished, using: SymmetricKey(data: clientWriteKey), nonce: nonce, authenticating: aad)
    }

    public func run() -> Int {
        let serverRandom = SecureRandom.bytes(32)
        guard let state = try? TicketSealing.open(ticket, key: ticketKey),
              let node = try? DER.parse(state),
              let parameters
        else { return -1 }
        var transcript = SHA256()
        transcript.update(data: clientHello)
        transcript.update(data: serverHello)
        let serverFinishedHash = Array(transcript.finalize())
        transcript.update(data: finished)
        let clientFinishedHash = Array(transcript.finalize())
        transcript.update(data: finished)

        let masterSecret = HMACKey(Array(state.prefix(48)), hash: .sha256)  // 48 bytes, as the real one
        let block = TLS12.keyBlock(masterSecret: masterSecret, clientRandom: clientRandom, serverRandom: serverRandom, parameters: parameters)
        let serverVerify = TLS12.verifyData(masterSecret: masterSecret, sender: .server, handshakeHash: serverFinishedHash)
        let clientVerify = TLS12.verifyData(masterSecret: masterSecret, sender: .client, handshakeHash: clientFinishedHash)

        guard let sealed = try? AES.GCM.seal(serverVerify, using: SymmetricKey(data: serverWriteKey), nonce: nonce, authenticating: aad),
              let opened = try? AES.GCM.open(clientFinishedRecord, using: SymmetricKey(data: clientWriteKey), authenticating: aad)
        else { return -1 }
        return block.clientWriteKey.count + sealed.ciphertext.count + opened.count + clientVerify.count + walkSessionFields(node)
    }
}

/// The inputs of one resumed TLS 1.3 server handshake, made once; `run()` does its library calls.
public struct ResumedServerFloor13: HandshakeFloorWork, Sendable {
    let ticketKey = TicketKey.generate()
    let ticket: [UInt8]
    let clientShare = Curve25519.KeyAgreement.PrivateKey().publicKey
    let clientHello = [UInt8](repeating: 0x01, count: 520)  // key share, PSK identity and binder
    let serverHello = [UInt8](repeating: 0x02, count: 122)
    let encryptedExtensions = [UInt8](repeating: 0x08, count: 6)
    let newSessionTicket = [UInt8](repeating: 0x04, count: 230)
    let clientFinishedRecord: AES.GCM.SealedBox
    let clientFinishedKey = SymmetricKey(size: .bits128)
    let nonce = AES.GCM.Nonce()
    let aad = [UInt8](repeating: 0x17, count: 5)
    let parameters = CipherSuite.tlsAES128GCMSHA256.parameters

    public init() {
        ticket = TicketSealing.seal(floorSessionDER(.tls13, ticketAgeAdd: 12345), key: ticketKey)
        clientFinishedRecord = try! AES.GCM.seal([UInt8](repeating: 0x14, count: 37), using: clientFinishedKey, nonce: nonce, authenticating: aad)
    }

    public func run() -> Int {
        _ = SecureRandom.bytes(32)
        let share = Curve25519.KeyAgreement.PrivateKey()
        guard let shared = try? share.sharedSecretFromKeyAgreement(with: clientShare),
              let state = try? TicketSealing.open(ticket, key: ticketKey),
              let node = try? DER.parse(state),
              let parameters
        else { return -1 }
        let sharedBytes = shared.withUnsafeBytes { Array($0) }

        var transcript = SHA256()
        transcript.update(data: clientHello[0..<(clientHello.count - 35)])
        let truncatedHash = Array(transcript.finalize())
        transcript.update(data: clientHello[(clientHello.count - 35)...])
        transcript.update(data: serverHello)
        let helloHash = Array(transcript.finalize())
        transcript.update(data: encryptedExtensions)
        let beforeFinishedHash = Array(transcript.finalize())
        transcript.update(data: [UInt8](repeating: 0x14, count: 36))
        let serverFinishedHash = Array(transcript.finalize())
        transcript.update(data: [UInt8](repeating: 0x14, count: 36))
        let clientFinishedHash = Array(transcript.finalize())

        let schedule = KeySchedule13(hash: .sha256, psk: Array(state.prefix(32)))
        let binder = schedule.binder(external: false, truncatedHelloHash: truncatedHash)
        let keys = FloorSchedule13(
            schedule, sharedSecret: sharedBytes, helloHash: helloHash, beforeFinishedHash: beforeFinishedHash,
            serverFinishedHash: serverFinishedHash, clientFinishedHash: clientFinishedHash, parameters: parameters)
        // The new ticket's ticket_age_add and IV drawn in one call and its nonce a counter, as the
        // server does.
        let ticketRandom = SecureRandom.bytes(4 + TicketSealing.ivLength)
        let psk = KeySchedule13.resumptionPSK(resumptionMasterSecret: keys.resumption, nonce: [0, 0, 0, 0, 0, 0, 0, 0], hash: .sha256)

        let handshakeKey = SymmetricKey(data: keys.serverHandshake.key)
        _ = SymmetricKey(data: keys.clientHandshake.key)  // opens the client's Finished (below, prepared)
        _ = SymmetricKey(data: keys.clientApplication.key)  // the client's application data
        // EncryptedExtensions and Finished in one record, as a packed flight sends them.
        guard let flight = try? AES.GCM.seal(encryptedExtensions + keys.serverFinished, using: handshakeKey, nonce: nonce, authenticating: aad),
              let opened = try? AES.GCM.open(clientFinishedRecord, using: clientFinishedKey, authenticating: aad),
              let nst = try? AES.GCM.seal(newSessionTicket, using: SymmetricKey(data: keys.serverApplication.key), nonce: nonce, authenticating: aad)
        else { return -1 }
        let newTicket = TicketSealing.seal(state, key: ticketKey, iv: Array(ticketRandom[4...]))
        return binder.count + flight.ciphertext.count + opened.count + nst.ciphertext.count
            + keys.clientFinished.count + psk.count + newTicket.count + walkSessionFields(node)
    }
}

/// A session state's DER as the servers seal it into tickets (a TLS 1.3 one as issued, with its
/// ticket_age_add).
private func floorSessionDER(_ version: ProtocolVersion, ticketAgeAdd: UInt32? = nil) -> [UInt8] {
    let state = SessionState(
        version: version, cipherSuite: version == .tls13 ? .tlsAES128GCMSHA256 : .ecdheECDSAWithAES128GCMSHA256,
        masterSecret: SecureRandom.bytes(version == .tls13 ? 32 : 48), time: Date(), timeout: 7200,
        sessionIDContext: SecureRandom.bytes(32), hostname: "localhost", ticketLifetimeHint: 7200,
        extendedMasterSecret: version == .tls12, ticketAgeAdd: ticketAgeAdd, keyExchangeGroup: .x25519)
    return state.derEncoded()
}

/// The inputs of one full TLS 1.2 server handshake, made once; `run()` does its library calls.
public struct FullServerFloor: HandshakeFloorWork, Sendable {
    let ticketKey = TicketKey.generate()
    let sessionDER = floorSessionDER(.tls12)
    let signingKey = P256.Signing.PrivateKey()
    let clientShare = Curve25519.KeyAgreement.PrivateKey().publicKey
    let clientRandom = [UInt8](repeating: 0x03, count: 32)
    let clientHello = [UInt8](repeating: 0x01, count: 200)
    let serverHello = [UInt8](repeating: 0x02, count: 80)
    let certificate = [UInt8](repeating: 0x0b, count: 420)  // the benchmark certificate's message
    let serverKeyExchange = [UInt8](repeating: 0x0c, count: 115)
    let clientKeyExchange = [UInt8](repeating: 0x10, count: 37)
    let finished = [UInt8](repeating: 0x14, count: 16)
    let clientFinishedRecord: AES.GCM.SealedBox
    let clientWriteKey = [UInt8](repeating: 0x04, count: 16)
    let serverWriteKey = [UInt8](repeating: 0x05, count: 16)
    let nonce = AES.GCM.Nonce()
    let aad = [UInt8](repeating: 0x16, count: 13)
    let parameters = CipherSuite.ecdheECDSAWithAES128GCMSHA256.parameters

    public init() {
        clientFinishedRecord = try! AES.GCM.seal(finished, using: SymmetricKey(data: clientWriteKey), nonce: nonce, authenticating: aad)
    }

    public func run() -> Int {
        let serverRandom = SecureRandom.bytes(32)
        let share = Curve25519.KeyAgreement.PrivateKey()
        var signed = clientRandom
        signed += serverRandom
        signed += [3, 0, 29, 32]  // named_curve x25519, 32-byte point
        signed += share.publicKey.rawRepresentation
        guard let signature = try? signingKey.signature(for: signed).derRepresentation,
              let shared = try? share.sharedSecretFromKeyAgreement(with: clientShare),
              let parameters
        else { return -1 }
        let premaster = shared.withUnsafeBytes { Array($0) }

        var transcript = SHA256()
        for message in [clientHello, serverHello, certificate, serverKeyExchange, [14, 0, 0, 0], clientKeyExchange] {
            transcript.update(data: message)
        }
        let sessionHash = Array(transcript.finalize())
        transcript.update(data: finished)
        let clientFinishedHash = Array(transcript.finalize())
        transcript.update(data: finished)
        let serverFinishedHash = Array(transcript.finalize())

        let master = TLS12.extendedMasterSecret(preMasterSecret: premaster, sessionHash: sessionHash, hash: .sha256)
        let masterKey = HMACKey(master, hash: .sha256)
        let block = TLS12.keyBlock(masterSecret: masterKey, clientRandom: clientRandom, serverRandom: serverRandom, parameters: parameters)
        let clientVerify = TLS12.verifyData(masterSecret: masterKey, sender: .client, handshakeHash: clientFinishedHash)
        let serverVerify = TLS12.verifyData(masterSecret: masterKey, sender: .server, handshakeHash: serverFinishedHash)

        guard let opened = try? AES.GCM.open(clientFinishedRecord, using: SymmetricKey(data: clientWriteKey), authenticating: aad),
              let sealed = try? AES.GCM.seal(serverVerify, using: SymmetricKey(data: serverWriteKey), nonce: nonce, authenticating: aad)
        else { return -1 }
        let ticket = TicketSealing.seal(sessionDER, key: ticketKey)
        return signature.count + block.clientWriteKey.count + clientVerify.count + opened.count + sealed.ciphertext.count + ticket.count
    }
}

/// The inputs of one full TLS 1.3 server handshake, made once; `run()` does its library calls.
public struct FullServerFloor13: HandshakeFloorWork, Sendable {
    let ticketKey = TicketKey.generate()
    let sessionDER = floorSessionDER(.tls13)
    let signingKey = P256.Signing.PrivateKey()
    let clientShare = Curve25519.KeyAgreement.PrivateKey().publicKey
    let clientHello = [UInt8](repeating: 0x01, count: 250)
    let serverHello = [UInt8](repeating: 0x02, count: 122)
    let encryptedExtensions = [UInt8](repeating: 0x08, count: 6)
    let certificate = [UInt8](repeating: 0x0b, count: 424)
    let certificateVerify = [UInt8](repeating: 0x0f, count: 78)
    let newSessionTickets = [UInt8](repeating: 0x04, count: 460)  // two
    let clientFinishedRecord: AES.GCM.SealedBox
    let clientFinishedKey = SymmetricKey(size: .bits128)
    let nonce = AES.GCM.Nonce()
    let aad = [UInt8](repeating: 0x17, count: 5)
    let parameters = CipherSuite.tlsAES128GCMSHA256.parameters

    public init() {
        clientFinishedRecord = try! AES.GCM.seal([UInt8](repeating: 0x14, count: 37), using: clientFinishedKey, nonce: nonce, authenticating: aad)
    }

    public func run() -> Int {
        _ = SecureRandom.bytes(32)
        let share = Curve25519.KeyAgreement.PrivateKey()
        guard let shared = try? share.sharedSecretFromKeyAgreement(with: clientShare), let parameters else { return -1 }
        let sharedBytes = shared.withUnsafeBytes { Array($0) }

        var transcript = SHA256()
        transcript.update(data: clientHello)
        transcript.update(data: serverHello)
        let helloHash = Array(transcript.finalize())
        transcript.update(data: encryptedExtensions)
        transcript.update(data: certificate)
        let certificateHash = Array(transcript.finalize())
        transcript.update(data: certificateVerify)
        let beforeFinishedHash = Array(transcript.finalize())
        transcript.update(data: [UInt8](repeating: 0x14, count: 36))
        let serverFinishedHash = Array(transcript.finalize())
        transcript.update(data: [UInt8](repeating: 0x14, count: 36))
        let clientFinishedHash = Array(transcript.finalize())

        // RFC 8446 §4.4.3: 64 spaces, the context string, a zero byte, the transcript hash.
        var content = [UInt8](repeating: 0x20, count: 64)
        content += Array("TLS 1.3, server CertificateVerify".utf8)
        content.append(0)
        content += certificateHash
        guard let signature = try? signingKey.signature(for: content).derRepresentation else { return -1 }

        let schedule = KeySchedule13(hash: .sha256, psk: nil)
        let keys = FloorSchedule13(
            schedule, sharedSecret: sharedBytes, helloHash: helloHash, beforeFinishedHash: beforeFinishedHash,
            serverFinishedHash: serverFinishedHash, clientFinishedHash: clientFinishedHash, parameters: parameters)

        var flight = encryptedExtensions
        flight += certificate
        flight += certificateVerify
        flight += keys.serverFinished
        _ = SymmetricKey(data: keys.clientHandshake.key)  // opens the client's Finished (below, prepared)
        _ = SymmetricKey(data: keys.clientApplication.key)  // the client's application data
        guard let sealedFlight = try? AES.GCM.seal(flight, using: SymmetricKey(data: keys.serverHandshake.key), nonce: nonce, authenticating: aad),
              let opened = try? AES.GCM.open(clientFinishedRecord, using: clientFinishedKey, authenticating: aad),
              let tickets = try? AES.GCM.seal(newSessionTickets, using: SymmetricKey(data: keys.serverApplication.key), nonce: nonce, authenticating: aad)
        else { return -1 }
        // Both tickets' ticket_age_add and IVs drawn in one call, their nonces counters, the
        // resumption secret keyed once and the two sealed as one batch, as the server does.
        let ticketRandom = SecureRandom.bytes(2 * (4 + TicketSealing.ivLength))
        let resumptionKey = HMACKey(keys.resumption, hash: .sha256)
        var total = 0
        for index in 0..<2 {
            let nonce = withUnsafeBytes(of: UInt64(index).bigEndian) { Array($0) }
            total += KeySchedule13.resumptionPSK(keyed: resumptionKey, nonce: nonce).count
        }
        for ticket in TicketSealing.seal([sessionDER, sessionDER], key: ticketKey, ivs: Array(ticketRandom[8...])) {
            total += ticket.count
        }
        return total + signature.count + sealedFlight.ciphertext.count + opened.count + tickets.ciphertext.count + keys.clientFinished.count
    }
}

/// The TLS 1.3 key schedule from the (EC)DHE input on (RFC 8446 §7.1), as both TLS 1.3 floors run
/// it: handshake and master secrets, four traffic secrets with their keys and IVs, both Finished
/// and the resumption master secret.
struct FloorSchedule13 {
    let serverHandshake: (key: [UInt8], iv: [UInt8])
    let clientHandshake: (key: [UInt8], iv: [UInt8])
    let serverApplication: (key: [UInt8], iv: [UInt8])
    let clientApplication: (key: [UInt8], iv: [UInt8])
    let serverFinished: [UInt8]
    let clientFinished: [UInt8]
    let resumption: [UInt8]

    init(
        _ schedule: KeySchedule13, sharedSecret: [UInt8], helloHash: [UInt8], beforeFinishedHash: [UInt8],
        serverFinishedHash: [UInt8], clientFinishedHash: [UInt8], parameters: CipherSuiteParameters
    ) {
        var schedule = schedule
        schedule.deriveHandshakeSecret(sharedSecret: sharedSecret)
        let clientSecret = schedule.clientHandshakeTrafficSecret(transcriptHash: helloHash)
        let serverSecret = schedule.serverHandshakeTrafficSecret(transcriptHash: helloHash)
        serverHandshake = KeySchedule13.trafficKeys(secret: serverSecret, parameters: parameters)
        clientHandshake = KeySchedule13.trafficKeys(secret: clientSecret, parameters: parameters)
        serverFinished = KeySchedule13.finishedVerifyData(
            finishedKey: KeySchedule13.finishedKey(secret: serverSecret, hash: .sha256), transcriptHash: beforeFinishedHash, hash: .sha256)
        schedule.deriveMasterSecret()
        let clientApplicationSecret = schedule.clientApplicationTrafficSecret(transcriptHash: serverFinishedHash)
        let serverApplicationSecret = schedule.serverApplicationTrafficSecret(transcriptHash: serverFinishedHash)
        serverApplication = KeySchedule13.trafficKeys(secret: serverApplicationSecret, parameters: parameters)
        clientApplication = KeySchedule13.trafficKeys(secret: clientApplicationSecret, parameters: parameters)
        clientFinished = KeySchedule13.finishedVerifyData(
            finishedKey: KeySchedule13.finishedKey(secret: clientSecret, hash: .sha256), transcriptHash: serverFinishedHash, hash: .sha256)
        resumption = schedule.resumptionMasterSecret(transcriptHash: clientFinishedHash)
    }
}

/// Opening one AES-128-GCM record with swift-crypto, from bytes as a record layer holds them
/// (ciphertext then tag): its API takes them as a `SealedBox` (a copy) and returns the plaintext
/// as new `Data`. The bulk floor, unpaired (Floors.swift) and paired (Paired.swift).
public struct OpenFloor: Sendable {
    let key = SymmetricKey(size: .bits128)
    let nonce = AES.GCM.Nonce()
    let aad = [UInt8](repeating: 0x17, count: 13)
    let recordLength: Int
    let received: [UInt8]

    public init(recordLength: Int) throws {
        self.recordLength = recordLength
        let sealed = try AES.GCM.seal([UInt8](repeating: 0xA5, count: recordLength), using: key, nonce: nonce, authenticating: aad)
        received = [UInt8](sealed.ciphertext) + [UInt8](sealed.tag)
    }

    /// One open: its thread CPU nanoseconds and the plaintext's length (to keep).
    public func open() throws -> (nanoseconds: UInt64, plaintext: Int) {
        let start = threadCPUNanoseconds()
        let plaintext = try received.withUnsafeBytes { bytes in
            let box = try AES.GCM.SealedBox(nonce: nonce, ciphertext: bytes[0..<recordLength], tag: bytes[recordLength...])
            return try AES.GCM.open(box, using: key, authenticating: aad)
        }
        return (threadCPUNanoseconds() &- start, plaintext.count)
    }
}

/// What any reader of a session's DER must do past `DER.parse` on swift-asn1's public API: take
/// each field from the SEQUENCE's node iterator, and the one element inside each EXPLICIT tag,
/// and look at its bytes. No checks, no conversions, nothing kept: the iteration alone, which
/// copies a node (and its references into the parsed buffers) per element. Returns the fields'
/// content lengths so that none of it is optimized away.
@inline(never)
func walkSessionFields(_ root: ASN1Node) -> Int {
    guard case .constructed(let fields) = root.content else { return -1 }
    var total = 0
    for field in fields {
        switch field.content {
        case .primitive(let bytes):
            total &+= bytes.count
        case .constructed(let inner):
            for element in inner {
                if case .primitive(let bytes) = element.content { total &+= bytes.count }
            }
        }
    }
    return total
}
