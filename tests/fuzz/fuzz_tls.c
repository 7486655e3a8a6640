/*
 * fuzz_tls.c - libFuzzer target: bytes through the listener's TLS session
 * (src/http/tls.c, io.c) and on to the HTTP parser, limits, router,
 * handlers and response builder.
 *
 * Each input is one client connection to kotod's server side: the session
 * kt__tls_conn_new_bio makes from the listener's own context (its
 * self-signed certificate, its ciphers and options), over a memory BIO
 * pair instead of a socket. Nothing else differs from the loop: the same
 * handshake, reads, joined writes and close_notify, with the connection's
 * request cycle run in the harness's order. The first byte picks:
 *   mode 0: an OpenSSL client does the handshake, then sends the rest as
 *           application data, cut into records of a size from the second
 *           byte. What it decrypts must be byte-for-byte what the plain
 *           harness (kt__http_feed) answers for the same bytes.
 *   mode 1: the rest as raw bytes on the wire before any handshake (a
 *           hostile ClientHello and what follows).
 *   mode 2: a real handshake, then the rest as raw bytes on the wire
 *           (forged records inside an established session).
 * and flags: the client's highest version (1.2 or 1.3) and whether it
 * resumes its last session. Modes 1 and 2 check only that the server
 * neither crashes nor leaks nor loops; the session must just end.
 *
 * Build: cmake -DKT_FUZZ=ON -DCMAKE_C_COMPILER=clang; run:
 *   fuzz_tls -max_total_time=60 <new-corpus-dir> tests/fuzz/corpus/tls
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <apr_general.h>
#include <apr_strings.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include "http_internal.h"
#include "http_server.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Far more turns than any input needs: each moves a record at least. */
#define MAX_TURNS 100000
#define PAIR_BUF (64 * 1024)

static apr_pool_t *root;
static kt_http_t *server;
static SSL_CTX *client_ctx[2]; /* [0] up to TLS 1.3, [1] up to TLS 1.2 */
static SSL_SESSION *last_session[2];
static char dir[64], cert[96], key[96];

typedef struct {
    char *data;
    apr_size_t len;
    apr_pool_t *pool;
} buf_t;

static void buf_add(buf_t *b, const char *data, apr_size_t len)
{
    char *grown = apr_palloc(b->pool, b->len + len + 1);
    if (b->len)
        memcpy(grown, b->data, b->len);
    memcpy(grown + b->len, data, len);
    b->len += len;
    grown[b->len] = '\0';
    b->data = grown;
}

static void fini(void)
{
    for (int i = 0; i < 2; i++) {
        SSL_SESSION_free(last_session[i]);
        SSL_CTX_free(client_ctx[i]);
    }
    apr_pool_destroy(root); /* the server and its TLS context with it */
    apr_terminate();
    unlink(cert);
    unlink(key);
    rmdir(dir);
}

static void init(void)
{
    char err[600];
    int made;
    apr_initialize();
    atexit(fini);
    apr_pool_create(&root, NULL);
    kt_log_set_level(KT_LOG_ERROR);
    snprintf(dir, sizeof dir, "/tmp/fuzz_tls.XXXXXX");
    if (!mkdtemp(dir))
        abort();
    snprintf(cert, sizeof cert, "%s/cert.pem", dir);
    snprintf(key, sizeof key, "%s/key.pem", dir);
    if (kt_http_tls_self_signed(cert, key, NULL, &made, err, sizeof err, root) != APR_SUCCESS) {
        fprintf(stderr, "fuzz_tls: %s\n", err);
        abort();
    }
    kt_http_conf_t conf;
    kt_fuzz_http_conf(&conf);
    conf.tls_cert = cert;
    conf.tls_key = key;
    if (kt_http_create(&server, &conf, root) != APR_SUCCESS)
        abort();
    kt_fuzz_http_routes(server);
    server->fixed_date = apr_time_from_sec(1700000000); /* as kt__http_feed sets it */
    for (int i = 0; i < 2; i++) {
        client_ctx[i] = SSL_CTX_new(TLS_client_method());
        if (!client_ctx[i])
            abort();
        SSL_CTX_set_verify(client_ctx[i], SSL_VERIFY_NONE, NULL);
        SSL_CTX_set_max_proto_version(client_ctx[i], i ? TLS1_2_VERSION : TLS1_3_VERSION);
    }
}

