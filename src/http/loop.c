/*
 * loop.c - the event-loop thread: one apr_pollset for every socket.
 *
 * DESIGN
 * Each turn: poll (with a timeout no longer than the nearest deadline), then
 * accept on a readable listener, read or write each ready connection once,
 * take back the connections the workers finished, kick the streams that
 * were poked, sweep expired deadlines, free the connections closed this
 * turn. No call blocks: sockets are non-blocking (timeout 0) and the
 * listener is accepted only when the pollset reports it readable, which also
 * keeps stop prompt on Windows, where APR's accept ignores timeouts.
 *
 * Fairness (slowloris): a connection is read at most once per turn, and a
 * head's deadline is fixed at its first byte (header_timeout_ms), so
 * trickling bytes neither starves others nor buys time. Inline routes are
 * answered on this thread as their requests are parsed, so what one
 * connection gets per turn is bounded by one read (KT__HTTP_IN_CAP bytes of
 * pipelined requests) and by its socket's send buffer.
 *
 * Other threads reach the loop only through kt__http_wake (the pollset's
 * wakeup pipe, at most one byte pending), the done list and the poke stack.
 *
 * Stop: the listener closes at once; connections not waiting on a handler
 * or writing close; the rest get shutdown_grace_ms to finish. Then the
 * workers are joined (handlers are never abandoned mid-run), every
 * connection and stream is closed (on_close runs here, on the loop thread)
 * and the thread returns.
 */
#include "http_internal.h"
#include "kt_sys.h"

#include <apr_signal.h>
#include <string.h>

#define ACCEPTS_PER_TURN 64
#define ACCEPT_PAUSE_MS 100

/* ---- Private: bookkeeping ---------------------------------------------- */

static apr_interval_time_t ms(unsigned v) { return apr_time_from_msec(v); }

static apr_int16_t wanted_plain(const kt__conn_t *c)
{
    int room = c->in_len < c->in_cap || c->in_off > 0;
    int more = !c->peer_eof && !c->dead && room;
    if (c->in_worker)
        return more ? APR_POLLIN : 0;
    switch (c->state) {
    case KT__CONN_HANDSHAKE:
        return c->tls_read_wants_write ? APR_POLLOUT : APR_POLLIN;
    case KT__CONN_IDLE:
    case KT__CONN_HEAD:
    case KT__CONN_BODY:
    case KT__CONN_HANDLER:
        return more ? APR_POLLIN : 0;
    case KT__CONN_WRITING:
        return APR_POLLOUT | (more ? APR_POLLIN : 0);
    case KT__CONN_STREAM:
        return (c->want_write ? APR_POLLOUT : 0) | (c->peer_eof ? 0 : APR_POLLIN);
    case KT__CONN_LINGER:
        return APR_POLLIN;
    case KT__CONN_CLOSED:
        break;
    }
    return 0;
}

/* What c waits for: its state's events, and what its TLS session needs
 * besides (a read that must write first, a write that must read). */
static apr_int16_t wanted(const kt__conn_t *c)
{
    apr_int16_t ev = wanted_plain(c);
    if (c->tls && (c->in_worker || (c->state != KT__CONN_CLOSED &&
                                    c->state != KT__CONN_HANDSHAKE))) {
        if (c->tls_read_wants_write && (ev & APR_POLLIN))
            ev |= APR_POLLOUT;
        if (c->tls_write_wants_read && (ev & APR_POLLOUT) && !c->peer_eof)
            ev |= APR_POLLIN;
    }
    return ev;
}

static apr_status_t set_events(kt__conn_t *c, apr_int16_t ev)
{
    apr_status_t rv = APR_SUCCESS;
    if (c->polled == ev)
        return rv;
    if (c->polled)
        apr_pollset_remove(c->s->pollset, &c->pfd);
    c->polled = 0;
    if (ev) {
        c->pfd.reqevents = ev;
        rv = apr_pollset_add(c->s->pollset, &c->pfd);
        if (rv == APR_SUCCESS)
            c->polled = ev;
    }
    return rv;
}

