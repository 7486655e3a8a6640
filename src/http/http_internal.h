/*
 * http_internal.h - private to src/http: the server, connection, request and
 * stream structures, and the kt__http_* functions the files share.
 *
 * WHO TOUCHES WHAT
 * - kt_http_t: configuration and routes are written before start and read-only
 *   after. The run fields belong to the loop thread except where a field says
 *   otherwise (the done list under done_mutex, the poke stack, the atomics).
 * - kt__conn_t and its pools: one thread at a time. The loop owns a connection
 *   except while its request is queued for or running on a worker (in_worker);
 *   the hand-off goes through the worker queue's mutex and back through
 *   done_mutex, which order every access. While a worker holds it, the loop
 *   touches only its own fields (in_worker, the input buffer for pipelined
 *   bytes, peer_eof, dead, the poll registration), never the pools, state,
 *   request, output or deadline. An inline route's try function runs on the
 *   loop while it owns the connection: nothing is handed over.
 * - kt_http_stream_t: refcounted, its own mutex; see stream.c.
 */
#ifndef KT_HTTP_INTERNAL_H
#define KT_HTTP_INTERNAL_H

#include "kt_http.h"
#include "kt_base.h"

#define APR_WANT_IOVEC /* struct iovec, also where the system has none */
#include <apr_want.h>

#include <stdatomic.h>
#include <apr_cstr.h>
#include <apr_network_io.h>
#include <apr_poll.h>
#include <apr_strings.h>
#include <apr_thread_cond.h>
#include <apr_thread_mutex.h>
#include <apr_thread_proc.h>
#include <apr_time.h>
#include <http_parser.h>

/* ---- Definitions -------------------------------------------------------- */

#define KT__HTTP_IN_CAP (16 * 1024)        /* per-connection input buffer */
#define KT__HTTP_LINGER_MS 2000            /* draining a closing connection */
#define KT__HTTP_LINGER_MAX (4 * 1024 * 1024)
#define KT__HTTP_REJECT_SLACK 64           /* sockets beyond max_connections that get a 503 */
#define KT__HTTP_FREE_POOLS 32             /* recycled connection pools kept */
/* Bytes a recycled connection's allocator keeps. Debian's APR maps each
 * block with mmap, so a block given back is a munmap (a TLB shootdown on
 * every CPU the process ran on) and the next connection's first use of it
 * page faults again. At 64 KiB a /metrics request with the node_* families
 * (its pool grows past that) gave back the connection's own 20 KiB buffer
 * block every time: an mmap, a munmap and its page faults per connection. */
#define KT__HTTP_CONN_MAX_FREE (256 * 1024)
/* On every TLS answer: a year, this host name only (other ports of the
 * name are held to HTTPS too, which is the header's nature). */
#define KT__HTTP_HSTS "Strict-Transport-Security: max-age=31536000\r\n"

typedef struct kt__conn_t kt__conn_t;
typedef struct kt__workers_t kt__workers_t;

typedef struct {
    const char *name, *value;
} kt__kv_t;

typedef struct {
    const char *method; /* "GET" */
    const char *path;   /* exact path, or the prefix "/api/x/" of a prefix route */
    apr_size_t path_len;
    int prefix;
    kt_http_try_fn try_fn; /* NULL, or run on the loop first (an inline route) */
    kt_http_handler_fn fn;
    void *baton;
} kt__route_t;

enum { KT__LIFE_CREATED, KT__LIFE_RUNNING, KT__LIFE_STOPPING, KT__LIFE_STOPPED };

struct kt_http_t {
    kt_http_conf_t conf;        /* copied at create; listen string in pool */
    apr_pool_t *pool;           /* the server's own pool: own allocator with a mutex */
    apr_array_header_t *routes; /* of kt__route_t; fixed once started */
    atomic_uint life; /* KT__LIFE_* */
    const char *address;        /* bound address, in pool */
    apr_time_t fixed_date;      /* harness only: Date of every response (0: now) */

    /* One run: made by kt_http_start, destroyed by kt_http_stop. */
    apr_pool_t *run_pool;
    apr_socket_t *listener;
    apr_pollfd_t listen_pfd;
    apr_pollset_t *pollset;
    apr_thread_t *loop_thread;
    kt__workers_t *workers;
    atomic_uint stopping;     /* set once by kt_http_stop */
    atomic_uint wake_pending; /* a wakeup byte is (about to be) in the pipe */

    apr_thread_mutex_t *done_mutex; /* guards done_head only */
    kt__conn_t *done_head;          /* connections back from the workers */
    kt_http_stream_t *_Atomic poke_head;       /* kt_http_stream_t with news; lock-free stack */