/* Drops n sent bytes from the front of the output pieces (as the loop). */
static void advance(kt__conn_t *c, apr_size_t n)
{
    while (c->out_idx < c->nout) {
        struct iovec *v = &c->out[c->out_idx];
        if (n < v->iov_len) {
            v->iov_base = (char *)v->iov_base + n;
            v->iov_len -= n;
            return;
        }
        n -= v->iov_len;
        c->out_idx++;
    }
}

/* The server's side of one turn: the connection runs until it waits for
 * bytes or for room. 1: something moved, 0: waiting, -1: over (closed,
 * or its close_notify sent). */
static int server_turn(kt__conn_t *c, apr_pool_t *pool)
{
    int moved = 0;
    apr_time_t now = apr_time_now();
    for (;;) {
        switch (c->state) {
        case KT__CONN_HANDSHAKE: {
            int h = kt__tls_handshake(c);
            if (h < 0)
                return -1;
            if (h == 0)
                return moved;
            c->state = KT__CONN_IDLE;
            moved = 1;
            continue;
        }
        case KT__CONN_IDLE:
        case KT__CONN_HEAD:
        case KT__CONN_BODY: {
            if (c->in_off) {
                memmove(c->in, c->in + c->in_off, c->in_len - c->in_off);
                c->in_len -= c->in_off;
                c->in_off = 0;
            }
            apr_size_t n = c->in_cap - c->in_len;
            if (n && !c->peer_eof) {
                apr_status_t rv = kt__http_io_recv(c, c->in + c->in_len, &n);
                c->in_len += n;
                if (APR_STATUS_IS_EOF(rv))
                    c->peer_eof = 1;
                else if (rv != APR_SUCCESS && !APR_STATUS_IS_EAGAIN(rv))
                    return -1; /* a bad record: the loop closes too */
            } else {
                n = 0;
            }
            kt__feed_t r = kt__http_conn_feed(c, now);
            c->send_continue = 0; /* the harness sends no interim answers either */
            if (r == KT__FEED_MORE) {
                if (n) {
                    moved = 1;
                    continue;
                }
                return c->peer_eof ? -1 : moved;
            }
            moved = 1;
            if (r == KT__FEED_REQUEST && kt__http_conn_route(c)) {
                if (!kt__http_conn_try(c))
                    kt__http_conn_run(c);
                if (c->req->stream) {
                    /* What the stream queued, then the end, as the harness. */
                    char *queued = NULL;
                    apr_size_t queued_len = 0;
                    kt__http_stream_attach(c);
                    kt__http_stream_take_all(c->stream, &queued, &queued_len, pool);
                    kt__http_stream_finish(c);
                    c->out[0].iov_base = queued;
                    c->out[0].iov_len = queued_len;
                    c->nout = 1;
                    c->out_idx = 0;
                    c->close_after = 1;
                    c->state = KT__CONN_WRITING;
                }
            }
            continue;
        }
        case KT__CONN_WRITING:
            while (c->out_idx < c->nout) {
                apr_size_t n = 0;
                apr_status_t rv =
                    kt__http_io_sendv(c, c->out + c->out_idx, c->nout - c->out_idx, &n);
                if (n) {
                    advance(c, n);
                    moved = 1;
                }
                if (APR_STATUS_IS_EAGAIN(rv))
                    return moved;
                if (rv != APR_SUCCESS)
                    return -1;
            }
            if (c->close_after) {
                kt__tls_close_notify(c);
                return -1;
            }
            kt__http_conn_next(c, now);
            moved = 1;
            continue;
        default:
            abort(); /* no other state without a loop or a worker */
        }
    }
}

static uint64_t wire_bytes(BIO *a, BIO *b)
{
    return BIO_number_read(a) + BIO_number_written(a) + BIO_number_read(b) +
           BIO_number_written(b);
}