static void note_deadline(kt_http_t *s, apr_time_t t)
{
    if (t && (!s->next_sweep || t < s->next_sweep))
        s->next_sweep = t;
}

static apr_status_t pool_get(kt_http_t *s, apr_pool_t **out)
{
    if (s->n_free_pools) {
        *out = s->free_pools[--s->n_free_pools];
        return APR_SUCCESS;
    }
    apr_allocator_t *a;
    apr_status_t rv = apr_allocator_create(&a);
    if (rv != APR_SUCCESS)
        return rv;
    apr_allocator_max_free_set(a, KT__HTTP_CONN_MAX_FREE);
    rv = apr_pool_create_ex(out, s->run_pool, NULL, a);
    if (rv != APR_SUCCESS) {
        apr_allocator_destroy(a);
        return rv;
    }
    apr_allocator_owner_set(a, *out);
    apr_pool_tag(*out, "http-conn");
    return APR_SUCCESS;
}

static void pool_put(kt_http_t *s, apr_pool_t *p)
{
    if (s->n_free_pools < KT__HTTP_FREE_POOLS) {
        apr_pool_clear(p);
        s->free_pools[s->n_free_pools++] = p;
    } else {
        apr_pool_destroy(p);
    }
}

static void conn_close(kt__conn_t *c)
{
    kt_http_t *s = c->s;
    if (c->state == KT__CONN_CLOSED)
        return;
    if (c->stream)
        kt__http_stream_finish(c);
    set_events(c, 0);
    apr_socket_close(c->sock);
    c->state = KT__CONN_CLOSED;
    c->zombie_next = s->zombies;
    s->zombies = c;
    s->n_conns--;
    if (!c->rejected)
        s->n_active--;
    atomic_fetch_sub(&s->st_conns, 1);
}

static void free_zombies(kt_http_t *s)
{
    while (s->zombies) {
        kt__conn_t *c = s->zombies;
        s->zombies = c->zombie_next;
        if (c->prev)
            c->prev->next = c->next;
        else
            s->conns = c->next;
        if (c->next)
            c->next->prev = c->prev;
        pool_put(s, c->pool); /* c lived in it */
    }
}

/* ---- Private: I/O -------------------------------------------------------- */

/* Drops n sent bytes from the front of the output pieces. */
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

/* 1: blocked, 0: all written, -1: the client is gone. */
static int write_out(kt__conn_t *c, apr_time_t now)
{
    apr_interval_time_t wt = ms(c->s->conf.write_timeout_ms);
    if (!c->deadline)
        c->deadline = now + wt;
    while (c->out_idx < c->nout) {
        apr_size_t n = 0;
        apr_status_t rv = kt__http_io_send_out(c, &n);
        if (n) {
            advance(c, n);
            c->deadline = now + wt;
        }
        if (APR_STATUS_IS_EAGAIN(rv))
            return 1;
        if (rv != APR_SUCCESS) {
            kt_log(KT_LOG_DEBUG, "http: %s: write failed (%d)", c->remote, rv);
            return -1;
        }
    }
    c->deadline = 0;
    return 0;
}

/* Best effort: the interim answer is tiny and the socket buffer empty. */
static void send_continue(kt__conn_t *c)
{
    static const char cont[] = "HTTP/1.1 100 Continue\r\n\r\n";
    apr_size_t n = sizeof cont - 1;
    c->send_continue = 0;
    if (kt__http_io_send(c, cont, &n) != APR_SUCCESS || n != sizeof cont - 1)
        c->dead = 1; /* a torn interim line would corrupt the answer */
}

