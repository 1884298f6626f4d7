/*
 * OpenSSL's side of the in-memory handshakes: contexts, a client and server joined by a BIO pair,
 * each side timed on the thread CPU clock around its own SSL calls. Shared by tls_bench
 * (Benchmarks/openssl/tls_bench.c, built by run-openssl.sh) and the paired benchmarks in Swift
 * (include/ossl_pair.h).
 */
#include "ossl_pair_internal.h"
#include "ossl_pair.h"

#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* TLS 1.2 clients list the curves they accept in ECDSA certificates in supported_groups too
   (RFC 8422 §5.1), so the client offers P-256 after X25519; the server allows X25519 only. */
#define CLIENT_GROUPS "X25519:P-256"

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

/* ---- helpers ---- */

uint64_t cpu_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

void die(const char *what) {
    fflush(stdout);
    fprintf(stderr, "tls_bench: %s failed\n", what);
    ERR_print_errors_fp(stderr);
    exit(1);
}

SSL_CTX *server_ctx, *client_ctx;
SSL_CTX *server_ctx13, *client_ctx13;

/* TLS 1.3 NewSessionTickets the client has read (its message callback), to check the ticket
   counts. (Not the new-session callback: that needs SSL_SESS_CACHE_CLIENT, under which OpenSSL
   makes a TLS 1.3 session single-use, and Tessera's benchmark resumes from one session.) */
long tls13_tickets_received;

static void count_ticket(int write_p, int version, int content_type, const void *buf, size_t len, SSL *ssl, void *arg) {
    (void)version;
    (void)ssl;
    (void)arg;
    if (!write_p && content_type == SSL3_RT_HANDSHAKE && len > 0 &&
        ((const unsigned char *)buf)[0] == SSL3_MT_NEWSESSION_TICKET)
        tls13_tickets_received++;
}

/* One version's server and client contexts: that version only, its suite, X25519 on the server
   (the client lists P-256 after it), the server's identity, a client that verifies the chain and
   the name, and no session cache on either side (the client keeps its sessions itself with
   SSL_get1_session; the server resumes from stateless tickets only: RFC 5077 in TLS 1.2,
   psk_dhe_ke as the client offers by default in TLS 1.3). */
static void make_pair(SSL_CTX **server, SSL_CTX **client, int version, X509 *cert, EVP_PKEY *key) {
    const char *what = version == TLS1_3_VERSION ? "TLS 1.3 contexts" : "TLS 1.2 contexts";
    *server = SSL_CTX_new(TLS_server_method());
    *client = SSL_CTX_new(TLS_client_method());
    if (*server == NULL || *client == NULL) die(what);
    SSL_CTX *both[] = {*server, *client};
    for (int i = 0; i < 2; i++) {
        int suite = version == TLS1_3_VERSION ? SSL_CTX_set_ciphersuites(both[i], TLS13_SUITE)
                                              : SSL_CTX_set_cipher_list(both[i], SUITE);
        if (!SSL_CTX_set_min_proto_version(both[i], version) || !SSL_CTX_set_max_proto_version(both[i], version) ||
            !suite || !SSL_CTX_set1_groups_list(both[i], i == 0 ? GROUPS : CLIENT_GROUPS))
            die(what);
    }
    if (!SSL_CTX_use_certificate(*server, cert) || !SSL_CTX_use_PrivateKey(*server, key)) die("loading the server identity");
    if (!X509_STORE_add_cert(SSL_CTX_get_cert_store(*client), cert)) die("trusting the certificate");
    SSL_CTX_set_verify(*client, SSL_VERIFY_PEER, NULL);
    SSL_CTX_set_session_cache_mode(*client, SSL_SESS_CACHE_OFF);
    SSL_CTX_set_session_cache_mode(*server, SSL_SESS_CACHE_OFF);
}

