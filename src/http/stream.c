/*
 * stream.c - long-lived responses (server-sent events) fed from any thread.
 *
 * DESIGN
 * A stream is refcounted: the handler's caller holds one reference, the
 * connection (the loop) another, and each pending "poke" one more. Writers
 * append to q under mu and, the first time since the loop last looked,
 * push the stream on the server's lock-free poke stack and wake the loop.
 * The loop swaps q with its own out buffer under mu and writes out without
 * the lock. pending counts bytes queued and not yet written; a writer that
 * would take it past max_stream_queue ends the stream (KT_ETOOBIG): a slow
 * client is dropped, never buffered without bound.
 *
 * Ending: the loop alone finishes a stream (client gone, write stall,
 * overflow, close requested and flushed, server stopping); it marks it
 * finished under mu, runs on_close once on the loop thread, and drops its
 * reference. After that writes answer APR_EOF and nothing touches the
 * server: the wakeup is done under mu while !finished, and the loop
 * finishes every stream before the server goes away.
 *
 * Memory: the struct and mutex live in an unmanaged pool (destroyed by the
 * last release, from any thread); the byte buffers are malloc'd.
 */
#include "http_internal.h"

#include <stdlib.h>
#include <string.h>

struct kt_http_stream_t {
    apr_pool_t *pool;
    kt_http_t *s;
    atomic_uint refs;
    void (*on_close)(void *baton);
    void *baton;

    apr_thread_mutex_t *mu; /* guards the fields below, down to poked */
    kt__conn_t *conn;       /* set at attach; NULL once finished */
    char *q;
    apr_size_t q_len, q_cap;
    apr_size_t pending, limit;
    int closing, ended, overflow, finished, poked;

    kt_http_stream_t *poke_next; /* on s->poke_head */

    /* Loop thread only. */
    char *out;
    apr_size_t out_len, out_off, out_cap;
};

/* ---- Private ---------------------------------------------------------- */

/* Under st->mu. */
static void poke(kt_http_stream_t *st)
{
    if (st->poked || st->finished)
        return;
    st->poked = 1;
    atomic_fetch_add(&st->refs, 1);
    kt_http_stream_t *old = atomic_load(&st->s->poke_head);
    do
        st->poke_next = old;
    while (!atomic_compare_exchange_weak(&st->s->poke_head, &old, st));
    kt__http_wake(st->s);
}

/* Under st->mu (or before the stream is shared). */
static apr_status_t enqueue(kt_http_stream_t *st, const char *data, apr_size_t len)
{
    if (st->q_len + len > st->q_cap) {
        apr_size_t cap = st->q_cap ? st->q_cap * 2 : 1024;
        if (cap < st->q_len + len)
            cap = st->q_len + len;
        char *q = realloc(st->q, cap);
        if (!q)
            return APR_ENOMEM;
        st->q = q;
        st->q_cap = cap;
    }
    memcpy(st->q + st->q_len, data, len);
    st->q_len += len;
    st->pending += len;
    return APR_SUCCESS;
}

static const char *stream_head(kt_http_req_t *req, const char *content_type)
{
    char date[APR_RFC822_DATE_LEN];
    kt__http_date(req->s, date);
    char *head = apr_psprintf(req->pool,
                              "HTTP/1.1 200 OK\r\nContent-Type: %s\r\nDate: %s\r\n"
                              "Connection: close\r\nX-Content-Type-Options: nosniff\r\n",
                              content_type ? content_type : "text/event-stream", date);
    int has_cache = 0;
    const kt__kv_t *h = (const kt__kv_t *)req->resp_headers->elts;
    for (int i = 0; i < req->resp_headers->nelts; i++) {
        has_cache |= apr_cstr_casecmp(h[i].name, "Cache-Control") == 0;
        if (apr_cstr_casecmp(h[i].name, "X-Content-Type-Options") != 0 &&
            apr_cstr_casecmp(h[i].name, "Referrer-Policy") != 0)
            head = apr_pstrcat(req->pool, head, h[i].name, ": ", h[i].value, "\r\n", NULL);
    }
    return apr_pstrcat(req->pool, head, has_cache ? "" : "Cache-Control: no-store\r\n",
                       "Referrer-Policy: no-referrer\r\n", req->s->tls ? KT__HTTP_HSTS : "",
                       "\r\n", NULL);
}

/* ---- Public ------------------------------------------------------------ */

kt_http_stream_t *kt_http_stream_open(kt_http_req_t *req, const char *content_type,
                                      void (*on_close)(void *baton), void *baton)
{
    if (!req || req->replied || req->stream) {
        kt_log(KT_LOG_WARN, "http: stream opened on a request already answered");
        return NULL;
    }
    apr_pool_t *pool;
    if (apr_pool_create_unmanaged_ex(&pool, NULL, NULL) != APR_SUCCESS)
        return NULL;
    kt_http_stream_t *st = apr_pcalloc(pool, sizeof *st);
    st->pool = pool;
    st->s = req->s;
    st->refs = 2; /* the caller's and the connection's */
    st->on_close = on_close;
    st->baton = baton;
    const char *head = stream_head(req, content_type);
    apr_size_t head_len = strlen(head);
    st->limit = req->s->conf.max_stream_queue + head_len;
    if (apr_thread_mutex_create(&st->mu, APR_THREAD_MUTEX_DEFAULT, pool) != APR_SUCCESS ||
        enqueue(st, head, head_len) != APR_SUCCESS) {
        free(st->q);
        apr_pool_destroy(pool);
        return NULL;
    }
    if (req->is_head)
        st->ended = st->closing = 1; /* the head only */
    req->stream = st;
    return st;
}

