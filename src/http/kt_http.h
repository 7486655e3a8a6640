/*
 * kt_http.h - koto's HTTP/1.1 frontend on APR.
 *
 * DESIGN
 * One event-loop thread owns every socket through an apr_pollset: it
 * accepts, reads, parses (http-parser; no hand-written parsing), enforces
 * limits and timeouts, and writes. A complete request is handed to a bounded
 * pool of worker threads, which run the route's handler; the handler builds
 * the response in memory and returns; the loop writes it. Connections are
 * keep-alive and may pipeline: requests on one connection are answered in
 * order, one at a time.
 *
 * Inline routes (kt_http_route_inline) are for answers that are usually
 * ready, such as a body kept until its data changes: the loop first runs the
 * route's try function itself, which answers or defers to the worker pool.
 * For such answers the hand-off (a wakeup, two context switches, a lock
 * each way) costs more than the answer.
 *
 * Memory: each connection has its own pool (recycled), each request a
 * subpool cleared after its response. A handler allocates from
 * kt_http_pool(req) and keeps nothing from it after returning.
 *
 * Streams (server-sent events): a handler may turn its connection into a
 * stream with kt_http_stream_open(); the loop then owns the connection and
 * writes whatever any thread queues with kt_http_stream_write(), until the
 * client leaves, the stream is closed, or the server stops.
 *
 * Errors are JSON everywhere: {"error": {"code": "...", "message": "..."}}.
 * Limits answer 400, 404, 405 (with Allow), 408, 411, 413, 414, 431, 503;
 * a Host that names another server 421 (host.c).
 *
 * Thread-safety: kt_http_route() before kt_http_start() only. Request
 * functions are for the thread running the handler (or try function) while
 * it runs. Stream functions are safe from any thread.
 */
#ifndef KT_HTTP_H
#define KT_HTTP_H

#include <apr_pools.h>
#include <jansson.h>

typedef struct kt_http_t kt_http_t;
typedef struct kt_http_req_t kt_http_req_t;
typedef struct kt_http_stream_t kt_http_stream_t;

typedef struct {
    const char *listen;          /* "127.0.0.1:5000", "[::1]:0", "0.0.0.0:8080"; port 0 picks one */
    unsigned workers;            /* handler threads at most, started as requests need them */
    unsigned max_connections;    /* beyond: 503 and close */
    apr_size_t max_header_bytes; /* request line + headers; beyond: 431 */
    unsigned max_headers;        /* header count; beyond: 431 */
    apr_size_t max_url_bytes;    /* beyond: 414 */
    apr_size_t max_body_bytes;   /* beyond: 413 */
    unsigned header_timeout_ms;  /* the whole head must arrive within this: else 408 */
    unsigned body_timeout_ms;    /* the body must keep arriving: no gap longer than this */
    unsigned idle_timeout_ms;    /* keep-alive connection with no request: closed */
    unsigned write_timeout_ms;   /* a client that stops reading: closed */
    unsigned shutdown_grace_ms;  /* kt_http_stop lets responses in flight finish this long */
    apr_size_t max_stream_queue; /* bytes queued for a stream before it is dropped as too slow */
    /* Names a Host header may carry besides localhost and the address the
     * connection came in on, comma or space separated (NULL: none); any
     * other Host is answered 421, so a rebound DNS name reaches nothing. */
    const char *server_names;
    /* TLS: with a certificate (PEM, the chain after it) and its key, every
     * connection speaks TLS 1.2 or later, and answers carry
     * Strict-Transport-Security. With client_ca as well, a client must
     * show a certificate signed by one of its CAs (mutual TLS). */
    const char *tls_cert, *tls_key, *tls_client_ca;
} kt_http_conf_t;

void kt_http_conf_defaults(kt_http_conf_t *conf);

typedef void (*kt_http_handler_fn)(kt_http_req_t *req, void *baton);