/* One connection: what the client decrypted goes to *out (mode 0). */
static void run(int mode, int legacy, int resume, apr_size_t record, const uint8_t *data,
                size_t size, buf_t *out, apr_pool_t *p)
{
    apr_pool_t *cp;
    apr_pool_create(&cp, p);
    kt__conn_t *c = kt__http_conn_new(server, cp, NULL);
    BIO *sbio, *cbio;
    if (!BIO_new_bio_pair(&sbio, PAIR_BUF, &cbio, PAIR_BUF))
        abort();
    if (kt__tls_conn_new_bio(c, sbio) != APR_SUCCESS)
        abort();
    c->state = KT__CONN_HANDSHAKE;

    SSL *cl = NULL;
    if (mode != 1) {
        cl = SSL_new(client_ctx[legacy]);
        if (!cl)
            abort();
        SSL_set_bio(cl, cbio, cbio);
        if (resume && last_session[legacy])
            SSL_set_session(cl, last_session[legacy]);
        SSL_set_connect_state(cl);
    }
    size_t pos = 0;
    int hs_done = 0, server_over = 0, client_shut = 0;
    for (int turn = 0; turn < MAX_TURNS; turn++) {
        /* A turn moved when bytes crossed the wire either way, or a side
         * took a step of its own (a handshake waits with its flight sent). */
        uint64_t wire = wire_bytes(sbio, cbio);
        int moved = 0;
        if (cl && !hs_done) {
            int r = SSL_do_handshake(cl);
            if (r == 1) {
                hs_done = moved = 1;
                SSL_SESSION *sess = SSL_get1_session(cl);
                SSL_SESSION_free(last_session[legacy]);
                last_session[legacy] = sess;
            } else if (SSL_get_error(cl, r) != SSL_ERROR_WANT_READ) {
                abort(); /* our own client against our own server */
            }
        } else if (mode == 0 && pos < size) {
            size_t k = size - pos < record ? size - pos : record;
            int r = SSL_write(cl, data + pos, (int)k);
            if (r > 0) {
                pos += (size_t)r;
                moved = 1;
            }
        } else if (mode != 0 && pos < size) {
            int r = BIO_write(cbio, data + pos, (int)(size - pos));
            if (r > 0) {
                pos += (size_t)r;
                moved = 1;
            }
        } else if (!client_shut) {
            if (cl && mode == 0)
                SSL_shutdown(cl); /* close_notify: the end of the request bytes */
            else
                BIO_shutdown_wr(cbio);
            client_shut = moved = 1;
        }
        /* What the server sent: decrypted (mode 0) or dropped. */
        char tmp[4096];
        int r;
        if (mode == 0 && hs_done) {
            while ((r = SSL_read(cl, tmp, sizeof tmp)) > 0) {
                buf_add(out, tmp, (apr_size_t)r);
                moved = 1;
            }
        } else if (mode != 0 || !cl) {
            while ((r = BIO_read(cbio, tmp, sizeof tmp)) > 0)
                moved = 1;
        }
        if (!server_over) {
            int s = server_turn(c, p);
            if (s < 0)
                server_over = 1;
            moved |= s != 0;
        }
        if (!moved && wire_bytes(sbio, cbio) == wire)
            break;
        ERR_clear_error();
    }
    if (mode == 0 && !server_over)
        abort(); /* the client closed and the server still waits */
    if (c->stream)
        kt__http_stream_finish(c);
    kt__http_stream_drain_pokes(server);
    ERR_clear_error();
    if (cl)
        SSL_free(cl); /* and cbio with it */
    else
        BIO_free(cbio);
    apr_pool_destroy(cp); /* the server's session and sbio */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!server)
        init();
    if (size < 2)
        return 0;
    int mode = data[0] & 3;
    if (mode == 3)
        mode = 0;
    int legacy = (data[0] >> 2) & 1, resume = (data[0] >> 3) & 1;
    apr_size_t record = data[1] ? data[1] : 16384;
    data += 2;
    size -= 2;

    apr_pool_t *p;
    apr_pool_create(&p, root);
    buf_t out = {apr_pstrdup(p, ""), 0, p};
    run(mode, legacy, resume, record, data, size, &out, p);
    if (mode == 0) {
        char *plain;
        apr_size_t n_plain;
        if (kt__http_feed(server, (const char *)data, size, 0, &plain, &n_plain, p) !=
            APR_SUCCESS)
            abort();
        if (n_plain != out.len || memcmp(plain, out.data, n_plain) != 0) {
            fprintf(stderr, "fuzz_tls: %zu bytes over TLS, %zu in plain\n", out.len,
                    (size_t)n_plain);
            abort(); /* TLS changed the answer */
        }
    }
    apr_pool_destroy(p);
    return 0;
}