static void begin_linger(kt__conn_t *c, apr_time_t now)
{
    if (c->peer_eof || c->dead) {
        conn_close(c);
        return;
    }
    kt__tls_close_notify(c);
    apr_socket_shutdown(c->sock, APR_SHUTDOWN_WRITE);
    c->state = KT__CONN_LINGER;
    c->deadline = now + ms(KT__HTTP_LINGER_MS);
    c->linger_bytes = 0;
}

/* Lingering or streaming: input is read and dropped; EOF ends it. A
 * lingering TLS connection has sent its close_notify: what comes now is
 * drained as it is, undeciphered. */
static void discard(kt__conn_t *c)
{
    apr_size_t n = c->in_cap;
    apr_status_t rv = c->state == KT__CONN_STREAM ? kt__http_io_recv(c, c->in, &n)
                                                  : apr_socket_recv(c->sock, c->in, &n);
    c->linger_bytes += n;
    if (APR_STATUS_IS_EAGAIN(rv))
        return;
    if (rv != APR_SUCCESS || c->linger_bytes > KT__HTTP_LINGER_MAX)
        conn_close(c);
}

static void drive(kt__conn_t *c, apr_time_t now);

/* How long a new connection may take to send its first request (its
 * handshake first, on TLS). */
static unsigned first_wait(const kt_http_t *s)
{
    const kt_http_conf_t *conf = &s->conf;
    return conf->header_timeout_ms < conf->idle_timeout_ms ? conf->header_timeout_ms
                                                           : conf->idle_timeout_ms;
}

/* Over max_connections: a 503 and close (after the handshake on TLS, so
 * the client can read it). */
static void refuse(kt__conn_t *c, apr_time_t now)
{
    kt_log(KT_LOG_DEBUG, "http: %s: refused, %u connections open", c->remote, c->s->n_active);
    kt__http_conn_begin(c, now);
    kt__http_conn_fail(c, 503, "service_unavailable", "too many connections");
}

/* A TLS session may hold decrypted bytes the last read had no room for;
 * the socket will not report them. Once there is room, c is read again
 * in the next turn without waiting (tls_pending). */
static void tls_recheck(kt__conn_t *c)
{
    if (!c->tls_stalled || (!c->in_worker && c->state == KT__CONN_CLOSED))
        return;
    if (!kt__tls_pending(c)) {
        c->tls_stalled = 0;
        return;
    }
    if (wanted(c) & APR_POLLIN) {
        c->tls_ready = 1;
        c->s->tls_pending = 1;
    }
}

static void dispatch(kt__conn_t *c)
{
    kt_http_t *s = c->s;
    if (!kt__http_conn_route(c))
        return; /* answered here: 404, 405 */
    /* An inline route's try function answers here, in order like any
     * other: the parser stays paused until this answer is written. */
    if (kt__http_conn_try(c)) {
        if (c->req->stream)
            kt__http_stream_attach(c);
        return;
    }
    c->in_worker = 1;
    set_events(c, wanted(c));
    if (kt__http_workers_submit(s->workers, c) == APR_SUCCESS)
        return; /* c belongs to a worker now */
    c->in_worker = 0;
    kt_log(KT_LOG_DEBUG, "http: %s: worker queue full", c->remote);
    kt__http_conn_fail(c, 503, "service_unavailable", "the server is busy; try again");
}

static int stream_step(kt__conn_t *c, apr_time_t now)
{
    if (c->dead || c->peer_eof || c->s->stop_begun)
        return -1;
    apr_size_t written;
    int p = kt__http_stream_pump(c, &written);
    if (p < 0)
        return -1;
    c->want_write = p > 0;
    if (!c->want_write)
        c->deadline = 0;
    else if (written || !c->deadline)
        c->deadline = now + ms(c->s->conf.write_timeout_ms);
    return 0;
}

/* The request-reading states. 1: go on (the state moved), 0: wait for
 * bytes, -1: c is closed or with a worker (hands off). */