void make_contexts(void) {
    BIO *cb = BIO_new_mem_buf(certificate_pem, -1), *kb = BIO_new_mem_buf(private_key_pem, -1);
    X509 *cert = PEM_read_bio_X509(cb, NULL, NULL, NULL);
    EVP_PKEY *key = PEM_read_bio_PrivateKey(kb, NULL, NULL, NULL);
    if (cert == NULL || key == NULL) die("reading the certificate");

    make_pair(&server_ctx, &client_ctx, TLS1_2_VERSION, cert, key);
    make_pair(&server_ctx13, &client_ctx13, TLS1_3_VERSION, cert, key);
    if (!SSL_CTX_set_num_tickets(server_ctx13, TLS13_FULL_TICKETS)) die("SSL_CTX_set_num_tickets");
    /* Every TLS 1.3 handshake message the client reads passes the ticket counter. */
    SSL_CTX_set_msg_callback(client_ctx13, count_ticket);

    X509_free(cert);
    EVP_PKEY_free(key);
    BIO_free(cb);
    BIO_free(kb);
}

void pair_open_with(pair_t *p, SSL_CTX *cctx, SSL_CTX *sctx, SSL_SESSION *resume) {
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
    /* One NewSessionTicket after a TLS 1.3 resumption (Tessera's server sends one), the
       context's two after a full handshake. */
    if (resume != NULL && sctx == server_ctx13 && !SSL_set_num_tickets(p->server, TLS13_RESUMED_TICKETS))
        die("SSL_set_num_tickets");
}

void pair_open(pair_t *p, SSL_SESSION *resume) { pair_open_with(p, client_ctx, server_ctx, resume); }

