/*
 * monitor.c - the monitor's life: creation, the sampler thread, ingesting a
 * reading (detect, log, publish, notify) and the event-log queries.
 */
#include "core_internal.h"
#include "kt_sys.h"

#include <stdlib.h>
#include <string.h>

#include <apr_strings.h>

/* A check's strings, in the order they are copied. */
#define CHECK_STRINGS(k)                                                                   \
    {&(k)->name, &(k)->kind, &(k)->process, &(k)->pidfile, &(k)->cmdline, &(k)->unit}

static size_t str_size(const char *s) { return s ? strlen(s) + 1 : 0; }

static const char *str_put(char **text, const char *s)
{
    if (!s)
        return NULL;
    const char *at = strcpy(*text, s);
    *text += strlen(s) + 1;
    return at;
}

/* A configuration with its disk overrides and checks in one malloc'd
 * block, so the sampler can swap and free it without touching a pool. */
static kt_mon_conf_t *conf_clone(const kt_mon_conf_t *c)
{
    size_t size = sizeof *c + sizeof(kt_mon_fs_rule_t) * c->ndisk_overrides +
                  sizeof(kt_mon_check_t) * c->nchecks;
    for (unsigned i = 0; i < c->ndisk_overrides; i++)
        size += strlen(c->disk_overrides[i].mount_point) + 1;
    for (unsigned i = 0; i < c->nchecks; i++) {
        const char **s[] = CHECK_STRINGS((kt_mon_check_t *)&c->checks[i]);
        for (size_t k = 0; k < KT_ARRAY_SIZE(s); k++)
            size += str_size(*s[k]);
    }
    kt_mon_conf_t *copy = malloc(size);
    if (!copy)
        return NULL;
    *copy = *c;
    kt_mon_fs_rule_t *o = (kt_mon_fs_rule_t *)(copy + 1);
    kt_mon_check_t *ck = (kt_mon_check_t *)(o + c->ndisk_overrides);
    char *text = (char *)(ck + c->nchecks);
    for (unsigned i = 0; i < c->ndisk_overrides; i++) {
        o[i] = c->disk_overrides[i];
        o[i].mount_point = str_put(&text, c->disk_overrides[i].mount_point);
    }
    for (unsigned i = 0; i < c->nchecks; i++) {
        ck[i] = c->checks[i];
        const char **s[] = CHECK_STRINGS(&ck[i]);
        for (size_t k = 0; k < KT_ARRAY_SIZE(s); k++)
            *s[k] = str_put(&text, *s[k]);
    }
    copy->disk_overrides = o;
    copy->checks = c->nchecks ? ck : NULL;
    return copy;
}

static apr_status_t mon_cleanup(void *data)
{
    kt_mon_t *m = data;
    kt_mon_stop(m);
    kt__detect_fini(&m->det);
    free(m->pending);
    free(m->active_conf);
    kt_snap_release(m->latest);
    m->latest = NULL;
    if (m->snap_alloc)
        apr_allocator_destroy(m->snap_alloc);
    return APR_SUCCESS;
}

