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
// libraries; run-all.sh prints each floor beside the target it bounds. The work of each floor
// (`FullServerFloor`, ...) is in Sources/TesseraBenchSupport/Floors.swift, shared with
// HandshakeProfile; this file registers the benchmarks.

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
        let floor = try OpenFloor(recordLength: recordSize)
        var server: UInt64 = 0
        benchmark.startMeasurement()
        for _ in benchmark.scaledIterations {
            let (spent, plaintext) = try floor.open()
            server &+= spent
            blackHole(plaintext)
        }
        benchmark.stopMeasurement()
        benchmark.measurement(serverCPUMetric, Int(server / UInt64(benchmark.scaledIterations.count)))
    }
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
