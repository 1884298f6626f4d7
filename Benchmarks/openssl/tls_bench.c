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
 * Build: Benchmarks/run-openssl.sh (gcc -O2, libssl-dev).
 */
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

#define SUITE "ECDHE-ECDSA-AES128-GCM-SHA256"
#define TLS13_SUITE "TLS_AES_128_GCM_SHA256"
/* NewSessionTickets per TLS 1.3 handshake: full (OpenSSL's and BoringSSL's default of 2; Tessera's
   benchmark sets ticketCount13 = 2) and resumed (Tessera's server sends one after a resumption). */
#define TLS13_FULL_TICKETS 2
#define TLS13_RESUMED_TICKETS 1
#define GROUPS "X25519"
/* TLS 1.2 clients list the curves they accept in ECDSA certificates in supported_groups too
   (RFC 8422 §5.1), so the client offers P-256 after X25519; the server allows X25519 only. */
#define CLIENT_GROUPS "X25519:P-256"
#define RECORD_SIZE 16384
#define HEAP_CONNECTIONS 100

/* The same throwaway identity as Benchmarks/TLS12Handshake/Fixtures.swift. */
static const char certificate_pem[] =
    "-----BEGIN CERTIFICATE-----\n"
    "MIIBmDCCAT6gAwIBAgIUF56MjY5h0cWS274zfoYZ1JZ31QUwCgYIKoZIzj0EAwIw\n"
    "FDESMBAGA1UEAwwJbG9jYWxob3N0MCAXDTI2MTEyNjE4MDk0OFoYDzIxMjYxMTAy\n"
    "MTgwOTQ4WjAUMRIwEAYDVQQDDAlsb2NhbGhvc3QwWTATBgcqhkjOPQIBBggqhkjO\n"
    "PQMBBwNCAAThCxyiLTX5XVseuUrw442ObG3Di72wjmr9H6RK5v169K+w78o2IaAV\n"
    "6JrJ0lvSgmtyUFMLeZtQ/yQC1PsaKJ1Co2wwajAdBgNVHQ4EFgQUDkoiZJm1jTc4\n"
    "cPEsQs4RjYhHuVIwHwYDVR0jBBgwFoAUDkoiZJm1jTc4cPEsQs4RjYhHuVIwGgYD\n"
    "VR0RBBMwEYIJbG9jYWxob3N0hwR/AAABMAwGA1UdEwEB/wQCMAAwCgYIKoZIzj0E\n"
    "AwIDSAAwRQIgBffcw9RyCJpVbgb+XCKFyT1DY/XOuIXoizPwVWlSYE0CIQC0sLUc\n"
    "bKPnzF6vlM3wub8tXKby7Sy/61/W9ttG4KhubQ==\n"
    "-----END CERTIFICATE-----\n";

static const char private_key_pem[] =
    "-----BEGIN PRIVATE KEY-----\n"
    "MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgr7U3/2vilNBRU2oU\n"
    "tWhoZfbtX5eg2j9e5kn16piwKTahRANCAAThCxyiLTX5XVseuUrw442ObG3Di72w\n"
    "jmr9H6RK5v169K+w78o2IaAV6JrJ0lvSgmtyUFMLeZtQ/yQC1PsaKJ1C\n"
    "-----END PRIVATE KEY-----\n";

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

/* ---- helpers ---- */

static uint64_t cpu_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void die(const char *what) {
    fflush(stdout);
    fprintf(stderr, "tls_bench: %s failed\n", what);
    ERR_print_errors_fp(stderr);
    exit(1);
}

static SSL_CTX *server_ctx, *client_ctx;        /* TLS 1.2 */
static SSL_CTX *server_ctx13, *client_ctx13;    /* TLS 1.3 */

/* TLS 1.3 NewSessionTickets the client has read (its message callback), to check the ticket
   counts. (Not the new-session callback: that needs SSL_SESS_CACHE_CLIENT, under which OpenSSL
   makes a TLS 1.3 session single-use, and Tessera's benchmark resumes from one session.) */
static long tls13_tickets_received;

