/*
 * OpenSSL's in-memory TLS handshakes, for the paired benchmarks in Swift
 * (Benchmarks/TLS12Handshake/Paired.swift) and for tls_bench (Benchmarks/openssl/tls_bench.c).
 * The system libssl (OpenSSL 3.0 on Debian 12), linked as -lssl -lcrypto.
 *
 * No OpenSSL type appears here: Swift imports this header next to swift-nio-ssl's and
 * swift-crypto's BoringSSL copies.
 */
#ifndef TESSERA_OSSL_PAIR_H
#define TESSERA_OSSL_PAIR_H

#include <stdint.h>

/* What one handshake cost each side (thread CPU), the NewSessionTickets the client took, and
   whether it resumed. */
typedef struct {
    uint64_t client_ns;
    uint64_t server_ns;
    long tickets;
    int resumed;
} ossl_handshake_result;

/* Both functions print OpenSSL's errors and exit the process on any failure (including a
   handshake that did not resume when asked to, or the wrong ticket count): a benchmark must not
   go on measuring other work. */

/* Makes the contexts (the same identity, suites and group as the Swift benchmarks), runs one
   warm-up handshake per version and keeps its session to resume from. Call once, before
   ossl_bench_handshake; later calls do nothing. */
void ossl_bench_setup(void);

/* One handshake between a fresh client and server joined by a BIO pair: TLS 1.3 when `tls13`
   (the client then reads the server's NewSessionTickets, two after a full handshake, one after a
   resumption), else TLS 1.2; from the kept session when `resume`. */
ossl_handshake_result ossl_bench_handshake(int tls13, int resume);

/* `connections` handshakes of that kind advanced together (every client's turn, then every
   server's): a busy server, whose step follows the same step of another connection rather than
   its own client's. Each is checked as above; the CPU figures are per handshake, `tickets` the
   total. At most 64 connections. */
ossl_handshake_result ossl_bench_busy(int tls13, int resume, int connections, void (*interlude)(void));

#endif