apr_status_t kt_http_stream_write(kt_http_stream_t *st, const char *data, apr_size_t len)
{
    if (!st || (!data && len))
        return APR_EINVAL;
    apr_status_t rv = APR_SUCCESS;
    apr_thread_mutex_lock(st->mu);
    if (st->ended) {
        rv = APR_EOF;
    } else if (len > st->limit - st->pending) {
        st->ended = st->overflow = 1;
        poke(st);
        rv = KT_ETOOBIG;
    } else if (len) {
        rv = enqueue(st, data, len);
        if (rv == APR_SUCCESS)
            poke(st);
    }
    apr_thread_mutex_unlock(st->mu);
    return rv;
}

void kt_http_stream_close(kt_http_stream_t *st)
{
    if (!st)
        return;
    apr_thread_mutex_lock(st->mu);
    if (!st->ended) {
        st->ended = st->closing = 1;
        poke(st);
    }
    apr_thread_mutex_unlock(st->mu);
}

void kt_http_stream_release(kt_http_stream_t *st)
{
    if (!st || atomic_fetch_sub(&st->refs, 1) != 1)
        return;
    /* Last reference. Take the lock once: every write other threads made
     * under it is then ordered before the frees, whatever memory order the
     * refcount's atomics give. */
    apr_thread_mutex_lock(st->mu);
    apr_thread_mutex_unlock(st->mu);
    free(st->q);
    free(st->out);
    apr_pool_destroy(st->pool);
}

/* ---- Internal: loop side ---------------------------------------------- */

void kt__http_stream_attach(kt__conn_t *c)
{
    kt_http_stream_t *st = c->req->stream;
    c->stream = st;
    c->state = KT__CONN_STREAM;
    c->deadline = 0;
    apr_thread_mutex_lock(st->mu);
    st->conn = c;
    apr_thread_mutex_unlock(st->mu);
    atomic_fetch_add(&c->s->st_streams, 1);
    kt__http_count(c->s, 200);
}

int kt__http_stream_pump(kt__conn_t *c, apr_size_t *written)
{
    kt_http_stream_t *st = c->stream;
    *written = 0;
    for (;;) {
        if (st->out_off == st->out_len) {
            apr_thread_mutex_lock(st->mu);
            char *q = st->q;
            apr_size_t q_cap = st->q_cap;
            st->q = st->out;
            st->q_cap = st->out_cap;
            st->out = q;
            st->out_cap = q_cap;
            st->out_len = st->q_len;
            st->out_off = 0;
            st->q_len = 0;
            int overflow = st->overflow, closing = st->closing;
            apr_thread_mutex_unlock(st->mu);
            if (overflow)
                return -1;
            if (st->out_len == 0)
                return closing ? -1 : 0;
        }
        apr_size_t n = st->out_len - st->out_off;
        apr_status_t rv = kt__http_io_send(c, st->out + st->out_off, &n);
        if (n > 0) {
            st->out_off += n;
            *written += n;
            apr_thread_mutex_lock(st->mu);
            st->pending -= n;
            apr_thread_mutex_unlock(st->mu);
        }
        if (APR_STATUS_IS_EAGAIN(rv))
            return 1;
        if (rv != APR_SUCCESS)
            return -1;
    }
}

void kt__http_stream_finish(kt__conn_t *c)
{
    kt_http_stream_t *st = c->stream;
    if (!st)
        return;
    c->stream = NULL;
    apr_thread_mutex_lock(st->mu);
    st->ended = st->finished = 1;
    st->conn = NULL;
    apr_thread_mutex_unlock(st->mu);
    if (st->on_close)
        st->on_close(st->baton);
    atomic_fetch_sub(&c->s->st_streams, 1);
    kt_http_stream_release(st);
}

void kt__http_stream_drain_pokes(kt_http_t *s)
{
    kt_http_stream_t *st = atomic_exchange(&s->poke_head, NULL);
    while (st) {
        kt_http_stream_t *next = st->poke_next;
        apr_thread_mutex_lock(st->mu);
        st->poked = 0;
        kt__conn_t *c = st->conn;
        apr_thread_mutex_unlock(st->mu);
        if (c) /* attached: the connection's reference outlives this kick */
            kt__http_loop_kick(c);
        kt_http_stream_release(st);
        st = next;
    }
}

void kt__http_stream_take_all(kt_http_stream_t *st, char **out, apr_size_t *len,
                              apr_pool_t *pool)
{
    apr_thread_mutex_lock(st->mu);
    char *grown = apr_palloc(pool, *len + st->q_len + 1);
    if (*len)
        memcpy(grown, *out, *len);
    if (st->q_len)
        memcpy(grown + *len, st->q, st->q_len);
    *out = grown;
    *len += st->q_len;
    st->pending -= st->q_len;
    st->q_len = 0;
    apr_thread_mutex_unlock(st->mu);
}