static void count_ticket(int write_p, int version, int content_type, const void *buf, size_t len, SSL *ssl, void *arg) {
    (void)version;
    (void)ssl;
    (void)arg;
    if (!write_p && content_type == SSL3_RT_HANDSHAKE && len > 0 &&
        ((const unsigned char *)buf)[0] == SSL3_MT_NEWSESSION_TICKET)
        tls13_tickets_received++;
}

static void make_contexts(void) {
    BIO *cb = BIO_new_mem_buf(certificate_pem, -1), *kb = BIO_new_mem_buf(private_key_pem, -1);
    X509 *cert = PEM_read_bio_X509(cb, NULL, NULL, NULL);
    EVP_PKEY *key = PEM_read_bio_PrivateKey(kb, NULL, NULL, NULL);
    if (cert == NULL || key == NULL) die("reading the certificate");

    server_ctx = SSL_CTX_new(TLS_server_method());
    client_ctx = SSL_CTX_new(TLS_client_method());
    if (server_ctx == NULL || client_ctx == NULL) die("SSL_CTX_new");
    SSL_CTX *both[] = {server_ctx, client_ctx};
    for (int i = 0; i < 2; i++) {
        if (!SSL_CTX_set_min_proto_version(both[i], TLS1_2_VERSION) ||
            !SSL_CTX_set_max_proto_version(both[i], TLS1_2_VERSION) ||
            !SSL_CTX_set_cipher_list(both[i], SUITE) ||
            !SSL_CTX_set1_groups_list(both[i], both[i] == server_ctx ? GROUPS : CLIENT_GROUPS))
            die("configuring TLS 1.2 / " SUITE " / " GROUPS);
    }
    if (!SSL_CTX_use_certificate(server_ctx, cert) || !SSL_CTX_use_PrivateKey(server_ctx, key))
        die("loading the server identity");
    /* The client verifies the chain and the name, like a real client. */
    if (!X509_STORE_add_cert(SSL_CTX_get_cert_store(client_ctx), cert)) die("trusting the certificate");
    SSL_CTX_set_verify(client_ctx, SSL_VERIFY_PEER, NULL);
    /* Client side: keep sessions for resumption ourselves (SSL_get1_session). */
    SSL_CTX_set_session_cache_mode(client_ctx, SSL_SESS_CACHE_OFF);
    /* Server side: stateless tickets only, so resumption is the RFC 5077 kind. */
    SSL_CTX_set_session_cache_mode(server_ctx, SSL_SESS_CACHE_OFF);

    /* TLS 1.3: same identity, one suite, X25519 (the client lists P-256 after it, as in TLS 1.2,
       but sends a key share for X25519 only). */
    server_ctx13 = SSL_CTX_new(TLS_server_method());
    client_ctx13 = SSL_CTX_new(TLS_client_method());
    if (server_ctx13 == NULL || client_ctx13 == NULL) die("SSL_CTX_new (TLS 1.3)");
    SSL_CTX *both13[] = {server_ctx13, client_ctx13};
    for (int i = 0; i < 2; i++) {
        if (!SSL_CTX_set_min_proto_version(both13[i], TLS1_3_VERSION) ||
            !SSL_CTX_set_max_proto_version(both13[i], TLS1_3_VERSION) ||
            !SSL_CTX_set_ciphersuites(both13[i], TLS13_SUITE) ||
            !SSL_CTX_set1_groups_list(both13[i], both13[i] == server_ctx13 ? GROUPS : CLIENT_GROUPS))
            die("configuring TLS 1.3 / " TLS13_SUITE " / " GROUPS);
    }
    if (!SSL_CTX_use_certificate(server_ctx13, cert) || !SSL_CTX_use_PrivateKey(server_ctx13, key))
        die("loading the server identity (TLS 1.3)");
    if (!X509_STORE_add_cert(SSL_CTX_get_cert_store(client_ctx13), cert)) die("trusting the certificate (TLS 1.3)");
    SSL_CTX_set_verify(client_ctx13, SSL_VERIFY_PEER, NULL);
    /* Server: stateless tickets only (no session cache), psk_dhe_ke as the client offers by default. */
    SSL_CTX_set_session_cache_mode(server_ctx13, SSL_SESS_CACHE_OFF);
    if (!SSL_CTX_set_num_tickets(server_ctx13, TLS13_FULL_TICKETS)) die("SSL_CTX_set_num_tickets");
    /* Client: sessions kept by the benchmark itself (SSL_get1_session), as in TLS 1.2; every
       handshake message it reads passes the ticket counter. */
    SSL_CTX_set_session_cache_mode(client_ctx13, SSL_SESS_CACHE_OFF);
    SSL_CTX_set_msg_callback(client_ctx13, count_ticket);

    X509_free(cert);
    EVP_PKEY_free(key);
    BIO_free(cb);
    BIO_free(kb);
}

