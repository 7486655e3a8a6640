/*
 * store.c - the store's life and its queue: callers enqueue requests and
 * (for events, queries and clears) wait for them; the store thread runs
 * them one at a time against the database it alone holds.
 *
 * The database is opened on the caller's thread in kt_store_open, before
 * the store thread starts (creating the thread orders everything opened
 * before it), so the state the last run kept is known at once. The
 * history's resumption and the trim are left to the thread, as its first
 * work.
 */
#include "store_internal.h"
#include "kt_sys.h"

#include <stdlib.h>
#include <string.h>

#include <apr_strings.h>

const char *kt_store_state_name(kt_store_state_t st)
{
    return st == KT_STORE_OK ? "ok" : st == KT_STORE_DEGRADED ? "degraded" : "off";
}

void kt__req_free(kt__req_t *r)
{
    free(r->events);
    free((char *)r->who);
    json_decref(r->result);
    json_decref(r->state);
    kt__rows_free(r->rows, r->nrows);
    free(r->body);
    free(r->note_error);
    free(r->notes);
    json_decref(r->silence);
    if (r->remedy)
        kt__remedy_req_free(r->remedy);
    free(r);
}

/* ---- the thread ------------------------------------------------------------------------ */

/* A store waiting for its file tries to open it again. One that could read
 * nothing at the start has handed out ids from 1: a file that holds events
 * by now (made by hand, or readable only now) is not written over. */
static void open_again(kt_store_t *s)
{
    if (!s->db.waiting || apr_time_now() < s->db.next_open)
        return;
    int had_read = s->read_at_start;
    kt__db_open(s);
    if (!s->db.writable)
        return;
    uint64_t stored = kt__events_last_id(s);
    if (!had_read && stored) {
        kt__db_close_handle(s);
        kt__db_set_off(s, "%s holds events up to id %llu but could not be read at the start:"
                          " restart kotod to go on with it", s->opts.path, (unsigned long long)stored);
        return;
    }
    s->read_at_start = 1;
    s->next_retry = s->hist_retry = 0; /* what waits in memory goes now */
    kt_log(KT_LOG_INFO, "store: %s can be written again", s->opts.path);
}

/* Tries the events the disk refused before; they go before any new ones. */
static void flush_backlog(kt_store_t *s)
{
    if (!s->nbacklog || apr_time_now() < s->next_retry)
        return;
    if (kt__events_write(s, s->backlog, s->nbacklog) == APR_SUCCESS) {
        kt_log(KT_LOG_INFO, "store: %u events kept in memory are written now", s->nbacklog);
        s->nbacklog = 0;
    } else {
        s->next_retry = apr_time_now() + apr_time_from_sec(KT__STORE_RETRY_S);
    }
}

/* New events the disk refused wait in memory, oldest first, within a bound. */
static void keep_in_memory(kt_store_t *s, const kt_event_t *ev, unsigned n)
{
    if (!s->backlog && !(s->backlog = malloc(sizeof *s->backlog * KT__STORE_BACKLOG)))
        return;
    for (unsigned i = 0; i < n; i++) {
        if (s->nbacklog == KT__STORE_BACKLOG) {
            memmove(s->backlog, s->backlog + 1, sizeof *s->backlog * (KT__STORE_BACKLOG - 1));
            s->nbacklog--;
        }
        s->backlog[s->nbacklog++] = ev[i];
    }
    s->next_retry = apr_time_now() + apr_time_from_sec(KT__STORE_RETRY_S);
}

static void run(kt_store_t *s, kt__req_t *r)
{
    if (!s->db.handle && r->kind != KT__REQ_EVENTS && r->kind != KT__REQ_HIST_WRITE) {
        r->status = KT_EUNAVAIL; /* waiting for a file it could not open */
        return;
    }
    switch (r->kind) {
    case KT__REQ_EVENTS:
        r->status = KT_EUNAVAIL;
        if (s->db.writable)
            flush_backlog(s);
        if (!s->db.writable || s->nbacklog ||
            (r->status = kt__events_write(s, r->events, r->nevents)) != APR_SUCCESS)
            keep_in_memory(s, r->events, r->nevents);
        break;
    case KT__REQ_QUERY:
        r->status = kt__events_query(s, &r->query, &r->result);
        break;
    case KT__REQ_CLEAR:
        s->nbacklog = 0; /* cleared too: they were the log's */
        r->status = kt__events_clear(s, r->who, &r->removed);
        break;
    case KT__REQ_STATE:
        r->status = kt__state_write(s, r->state);
        break;
    case KT__REQ_REMEDY:
        r->status = kt__remedy_run(s, r->remedy);
        break;
    case KT__REQ_HIST_WRITE:
        kt__hist_write(s, r->rows, r->nrows); /* takes them */
        r->rows = NULL;
        r->nrows = 0;
        break;
    case KT__REQ_HIST_READ:
        r->status = kt__hist_read(s, r->series, r->tier, r->from_ms, r->to_ms, &r->rows, &r->nrows);
        break;
    case KT__REQ_SERIES:
        r->status = kt__hist_series(s, &r->result);
        break;
    default:
        kt__outbox_run(s, r);
        break;
    }
}