apr_status_t kt_http_create(kt_http_t **out, const kt_http_conf_t *conf, apr_pool_t *pool);
/* Binds "host:port" (as kt_http_conf_t's listen) and lets go at once: can
 * a server listen there? APR_EINVAL when the address is malformed. */
apr_status_t kt_http_try_bind(const char *listen, apr_pool_t *pool);

// Adds a route. path is exact ("/healthz"), or ends in "/*" to match that
// prefix ("/api/agent/tools/*"; kt_http_route_tail gives the rest). A path
// known under other methods answers 405 with an Allow header; an unknown
// path 404. HEAD is served by the GET handler without the body.
apr_status_t kt_http_route(kt_http_t *s, const char *method, const char *path,
                           kt_http_handler_fn fn, void *baton);

/* What a try function did: answered (or opened a stream), or left the
 * request untouched for the route's handler on a worker. */
enum { KT_HTTP_DONE = 0, KT_HTTP_DEFER = 1 };

/* Runs on the loop thread, which serves every connection: it must not block
 * or take long (no I/O, no lock held by others for long, no rendering of a
 * large body). Same request functions as a handler. */
typedef int (*kt_http_try_fn)(kt_http_req_t *req, void *baton);

/* Like kt_http_route, but try_fn runs first, on the loop thread; when it
 * returns KT_HTTP_DEFER without answering, fn runs on a worker as for any
 * route (so fn must be a complete handler: checks included). Headers set by
 * a try function that defers are dropped. */
apr_status_t kt_http_route_inline(kt_http_t *s, const char *method, const char *path,
                                  kt_http_try_fn try_fn, kt_http_handler_fn fn, void *baton);

/* Binds, listens and starts the loop (the workers come with the requests). */
apr_status_t kt_http_start(kt_http_t *s);
/* The bound address, "127.0.0.1:43567" or "[::1]:5000" (valid after start). */
const char *kt_http_address(kt_http_t *s);
/* Stops accepting, lets requests in flight finish within the grace period,
 * closes streams (their on_close runs), joins every thread. Idempotent. */
void kt_http_stop(kt_http_t *s);

typedef struct {
    unsigned long long requests;       /* responses sent */
    unsigned long long by_class[6];    /* [2] = 2xx ... [5] = 5xx */
    unsigned connections_open, streams_open;
} kt_http_stats_t;
void kt_http_stats(kt_http_t *s, kt_http_stats_t *out);

/* ---- TLS (OpenSSL; a build without it refuses with APR_ENOTIMPL) ------------------- */

/* Makes TLS available: on Linux, loads the module that holds it
 * (koto_tls.so, at path module; src/http/tls_load.c), which a kotod
 * without TLS never maps; where TLS is linked in, nothing. Once loaded it
 * stays; err says why not. */
apr_status_t kt_http_tls_load(const char *module, char *err, apr_size_t errlen);
/* Checks what kt_http_start would load: the files exist and parse, the
 * certificate is valid now (not expired, not yet valid), the key is the
 * certificate's, the client CA file holds a certificate. On success
 * fingerprint (may be NULL) gets the certificate's SHA-256 as
 * "AB:CD:...", and a summary (subject, expiry) goes to info; on failure
 * err says what is wrong with which file. */
apr_status_t kt_http_tls_check(const char *cert, const char *key, const char *client_ca,
                               char fingerprint[96], char *info, apr_size_t infolen, char *err,
                               apr_size_t errlen);
/* Makes a self-signed certificate (ECDSA P-256, a year) and its key at
 * these paths (the key owner-only) unless both exist and still pass
 * kt_http_tls_check. names: extra DNS names or addresses for it, comma or
 * space separated (localhost, 127.0.0.1 and ::1 are always in). *made says
 * whether new files were written. */
apr_status_t kt_http_tls_self_signed(const char *cert, const char *key, const char *names,
                                     int *made, char *err, apr_size_t errlen, apr_pool_t *pool);
/* Reload: a new context from these files for the connections accepted
 * from now on; open ones keep theirs. A server that does not speak TLS
 * refuses (KT_ESTATE); on any failure the running context stays. */
