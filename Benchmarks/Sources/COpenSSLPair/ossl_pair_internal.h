/* What tls_bench.c shares with ossl_pair.c beyond the Swift-facing API (include/ossl_pair.h). */
#ifndef TESSERA_OSSL_PAIR_INTERNAL_H
#define TESSERA_OSSL_PAIR_INTERNAL_H

#include <openssl/ssl.h>
#include <stdint.h>

#define SUITE "ECDHE-ECDSA-AES128-GCM-SHA256"
#define TLS13_SUITE "TLS_AES_128_GCM_SHA256"
/* NewSessionTickets per TLS 1.3 handshake: full (OpenSSL's and BoringSSL's default of 2; Tessera's
   benchmark sets ticketCount13 = 2) and resumed (Tessera's server sends one after a resumption). */
#define TLS13_FULL_TICKETS 2
#define TLS13_RESUMED_TICKETS 1
#define GROUPS "X25519"

extern SSL_CTX *server_ctx, *client_ctx;     /* TLS 1.2 */
extern SSL_CTX *server_ctx13, *client_ctx13; /* TLS 1.3 */
/* TLS 1.3 NewSessionTickets the client has read. */
extern long tls13_tickets_received;

typedef struct {
    SSL *client, *server;
    uint64_t client_ns, server_ns;
} pair_t;

uint64_t cpu_ns(void);
void die(const char *what);
void make_contexts(void);
/* A fresh client and server joined by a BIO pair; the client resumes `resume` when not NULL
   (a resumed TLS 1.3 server then sends TLS13_RESUMED_TICKETS tickets). */
void pair_open_with(pair_t *p, SSL_CTX *cctx, SSL_CTX *sctx, SSL_SESSION *resume);
void pair_open(pair_t *p, SSL_SESSION *resume);
void pair_handshake(pair_t *p);
long pair_handshake13(pair_t *p);
void pair_close(pair_t *p);

#endif
