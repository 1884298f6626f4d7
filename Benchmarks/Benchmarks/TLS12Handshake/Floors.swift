import Benchmark
import Crypto
import Foundation
import SwiftASN1
import TesseraCrypto
import TesseraSessions
import TesseraWire
import TesseraBenchSupport
import _CryptoExtras

// Library floors: the calls into swift-crypto and swift-asn1 (the libraries the project builds
// on, README "Standards") that a TLS server cannot avoid for a piece of work, made directly with
// no TLS logic around them. A target below its floor cannot be met by any Tessera code on these
// libraries; run-all.sh prints each floor beside the target it bounds.

func registerFloorBenchmarks(handshakeMetrics: [BenchmarkMetric], bulkMetrics: [BenchmarkMetric]) {
    // A ticket-resumed TLS 1.2 server (RFC 5077 abbreviated handshake, ECDHE-ECDSA-AES128-GCM-SHA256,
    // a ticket sealed as OpenSSL and nginx seal them: AES-256-CBC + HMAC-SHA256), per handshake:
    // - a 32-byte ServerHello.random (RFC 5246 §7.4.1.3);
    // - the ticket: its HMAC-SHA256 checked, its state decrypted with AES-256-CBC (RFC 5077 §4);
    // - the session's DER read (swift-asn1's parser; no field checks);
    // - the transcript: SHA-256 over ClientHello, ServerHello and both Finished, read twice;
    // - the PRF (RFC 5246 §5): the master secret keyed once, the key block (2 P_SHA256 rounds,
    //   4 HMACs) and both verify_data (2 HMACs each); HMACs through `HMACKey`, which costs less
    //   than swift-crypto's `HMAC` (HMACKey.swift);
    // - two AES-128-GCM keys, one 16-byte Finished sealed and one opened (RFC 5288).
    handshakeFloor("swift-crypto floor TLS1.2 server resumed handshake", metrics: handshakeMetrics, ResumedServerFloor())

    // A ticket-resumed TLS 1.3 server (RFC 8446 §2.2, psk_dhe_ke as OpenSSL and Tessera resume,
    // TLS_AES_128_GCM_SHA256 over X25519, one new ticket), per handshake:
    // - a 32-byte random, an X25519 key pair and the shared secret with the client's share;
    // - the ticket opened and its session's DER read, as in TLS 1.2;
    // - the transcript: SHA-256 over ClientHello (binder hash up to the binders, then whole),
    //   ServerHello, EncryptedExtensions, both Finished, read five times;
    // - the key schedule (RFC 8446 §7.1): early secret, binder key and binder, handshake and
    //   master secrets, four traffic secrets with their keys and IVs, both Finished, the
    //   resumption master secret and the new ticket's PSK (`KeySchedule13`, HMACKey calls);
    // - AES-128-GCM: EncryptedExtensions and Finished sealed as one record (a packed flight),
    //   the NewSessionTicket sealed, the client's Finished opened, under three keys;
    // - the new ticket: 4 random bytes (ticket_age_add) and 8 (nonce), the state sealed
    //   (AES-256-CBC + HMAC-SHA256; its DER is reused rather than re-encoded).
    handshakeFloor("swift-crypto floor TLS1.3 server resumed handshake", metrics: handshakeMetrics, ResumedServerFloor13())

    // A full TLS 1.2 server handshake (ECDHE-ECDSA-AES128-GCM-SHA256 over X25519, a P-256 key,
    // extended master secret, one ticket, as the full-handshake benchmarks run it), per handshake:
    // - a 32-byte random, an X25519 key pair and the shared secret with the client's share;
    // - the ServerKeyExchange signature: ECDSA P-256 over SHA-256 of both randoms and the
    //   params (RFC 8422 §5.4), DER-encoded;
    // - the transcript: SHA-256 over ClientHello through ClientKeyExchange (the session hash,
    //   RFC 7627), then both Finished, read three times;
    // - the PRF: the extended master secret (the premaster keyed, 2 P_SHA256 rounds), the key
    //   block and both verify_data (the master secret keyed once);
    // - AES-128-GCM: the client's Finished opened and ours sealed, two keys;
    // - the ticket: 16 random bytes (IV) and the state sealed (AES-256-CBC + HMAC-SHA256); its
    //   DER is reused rather than encoded, so the floor leaves swift-asn1's encoder out.
    handshakeFloor("swift-crypto floor TLS1.2 server full handshake", metrics: handshakeMetrics, FullServerFloor())

    // A full TLS 1.3 server handshake (TLS_AES_128_GCM_SHA256 over X25519, a P-256 key, two
    // tickets), per handshake:
    // - a 32-byte random, an X25519 key pair and the shared secret;
    // - the transcript: SHA-256 over ClientHello, ServerHello, EncryptedExtensions, Certificate,
    //   CertificateVerify and both Finished, read five times;
    // - the key schedule (RFC 8446 §7.1) without a PSK: early, handshake and master secrets, four
    //   traffic secrets with their keys and IVs, both Finished, the resumption master secret and
    //   two tickets' PSKs;
    // - the CertificateVerify signature: ECDSA P-256 over the 98-byte content (RFC 8446 §4.4.3);
    // - AES-128-GCM: the server's encrypted flight as one record, both NewSessionTickets as one
    //   record, the client's Finished opened; three keys;
    // - two tickets: 4 + 8 random bytes each (ticket_age_add, nonce) and the state sealed, its
    //   DER reused as above.
    handshakeFloor("swift-crypto floor TLS1.3 server full handshake", metrics: handshakeMetrics, FullServerFloor13())

    // Opening one 16 KiB AES-128-GCM record with swift-crypto: its API takes the ciphertext and
    // tag as a `SealedBox` (a copy of the received bytes) and returns the plaintext as new `Data`;
    // there is no call that decrypts in place in a receive buffer.
    Benchmark(
        "swift-crypto floor AES-128-GCM open 16KiB record",
        configuration: .init(metrics: bulkMetrics, scalingFactor: .kilo, maxDuration: .seconds(5), maxIterations: 100)
    ) { benchmark in
        let key = SymmetricKey(size: .bits128)
        let nonce = AES.GCM.Nonce()
        let aad = [UInt8](repeating: 0x17, count: 13)
        let sealed = try AES.GCM.seal([UInt8](repeating: 0xA5, count: recordSize), using: key, nonce: nonce, authenticating: aad)
        let received = [UInt8](sealed.ciphertext) + [UInt8](sealed.tag)  // as a record layer holds it
        var server: UInt64 = 0
        benchmark.startMeasurement()
        for _ in benchmark.scaledIterations {
            let start = threadCPUNanoseconds()
            let plaintext = try received.withUnsafeBytes { bytes in
                let box = try AES.GCM.SealedBox(nonce: nonce, ciphertext: bytes[0..<recordSize], tag: bytes[recordSize...])
                return try AES.GCM.open(box, using: key, authenticating: aad)
            }
            server &+= threadCPUNanoseconds() &- start
            blackHole(plaintext)
        }
        benchmark.stopMeasurement()
        benchmark.measurement(serverCPUMetric, Int(server / UInt64(benchmark.scaledIterations.count)))
    }
}