apr_status_t kt_http_tls_reload(kt_http_t *s, const char *cert, const char *key,
                                const char *client_ca, char *err, apr_size_t errlen);
/* 1 when the server speaks TLS. */
int kt_http_is_tls(kt_http_t *s);

/* ---- the request, for its handler ------------------------------------------------- */

apr_pool_t *kt_http_pool(kt_http_req_t *req);
const char *kt_http_method(kt_http_req_t *req);
const char *kt_http_path(kt_http_req_t *req);       /* percent-decoded, no query */
const char *kt_http_route_tail(kt_http_req_t *req); // after the prefix of a "/*" route, else ""
const char *kt_http_query(kt_http_req_t *req, const char *name); /* decoded value or NULL */
/* The n-th (from 0) value of a parameter given more than once (collect[]=a&collect[]=b). */
const char *kt_http_query_nth(kt_http_req_t *req, const char *name, unsigned n);
const char *kt_http_header(kt_http_req_t *req, const char *name); /* case-insensitive, or NULL */
const char *kt_http_body(kt_http_req_t *req, apr_size_t *len);    /* NUL-terminated; "" if none */
const char *kt_http_remote(kt_http_req_t *req);     /* "127.0.0.1:51234" */
int kt_http_remote_is_loopback(kt_http_req_t *req);

/* ---- the response ---------------------------------------------------------------- */

/* Adds a response header (e.g. "Cache-Control"). */
void kt_http_set_header(kt_http_req_t *req, const char *name, const char *value);
void kt_http_reply(kt_http_req_t *req, int status, const char *content_type, const char *body,
                   apr_size_t len);
/* A piece of a body that is not copied (kt_http_reply_parts). When fd is
 * above 0 it is a sealed file (kt_sys_sealed_file) holding the same bytes
 * from its start, and a plain connection sends the piece from it with
 * sendfile: the kernel shares the file's pages instead of copying data. Only
 * the last piece is sent so; fd must stay open until the request is done. */
typedef struct {
    const char *data;
    apr_size_t len;
    int fd;
} kt_http_part_t;
#define KT_HTTP_MAX_PARTS 4
/* Like kt_http_reply with the body in up to KT_HTTP_MAX_PARTS pieces, sent
 * as they are (one writev with the head): each must stay valid and unchanged
 * until the request is done, i.e. live in kt_http_pool(req) or be released
 * by a cleanup registered on it. For large bodies kept anyway (a cached
 * page), which would otherwise be copied for every answer. */
void kt_http_reply_parts(kt_http_req_t *req, int status, const char *content_type,
                         const kt_http_part_t *parts, unsigned n);
/* Serialises and takes ownership of j (decref'd). */
void kt_http_reply_json(kt_http_req_t *req, int status, json_t *j);
/* {"error": {"code": code, "message": printf(fmt, ...)}} */
void kt_http_reply_error(kt_http_req_t *req, int status, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* ---- streams ---------------------------------------------------------------------------- */

/* Sends a 200 head with content_type (no Content-Length; the connection
 * closes when the stream ends) and hands the connection to the loop. The
 * handler returns afterwards without replying. on_close (may be NULL) runs
 * once, on the loop thread, when the stream ends for any reason; after it the
 * stream only answers writes with APR_EOF. The caller holds one reference
 * and drops it with kt_http_stream_release. */
kt_http_stream_t *kt_http_stream_open(kt_http_req_t *req, const char *content_type,
                                      void (*on_close)(void *baton), void *baton);
/* Queues bytes; APR_EOF once the stream has ended, KT_ETOOBIG (and the
 * stream ends) when the client has fallen max_stream_queue behind. */
apr_status_t kt_http_stream_write(kt_http_stream_t *st, const char *data, apr_size_t len);
/* Ends the stream after what is queued has been written. */
void kt_http_stream_close(kt_http_stream_t *st);
void kt_http_stream_release(kt_http_stream_t *st);

#endif