static void *APR_THREAD_FUNC store_main(apr_thread_t *t, void *data)
{
    kt_sys_thread_name("koto-store");
    kt_store_t *s = data;
    int more = 0; /* a trim left work for the next round */
    if (s->read_at_start) {
        /* The series' open buckets, here rather than in kt_store_open:
         * for every series two reads, a millisecond or more that kotod's
         * first answer need not wait for. Who records or reads the
         * history meanwhile waits (kt__hist_loading). */
        kt__db_exec(s, "BEGIN");
        kt__hist_load(s);
        kt__db_exec(s, "COMMIT");
        apr_pool_clear(s->db.scratch);
        kt__hist_loading(s, 0);
        /* What the last run's log outgrew, here too: at the 100 000 events
         * the default keeps, the deletes take several milliseconds. */
        apr_thread_mutex_lock(s->lock);
        int tentative = s->opts.tentative;
        apr_thread_mutex_unlock(s->lock);
        if (s->db.writable && !tentative) {
            kt__events_trim(s);
            kt__db_measure(s); /* the open measured the file before */
            apr_pool_clear(s->db.scratch);
        }
    }
    apr_thread_mutex_lock(s->lock);
    for (;;) {
        while (!s->head && !s->stopping && !more &&
               !(s->db.waiting && apr_time_now() >= s->db.next_open))
            apr_thread_cond_timedwait(s->work, s->lock, apr_time_from_sec(KT__STORE_RETRY_S));
        kt__req_t *r = s->head;
        if (r) {
            s->head = r->next;
            if (!s->head)
                s->tail = NULL;
            s->queued--;
        } else if (s->stopping) {
            break;
        }
        apr_thread_mutex_unlock(s->lock);

        open_again(s);
        if (r && (s->db.handle || s->db.waiting))
            run(s, r);
        else if (r)
            r->status = KT_EUNAVAIL;
        if (s->db.writable) {
            flush_backlog(s);
            kt__hist_retry(s);
            apr_thread_mutex_lock(s->lock);
            /* Every minute, and at once when the file outgrew its cap. */
            int trim = !s->opts.tentative &&
                       (more || apr_time_now() >= s->next_trim ||
                        (s->opts.max_mb && s->info.size_bytes > (uint64_t)s->opts.max_mb << 20));
            if (trim)
                s->next_trim = apr_time_now() + apr_time_from_sec(60);
            apr_thread_mutex_unlock(s->lock);
            int again = more;
            more = trim ? kt__hist_trim(s) : 0;
            if (trim && !again) {
                kt__events_trim(s);
                kt__outbox_trim(s);
            }
            kt__db_measure(s);
            apr_pool_clear(s->db.scratch);
        }

        apr_thread_mutex_lock(s->lock);
        s->info.pending = s->nbacklog;
        if (s->db.writable && s->info.state != KT_STORE_OFF) {
            kt_store_state_t now = s->nbacklog || s->nhpending ? KT_STORE_DEGRADED : KT_STORE_OK;
            if (now != s->info.state)
                kt_log(now == KT_STORE_OK ? KT_LOG_INFO : KT_LOG_WARN,
                       "store: %s%s%s", kt_store_state_name(now), now == KT_STORE_OK ? "" : ": ",
                       now == KT_STORE_OK ? "" : s->info.message);
            s->info.state = now;
        }
        if (r) { /* answered after the upkeep: a write's retention has been applied */
            if (r->abandoned || r->detached) {
                kt__req_free(r);
            } else {
                r->done = 1;
                apr_thread_cond_broadcast(s->done);
            }
        }
    }
    apr_thread_mutex_unlock(s->lock);
    return NULL;
}

/* ---- the queue ------------------------------------------------------------------------ */

