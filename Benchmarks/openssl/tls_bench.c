/*
 * tls_bench: OpenSSL's side of Tessera's TLS 1.2 and TLS 1.3 benchmarks (DESIGN.md §8).
 *
 * Client and server SSL objects in one thread, joined by a BIO pair (memory, no sockets),
 * with the same certificate (ECDSA P-256, CN=localhost), suite (ECDHE-ECDSA-AES128-GCM-SHA256)
 * and group (X25519) as the Swift benchmarks in Benchmarks/TLS12Handshake. Measures:
 *
 *   - full handshakes (the server issues a session ticket, as by default),
 *   - ticket-resumed handshakes (RFC 5077 abbreviated flight),
 *   - 16 KiB AES-128-GCM application records, client SSL_write to server SSL_read,
 *   - heap held per established connection (client + server SSL objects and BIOs),
 *   - TLS 1.3 (TLS_AES_128_GCM_SHA256, X25519) full handshakes, the server sending two
 *     NewSessionTickets (OpenSSL's and BoringSSL's default, Tessera's benchmark likewise),
 *   - TLS 1.3 ticket-resumed handshakes (psk_dhe_ke, OpenSSL's default), the server sending one
 *     NewSessionTicket (as Tessera's server does after a resumption),
 *
 * In TLS 1.3 the tickets come after the handshake: the client reads them with one SSL_read after
 * SSL_do_handshake returns, timed as client CPU, so both handshakes include issuing and taking
 * the tickets, as the Swift benchmarks do. The tickets the client took are counted (new-session
 * callback) and printed, so the three programs can be checked to do the same work.
 *
 * timing each side separately on the thread CPU clock (CLOCK_THREAD_CPUTIME_ID) around its own
 * SSL calls, so other work on this shared machine does not count. Prints `name value unit` lines.
 *
 *   tls_bench [handshakes] [records]      (defaults 2000 and 20000)
 *
 * Build: Benchmarks/run-openssl.sh (gcc -O2, libssl-dev), with the contexts and the handshake
 * driver it shares with the paired Swift benchmarks (Sources/COpenSSLPair/ossl_pair.c).
 */
#include "ossl_pair_internal.h"

#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define RECORD_SIZE 16384
#define HEAP_CONNECTIONS 100

/* ---- heap accounting: OpenSSL's allocations go through these, each with a size header ---- */

static long long heap_live_bytes;

static void *counting_malloc(size_t n, const char *file, int line) {
    (void)file;
    (void)line;
    size_t *p = malloc(n + sizeof(size_t) * 2); /* 16-byte header keeps alignment */
    if (p == NULL) return NULL;
    p[0] = n;
    heap_live_bytes += (long long)n;
    return p + 2;
}

static void counting_free(void *ptr, const char *file, int line) {
    (void)file;
    (void)line;
    if (ptr == NULL) return;
    size_t *p = (size_t *)ptr - 2;
    heap_live_bytes -= (long long)p[0];
    free(p);
}

static void *counting_realloc(void *ptr, size_t n, const char *file, int line) {
    if (ptr == NULL) return counting_malloc(n, file, line);
    if (n == 0) {
        counting_free(ptr, file, line);
        return NULL;
    }
    size_t *old = (size_t *)ptr - 2;
    size_t old_n = old[0];
    size_t *p = realloc(old, n + sizeof(size_t) * 2);
    if (p == NULL) return NULL;
    p[0] = n;
    heap_live_bytes += (long long)n - (long long)old_n;
    return p + 2;
}

/* One record client -> server. Returns the plaintext bytes the server read. */
static int pair_record(pair_t *p, const unsigned char *data, int n, unsigned char *sink) {
    uint64_t t = cpu_ns();
    int w = SSL_write(p->client, data, n);
    p->client_ns += cpu_ns() - t;
    if (w != n) die("SSL_write");
    int got = 0;
    while (got < n) {
        t = cpu_ns();
        int r = SSL_read(p->server, sink, RECORD_SIZE);
        p->server_ns += cpu_ns() - t;
        if (r <= 0) die("SSL_read");
        got += r;
    }
    return got;
}