apr_status_t kt_mon_create(kt_mon_t **out, const kt_mon_conf_t *conf, kt_plat_t *plat,
                           apr_pool_t *parent)
{
    char err[256];
    apr_status_t st = kt_mon_conf_check(conf, err, sizeof err);
    if (st != APR_SUCCESS) {
        kt_log(KT_LOG_ERROR, "monitor configuration: %s", err);
        return st;
    }
    apr_pool_t *pool;
    if ((st = apr_pool_create(&pool, parent)) != APR_SUCCESS)
        return st;
    apr_pool_tag(pool, "monitor");
    kt_mon_t *m = apr_pcalloc(pool, sizeof *m);
    m->pool = pool;
    m->plat = plat;
    if (!(m->active_conf = conf_clone(conf))) {
        apr_pool_destroy(pool);
        return APR_ENOMEM;
    }
    m->conf = *m->active_conf;
    if ((st = apr_thread_mutex_create(&m->lock, APR_THREAD_MUTEX_DEFAULT, pool)) ||
        (st = apr_thread_mutex_create(&m->run_lock, APR_THREAD_MUTEX_DEFAULT, pool)) ||
        (st = apr_thread_mutex_create(&m->sub_lock, APR_THREAD_MUTEX_DEFAULT, pool)) ||
        (st = apr_thread_cond_create(&m->wake, pool)) ||
        (st = apr_thread_cond_create(&m->sub_idle, pool))) {
        apr_pool_destroy(pool);
        return st;
    }
    /* One allocator for every snapshot: a fresh one per reading would map
     * and unmap its memory each time. Snapshots die on any thread, hence
     * the mutex; max_free keeps a reading's worth of memory for the next. */
    apr_thread_mutex_t *alloc_lock;
    if ((st = apr_allocator_create(&m->snap_alloc)) != APR_SUCCESS ||
        (st = apr_thread_mutex_create(&alloc_lock, APR_THREAD_MUTEX_DEFAULT, pool))) {
        apr_pool_destroy(pool);
        return st;
    }
    apr_allocator_mutex_set(m->snap_alloc, alloc_lock);
    apr_allocator_max_free_set(m->snap_alloc, 512 * 1024);
    kt__ring_init(&m->log, sizeof(kt_event_t), conf->event_capacity, pool);
    kt__ring_init(&m->hist, sizeof(kt_hist_point_t), conf->history_capacity, pool);
    kt__detect_init(&m->det, pool);
    m->self.rss_bytes = m->self.cpu_pct = m->self.cpu_seconds = NAN;
    m->batch = apr_palloc(pool, sizeof(kt_event_t) * KT__MAX_BATCH);
    /* A pre-cleanup: it must stop the sampler before the pool's children,
     * the thread's own run pool among them, are destroyed. */
    apr_pool_pre_cleanup_register(pool, m, mon_cleanup);
    *out = m;
    return APR_SUCCESS;
}

void kt_mon_destroy(kt_mon_t *m)
{
    apr_pool_destroy(m->pool);
}

/* ---- ingest: the one path every reading takes ---------------------------------------- */

/* Calls the subscribers on a copy of the list, holding no lock of ours: a
 * subscriber takes its own locks (kt_mon.h's lock order). */
static void notify(kt_mon_t *m, const kt_snap_t *snap, const kt_event_t *events, unsigned n)
{
    kt__sub_t subs[KT__MAX_SUBSCRIBERS];
    apr_thread_mutex_lock(m->sub_lock);
    unsigned nsubs = m->nsubs;
    memcpy(subs, m->subs, sizeof *subs * nsubs);
    m->notifying++;
    apr_thread_mutex_unlock(m->sub_lock);

    for (unsigned i = 0; i < nsubs; i++)
        subs[i].fn(subs[i].baton, snap, events, n);

    apr_thread_mutex_lock(m->sub_lock);
    if (--m->notifying == 0)
        apr_thread_cond_broadcast(m->sub_idle);
    apr_thread_mutex_unlock(m->sub_lock);
}

/* Takes a configuration set by kt_mon_set_conf; on the ingesting thread. */
static void adopt_pending_conf(kt_mon_t *m)
{
    apr_thread_mutex_lock(m->lock);
    kt_mon_conf_t *next = m->pending;
    m->pending = NULL;
    apr_thread_mutex_unlock(m->lock);
    if (!next)
        return;
    /* What cannot change while running stays as created. */
    next->event_capacity = m->conf.event_capacity;
    next->history_capacity = m->conf.history_capacity;
    next->top_n = m->conf.top_n;
    free(m->active_conf);
    m->active_conf = next;
    m->conf = *next;
}

apr_status_t kt_mon_set_conf(kt_mon_t *m, const kt_mon_conf_t *conf)
{
    char err[256];
    apr_status_t st = kt_mon_conf_check(conf, err, sizeof err);
    if (st != APR_SUCCESS)
        return st;
    kt_mon_conf_t *copy = conf_clone(conf);
    if (!copy)
        return APR_ENOMEM;
    apr_thread_mutex_lock(m->lock);
    free(m->pending);
    m->pending = copy;
    apr_thread_mutex_unlock(m->lock);
    return APR_SUCCESS;
}

/* The journal's part of a reading: its events made durable before they are
 * published, and the detectors' state when a condition moved (every
 * reading's events say so) or a while has passed (hold counters, the
 * baseline). */
static void journal(kt_mon_t *m, const kt_sample_t *s, unsigned n)
{
    if (m->journal.commit && n)
        m->journal.commit(m->journal.baton, m->batch, n);
    if (m->journal.save_state &&
        (n || s->time - m->state_saved >= apr_time_from_sec(KT_MON_STATE_EVERY_S))) {
        m->state_saved = s->time;
        m->journal.save_state(m->journal.baton, kt__detect_save(&m->det));
    }
}