static int read_step(kt__conn_t *c, apr_time_t now)
{
    if (c->dead || (c->s->stop_begun && c->state == KT__CONN_IDLE)) {
        conn_close(c);
        return -1;
    }
    kt__feed_t r = kt__http_conn_feed(c, now);
    if (r == KT__FEED_MORE) {
        if (c->peer_eof) {
            conn_close(c); /* nothing more will come to answer */
            return -1;
        }
        if (c->send_continue)
            send_continue(c);
        return c->dead ? 1 : 0;
    }
    if (r == KT__FEED_REQUEST) {
        dispatch(c);
        if (c->in_worker)
            return -1;
    }
    return 1; /* answered here (refusal, 404/405, inline, 503): WRITING or STREAM */
}

/* Runs c's state machine until it waits on the socket, a worker or a timer. */
static void drive(kt__conn_t *c, apr_time_t now)
{
    kt_http_t *s = c->s;
    for (;;) {
        switch (c->state) {
        case KT__CONN_HANDSHAKE: {
            int h = kt__tls_handshake(c);
            if (h < 0) {
                conn_close(c);
                return;
            }
            if (h == 0)
                goto block;
            c->state = KT__CONN_IDLE;
            c->deadline = now + ms(first_wait(s));
            /* The request may have come with the client's last flight and
             * been read ahead with it: the socket will not say so. */
            c->tls_stalled = kt__tls_pending(c);
            if (c->rejected)
                refuse(c, now);
            continue;
        }
        case KT__CONN_IDLE:
        case KT__CONN_HEAD:
        case KT__CONN_BODY: {
            int step = read_step(c, now);
            if (step < 0)
                return;
            if (step == 0)
                goto block;
            continue;
        }
        case KT__CONN_HANDLER:
            goto block;
        case KT__CONN_WRITING: {
            int w = write_out(c, now);
            if (w < 0) {
                conn_close(c);
                return;
            }
            if (w > 0)
                goto block;
            if (c->close_after || s->stop_begun)
                begin_linger(c, now);
            else
                kt__http_conn_next(c, now);
            continue;
        }
        case KT__CONN_STREAM:
            if (stream_step(c, now) < 0) {
                conn_close(c);
                return;
            }
            goto block;
        case KT__CONN_LINGER:
            goto block;
        case KT__CONN_CLOSED:
            return;
        }
    }
block:
    if (set_events(c, wanted(c)) != APR_SUCCESS) {
        kt_log(KT_LOG_DEBUG, "http: %s: cannot poll", c->remote);
        conn_close(c);
        return;
    }
    note_deadline(s, c->deadline);
    tls_recheck(c);
}

static void on_readable(kt__conn_t *c, apr_time_t now)
{
    if (!c->in_worker && c->state == KT__CONN_HANDSHAKE) {
        drive(c, now);
        return;
    }
    if (!c->in_worker && (c->state == KT__CONN_LINGER || c->state == KT__CONN_STREAM)) {
        discard(c);
        if (c->state == KT__CONN_STREAM)
            drive(c, now);
        return;
    }
    if (c->in_off) {
        memmove(c->in, c->in + c->in_off, c->in_len - c->in_off);
        c->in_len -= c->in_off;
        c->in_off = 0;
    }
    apr_size_t n = c->in_cap - c->in_len;
    apr_status_t rv = APR_SUCCESS;
    if (n) {
        rv = kt__http_io_recv(c, c->in + c->in_len, &n);
        c->in_len += n;
        /* Only after a read that got bytes: what is buffered may be part
         * of a record, which another read would only wait for (EAGAIN). */
        if (c->tls)
            c->tls_stalled = n && kt__tls_pending(c);
        if (n && !c->in_worker && c->state == KT__CONN_BODY)
            c->deadline = now + ms(c->s->conf.body_timeout_ms);
        if (APR_STATUS_IS_EOF(rv)) {
            c->peer_eof = 1;
        } else if (rv != APR_SUCCESS && !APR_STATUS_IS_EAGAIN(rv)) {
            kt_log(KT_LOG_DEBUG, "http: %s: read failed (%d)", c->remote, rv);
            c->peer_eof = c->dead = 1;
        }
    }
    if (c->in_worker) {
        set_events(c, wanted(c));
        tls_recheck(c);
    } else {
        drive(c, now);
    }
}