int main(int argc, char **argv) {
    int handshakes = argc > 1 ? atoi(argv[1]) : 2000;
    int records = argc > 2 ? atoi(argv[2]) : 20000;
    if (handshakes < 1 || records < 1) {
        fprintf(stderr, "usage: tls_bench [handshakes] [records]\n");
        return 2;
    }
    /* Must precede any OpenSSL allocation. */
    if (!CRYPTO_set_mem_functions(counting_malloc, counting_realloc, counting_free)) die("CRYPTO_set_mem_functions");
    make_contexts();

    printf("# %s; TLS 1.2 %s and TLS 1.3 %s, group %s, ECDSA P-256 certificate, thread CPU time per side\n",
           OpenSSL_version(OPENSSL_VERSION), SUITE, TLS13_SUITE, GROUPS);

    /* Warm-up (first-use costs: method tables, EC precomputation) and the session to resume. */
    pair_t p;
    pair_open(&p, NULL);
    pair_handshake(&p);
    SSL_SESSION *session = SSL_get1_session(p.client);
    if (session == NULL || !SSL_SESSION_has_ticket(session)) die("getting a session ticket");
    if (strcmp(SSL_get_cipher_name(p.client), SUITE) != 0) die("negotiating " SUITE);
    pair_close(&p);

    /* Full handshakes. */
    uint64_t client_total = 0, server_total = 0;
    for (int i = 0; i < handshakes; i++) {
        pair_open(&p, NULL);
        pair_handshake(&p);
        if (SSL_session_reused(p.client)) die("full handshake (it resumed)");
        client_total += p.client_ns;
        server_total += p.server_ns;
        pair_close(&p);
    }
    printf("tls12_full_handshake_client_cpu %.0f ns\n", (double)client_total / handshakes);
    printf("tls12_full_handshake_server_cpu %.0f ns\n", (double)server_total / handshakes);
    printf("tls12_full_handshake_total_cpu %.0f ns\n", (double)(client_total + server_total) / handshakes);
    printf("tls12_full_handshakes_per_cpu_second %.0f 1/s\n", 1e9 * handshakes / (double)(client_total + server_total));

    /* Ticket-resumed handshakes, all from the same ticket. */
    client_total = server_total = 0;
    for (int i = 0; i < handshakes; i++) {
        pair_open(&p, session);
        pair_handshake(&p);
        if (!SSL_session_reused(p.client)) die("resumed handshake (it did a full one)");
        client_total += p.client_ns;
        server_total += p.server_ns;
        pair_close(&p);
    }
    printf("tls12_resumed_handshake_client_cpu %.0f ns\n", (double)client_total / handshakes);
    printf("tls12_resumed_handshake_server_cpu %.0f ns\n", (double)server_total / handshakes);
    printf("tls12_resumed_handshake_total_cpu %.0f ns\n", (double)(client_total + server_total) / handshakes);
    SSL_SESSION_free(session);

    /* Bulk: 16 KiB records over one established connection. */
    unsigned char *data = malloc(RECORD_SIZE), *sink = malloc(RECORD_SIZE);
    memset(data, 0xA5, RECORD_SIZE);
    pair_open(&p, NULL);
    pair_handshake(&p);
    pair_record(&p, data, RECORD_SIZE, sink); /* warm-up */
    p.client_ns = p.server_ns = 0;
    for (int i = 0; i < records; i++) pair_record(&p, data, RECORD_SIZE, sink);
    printf("tls12_aes128gcm_16k_record_client_cpu %.0f ns\n", (double)p.client_ns / records);
    printf("tls12_aes128gcm_16k_record_server_cpu %.0f ns\n", (double)p.server_ns / records);
    printf("tls12_aes128gcm_16k_seal_throughput %.0f MB/s\n", (double)records * RECORD_SIZE * 1e3 / (double)p.client_ns);
    printf("tls12_aes128gcm_16k_open_throughput %.0f MB/s\n", (double)records * RECORD_SIZE * 1e3 / (double)p.server_ns);
    pair_close(&p);

    /* Heap per established connection: HEAP_CONNECTIONS pairs alive at once, after the
       handshake and one small record; the contexts (shared) are excluded. */
    pair_t *pairs = calloc(HEAP_CONNECTIONS, sizeof(pair_t));
    long long before = heap_live_bytes;
    for (int i = 0; i < HEAP_CONNECTIONS; i++) {
        pair_open(&pairs[i], NULL);
        pair_handshake(&pairs[i]);
        pair_record(&pairs[i], data, 64, sink);
    }
    long long after = heap_live_bytes;
    printf("tls12_heap_per_connection %lld bytes\n", (after - before) / HEAP_CONNECTIONS);
    for (int i = 0; i < HEAP_CONNECTIONS; i++) pair_close(&pairs[i]);
    free(pairs);
    free(data);
    free(sink);

    /* ---- TLS 1.3 ---- */

    /* Warm-up, checks, and the session to resume (taken after the tickets were read). */
    pair_open_with(&p, client_ctx13, server_ctx13, NULL);
    if (pair_handshake13(&p) != TLS13_FULL_TICKETS) die("TLS 1.3 warm-up: ticket count");
    if (SSL_version(p.client) != TLS1_3_VERSION || strcmp(SSL_get_cipher_name(p.client), TLS13_SUITE) != 0)
        die("negotiating TLS 1.3 " TLS13_SUITE);
    session = SSL_get1_session(p.client);
    if (session == NULL || !SSL_SESSION_is_resumable(session)) die("getting a TLS 1.3 session");
    pair_close(&p);

    long tickets = 0;
    client_total = server_total = 0;
    for (int i = 0; i < handshakes; i++) {
        pair_open_with(&p, client_ctx13, server_ctx13, NULL);
        tickets += pair_handshake13(&p);
        if (SSL_session_reused(p.client)) die("TLS 1.3 full handshake (it resumed)");
        client_total += p.client_ns;
        server_total += p.server_ns;
        pair_close(&p);
    }
    printf("tls13_full_handshake_client_cpu %.0f ns\n", (double)client_total / handshakes);
    printf("tls13_full_handshake_server_cpu %.0f ns\n", (double)server_total / handshakes);
    printf("tls13_full_handshake_total_cpu %.0f ns\n", (double)(client_total + server_total) / handshakes);
    printf("tls13_full_handshake_tickets %.2f tickets\n", (double)tickets / handshakes);

    /* Ticket-resumed (psk_dhe_ke: a fresh X25519 exchange, no certificate), all from the same
       ticket; the server sends one new ticket per resumption (pair_open_with), which the client
       reads. */
    tickets = 0;
    client_total = server_total = 0;
    for (int i = 0; i < handshakes; i++) {
        pair_open_with(&p, client_ctx13, server_ctx13, session);
        tickets += pair_handshake13(&p);
        if (!SSL_session_reused(p.client)) die("TLS 1.3 resumed handshake (it did a full one)");
        client_total += p.client_ns;
        server_total += p.server_ns;
        pair_close(&p);
    }
    printf("tls13_resumed_handshake_client_cpu %.0f ns\n", (double)client_total / handshakes);
    printf("tls13_resumed_handshake_server_cpu %.0f ns\n", (double)server_total / handshakes);
    printf("tls13_resumed_handshake_total_cpu %.0f ns\n", (double)(client_total + server_total) / handshakes);
    printf("tls13_resumed_handshake_tickets %.2f tickets\n", (double)tickets / handshakes);
    SSL_SESSION_free(session);

    SSL_CTX_free(server_ctx);
    SSL_CTX_free(client_ctx);
    SSL_CTX_free(server_ctx13);
    SSL_CTX_free(client_ctx13);
    return 0;
}