apr_status_t kt__store_submit(kt_store_t *s, kt__req_t *r, int wait)
{
    apr_time_t deadline = apr_time_now() + apr_time_from_sec(KT__STORE_WAIT_S);
    apr_thread_mutex_lock(s->lock);
    while (s->queued >= KT__STORE_QUEUE && !s->stopping && apr_time_now() < deadline)
        apr_thread_cond_timedwait(s->done, s->lock, apr_time_from_msec(50));
    if (s->stopping || s->queued >= KT__STORE_QUEUE) {
        apr_thread_mutex_unlock(s->lock);
        kt__req_free(r);
        return s->stopping ? APR_EOF : APR_TIMEUP;
    }
    r->detached = !wait; /* nobody will take it back: the thread frees it */
    if (s->tail)
        s->tail->next = r;
    else
        s->head = r;
    s->tail = r;
    s->queued++;
    apr_thread_cond_signal(s->work);
    if (!wait) {
        apr_thread_mutex_unlock(s->lock);
        return APR_SUCCESS;
    }
    while (!r->done && apr_time_now() < deadline)
        apr_thread_cond_timedwait(s->done, s->lock, deadline - apr_time_now());
    apr_status_t st = r->done ? r->status : APR_TIMEUP;
    if (!r->done)
        r->abandoned = 1;
    apr_thread_mutex_unlock(s->lock);
    return st;
}

/* The request is still the caller's after submit returned st. */
static int still_mine(apr_status_t st) { return st != APR_TIMEUP && st != APR_EOF; }

static kt__req_t *req_new(kt__req_kind_t kind)
{
    kt__req_t *r = calloc(1, sizeof *r);
    if (r)
        r->kind = kind;
    return r;
}

int kt__store_still_mine(apr_status_t st) { return still_mine(st); }
kt__req_t *kt__store_req_new(kt__req_kind_t kind) { return req_new(kind); }

/* ---- the API -------------------------------------------------------------------------- */

apr_status_t kt_store_put_events(kt_store_t *s, const kt_event_t *ev, unsigned n)
{
    if (n == 0)
        return APR_SUCCESS;
    if (!s->usable)
        return KT_EUNAVAIL;
    apr_thread_mutex_lock(s->lock);
    for (unsigned i = 0; i < n; i++)
        if (ev[i].id > s->last_id)
            s->last_id = ev[i].id;
    apr_thread_mutex_unlock(s->lock);
    kt__req_t *r = req_new(KT__REQ_EVENTS);
    if (!r || !(r->events = malloc(sizeof *ev * n))) {
        free(r);
        return APR_ENOMEM;
    }
    memcpy(r->events, ev, sizeof *ev * n);
    r->nevents = n;
    apr_status_t st = kt__store_submit(s, r, 1);
    if (still_mine(st))
        kt__req_free(r);
    return st;
}

apr_status_t kt_store_events(kt_store_t *s, const kt_store_query_t *q, json_t **out)
{
    if (!s->usable)
        return KT_EUNAVAIL;
    kt__req_t *r = req_new(KT__REQ_QUERY);
    if (!r)
        return APR_ENOMEM;
    r->query = *q;
    apr_status_t st = kt__store_submit(s, r, 1);
    if (!still_mine(st))
        return st;
    *out = r->result;
    r->result = NULL;
    kt__req_free(r);
    return st;
}

apr_status_t kt_store_clear_events(kt_store_t *s, const char *who, unsigned *removed)
{
    if (!s->usable)
        return KT_EUNAVAIL;
    kt__req_t *r = req_new(KT__REQ_CLEAR);
    if (!r)
        return APR_ENOMEM;
    /* Copied: a caller that stops waiting must not leave the thread a
     * dangling pointer. */
    r->who = strdup(who ? who : "?");
    apr_status_t st = kt__store_submit(s, r, 1);
    if (!still_mine(st))
        return st;
    *removed = r->removed;
    kt__req_free(r);
    return st;
}

void kt_store_put_state(kt_store_t *s, json_t *state)
{
    if (!s->usable) {
        json_decref(state);
        return;
    }
    kt__req_t *r = req_new(KT__REQ_STATE);
    if (!r) {
        json_decref(state);
        return;
    }
    r->state = state;
    kt__store_submit(s, r, 0);
}

/* ---- the outbox ------------------------------------------------------------------------ */

apr_status_t kt_store_outbox_add(kt_store_t *s, const kt_store_note_t *n, const char *body)
{
    if (!s->usable)
        return KT_EUNAVAIL;
    kt__req_t *r = req_new(KT__REQ_OUTBOX_ADD);
    if (!r || !(r->body = strdup(body))) {
        free(r);
        return APR_ENOMEM;
    }
    r->note = *n;
    apr_status_t st = kt__store_submit(s, r, 1);
    if (still_mine(st))
        kt__req_free(r);
    return st;
}