apr_status_t kt_mon_post_event(kt_mon_t *m, const kt_event_t *e)
{
    apr_status_t st = KT_EUNAVAIL;
    apr_thread_mutex_lock(m->lock);
    if (m->nposted < KT_MON_MAX_POSTED) {
        m->posted[m->nposted++] = *e;
        st = APR_SUCCESS;
    }
    apr_thread_mutex_unlock(m->lock);
    return st;
}

/* The posted events join the reading's, after the detectors'. */
static unsigned take_posted(kt_mon_t *m, const kt_sample_t *s, unsigned n)
{
    apr_thread_mutex_lock(m->lock);
    unsigned k = 0;
    for (; k < m->nposted && n < KT__MAX_BATCH; k++, n++) {
        m->batch[n] = m->posted[k];
        m->batch[n].id = ++m->det.next_id;
        m->batch[n].time = s->time;
    }
    memmove(m->posted, m->posted + k, sizeof m->posted[0] * (m->nposted - k));
    m->nposted -= k;
    apr_thread_mutex_unlock(m->lock);
    return n;
}

static void ingest(kt_mon_t *m, const kt_sample_t *s, apr_pool_t *pool, double duration_ms)
{
    adopt_pending_conf(m);
    unsigned nv = 0;
    if (m->conditions && m->verdicts) {
        nv = m->conditions(m->conditions_baton, s, m->verdicts, KT_MON_MAX_VERDICTS);
    }
    unsigned n = kt__detect_run(&m->det, &m->conf, s, m->verdicts, nv, m->batch, KT__MAX_BATCH);
    n = take_posted(m, s, n);
    if (n == KT__MAX_BATCH)
        kt_log(KT_LOG_WARN, "more than %u events in one reading; the rest were dropped",
               KT__MAX_BATCH);
    if (m->mark && n)
        m->mark(m->mark_baton, m->batch, n);
    journal(m, s, n);
    kt_hist_point_t point;
    kt__history_point(s, &point);

    apr_thread_mutex_lock(m->lock);
    kt_snap_t *old = m->latest;
    kt_snap_t *snap = kt__snap_wrap(s, pool, ++m->samples, duration_ms, m->conf.interval_ms);
    snap->shedding = m->det.budget.self.shedding;
    m->self = m->det.budget.self;
    m->latest = snap;
    m->last_sample = s->time;
    for (unsigned i = 0; i < n; i++) {
        kt__ring_push(&m->log, &m->batch[i]);
        m->last_id = m->batch[i].id;
        if (!m->batch[i].resolved && !m->batch[i].escalated && !m->batch[i].flapping)
            m->started_total[m->batch[i].type][m->batch[i].severity]++;
    }
    kt__ring_push(&m->hist, &point);
    m->nactive = kt__detect_active(&m->det, m->active, KT_MON_MAX_ACTIVE);
    if (m->cstates) {
        for (unsigned i = 0; i < nv; i++)
            kt__detect_verdict_state(&m->det, &m->verdicts[i], &m->cstates[i]);
        m->ncstates = nv;
        m->cstates_time = s->time;
    }
    apr_thread_mutex_unlock(m->lock);

    kt_snap_release(old);
    /* Only this thread replaces m->latest, so snap stays alive through notify. */
    notify(m, snap, m->batch, n);
}

void kt_mon_set_journal(kt_mon_t *m, const kt_mon_journal_t *j) { m->journal = *j; }

void kt_mon_set_conditions(kt_mon_t *m, kt_mon_conditions_fn fn, void *baton)
{
    if (!m->verdicts)
        m->verdicts = apr_palloc(m->pool, sizeof *m->verdicts * KT_MON_MAX_VERDICTS);
    if (!m->cstates)
        m->cstates = apr_palloc(m->pool, sizeof *m->cstates * KT_MON_MAX_VERDICTS);
    m->conditions = fn;
    m->conditions_baton = baton;
}

unsigned kt_mon_condition_states(kt_mon_t *m, kt_mon_cond_state_t *out, unsigned max,
                                 apr_time_t *when)
{
    apr_thread_mutex_lock(m->lock);
    unsigned n = m->ncstates < max ? m->ncstates : max;
    if (n)
        memcpy(out, m->cstates, sizeof *out * n);
    *when = m->cstates_time;
    apr_thread_mutex_unlock(m->lock);
    return n;
}