    /* Loop thread only. */
    kt__conn_t *conns; /* every open connection */
    kt__conn_t *zombies;
    unsigned n_conns, n_active; /* all sockets / those not being refused */
    apr_pool_t *free_pools[KT__HTTP_FREE_POOLS];
    unsigned n_free_pools;
    apr_time_t next_sweep;    /* earliest deadline known */
    apr_time_t accept_resume; /* listener paused (EMFILE) until then; 0: polled */
    int listener_polled;
    int stop_begun;
    apr_time_t grace_deadline;
    int tls_pending; /* some connection has TLS bytes decrypted and unread */

    /* TLS (tls.c): the context new connections take, swapped by a reload
     * under tls_mu; connections keep the one they began with. */
    int tls;       /* fixed at create: the listener speaks TLS */
    void *tls_ctx; /* SSL_CTX, under tls_mu */
    apr_thread_mutex_t *tls_mu;

    /* Statistics: atomics, any thread. */
    _Atomic uint64_t st_requests;
    _Atomic uint64_t st_class[6];
    atomic_uint st_conns, st_streams;
};

typedef enum {
    KT__CONN_HANDSHAKE, /* TLS: the handshake, bounded by header_timeout_ms */
    KT__CONN_IDLE,    /* no byte of the next request yet */
    KT__CONN_HEAD,    /* reading the request line and headers */
    KT__CONN_BODY,    /* reading the body */
    KT__CONN_HANDLER, /* queued for or running on a worker */
    KT__CONN_WRITING, /* writing a response */
    KT__CONN_STREAM,  /* handed to a stream */
    KT__CONN_LINGER,  /* answered and half-closed; draining input before close */
    KT__CONN_CLOSED   /* waiting to be freed at the end of the loop turn */
} kt__conn_state_t;

/* Where one header's name and value lie in the head scratch buffer. */
typedef struct {
    apr_size_t name_off, name_len, val_off, val_len;
} kt__span_t;

struct kt__conn_t {
    kt_http_t *s;
    apr_pool_t *pool;   /* the connection's, recycled; its allocator is its own */
    apr_pool_t *rpool;  /* the request's; cleared after each response */
    apr_socket_t *sock; /* NULL in the harness */
    apr_pollfd_t pfd;
    apr_int16_t polled; /* events registered in the pollset; 0: not in it */
    kt__conn_state_t state;
    char remote[80];
    char local_ip[64]; /* the address the connection came in on; "" in the harness */
    int loopback;
    http_parser parser;

    /* Input: bytes read and not yet parsed are in[in_off, in_len). */
    char *in;
    apr_size_t in_off, in_len, in_cap;

    /* The request head, copied out of the parser callbacks (max_header_bytes). */
    char *head;
    apr_size_t head_len, head_cap;
    apr_size_t head_bytes; /* bytes of this request's head fed to the parser */
    kt__span_t *spans;     /* max_headers of them */
    unsigned nspans;       /* kept */
    unsigned nfields;      /* seen; more than nspans: too many */
    apr_size_t url_off, url_len;
    int in_field, headers_done, complete, send_continue;
    unsigned cl_count, te_count, host_count;
    apr_size_t trailer_bytes;
    int err_status; /* set by a callback that refuses the request */
    const char *err_code, *err_msg;
    apr_time_t now; /* of the current feed */

    kt_http_req_t *req; /* the current request, in rpool */

    /* Output: the response being written, as pieces for one writev (the
     * head, then body parts); out[out_idx, nout) is what is left, its first
     * piece advanced past the bytes already sent. */
    struct iovec out[1 + KT_HTTP_MAX_PARTS];
    int nout, out_idx;
    /* > 0: the last piece goes from this sealed file (a plain connection
     * only), which holds its out_file_len bytes from offset 0. */
    int out_file;
    apr_size_t out_file_len;
    int close_after, peer_eof, dead, rejected;
    int in_worker;  /* loop-owned: the request is with the workers */
    int want_write; /* loop-owned: a stream is blocked on the socket */
    apr_time_t deadline; /* of the current state; 0: none */
    apr_size_t linger_bytes;
    kt_http_stream_t *stream; /* attached stream (loop's reference) */

    /* TLS (loop-owned): the session, and what the last read or write waits
     * for besides its own direction (a read may need to write, and back). */
    void *tls; /* SSL; NULL: plain */
    int tls_read_wants_write, tls_write_wants_read;
    int tls_stalled; /* decrypted bytes left in the session: the input buffer was full */
    int tls_ready;   /* read again this turn without waiting for the socket */
    char *tls_buf;   /* output pieces joined into one record (io.c) */