void kt_store_outbox_set(kt_store_t *s, const kt_store_note_t *n, const char *state,
                         const char *error)
{
    if (!s->usable)
        return;
    kt__req_t *r = req_new(KT__REQ_OUTBOX_SET);
    if (!r)
        return;
    r->note = *n;
    r->note_state = state; /* one of three literals */
    r->note_error = strdup(error ? error : "");
    kt__store_submit(s, r, 0);
}

apr_status_t kt_store_outbox_body(kt_store_t *s, const char *id, char **body)
{
    if (!s->usable)
        return KT_EUNAVAIL;
    kt__req_t *r = req_new(KT__REQ_OUTBOX_BODY);
    if (!r)
        return APR_ENOMEM;
    apr_cpystrn(r->note.id, id, sizeof r->note.id);
    apr_status_t st = kt__store_submit(s, r, 1);
    if (!still_mine(st))
        return st;
    *body = r->body;
    r->body = NULL;
    kt__req_free(r);
    return st;
}

apr_status_t kt_store_outbox_pending(kt_store_t *s, kt_store_note_t **out, unsigned *n)
{
    *out = NULL;
    *n = 0;
    if (!s->usable)
        return KT_EUNAVAIL;
    kt__req_t *r = req_new(KT__REQ_OUTBOX_PENDING);
    if (!r)
        return APR_ENOMEM;
    apr_status_t st = kt__store_submit(s, r, 1);
    if (!still_mine(st))
        return st;
    *out = r->notes;
    *n = r->nnotes;
    r->notes = NULL;
    kt__req_free(r);
    return st;
}

apr_status_t kt_store_notify_due(kt_store_t *s, json_t **out)
{
    return kt__store_ask_json(s, KT__REQ_NOTIFY_DUE, out);
}

void kt_store_notify_done(kt_store_t *s, uint64_t event_id)
{
    if (!s->usable)
        return;
    kt__req_t *r = req_new(KT__REQ_NOTIFY_DONE);
    if (!r)
        return;
    r->event_id = event_id;
    kt__store_submit(s, r, 0);
}

apr_status_t kt_store_silence_put(kt_store_t *s, json_t *silence)
{
    if (!s->usable) {
        json_decref(silence);
        return KT_EUNAVAIL;
    }
    kt__req_t *r = req_new(KT__REQ_SILENCE_PUT);
    if (!r) {
        json_decref(silence);
        return APR_ENOMEM;
    }
    r->silence = silence;
    apr_status_t st = kt__store_submit(s, r, 1);
    if (still_mine(st))
        kt__req_free(r);
    return st;
}

apr_status_t kt__store_ask_json(kt_store_t *s, kt__req_kind_t kind, json_t **out)
{
    if (!s->usable)
        return KT_EUNAVAIL;
    kt__req_t *r = req_new(kind);
    if (!r)
        return APR_ENOMEM;
    apr_status_t st = kt__store_submit(s, r, 1);
    if (!still_mine(st))
        return st;
    *out = r->result;
    r->result = NULL;
    kt__req_free(r);
    return st;
}

apr_status_t kt_store_silences(kt_store_t *s, json_t **out)
{
    if (!s->saved_silences)
        return KT_EUNAVAIL;
    *out = json_deep_copy(s->saved_silences);
    return *out ? APR_SUCCESS : APR_ENOMEM;
}

json_t *kt_store_get_state(kt_store_t *s, apr_time_t *saved_at)
{
    *saved_at = s->saved_at;
    return json_incref(s->saved_state);
}

uint64_t kt_store_last_event_id(kt_store_t *s)
{
    apr_thread_mutex_lock(s->lock);
    uint64_t id = s->last_id;
    apr_thread_mutex_unlock(s->lock);
    return id;
}

void kt_store_set_retention(kt_store_t *s, const kt_store_opts_t *opts)
{
    apr_thread_mutex_lock(s->lock);
    s->opts.event_days = opts->event_days;
    s->opts.max_events = opts->max_events;
    s->opts.max_mb = opts->max_mb;
    s->opts.raw_hours = opts->raw_hours ? opts->raw_hours : 48;
    s->opts.minute_days = opts->minute_days ? opts->minute_days : 30;
    s->opts.hour_days = opts->hour_days ? opts->hour_days : 730;
    s->next_trim = 0;
    s->opts.tentative = 0;
    apr_thread_mutex_unlock(s->lock);
}