void kt_mon_set_marker(kt_mon_t *m, kt_mon_mark_fn fn, void *baton)
{
    m->mark = fn;
    m->mark_baton = baton;
}

unsigned kt_mon_restore(kt_mon_t *m, uint64_t last_id, json_t *state)
{
    apr_thread_mutex_lock(m->lock);
    if (last_id > m->last_id)
        m->last_id = last_id;
    apr_thread_mutex_unlock(m->lock);
    if (last_id > m->det.next_id)
        m->det.next_id = last_id;
    unsigned n = state ? kt__detect_restore(&m->det, state) : 0;
    apr_thread_mutex_lock(m->lock);
    m->nactive = kt__detect_active(&m->det, m->active, KT_MON_MAX_ACTIVE);
    apr_thread_mutex_unlock(m->lock);
    return n;
}

void kt_mon_ingest(kt_mon_t *m, const kt_sample_t *s, apr_pool_t *sample_pool)
{
    ingest(m, s, sample_pool, 0);
}

apr_status_t kt_mon_tick(kt_mon_t *m)
{
    if (!m->plat)
        return KT_ESTATE;
    apr_pool_t *pool;
    apr_status_t st = apr_pool_create_unmanaged_ex(&pool, NULL, m->snap_alloc);
    if (st != APR_SUCCESS)
        return st;
    apr_pool_tag(pool, "snapshot");
    kt_sample_t s;
    int cmdlines = 0; /* the conf is this thread's: it ingests too */
    for (unsigned i = 0; i < m->conf.nchecks; i++)
        cmdlines |= m->conf.checks[i].cmdline != NULL;
    kt_plat_want_cmdlines(m->plat, cmdlines);
    /* Only this thread replaces m->latest: its sample stays alive here. */
    const kt_sample_t *last = m->latest ? kt_snap_sample(m->latest) : NULL;
    kt_plat_want_procs(m->plat, !kt__budget_sheds_procs(&m->det.budget, last));
    apr_time_t t0 = apr_time_now();
    st = kt_plat_sample(m->plat, &s, pool);
    if (st != APR_SUCCESS) {
        apr_pool_destroy(pool);
        return st;
    }
    if (s.procs_carried && last)
        kt__budget_carry_procs(&s, last, pool);
    ingest(m, &s, pool, (double)(apr_time_now() - t0) / 1000.0);
    return APR_SUCCESS;
}

/* ---- the sampler thread ----------------------------------------------------------------- */

static void *APR_THREAD_FUNC sampler_main(apr_thread_t *thread, void *data)
{
    kt_sys_thread_name("koto-sampler");
    kt_mon_t *m = data;
    apr_time_t next = apr_time_now();
    int failing = 0, first = 1;

    apr_thread_mutex_lock(m->run_lock);
    while (!m->stop_requested) {
        apr_thread_mutex_unlock(m->run_lock);
        apr_status_t st = kt_mon_tick(m);
        if (st != APR_SUCCESS && !failing) {
            char err[128];
            kt_log(KT_LOG_ERROR, "reading failed: %s; retrying every interval",
                   kt_strerror(st, err, sizeof err));
        } else if (st == APR_SUCCESS && failing) {
            kt_log(KT_LOG_INFO, "readings succeed again");
        }
        failing = st != APR_SUCCESS;
        apr_thread_mutex_lock(m->run_lock);

        /* Keep a steady cadence; after a tick that overran, start from now
         * rather than firing a burst of catch-up readings. The interval is
         * read each time: a reload may have changed it. */
        apr_interval_time_t interval = (apr_interval_time_t)m->conf.interval_ms * 1000;
        /* Shares and rates need two readings: the second comes within a
         * second of the start whatever the interval, so CPU, the top list
         * and the analysis are not empty for the whole first interval. */
        if (first && interval > apr_time_from_sec(1))
            next += apr_time_from_sec(1) - interval;
        first = 0;
        next += interval;
        apr_time_t now = apr_time_now();
        if (next < now)
            next = now + interval;
        while (!m->stop_requested && (now = apr_time_now()) < next)
            apr_thread_cond_timedwait(m->wake, m->run_lock, next - now);
    }
    apr_thread_mutex_unlock(m->run_lock);
    /* Return rather than apr_thread_exit(): pthread_exit's forced unwind
     * trips AddressSanitizer, and kt_mon_stop frees the thread's pool. */
    return NULL;
}