    kt__conn_t *prev, *next, *done_next, *zombie_next;
};

struct kt_http_req_t {
    kt_http_t *s;
    kt__conn_t *conn;
    apr_pool_t *pool;
    const char *method;
    int method_id;
    const char *path, *tail;
    kt__kv_t *query;
    unsigned nquery;
    kt__kv_t *headers;
    unsigned nheaders;
    char *body;
    apr_size_t body_len, body_cap;
    int keep_alive, is_head;
    const kt__route_t *route;
    apr_array_header_t *resp_headers; /* kt__kv_t set by the handler */
    int replied, status, close_after;
    char *resp; /* the head, and the body when it was copied */
    apr_size_t resp_len;
    kt_http_part_t parts[KT_HTTP_MAX_PARTS]; /* body pieces not copied */
    unsigned nparts;
    kt_http_stream_t *stream;
};

typedef enum { KT__FEED_MORE, KT__FEED_REQUEST, KT__FEED_ERROR } kt__feed_t;

/* ---- io.c: the socket, plain or through TLS ------------------------------ */

/* Like apr_socket_recv / sendv / send on c's socket: APR_EAGAIN when it
 * would block, APR_EOF at the peer's end. Through TLS a read may need the
 * socket writable (and back): c->tls_*_wants_* say so to the loop. */
apr_status_t kt__http_io_recv(kt__conn_t *c, char *buf, apr_size_t *n);
apr_status_t kt__http_io_sendv(kt__conn_t *c, const struct iovec *v, int nv, apr_size_t *n);
apr_status_t kt__http_io_send(kt__conn_t *c, const char *buf, apr_size_t *n);
/* Writes what is left of c->out: the pieces, then the last from its file
 * when c->out_file is set. */
apr_status_t kt__http_io_send_out(kt__conn_t *c, apr_size_t *n);

/* ---- tls.c (OpenSSL) or tls_none.c: the TLS backend ---------------------- */

/* The server's context from its configuration (kt_http_start). */
apr_status_t kt__tls_server_init(kt_http_t *s);
/* A session for an accepted connection, freed with c->pool. */
apr_status_t kt__tls_conn_new(kt__conn_t *c);
/* The same over bio (a BIO *, taken over: freed with the session): the
 * socket's for the loop, a memory pair for the TLS fuzz target. */
apr_status_t kt__tls_conn_new_bio(kt__conn_t *c, void *bio);
/* 1 done, 0 waiting for the socket (tls_*_wants_* set), -1 failed. */
int kt__tls_handshake(kt__conn_t *c);
apr_status_t kt__tls_recv(kt__conn_t *c, char *buf, apr_size_t *n);
apr_status_t kt__tls_send(kt__conn_t *c, const char *buf, apr_size_t *n);
/* Bytes the session holds that a read has not taken (decrypted, or read
 * ahead from the socket). */
int kt__tls_pending(kt__conn_t *c);
/* Sends close_notify, best effort (the connection is closing). */
void kt__tls_close_notify(kt__conn_t *c);

/* ---- host.c: DNS rebinding ---------------------------------------------- */

/* 1 when a request on c may name host (a Host header's value): localhost,
 * c's local address, or one of conf.server_names. */
int kt__http_host_allowed(const kt__conn_t *c, const char *host);

/* ---- parse.c: http-parser glue ------------------------------------------ */

void kt__http_parser_reset(kt__conn_t *c);
/* Feeds in[in_off, in_len) to the parser. MORE: everything consumed, need
 * bytes; REQUEST: c->req is complete (parser paused); ERROR: the response to
 * a broken request is built (close after it). */
kt__feed_t kt__http_conn_feed(kt__conn_t *c, apr_time_t now);
/* Percent-decodes src[0, len) into pool; plus_space turns '+' into ' '.
 * strict: a bad escape or %00 fails (NULL); else bad escapes stay literal. */
char *kt__http_pct_decode(const char *src, apr_size_t len, int plus_space, int strict,
                          apr_pool_t *pool);

/* ---- router.c ------------------------------------------------------------ */

apr_status_t kt__http_route_add(kt_http_t *s, const char *method, const char *path,
                                kt_http_try_fn try_fn, kt_http_handler_fn fn, void *baton);
/* 200: *route and *tail set; 404; 405: *allow set ("GET, HEAD"), in pool. */
int kt__http_route_find(kt_http_t *s, const char *method, const char *path,
                        const kt__route_t **route, const char **tail, const char **allow,
                        apr_pool_t *pool);

/* ---- reply.c ------------------------------------------------------------- */