static void accept_some(kt_http_t *s, apr_time_t now)
{
    const kt_http_conf_t *conf = &s->conf;
    for (int i = 0; i < ACCEPTS_PER_TURN; i++) {
        apr_pool_t *p;
        apr_socket_t *sock;
        if (pool_get(s, &p) != APR_SUCCESS)
            return;
        apr_status_t rv = apr_socket_accept(&sock, s->listener, p);
        if (rv != APR_SUCCESS) {
            pool_put(s, p);
            if (APR_STATUS_IS_EAGAIN(rv))
                return;
            kt_log(KT_LOG_DEBUG, "http: accept failed (%d); pausing the listener", rv);
            if (s->listener_polled)
                apr_pollset_remove(s->pollset, &s->listen_pfd);
            s->listener_polled = 0;
            s->accept_resume = now + ms(ACCEPT_PAUSE_MS);
            note_deadline(s, s->accept_resume);
            return;
        }
        if (s->n_conns >= conf->max_connections + KT__HTTP_REJECT_SLACK) {
            apr_socket_close(sock); /* too many even to refuse politely */
            pool_put(s, p);
            continue;
        }
        apr_socket_opt_set(sock, APR_SO_NONBLOCK, 1);
        apr_socket_timeout_set(sock, 0);
        apr_socket_opt_set(sock, APR_TCP_NODELAY, 1);
        kt__conn_t *c = kt__http_conn_new(s, p, sock);
        c->pfd.p = p;
        c->pfd.desc_type = APR_POLL_SOCKET;
        c->pfd.desc.s = sock;
        c->pfd.client_data = c;
        c->next = s->conns;
        if (s->conns)
            s->conns->prev = c;
        s->conns = c;
        s->n_conns++;
        atomic_fetch_add(&s->st_conns, 1);
        if (s->n_active >= conf->max_connections)
            c->rejected = 1;
        else
            s->n_active++;
        if (s->tls) {
            /* The handshake is bounded like a slow head: a client that
             * opens and sends nothing, or half a hello, goes at the
             * deadline, and meanwhile costs others nothing. */
            c->state = KT__CONN_HANDSHAKE;
            c->deadline = now + ms(conf->header_timeout_ms);
            if (kt__tls_conn_new(c) != APR_SUCCESS) {
                kt_log(KT_LOG_WARN, "http: %s: cannot start a TLS session", c->remote);
                conn_close(c);
                continue;
            }
        } else if (c->rejected) {
            refuse(c, now);
        } else {
            c->deadline = now + ms(first_wait(s));
        }
        drive(c, now);
    }
}

/* The connections whose TLS session holds bytes they now have room for. */
static void read_tls_ready(kt_http_t *s, apr_time_t now)
{
    if (!s->tls_pending)
        return;
    s->tls_pending = 0;
    for (kt__conn_t *c = s->conns; c; c = c->next) {
        if (!c->tls_ready)
            continue;
        c->tls_ready = 0;
        if (c->in_worker || c->state != KT__CONN_CLOSED)
            on_readable(c, now);
    }
}

static void take_done(kt_http_t *s, apr_time_t now)
{
    apr_thread_mutex_lock(s->done_mutex);
    kt__conn_t *list = s->done_head;
    s->done_head = NULL;
    apr_thread_mutex_unlock(s->done_mutex);
    while (list) {
        kt__conn_t *c = list;
        list = c->done_next;
        c->in_worker = 0;
        if (c->req->stream)
            kt__http_stream_attach(c);
        drive(c, now);
    }
}

