/*
 * harness.c - one connection driven over a byte buffer, without sockets.
 *
 * The same parser, limits, router, handlers and response builder as the
 * loop, in the same order; only the I/O differs: input comes from the
 * buffer chunk bytes at a time, handlers run inline (an inline route's try
 * function first, then its handler if it defers), output is appended to
 * a buffer, and the end of the buffer is the client closing its side. Used
 * by the libFuzzer target (tests/fuzz/fuzz_http.c) and by unit tests.
 *
 * Not for a started server: the loop owns connections then. Sets
 * s->fixed_date so responses do not depend on the clock. Interim
 * "100 Continue" lines are not produced (the loop sends them best-effort).
 */
#include "http_internal.h"

#include <string.h>

static void top_up(kt__conn_t *c, const char *data, apr_size_t len, apr_size_t *pos,
                   apr_size_t chunk)
{
    if (c->in_off) {
        memmove(c->in, c->in + c->in_off, c->in_len - c->in_off);
        c->in_len -= c->in_off;
        c->in_off = 0;
    }
    apr_size_t n = len - *pos, room = c->in_cap - c->in_len;
    if (chunk && n > chunk)
        n = chunk;
    if (n > room)
        n = room;
    if (n)
        memcpy(c->in + c->in_len, data + *pos, n);
    c->in_len += n;
    *pos += n;
}

static void append(char **out, apr_size_t *out_len, const char *data, apr_size_t len,
                   apr_pool_t *pool)
{
    char *grown = apr_palloc(pool, *out_len + len + 1);
    if (*out_len)
        memcpy(grown, *out, *out_len);
    if (len)
        memcpy(grown + *out_len, data, len);
    *out_len += len;
    grown[*out_len] = '\0';
    *out = grown;
}

apr_status_t kt__http_feed(kt_http_t *s, const char *data, apr_size_t len, apr_size_t chunk,
                           char **out, apr_size_t *out_len, apr_pool_t *pool)
{
    if (atomic_load(&s->life) == KT__LIFE_RUNNING)
        return KT_ESTATE;
    apr_pool_t *cp;
    apr_status_t rv = apr_pool_create(&cp, pool);
    if (rv != APR_SUCCESS)
        return rv;
    s->fixed_date = apr_time_from_sec(1700000000);
    kt__conn_t *c = kt__http_conn_new(s, cp, NULL);
    apr_time_t now = apr_time_now();
    apr_size_t pos = 0;
    *out = apr_pstrdup(pool, "");
    *out_len = 0;
    for (;;) {
        if (c->state == KT__CONN_IDLE || c->state == KT__CONN_HEAD ||
            c->state == KT__CONN_BODY) {
            if (c->in_off == c->in_len && pos == len)
                break; /* the client closed its side */
            top_up(c, data, len, &pos, chunk);
            kt__feed_t r = kt__http_conn_feed(c, now);
            c->send_continue = 0;
            if (r == KT__FEED_MORE)
                continue;
            if (r == KT__FEED_REQUEST && kt__http_conn_route(c)) {
                if (!kt__http_conn_try(c))
                    kt__http_conn_run(c);
                if (c->req->stream) {
                    kt__http_stream_attach(c);
                    kt__http_stream_take_all(c->stream, out, out_len, pool);
                    kt__http_stream_finish(c);
                    break;
                }
            }
        }
        for (int i = 0; i < c->nout; i++)
            append(out, out_len, c->out[i].iov_base, c->out[i].iov_len, pool);
        if (c->close_after)
            break;
        kt__http_conn_next(c, now);
    }
    if (c->stream)
        kt__http_stream_finish(c);
    kt__http_stream_drain_pokes(s); /* the pokes' references */
    apr_pool_destroy(cp);
    return APR_SUCCESS;
}