typedef struct {
    SSL *client, *server;
    uint64_t client_ns, server_ns;
} pair_t;

static void pair_open_with(pair_t *p, SSL_CTX *cctx, SSL_CTX *sctx, SSL_SESSION *resume) {
    BIO *cbio, *sbio;
    p->client = SSL_new(cctx);
    p->server = SSL_new(sctx);
    p->client_ns = p->server_ns = 0;
    if (p->client == NULL || p->server == NULL) die("SSL_new");
    if (!BIO_new_bio_pair(&cbio, 0, &sbio, 0)) die("BIO_new_bio_pair");
    SSL_set_bio(p->client, cbio, cbio);
    SSL_set_bio(p->server, sbio, sbio);
    SSL_set_connect_state(p->client);
    SSL_set_accept_state(p->server);
    if (!SSL_set_tlsext_host_name(p->client, "localhost") || !SSL_set1_host(p->client, "localhost"))
        die("setting the server name");
    if (resume != NULL && !SSL_set_session(p->client, resume)) die("SSL_set_session");
}

static void pair_open(pair_t *p, SSL_SESSION *resume) { pair_open_with(p, client_ctx, server_ctx, resume); }

/* Both sides take turns until both report the handshake done; each turn timed for its side. */
static void pair_handshake(pair_t *p) {
    int client_done = 0, server_done = 0;
    for (int turns = 0; !(client_done && server_done); turns++) {
        if (turns > 100) die("handshake (no progress)");
        if (!client_done) {
            uint64_t t = cpu_ns();
            int r = SSL_do_handshake(p->client);
            p->client_ns += cpu_ns() - t;
            if (r == 1) client_done = 1;
            else if (SSL_get_error(p->client, r) != SSL_ERROR_WANT_READ) die("client SSL_do_handshake");
        }
        if (!server_done) {
            uint64_t t = cpu_ns();
            int r = SSL_do_handshake(p->server);
            p->server_ns += cpu_ns() - t;
            if (r == 1) server_done = 1;
            else if (SSL_get_error(p->server, r) != SSL_ERROR_WANT_READ) die("server SSL_do_handshake");
        }
    }
    /* The server's NewSessionTicket + CCS + Finished may still sit in the BIO: the client's
       last SSL_do_handshake consumed them (it only returns 1 after the server's Finished). */
}

/* A TLS 1.3 handshake: SSL_do_handshake on both sides, then the client reads the server's
   NewSessionTickets (sent after the server read the client's Finished) with one SSL_read, which
   finds no application data and wants more. Returns the tickets the client took. */
static long pair_handshake13(pair_t *p) {
    long before = tls13_tickets_received;
    unsigned char byte;
    pair_handshake(p);
    uint64_t t = cpu_ns();
    int r = SSL_read(p->client, &byte, 1);
    p->client_ns += cpu_ns() - t;
    if (r > 0 || SSL_get_error(p->client, r) != SSL_ERROR_WANT_READ) die("client SSL_read of the tickets");
    return tls13_tickets_received - before;
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

/* Ends a pair as after a clean close_notify exchange, without timing one: OpenSSL marks the
   session of an SSL freed mid-connection as not resumable. */
static void pair_close(pair_t *p) {
    SSL_set_shutdown(p->client, SSL_SENT_SHUTDOWN | SSL_RECEIVED_SHUTDOWN);
    SSL_set_shutdown(p->server, SSL_SENT_SHUTDOWN | SSL_RECEIVED_SHUTDOWN);
    SSL_free(p->client);
    SSL_free(p->server);
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
       ticket; the server sends one new ticket per resumption, which the client reads. */
    SSL_CTX_set_num_tickets(server_ctx13, TLS13_RESUMED_TICKETS);
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