/* Builds req->resp (head and a copy of the body). Any thread that owns the
 * request. */
void kt__http_respond(kt_http_req_t *req, int status, const char *content_type,
                      const char *body, apr_size_t len);
/* Builds req->resp (the head) and req->parts (the body, not copied). */
void kt__http_respond_parts(kt_http_req_t *req, int status, const char *content_type,
                            const kt_http_part_t *parts, unsigned n);
void kt__http_respond_error(kt_http_req_t *req, int status, const char *code,
                            const char *message);
/* "Date: ...\r\n" style value for now (or s->fixed_date). */
void kt__http_date(kt_http_t *s, char buf[APR_RFC822_DATE_LEN]);

/* ---- conn.c: the per-connection state machine (no socket I/O) ---------- */

/* A connection living in pool (the connection's own, cleared when it closes);
 * sock may be NULL (harness). */
kt__conn_t *kt__http_conn_new(kt_http_t *s, apr_pool_t *pool, apr_socket_t *sock);
/* Starts a request: a fresh kt_http_req_t in rpool. */
void kt__http_conn_begin(kt__conn_t *c, apr_time_t now);
/* Refuses the current request: error response, close after it. */
void kt__http_conn_fail(kt__conn_t *c, int status, const char *code, const char *message);
/* After REQUEST: 1 if a handler must run; 0 if the response is built. */
int kt__http_conn_route(kt__conn_t *c);
/* After route, on the loop's thread: runs an inline route's try function.
 * 1: answered (WRITING) or a stream was opened (req->stream; attach it);
 * 0: the handler must run (on a worker). */
int kt__http_conn_try(kt__conn_t *c);
/* Runs the route's handler and makes sure a response or stream results. */
void kt__http_conn_run(kt__conn_t *c);
/* The request's response becomes the connection's output (state WRITING). */
void kt__http_conn_ready(kt__conn_t *c);
/* Response fully written and the connection stays: ready for the next request. */
void kt__http_conn_next(kt__conn_t *c, apr_time_t now);
/* Counts a response as sent. */
void kt__http_count(kt_http_t *s, int status);

/* ---- workers.c ------------------------------------------------------------ */

/* The queue; its threads (up to max) start as submit needs them. */
apr_status_t kt__http_workers_create(kt__workers_t **out, kt_http_t *s, unsigned max,
                                     unsigned queue_cap, apr_pool_t *pool);
/* APR_SUCCESS, or APR_EAGAIN when the queue is full or no thread could be
 * had (caller answers 503). The loop thread only. */
apr_status_t kt__http_workers_submit(kt__workers_t *w, kt__conn_t *c);
/* Drops what has not started, waits for running handlers, joins. */
void kt__http_workers_stop(kt__workers_t *w);

/* ---- loop.c --------------------------------------------------------------- */

apr_status_t kt__http_loop_start(kt_http_t *s);
/* Wakes the loop; any thread; never blocks. */
void kt__http_wake(kt_http_t *s);
/* A worker is done with c: hand it back to the loop. */
void kt__http_loop_done(kt_http_t *s, kt__conn_t *c);
/* Loop thread: run c's state machine until it blocks (a stream has news). */
void kt__http_loop_kick(kt__conn_t *c);

/* ---- stream.c ------------------------------------------------------------- */

/* Loop side. attach: the handler returned with a stream; pump: write what is
 * queued; finish: end it (on_close runs) and drop the loop's reference. */
void kt__http_stream_attach(kt__conn_t *c);
/* Writes what is queued: 1 blocked on the socket (poll for output), 0 all
 * written and the stream goes on, -1 the stream is over (finish it). */
int kt__http_stream_pump(kt__conn_t *c, apr_size_t *written);
void kt__http_stream_finish(kt__conn_t *c);
/* Takes every stream poked since the last call and kicks its connection. */
void kt__http_stream_drain_pokes(kt_http_t *s);
/* Harness: appends what is queued to *out (grown in pool). */
void kt__http_stream_take_all(kt_http_stream_t *st, char **out, apr_size_t *len,
                              apr_pool_t *pool);

/* ---- harness.c: the parser and router without sockets (fuzzing, tests) --- */

/* Drives one connection over data as the loop would, chunk bytes at a time
 * (0: all at once); handlers run inline. *out receives every byte the
 * connection would have written, in pool. The server must not be started.
 * Responses carry a fixed Date so two runs can be compared. */
apr_status_t kt__http_feed(kt_http_t *s, const char *data, apr_size_t len, apr_size_t chunk,
                           char **out, apr_size_t *out_len, apr_pool_t *pool);

#endif