static void expire(kt__conn_t *c, apr_time_t now)
{
    switch (c->state) {
    case KT__CONN_HANDSHAKE:
        kt_log(KT_LOG_DEBUG, "http: %s: TLS handshake not finished in time", c->remote);
        conn_close(c);
        break;
    case KT__CONN_HEAD:
    case KT__CONN_BODY:
        kt_log(KT_LOG_DEBUG, "http: %s: request not received in time", c->remote);
        kt__http_conn_fail(c, 408, "request_timeout", "the request did not arrive in time");
        drive(c, now);
        break;
    default:
        kt_log(KT_LOG_DEBUG, "http: %s: timed out in state %d", c->remote, (int)c->state);
        conn_close(c);
        break;
    }
}

static void sweep(kt_http_t *s, apr_time_t now)
{
    s->next_sweep = 0;
    for (kt__conn_t *c = s->conns; c; c = c->next) {
        if (c->in_worker || c->state == KT__CONN_CLOSED)
            continue;
        if (c->deadline && c->deadline <= now)
            expire(c, now);
        if (!c->in_worker && c->state != KT__CONN_CLOSED)
            note_deadline(s, c->deadline);
    }
    if (s->accept_resume && !s->stop_begun) {
        if (now >= s->accept_resume) {
            s->accept_resume = 0;
            if (apr_pollset_add(s->pollset, &s->listen_pfd) == APR_SUCCESS)
                s->listener_polled = 1;
        } else {
            note_deadline(s, s->accept_resume);
        }
    }
}

static void begin_stop(kt_http_t *s, apr_time_t now)
{
    s->stop_begun = 1;
    s->grace_deadline = now + ms(s->conf.shutdown_grace_ms);
    if (s->listener_polled)
        apr_pollset_remove(s->pollset, &s->listen_pfd);
    s->listener_polled = 0;
    apr_socket_close(s->listener);
    for (kt__conn_t *c = s->conns; c; c = c->next)
        if (!c->in_worker && c->state != KT__CONN_WRITING)
            conn_close(c);
}

static int busy(const kt_http_t *s)
{
    for (const kt__conn_t *c = s->conns; c; c = c->next)
        if (c->in_worker || c->state == KT__CONN_WRITING)
            return 1;
    return 0;
}

/* After the loop: join the workers, then close everything that is left. */
static void finish(kt_http_t *s)
{
    kt__http_workers_stop(s->workers);
    apr_thread_mutex_lock(s->done_mutex);
    kt__conn_t *list = s->done_head;
    s->done_head = NULL;
    apr_thread_mutex_unlock(s->done_mutex);
    for (; list; list = list->done_next) {
        list->in_worker = 0;
        if (list->req->stream)
            kt__http_stream_attach(list);
    }
    for (kt__conn_t *c = s->conns; c; c = c->next) {
        c->in_worker = 0; /* dropped from the queue unstarted */
        conn_close(c);
    }
    free_zombies(s);
    kt__http_stream_drain_pokes(s); /* nothing attached remains: releases only */
}

/* Until the next deadline; with none pending, until something wakes the
 * pollset (a socket, a finished handler, a stream write, stop), so an idle
 * daemon does not tick. */
static apr_interval_time_t poll_timeout(const kt_http_t *s, apr_time_t now)
{
    if (s->tls_pending)
        return 0;
    apr_time_t until = s->next_sweep;
    if (s->stop_begun && (!until || s->grace_deadline < until))
        until = s->grace_deadline;
    if (!until)
        return -1;
    return until > now ? until - now : 0;
}