/* Both sides take turns until both report the handshake done; each turn timed for its side. */
void pair_handshake(pair_t *p) {
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
long pair_handshake13(pair_t *p) {
    long before = tls13_tickets_received;
    unsigned char byte;
    pair_handshake(p);
    uint64_t t = cpu_ns();
    int r = SSL_read(p->client, &byte, 1);
    p->client_ns += cpu_ns() - t;
    if (r > 0 || SSL_get_error(p->client, r) != SSL_ERROR_WANT_READ) die("client SSL_read of the tickets");
    return tls13_tickets_received - before;
}

/* Ends a pair as after a clean close_notify exchange, without timing one: OpenSSL marks the
   session of an SSL freed mid-connection as not resumable. */
void pair_close(pair_t *p) {
    SSL_set_shutdown(p->client, SSL_SENT_SHUTDOWN | SSL_RECEIVED_SHUTDOWN);
    SSL_set_shutdown(p->server, SSL_SENT_SHUTDOWN | SSL_RECEIVED_SHUTDOWN);
    SSL_free(p->client);
    SSL_free(p->server);
}


/* ---- the Swift-facing API (include/ossl_pair.h) ---- */

static SSL_SESSION *session12, *session13;

void ossl_bench_setup(void) {
    if (server_ctx != NULL) return;
    make_contexts();
    pair_t p;
    pair_open(&p, NULL);
    pair_handshake(&p);
    session12 = SSL_get1_session(p.client);
    if (session12 == NULL || !SSL_SESSION_has_ticket(session12)) die("getting a TLS 1.2 session ticket");
    pair_close(&p);
    pair_open_with(&p, client_ctx13, server_ctx13, NULL);
    if (pair_handshake13(&p) != TLS13_FULL_TICKETS) die("TLS 1.3 warm-up: ticket count");
    session13 = SSL_get1_session(p.client);
    if (session13 == NULL || !SSL_SESSION_is_resumable(session13)) die("getting a TLS 1.3 session");
    pair_close(&p);
}

ossl_handshake_result ossl_bench_handshake(int tls13, int resume) {
    ossl_handshake_result result = {0, 0, 0, 0};
    pair_t p;
    if (tls13) {
        pair_open_with(&p, client_ctx13, server_ctx13, resume ? session13 : NULL);
        result.tickets = pair_handshake13(&p);
        if (result.tickets != (resume ? TLS13_RESUMED_TICKETS : TLS13_FULL_TICKETS)) die("TLS 1.3 handshake: ticket count");
    } else {
        pair_open(&p, resume ? session12 : NULL);
        pair_handshake(&p);
    }
    result.resumed = SSL_session_reused(p.client);
    if (result.resumed != (resume != 0)) die(resume ? "resumed handshake (it did a full one)" : "full handshake (it resumed)");
    result.client_ns = p.client_ns;
    result.server_ns = p.server_ns;
    pair_close(&p);
    return result;
}

/* One side's turn in the busy form: SSL_do_handshake on every connection whose side is not
   done, timed for that side, with `interlude` (if any) after each. */
static void busy_turn(pair_t *pairs, int connections, int *done, int server, void (*interlude)(void)) {
    for (int i = 0; i < connections; i++) {
        if (done[i]) continue;
        SSL *ssl = server ? pairs[i].server : pairs[i].client;
        uint64_t t = cpu_ns();
        int r = SSL_do_handshake(ssl);
        *(server ? &pairs[i].server_ns : &pairs[i].client_ns) += cpu_ns() - t;
        if (r == 1) done[i] = 1;
        else if (SSL_get_error(ssl, r) != SSL_ERROR_WANT_READ) die(server ? "server SSL_do_handshake" : "client SSL_do_handshake");
        if (interlude != NULL) interlude();
    }
}

/* The busy-server form: `connections` handshakes advanced together, each side's turn taken for
   every connection before the other side's (every client, then every server, until all are
   done), so that a server's step follows the same step of another connection rather than its
   own client's. Each connection is checked as in ossl_bench_handshake; the CPU figures are per
   handshake. */
ossl_handshake_result ossl_bench_busy(int tls13, int resume, int connections, void (*interlude)(void)) {
    ossl_handshake_result result = {0, 0, 0, 0};
    if (connections < 1 || connections > 64) die("busy handshakes (connection count)");
    pair_t pairs[64];
    int client_done[64] = {0}, server_done[64] = {0};
    for (int i = 0; i < connections; i++) {
        if (tls13) pair_open_with(&pairs[i], client_ctx13, server_ctx13, resume ? session13 : NULL);
        else pair_open(&pairs[i], resume ? session12 : NULL);
    }
    for (int turns = 0, pending = connections; pending > 0; turns++) {
        if (turns > 100) die("busy handshakes (no progress)");
        busy_turn(pairs, connections, client_done, 0, interlude);
        busy_turn(pairs, connections, server_done, 1, interlude);
        pending = 0;
        for (int i = 0; i < connections; i++) pending += !(client_done[i] && server_done[i]);
    }
    for (int i = 0; i < connections; i++) {
        if (tls13) {
            /* The client reads the server's NewSessionTickets, as in pair_handshake13. */
            long before = tls13_tickets_received;
            unsigned char byte;
            uint64_t t = cpu_ns();
            int r = SSL_read(pairs[i].client, &byte, 1);
            pairs[i].client_ns += cpu_ns() - t;
            if (r > 0 || SSL_get_error(pairs[i].client, r) != SSL_ERROR_WANT_READ) die("client SSL_read of the tickets");
            if (tls13_tickets_received - before != (resume ? TLS13_RESUMED_TICKETS : TLS13_FULL_TICKETS))
                die("busy TLS 1.3 handshake: ticket count");
            result.tickets += tls13_tickets_received - before;
        }
        if (SSL_session_reused(pairs[i].client) != (resume != 0))
            die(resume ? "busy resumed handshake (it did a full one)" : "busy full handshake (it resumed)");
        result.client_ns += pairs[i].client_ns;
        result.server_ns += pairs[i].server_ns;
        pair_close(&pairs[i]);
    }
    result.resumed = resume != 0;
    result.client_ns /= (uint64_t)connections;
    result.server_ns /= (uint64_t)connections;
    return result;
}