/// One handshake's library calls, inputs prepared once; `run()` returns a value to keep.
protocol HandshakeFloorWork {
    func run() -> Int
}

/// A floor benchmark: `work.run()` per iteration, its thread CPU as the `server CPU (ns)` metric.
func handshakeFloor(_ name: String, metrics: [BenchmarkMetric], _ work: some HandshakeFloorWork & Sendable) {
    Benchmark(name, configuration: .init(metrics: metrics, scalingFactor: .one, maxDuration: .seconds(5), maxIterations: 20000)) { benchmark in
        var server: UInt64 = 0
        benchmark.startMeasurement()
        for _ in benchmark.scaledIterations {
            let start = threadCPUNanoseconds()
            blackHole(work.run())
            server &+= threadCPUNanoseconds() &- start
        }
        benchmark.stopMeasurement()
        benchmark.measurement(serverCPUMetric, Int(server / UInt64(benchmark.scaledIterations.count)))
    }
}

/// The inputs of one resumed TLS 1.2 server handshake, made once; `run()` does its library calls.
struct ResumedServerFloor: HandshakeFloorWork {
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

    init() {
        // What Tessera's server seals for the benchmark's sessions.
        let state = SessionState(
            version: .tls12, cipherSuite: .ecdheECDSAWithAES128GCMSHA256, masterSecret: SecureRandom.bytes(48),
            time: Date(), timeout: 7200, sessionIDContext: SecureRandom.bytes(32), hostname: "localhost",
            ticketLifetimeHint: 7200, extendedMasterSecret: true, keyExchangeGroup: .x25519)
        ticket = TicketSealing.seal(state.derEncoded(), key: ticketKey)
        nonce = AES.GCM.Nonce()
        clientFinishedRecord = try! AES.GCM.seal(finished, using: SymmetricKey(data: clientWriteKey), nonce: nonce, authenticating: aad)
    }