void kt_store_info(kt_store_t *s, kt_store_info_t *out)
{
    apr_thread_mutex_lock(s->lock);
    *out = s->info;
    apr_thread_mutex_unlock(s->lock);
}

/* ---- life ------------------------------------------------------------------------------- */

static apr_status_t store_cleanup(void *data)
{
    kt_store_close(data);
    return APR_SUCCESS;
}

apr_status_t kt_store_open(kt_store_t **out, const kt_store_opts_t *opts, apr_pool_t *pool)
{
    apr_pool_t *sp;
    apr_status_t st = apr_pool_create(&sp, pool);
    if (st != APR_SUCCESS)
        return st;
    kt_store_t *s = apr_pcalloc(sp, sizeof *s);
    s->pool = sp;
    s->opts = *opts;
    s->opts.path = apr_pstrdup(sp, opts->path);
    if ((st = apr_thread_mutex_create(&s->lock, APR_THREAD_MUTEX_DEFAULT, sp)) ||
        (st = apr_thread_cond_create(&s->work, sp)) ||
        (st = apr_thread_cond_create(&s->done, sp)) || (st = kt__hist_create(s))) {
        apr_pool_destroy(sp);
        return st;
    }
    kt_store_set_retention(s, opts);
    s->opts.tentative = opts->tentative; /* until kt_store_set_retention */
    kt__db_open(s);
    s->usable = s->db.handle || s->db.waiting;
    if (s->db.handle) { /* perhaps one that only reads: then the rest waits */
        s->read_at_start = 1;
        /* One read transaction: each statement outside one takes and
         * drops the file's lock. */
        kt__db_exec(s, "BEGIN");
        s->last_id = s->mark_id = kt__events_last_id(s);
        s->saved_state = kt__state_read(s, &s->saved_at);
        kt__silences_read(s, &s->saved_silences); /* left NULL when it cannot */
        kt__events_count(s);
        kt__db_exec(s, "COMMIT");
        kt__db_measure(s);
        apr_pool_clear(s->db.scratch);
        kt__hist_loading(s, 1); /* the thread's first work (store_main), then the trim */
    }
    if ((st = apr_thread_create(&s->thread, NULL, store_main, s, sp)) != APR_SUCCESS) {
        kt__hist_destroy(s);
        kt__db_close(s);
        apr_pool_destroy(sp);
        return st;
    }
    /* A pre-cleanup: the thread must stop before the pool's children (the
     * database's among them) go. */
    apr_pool_pre_cleanup_register(sp, s, store_cleanup);
    *out = s;
    return APR_SUCCESS;
}

static void commit_events(void *store, const kt_event_t *ev, unsigned n)
{
    kt_store_put_events(store, ev, n);
}

static void save_state(void *store, json_t *state) { kt_store_put_state(store, state); }

static void record_history(void *store, const kt_snap_t *snap, const kt_event_t *ev, unsigned n)
{
    (void)ev;
    (void)n;
    kt_store_record(store, kt_snap_sample(snap), kt_snap_interval_ms(snap), kt_snap_shedding(snap));
}

apr_status_t kt_store_follow(kt_store_t *s, kt_mon_t *m)
{
    kt_mon_journal_t j = {commit_events, save_state, s};
    kt_mon_set_journal(m, &j);
    unsigned id;
    return kt_mon_subscribe(m, record_history, s, &id);
}

void kt_store_close(kt_store_t *s)
{
    if (!s || !s->thread)
        return;
    kt__hist_flush(s, 1); /* what was recorded since the last flush */
    apr_thread_mutex_lock(s->lock);
    s->stopping = 1;
    apr_thread_cond_signal(s->work);
    apr_thread_mutex_unlock(s->lock);
    apr_status_t ignored;
    apr_thread_join(&ignored, s->thread);
    s->thread = NULL;
    /* One last try for what the disk refused: the next run cannot know it. */
    if (s->db.writable && s->nbacklog && kt__events_write(s, s->backlog, s->nbacklog) != APR_SUCCESS)
        kt_log(KT_LOG_WARN, "store: %u events could not be written and are lost", s->nbacklog);
    free(s->backlog);
    s->backlog = NULL;
    kt__rows_free(s->hpending, s->nhpending);
    s->hpending = NULL;
    s->nhpending = 0;
    kt__hist_destroy(s);
    json_decref(s->saved_state);
    s->saved_state = NULL;
    json_decref(s->saved_silences);
    s->saved_silences = NULL;
    kt__db_close(s);
}