apr_status_t kt_mon_start(kt_mon_t *m)
{
    if (!m->plat)
        return KT_ESTATE;
    apr_thread_mutex_lock(m->run_lock);
    apr_status_t st = APR_SUCCESS;
    if (!m->running) {
        m->stop_requested = 0;
        /* A pool per run, so starting and stopping a thousand times leaks nothing. */
        if ((st = apr_pool_create(&m->run_pool, m->pool)) == APR_SUCCESS &&
            (st = apr_thread_create(&m->thread, NULL, sampler_main, m, m->run_pool)) !=
                APR_SUCCESS)
            apr_pool_destroy(m->run_pool);
        m->running = st == APR_SUCCESS;
    }
    apr_thread_mutex_unlock(m->run_lock);
    return st;
}

apr_status_t kt_mon_stop(kt_mon_t *m)
{
    apr_thread_mutex_lock(m->run_lock);
    if (!m->running) {
        apr_thread_mutex_unlock(m->run_lock);
        return APR_SUCCESS;
    }
    m->stop_requested = 1;
    apr_thread_cond_signal(m->wake);
    apr_thread_t *thread = m->thread;
    apr_thread_mutex_unlock(m->run_lock);

    apr_status_t rv;
    apr_thread_join(&rv, thread);
    apr_thread_mutex_lock(m->run_lock);
    m->running = 0;
    m->thread = NULL;
    apr_pool_destroy(m->run_pool);
    apr_thread_mutex_unlock(m->run_lock);
    return APR_SUCCESS;
}

int kt_mon_running(kt_mon_t *m)
{
    apr_thread_mutex_lock(m->run_lock);
    int running = m->running;
    apr_thread_mutex_unlock(m->run_lock);
    return running;
}

/* ---- events and subscribers --------------------------------------------------------------- */

unsigned kt_mon_events(kt_mon_t *m, const kt_event_filter_t *f, kt_event_t *out, unsigned max)
{
    apr_thread_mutex_lock(m->lock);
    unsigned n = kt__evlog_query(&m->log, f, out, max);
    apr_thread_mutex_unlock(m->lock);
    return n;
}

void kt_mon_clear(kt_mon_t *m)
{
    apr_thread_mutex_lock(m->lock);
    kt__ring_clear(&m->log);
    m->log_cleared = apr_time_now();
    apr_thread_mutex_unlock(m->lock);
}

uint64_t kt_mon_last_event_id(kt_mon_t *m)
{
    apr_thread_mutex_lock(m->lock);
    uint64_t id = m->last_id;
    apr_thread_mutex_unlock(m->lock);
    return id;
}

apr_status_t kt_mon_subscribe(kt_mon_t *m, kt_mon_reading_fn fn, void *baton, unsigned *id)
{
    apr_status_t st = APR_SUCCESS;
    apr_thread_mutex_lock(m->sub_lock);
    if (m->nsubs == KT__MAX_SUBSCRIBERS) {
        st = KT_ETOOBIG;
    } else {
        m->subs[m->nsubs].fn = fn;
        m->subs[m->nsubs].baton = baton;
        m->subs[m->nsubs].id = *id = ++m->next_sub_id;
        m->nsubs++;
    }
    apr_thread_mutex_unlock(m->sub_lock);
    return st;
}

void kt_mon_unsubscribe(kt_mon_t *m, unsigned id)
{
    apr_thread_mutex_lock(m->sub_lock);
    for (unsigned i = 0; i < m->nsubs; i++) {
        if (m->subs[i].id == id) {
            m->subs[i] = m->subs[--m->nsubs];
            break;
        }
    }
    /* A call that copied the list before the removal may still be running. */
    while (m->notifying)
        apr_thread_cond_wait(m->sub_idle, m->sub_lock);
    apr_thread_mutex_unlock(m->sub_lock);
}

unsigned kt_mon_history(kt_mon_t *m, apr_time_t since, kt_hist_point_t *out, unsigned max)
{
    apr_thread_mutex_lock(m->lock);
    unsigned n = kt__history_query(&m->hist, since, out, max);
    apr_thread_mutex_unlock(m->lock);
    return n;
}
