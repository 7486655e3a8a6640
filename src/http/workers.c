/*
 * workers.c - a fixed set of handler threads behind one bounded queue.
 *
 * DESIGN
 * The loop submits a connection whose request is complete; a worker runs the
 * handler and hands the connection back (kt__http_loop_done). The queue is a
 * ring of queue_cap slots: when it is full, submit fails and the loop answers
 * 503 at once instead of letting work pile up. (APR-util's apr_thread_pool
 * has no bound on its task queue, hence our own.)
 *
 * Threads come when there is work for them: submit starts one (up to max)
 * whenever the queue holds more requests than threads wait for them. A
 * daemon asked for its page now and then keeps one thread, not max, and
 * none is started before the listener is up. Only the loop submits and
 * stops, so only the loop thread starts threads and allocates from pool.
 *
 * Stop drops what has not started (the loop closes those connections), lets
 * running handlers return, and joins.
 *
 * Lock: mu guards q/head/count/quit/idle; nothing else is done while holding
 * it (a thread is started outside it).
 */
#include "http_internal.h"
#include "kt_sys.h"

struct kt__workers_t {
    kt_http_t *s;
    apr_thread_mutex_t *mu;
    apr_thread_cond_t *cv;
    kt__conn_t **q;
    unsigned cap, head, count;
    int quit;
    apr_pool_t *pool;       /* the threads': the loop thread's alone once started */
    apr_thread_t **threads;
    unsigned n, max;        /* started, at most: the loop thread's */
    unsigned idle;          /* waiting in next_job: under mu */
};

/* ---- Private ---------------------------------------------------------- */

static kt__conn_t *next_job(kt__workers_t *w)
{
    kt__conn_t *c = NULL;
    apr_thread_mutex_lock(w->mu);
    while (!w->quit && w->count == 0) {
        w->idle++;
        apr_thread_cond_wait(w->cv, w->mu); /* submit signals, stop broadcasts */
        w->idle--;
    }
    if (!w->quit) {
        c = w->q[w->head];
        w->head = (w->head + 1) % w->cap;
        w->count--;
    }
    apr_thread_mutex_unlock(w->mu);
    return c;
}

static void *APR_THREAD_FUNC worker_main(apr_thread_t *t, void *data)
{
    kt_sys_thread_name("koto-worker");
    kt__workers_t *w = data;
    kt__conn_t *c;
    while ((c = next_job(w)) != NULL) {
        kt__http_conn_run(c);
        kt__http_loop_done(w->s, c);
    }
    return NULL; /* not apr_thread_exit: its forced unwind upsets ASan */
}

/* ---- Internal ---------------------------------------------------------- */

apr_status_t kt__http_workers_create(kt__workers_t **out, kt_http_t *s, unsigned max,
                                     unsigned queue_cap, apr_pool_t *pool)
{
    kt__workers_t *w = apr_pcalloc(pool, sizeof *w);
    apr_status_t rv;
    w->s = s;
    w->pool = pool;
    w->cap = queue_cap;
    w->max = max;
    w->q = apr_pcalloc(pool, sizeof(kt__conn_t *) * queue_cap);
    w->threads = apr_pcalloc(pool, sizeof(apr_thread_t *) * max);
    if ((rv = apr_thread_mutex_create(&w->mu, APR_THREAD_MUTEX_DEFAULT, pool)) != APR_SUCCESS ||
        (rv = apr_thread_cond_create(&w->cv, pool)) != APR_SUCCESS)
        return rv;
    *out = w;
    return APR_SUCCESS;
}

apr_status_t kt__http_workers_submit(kt__workers_t *w, kt__conn_t *c)
{
    apr_thread_mutex_lock(w->mu);
    if (w->count >= w->idle && w->n < w->max) { /* c would find no thread waiting */
        /* Only the loop submits and stops: while the lock is let go the
         * count can only fall and quit stays as it was. */
        apr_thread_mutex_unlock(w->mu);
        if (apr_thread_create(&w->threads[w->n], NULL, worker_main, w, w->pool) == APR_SUCCESS)
            w->n++;
        if (w->n == 0)
            return APR_EAGAIN; /* not one thread could be had: the loop answers 503 */
        apr_thread_mutex_lock(w->mu);
    }
    apr_status_t rv = APR_SUCCESS;
    if (w->quit || w->count == w->cap) {
        rv = APR_EAGAIN;
    } else {
        w->q[(w->head + w->count) % w->cap] = c;
        w->count++;
    }
    apr_thread_mutex_unlock(w->mu);
    if (rv == APR_SUCCESS)
        apr_thread_cond_signal(w->cv);
    return rv;
}

void kt__http_workers_stop(kt__workers_t *w)
{
    if (!w)
        return;
    apr_thread_mutex_lock(w->mu);
    w->quit = 1;
    w->count = 0;
    apr_thread_mutex_unlock(w->mu);
    apr_thread_cond_broadcast(w->cv);
    for (unsigned i = 0; i < w->n; i++) {
        apr_status_t ignored;
        apr_thread_join(&ignored, w->threads[i]);
    }
    w->n = 0;
}