    func run() -> Int {
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
        return block.clientWriteKey.count + sealed.ciphertext.count + opened.count + clientVerify.count + node.encodedBytes.count
    }
}

/// The inputs of one resumed TLS 1.3 server handshake, made once; `run()` does its library calls.
struct ResumedServerFloor13: HandshakeFloorWork {
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

    init() {
        let state = SessionState(
            version: .tls13, cipherSuite: .tlsAES128GCMSHA256, masterSecret: SecureRandom.bytes(32),
            time: Date(), timeout: 7200, sessionIDContext: SecureRandom.bytes(32), hostname: "localhost",
            ticketLifetimeHint: 7200, ticketAgeAdd: 12345, maxEarlyData: 0, keyExchangeGroup: .x25519)
        ticket = TicketSealing.seal(state.derEncoded(), key: ticketKey)
        clientFinishedRecord = try! AES.GCM.seal([UInt8](repeating: 0x14, count: 37), using: clientFinishedKey, nonce: nonce, authenticating: aad)
    }

    func run() -> Int {
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
        let ticketNonce = SecureRandom.bytes(8)
        let psk = KeySchedule13.resumptionPSK(resumptionMasterSecret: keys.resumption, nonce: ticketNonce, hash: .sha256)

        let handshakeKey = SymmetricKey(data: keys.serverHandshake.key)
        _ = SymmetricKey(data: keys.clientHandshake.key)  // opens the client's Finished (below, prepared)
        _ = SymmetricKey(data: keys.clientApplication.key)  // the client's application data
        // EncryptedExtensions and Finished in one record, as a packed flight sends them.
        guard let flight = try? AES.GCM.seal(encryptedExtensions + keys.serverFinished, using: handshakeKey, nonce: nonce, authenticating: aad),
              let opened = try? AES.GCM.open(clientFinishedRecord, using: clientFinishedKey, authenticating: aad),
              let nst = try? AES.GCM.seal(newSessionTicket, using: SymmetricKey(data: keys.serverApplication.key), nonce: nonce, authenticating: aad)
        else { return -1 }
        _ = SecureRandom.bytes(4)
        let newTicket = TicketSealing.seal(state, key: ticketKey)
        return binder.count + flight.ciphertext.count + opened.count + nst.ciphertext.count
            + keys.clientFinished.count + psk.count + newTicket.count + node.encodedBytes.count
    }
}

/// A session state's DER as the servers seal it into tickets.
private func floorSessionDER(_ version: ProtocolVersion) -> [UInt8] {
    let state = SessionState(
        version: version, cipherSuite: version == .tls13 ? .tlsAES128GCMSHA256 : .ecdheECDSAWithAES128GCMSHA256,
        masterSecret: SecureRandom.bytes(version == .tls13 ? 32 : 48), time: Date(), timeout: 7200,
        sessionIDContext: SecureRandom.bytes(32), hostname: "localhost", ticketLifetimeHint: 7200,
        extendedMasterSecret: version == .tls12, keyExchangeGroup: .x25519)
    return state.derEncoded()
}

/// The inputs of one full TLS 1.2 server handshake, made once; `run()` does its library calls.
struct FullServerFloor: HandshakeFloorWork {
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

    init() {
        clientFinishedRecord = try! AES.GCM.seal(finished, using: SymmetricKey(data: clientWriteKey), nonce: nonce, authenticating: aad)
    }

    func run() -> Int {
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
struct FullServerFloor13: HandshakeFloorWork {
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

    init() {
        clientFinishedRecord = try! AES.GCM.seal([UInt8](repeating: 0x14, count: 37), using: clientFinishedKey, nonce: nonce, authenticating: aad)
    }

    func run() -> Int {
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
        var total = 0
        for _ in 0..<2 {
            _ = SecureRandom.bytes(4)
            let ticketNonce = SecureRandom.bytes(8)
            total += KeySchedule13.resumptionPSK(resumptionMasterSecret: keys.resumption, nonce: ticketNonce, hash: .sha256).count
            total += TicketSealing.seal(sessionDER, key: ticketKey).count
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