static void *APR_THREAD_FUNC loop_main(apr_thread_t *t, void *data)
{
    kt_sys_thread_name("koto-http");
    kt_http_t *s = data;
#ifdef SIGPIPE
    apr_signal_block(SIGPIPE); /* a write to a closed peer must fail, not kill */
#endif
    for (;;) {
        apr_time_t now = apr_time_now();
        if (!s->stop_begun && atomic_load(&s->stopping))
            begin_stop(s, now);
        if (s->stop_begun && (!busy(s) || now >= s->grace_deadline))
            break;
        apr_int32_t num = 0;
        const apr_pollfd_t *ev = NULL;
        apr_status_t rv = apr_pollset_poll(s->pollset, poll_timeout(s, now), &num, &ev);
        atomic_store(&s->wake_pending, 0);
        if (rv != APR_SUCCESS) {
            if (!APR_STATUS_IS_TIMEUP(rv) && !APR_STATUS_IS_EINTR(rv)) {
                kt_log(KT_LOG_WARN, "http: poll failed (%d)", rv);
                apr_sleep(ms(10));
            }
            num = 0;
        }
        now = apr_time_now();
        for (apr_int32_t i = 0; i < num; i++) {
            if (ev[i].client_data == s) {
                if (!s->stop_begun)
                    accept_some(s, now);
                continue;
            }
            kt__conn_t *c = ev[i].client_data;
            /* in_worker first: while a worker has the request, state is its. */
            if (!c->in_worker && c->state == KT__CONN_CLOSED)
                continue;
            if ((ev[i].rtnevents & (APR_POLLIN | APR_POLLHUP | APR_POLLERR)) ||
                ((ev[i].rtnevents & APR_POLLOUT) && c->tls_read_wants_write &&
                 (c->in_worker || c->state != KT__CONN_HANDSHAKE)))
                on_readable(c, now);
            if (!c->in_worker && c->state != KT__CONN_CLOSED && (ev[i].rtnevents & APR_POLLOUT))
                drive(c, now);
        }
        take_done(s, now);
        read_tls_ready(s, now);
        kt__http_stream_drain_pokes(s);
        if (s->next_sweep && now >= s->next_sweep)
            sweep(s, now);
        free_zombies(s);
    }
    finish(s);
    return NULL; /* not apr_thread_exit: its forced unwind upsets ASan */
}

/* ---- Internal ---------------------------------------------------------- */

apr_status_t kt__http_loop_start(kt_http_t *s)
{
    apr_status_t rv;
    apr_uint32_t size = s->conf.max_connections + KT__HTTP_REJECT_SLACK + 2;
    if ((rv = apr_thread_mutex_create(&s->done_mutex, APR_THREAD_MUTEX_DEFAULT,
                                      s->run_pool)) != APR_SUCCESS ||
        (rv = apr_pollset_create(&s->pollset, size, s->run_pool, APR_POLLSET_WAKEABLE)) !=
            APR_SUCCESS)
        return rv;
    s->listen_pfd.p = s->run_pool;
    s->listen_pfd.desc_type = APR_POLL_SOCKET;
    s->listen_pfd.desc.s = s->listener;
    s->listen_pfd.reqevents = APR_POLLIN;
    s->listen_pfd.client_data = s;
    if ((rv = apr_pollset_add(s->pollset, &s->listen_pfd)) != APR_SUCCESS)
        return rv;
    s->listener_polled = 1;
    return apr_thread_create(&s->loop_thread, NULL, loop_main, s, s->run_pool);
}

void kt__http_wake(kt_http_t *s)
{
    if (!s->pollset)
        return; /* no loop (the harness): nothing to wake */
    unsigned idle = 0;
    if (atomic_compare_exchange_strong(&s->wake_pending, &idle, 1))
        apr_pollset_wakeup(s->pollset);
}

void kt__http_loop_done(kt_http_t *s, kt__conn_t *c)
{
    apr_thread_mutex_lock(s->done_mutex);
    c->done_next = s->done_head;
    s->done_head = c;
    apr_thread_mutex_unlock(s->done_mutex);
    kt__http_wake(s);
}

void kt__http_loop_kick(kt__conn_t *c)
{
    if (!c->in_worker && c->state != KT__CONN_CLOSED)
        drive(c, apr_time_now());
}
