/*
 * notify.c - the outbox worker: the queue the monitor's subscriber fills,
 * the notifier thread that routes, stores and delivers, and the channels'
 * state for status and /metrics.
 *
 * Each channel is a FIFO of notifications with at most one attempt in
 * flight, so a receiver sees them in order; all channels' attempts share
 * one libcurl multi handle, which the thread polls with the time to the
 * next retry as its timeout. The queue's producers wake it with
 * curl_multi_wakeup. libcurl is loaded when the first attempt starts
 * (curl_api.h); until then the thread waits on a condition instead.
 */
#include "notify_internal.h"
#include "silence_internal.h"
#include "kt_sys.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <apr_network_io.h>
#include <apr_strings.h>
#include <apr_thread_cond.h>
#include <apr_thread_mutex.h>
#include <apr_thread_proc.h>

/* The thread sleeps until its next deadline (an attempt due, a group to
 * flush, a reminder or a re-send), or until a job, a new configuration or
 * the stop wakes it. Deadlines are on the wall clock, so it also looks
 * around this often: what a jump of the clock moved comes at most this late.
 * Waking every second instead cost an idle kotod a twentieth of its CPU.
 * While an attempt is in flight it comes back every BUSY_POLL_MS, as
 * libcurl asks of a multi handle's user, for its own timers. */
#define IDLE_POLL_MS 30000
#define BUSY_POLL_MS 1000
#define RELOAD_WAIT_S 10  /* a reload waits this long at most for the thread to take the new set */

typedef struct item_t {
    struct item_t *next;
    /* What the outbox's note holds but the channel's name: 10 000 waiting
     * notifications take about a megabyte. */
    char id[KT__ID_LEN];
    apr_time_t created, due;
    unsigned attempts;
    char *body;  /* malloc'd; NULL while it is only in the outbox */
    int stored;  /* the outbox has it */
    int resend;  /* an Alertmanager re-send: one attempt, never stored */
} item_t;

typedef struct {
    /* Into the configuration in force: the thread changes it at a reload,
     * under the lock; other threads read it under the lock only. */
    const kt_notify_conf_t *conf;
    char *target; /* the URL requests go to */
    /* The thread's alone. */
    item_t *head, *tail;
    json_t *am;   /* alertmanager: the alerts sent, by fingerprint */
    apr_time_t next_resend;
    kt_event_t *group; /* group_s: the events waiting to go as one message */
    unsigned ngroup;
    apr_time_t group_due;
    json_t *held; /* repeat_s: "type subject" -> ms of the last message, conditions holding */
    CURL *easy; /* the attempt in flight */
    kt__upload_t up; /* an email's message, as libcurl reads it */
    struct curl_slist *hdrs;
    char *sending; /* the body in flight, when it was read from the outbox */
    char errbuf[CURL_ERROR_SIZE];
    /* Under the lock. */
    unsigned queued;
    int in_flight;
    uint64_t sent, failed, retried;
    apr_time_t last_success, last_error_at;
    char last_error[256];
} chan_t;

typedef struct job_t {
    struct job_t *next;
    kt_event_t ev;
    /* A test message for the channel of this name (a reload may take it
     * away before the thread sees the job); "": the event, for whoever wants it. */
    char chan[72];
    char id[64];
} job_t;

struct kt_notify_t {
    apr_pool_t *pool;
    /* The configuration in force, in a pool of its own (made and freed by
     * any thread: unmanaged), so a reload can free the set it replaces. */
    kt_conf_t *conf;
    apr_pool_t *conf_pool;
    kt_store_t *store;
    kt_mon_t *mon; /* its conditions in progress, for Alertmanager's re-sends; may be NULL */
    /* The channels, each malloc'd so it keeps its address across a reload
     * (libcurl's private pointer of its attempt in flight). The array is
     * the thread's to replace, under the lock; the thread reads it
     * without, every other thread under the lock. */
    chan_t **chans;
    unsigned nchans;
    char host[256];
    const char *dashboard;
    CURLM *multi; /* made by the thread at its first attempt; set under the lock */
    apr_thread_t *thread;

    /* The thread's: "event id" -> the group windows still holding the
     * event; it is done (kt_store_notify_done) when none does. */
    json_t *open;

    apr_thread_mutex_t *lock; /* a leaf: guards the jobs, the counters below and chans' */
    job_t *jobs, *jtail;      /* malloc'd, at most KT_NOTIFY_QUEUE: memory only while busy */
    unsigned njobs;
    uint64_t dropped, generation;
    int stopping;
    /* A reload's new configuration, waiting for the thread to take it
     * (kt_notify_reload); asked counts them, done those taken. */
    kt_conf_t *next_conf;
    apr_pool_t *next_pool;
    uint64_t asked, taken;
    apr_thread_cond_t *changed;
    apr_thread_cond_t *poke; /* wakes the thread while it has no multi handle */
    int poked;
    int started; /* kt_notify_start began: the thread takes a new configuration, not the caller */
    kt__silences_t sil;
};

/* ---- the producers --------------------------------------------------------------------- */

/* Wakes the thread from its wait: libcurl's poll once it has a multi
 * handle, the condition before. */
static void wake(kt_notify_t *n)
{
    apr_thread_mutex_lock(n->lock);
    n->poked = 1;
    CURLM *m = n->multi;
    apr_thread_cond_signal(n->poke);
    apr_thread_mutex_unlock(n->lock);
    if (m)
        kt__curl.multi_wakeup(m);
}

static int push_job(kt_notify_t *n, const kt_event_t *e, const char *chan, const char *id)
{
    job_t *j = malloc(sizeof *j);
    if (j) {
        j->next = NULL;
        if (e)
            j->ev = *e;
        apr_cpystrn(j->chan, chan ? chan : "", sizeof j->chan);
        apr_cpystrn(j->id, id ? id : "", sizeof j->id);
    }
    apr_thread_mutex_lock(n->lock);
    int ok = j && n->njobs < KT_NOTIFY_QUEUE && !n->stopping;
    if (ok) {
        if (n->jtail)
            n->jtail->next = j;
        else
            n->jobs = j;
        n->jtail = j;
        n->njobs++;
    } else {
        n->dropped++;
        n->generation++;
    }
    apr_thread_mutex_unlock(n->lock);
    if (ok)
        wake(n);
    else
        free(j);
    return ok;
}

void kt_notify_reading(void *baton, const kt_snap_t *snap, const kt_event_t *events, unsigned n)
{
    kt_notify_t *nt = baton;
    (void)snap;
    for (unsigned i = 0; i < n; i++) {
        /* Only what some channel wants takes room in the queue. */
        int wanted = 0;
        apr_thread_mutex_lock(nt->lock);
        for (unsigned c = 0; c < nt->nchans && !wanted; c++)
            wanted = kt__notify_wants(nt->chans[c]->conf, &events[i]);
        apr_thread_mutex_unlock(nt->lock);
        if (wanted && !push_job(nt, &events[i], NULL, NULL))
            kt_log(KT_LOG_WARN, "notify: the queue is full; event %llu is not notified",
                   (unsigned long long)events[i].id);
    }
}

apr_status_t kt_notify_test(kt_notify_t *n, const char *name, char id[64])
{
    int found = 0;
    apr_thread_mutex_lock(n->lock);
    for (unsigned c = 0; c < n->nchans && !found; c++)
        found = strcmp(n->chans[c]->conf->name, name) == 0;
    apr_thread_mutex_unlock(n->lock);
    if (!found)
        return KT_ENOTFOUND;
    kt__notify_new_id(id);
    return push_job(n, NULL, name, id) ? APR_SUCCESS : KT_EUNAVAIL;
}

/* The thread's: channel name, or NULL. */
static chan_t *chan_named(kt_notify_t *n, const char *name)
{
    for (unsigned c = 0; c < n->nchans; c++)
        if (strcmp(n->chans[c]->conf->name, name) == 0)
            return n->chans[c];
    return NULL;
}

/* ---- the channels' queues (the thread's) ------------------------------------------------ */

/* The outbox's note for item it of channel c, in *out. */
static const kt_store_note_t *note_of(const chan_t *c, const item_t *it, kt_store_note_t *out)
{
    memset(out, 0, sizeof *out);
    apr_cpystrn(out->id, it->id, sizeof out->id);
    apr_cpystrn(out->channel, c->conf->name, sizeof out->channel);
    out->created = it->created;
    out->next = it->due;
    out->attempts = it->attempts;
    return out;
}

static void append(kt_notify_t *n, chan_t *c, item_t *it)
{
    if (c->tail)
        c->tail->next = it;
    else
        c->head = it;
    c->tail = it;
    apr_thread_mutex_lock(n->lock);
    c->queued++;
    n->generation++;
    apr_thread_mutex_unlock(n->lock);
}

static void drop_head(kt_notify_t *n, chan_t *c)
{
    item_t *it = c->head;
    c->head = it->next;
    if (!c->head)
        c->tail = NULL;
    free(it->body);
    free(it);
    apr_thread_mutex_lock(n->lock);
    c->queued--;
    apr_thread_mutex_unlock(n->lock);
}

/* The id of channel c's message about the events from ev onwards: the same
 * whenever it is made again, so an event routed again after a restart
 * finds its notification in the outbox instead of making a second one.
 * Event ids are never reused. */
static void event_id_of(const chan_t *c, const kt_event_t *ev, char id[KT__ID_LEN])
{
    char key[128];
    unsigned char d[32];
    int len = snprintf(key, sizeof key, "%s\n%llu", c->conf->name, (unsigned long long)ev->id);
    if (kt_sys_sha256(key, (size_t)len, d) != APR_SUCCESS) {
        kt__notify_new_id(id);
        return;
    }
    static const char hex[] = "0123456789abcdef";
    memcpy(id, "msg_", 4);
    for (int i = 0; i < 16; i++) {
        id[4 + 2 * i] = hex[d[i] >> 4];
        id[5 + 2 * i] = hex[d[i] & 15];
    }
    id[36] = '\0';
}

/* A new notification of the n events at ev (none: a test message): into
 * the outbox first, then the channel's queue. */
static void enqueue_many(kt_notify_t *n, chan_t *c, const kt_event_t *ev, unsigned count,
                         int reminder, const char *id)
{
    item_t *it = calloc(1, sizeof *it);
    if (it) {
        if (id && *id)
            apr_cpystrn(it->id, id, sizeof it->id);
        else if (count && !reminder)
            event_id_of(c, ev, it->id);
        else
            kt__notify_new_id(it->id);
        switch (c->conf->kind) {
        case KT_NOTIFY_WEBHOOK:
            it->body = kt__notify_payload_many(c->conf, ev, count, reminder, n->host, n->dashboard);
            break;
        case KT_NOTIFY_ALERTMANAGER:
            it->body = count ? kt__am_event(c->am, c->conf, ev, n->host, n->dashboard)
                             : kt__am_test(c->conf, n->host, n->dashboard);
            break;
        case KT_NOTIFY_EMAIL:
            it->body = kt__email_message_many(c->conf, ev, count, reminder, n->host, n->dashboard,
                                              it->id);
            break;
        }
    }
    if (!it || !it->body) {
        free(it);
        kt_log(KT_LOG_ERROR, "notify %s: out of memory; a notification is lost", c->conf->name);
        return;
    }
    it->created = it->due = apr_time_now();
    kt_store_note_t note;
    apr_status_t st = n->store ? kt_store_outbox_add(n->store, note_of(c, it, &note), it->body)
                               : KT_EUNAVAIL;
    if (st == APR_EEXIST) {
        /* Made before a restart: queued from the outbox already, or sent. */
        free(it->body);
        free(it);
        return;
    }
    it->stored = st == APR_SUCCESS;
    if (it->stored && c->head) {
        /* It waits behind others: the outbox has it, memory keeps only the note. */
        free(it->body);
        it->body = NULL;
    }
    append(n, c, it);
}

static void enqueue(kt_notify_t *n, chan_t *c, const kt_event_t *e, const char *id)
{
    enqueue_many(n, c, e, e ? 1 : 0, 0, id);
}

/* ---- what is done with an event (the thread's) -------------------------------------------- */

/* Event e no longer needs routing after a restart. */
static void done(kt_notify_t *n, const kt_event_t *e)
{
    if (n->store && e->routed)
        kt_store_notify_done(n->store, e->id);
}

/* One group window less holds event e. */
static void release(kt_notify_t *n, const kt_event_t *e)
{
    char key[24];
    snprintf(key, sizeof key, "%llu", (unsigned long long)e->id);
    json_t *left = json_object_get(n->open, key);
    if (!left)
        return;
    if (json_integer_value(left) > 1) {
        json_integer_set(left, json_integer_value(left) - 1);
        return;
    }
    json_object_del(n->open, key);
    done(n, e);
}

/* ---- group windows and reminders (the thread's) ----------------------------------------- */

#define MAX_GROUP 256 /* events one message folds; a fuller window goes at once */

static void flush_group(kt_notify_t *n, chan_t *c, apr_time_t now, int force)
{
    if (!c->ngroup || (!force && now < c->group_due))
        return;
    enqueue_many(n, c, c->group, c->ngroup, 0, NULL);
    for (unsigned i = 0; i < c->ngroup; i++)
        release(n, &c->group[i]);
    c->ngroup = 0;
}

static void to_group(kt_notify_t *n, chan_t *c, const kt_event_t *e)
{
    if (!c->group && !(c->group = malloc(sizeof *c->group * MAX_GROUP))) {
        enqueue(n, c, e, NULL);
        return;
    }
    if (!c->ngroup)
        c->group_due = apr_time_now() + apr_time_from_sec(c->conf->group_s);
    c->group[c->ngroup++] = *e;
    if (c->ngroup == MAX_GROUP)
        flush_group(n, c, apr_time_now(), 1);
}

static const char *held_key(const kt_event_t *e, char *buf, size_t len)
{
    snprintf(buf, len, "%s %s", kt_event_type_name(e->type), e->subject);
    return buf;
}

/* What a reminder is measured from: the last message about the condition. */
static void track(chan_t *c, const kt_event_t *e)
{
    if (!c->conf->repeat_s || e->flapping)
        return;
    char key[200];
    held_key(e, key, sizeof key);
    if (e->resolved)
        json_object_del(c->held, key);
    else
        json_object_set_new(c->held, key, json_integer((json_int_t)apr_time_as_msec(apr_time_now())));
}

/* A reminder for each condition still holding repeat_s after its last
 * message; conditions no longer holding are forgotten. */
static void remind(kt_notify_t *n, chan_t *c, apr_time_t now)
{
    if (!c->conf->repeat_s || !json_object_size(c->held) || !n->mon)
        return;
    kt_mon_health_t *h = malloc(sizeof *h);
    if (!h)
        return;
    kt_mon_health(n->mon, h);
    json_t *still = json_object();
    for (unsigned i = 0; i < h->nactive; i++) {
        const kt_mon_active_t *a = &h->active[i];
        kt_event_t e;
        memset(&e, 0, sizeof e);
        e.id = a->started_id;
        e.time = now;
        e.type = a->type;
        e.severity = a->severity;
        e.started_id = a->started_id;
        e.value = a->value;
        e.threshold = a->threshold;
        apr_cpystrn(e.subject, a->subject, sizeof e.subject);
        snprintf(e.message, sizeof e.message, "%s%s%.160s still holds, for %lld s now",
                 kt_event_type_name(a->type), *a->subject ? " on " : "", a->subject,
                 (long long)apr_time_sec(now - a->since));
        char key[200];
        json_t *last = json_object_get(c->held, held_key(&e, key, sizeof key));
        if (!last)
            continue;
        json_int_t at = json_integer_value(last);
        if (now - apr_time_from_msec(at) >= apr_time_from_sec(c->conf->repeat_s)) {
            kt__sil_mark(&n->sil, &e, 1); /* a silence or a window holds reminders back too */
            if (kt__notify_wants(c->conf, &e))
                enqueue_many(n, c, &e, 1, 1, NULL);
            at = (json_int_t)apr_time_as_msec(now);
        }
        json_object_set_new(still, key, json_integer(at));
    }
    free(h);
    json_decref(c->held);
    c->held = still;
}

/* Event e to each channel that wants it; done once it is in their outbox
 * rows, or when the last group window holding it is. */
static void route(kt_notify_t *n, const kt_event_t *e)
{
    json_int_t grouped = 0;
    for (unsigned c = 0; c < n->nchans; c++) {
        chan_t *ch = n->chans[c];
        if (kt__notify_wants(ch->conf, e) && ch->conf->group_s &&
            (ch->group || (ch->group = malloc(sizeof *ch->group * MAX_GROUP))))
            grouped++;
    }
    if (grouped) { /* before a full window can flush it */
        char key[24];
        snprintf(key, sizeof key, "%llu", (unsigned long long)e->id);
        json_object_set_new(n->open, key, json_integer(grouped));
    }
    for (unsigned c = 0; c < n->nchans; c++) {
        chan_t *ch = n->chans[c];
        if (!kt__notify_wants(ch->conf, e))
            continue;
        track(ch, e);
        if (ch->conf->group_s && ch->group)
            to_group(n, ch, e);
        else
            enqueue(n, ch, e, NULL);
    }
    if (!grouped)
        done(n, e);
}

static void take_jobs(kt_notify_t *n)
{
    for (;;) {
        apr_thread_mutex_lock(n->lock);
        job_t *jp = n->jobs;
        if (jp) {
            n->jobs = jp->next;
            if (!n->jobs)
                n->jtail = NULL;
            n->njobs--;
        }
        apr_thread_mutex_unlock(n->lock);
        if (!jp)
            return;
        job_t j = *jp;
        free(jp);
        chan_t *c = j.chan[0] ? chan_named(n, j.chan) : NULL;
        if (c)
            enqueue(n, c, NULL, j.id);
        else if (j.chan[0])
            kt_log(KT_LOG_WARN, "notify: test message %s dropped: a reload removed channel %s",
                   j.id, j.chan);
        else
            route(n, &j.ev);
    }
}

/* Alertmanager forgets an alert at its endsAt: what fires, and what
 * resolved lately, is sent again every resend_s, after what is queued. */
static void resend(kt_notify_t *n, chan_t *c, apr_time_t now)
{
    if (c->conf->kind != KT_NOTIFY_ALERTMANAGER || now < c->next_resend)
        return;
    c->next_resend = now + apr_time_from_sec(c->conf->resend_s);
    if (c->head)
        return; /* the queue's own pushes go first; the next round re-sends */
    kt_mon_health_t *h = n->mon ? malloc(sizeof *h) : NULL;
    if (h)
        kt_mon_health(n->mon, h);
    char *body = kt__am_resend(c->am, c->conf, h, n->host, n->dashboard);
    free(h);
    item_t *it = body ? calloc(1, sizeof *it) : NULL;
    if (!it) {
        free(body);
        return;
    }
    it->body = body;
    it->resend = 1;
    kt__notify_new_id(it->id);
    it->created = it->due = now;
    append(n, c, it);
}

/* What the last run left pending, each back on its channel, oldest first. */
static void resume(kt_notify_t *n)
{
    kt_store_note_t *notes;
    unsigned count;
    if (!n->store || kt_store_outbox_pending(n->store, &notes, &count) != APR_SUCCESS)
        return;
    unsigned taken = 0;
    for (unsigned i = 0; i < count; i++) {
        chan_t *c = chan_named(n, notes[i].channel);
        if (!c) {
            kt_store_outbox_set(n->store, &notes[i], "failed", "the channel is no longer configured");
            continue;
        }
        item_t *it = calloc(1, sizeof *it);
        if (!it)
            break;
        apr_cpystrn(it->id, notes[i].id, sizeof it->id);
        it->created = notes[i].created;
        it->due = notes[i].next;
        it->attempts = notes[i].attempts;
        it->stored = 1;
        append(n, c, it);
        taken++;
    }
    free(notes);
    if (taken)
        kt_log(KT_LOG_INFO, "notify: %u notifications left pending by the last run go on", taken);
}

/* The events the last run committed but did not see into the outbox (it
 * stopped first, or died), routed again after what it left pending: the
 * ids they get are the ones they would have had, so what reached the
 * outbox then is not made twice. */
static void catch_up(kt_notify_t *n)
{
    json_t *due = NULL;
    if (!n->store || kt_store_notify_due(n->store, &due) != APR_SUCCESS)
        return;
    size_t i;
    json_t *v;
    unsigned routed = 0;
    json_array_foreach(due, i, v) {
        kt_event_t e;
        if (kt_event_from_json(v, &e) != APR_SUCCESS)
            continue;
        e.routed = 1;
        route(n, &e);
        routed++;
    }
    json_decref(due);
    if (routed)
        kt_log(KT_LOG_INFO, "notify: %u events the last run logged are routed again", routed);
}

/* ---- attempts ----------------------------------------------------------------------------- */

static apr_time_t backoff(const kt_notify_conf_t *c, unsigned attempts)
{
    double d = c->backoff_ms;
    for (unsigned i = 1; i < attempts && d < c->backoff_max_ms; i++)
        d *= 2;
    if (d > c->backoff_max_ms)
        d = c->backoff_max_ms;
    unsigned r = 0;
    apr_generate_random_bytes((unsigned char *)&r, sizeof r);
    /* The upper half of the delay, so retries never come sooner than half of it. */
    d = d / 2 + d / 2 * ((double)r / 4294967295.0);
    return apr_time_from_msec((apr_int64_t)d);
}

static void settle(kt_notify_t *n, chan_t *c, kt__outcome_t out, char *why, apr_size_t len);

/* The thread's: 1 when libcurl is loaded and the multi handle made. */
static int have_curl(kt_notify_t *n, char *why, apr_size_t len)
{
    if (n->multi)
        return 1;
    if (kt__curl_load(why, len) != APR_SUCCESS)
        return 0;
    CURLM *m = kt__curl.multi_init();
    if (!m) {
        snprintf(why, len, "libcurl cannot make a multi handle");
        return 0;
    }
    apr_thread_mutex_lock(n->lock);
    n->multi = m;
    apr_thread_mutex_unlock(n->lock);
    return 1;
}

static void start(kt_notify_t *n, chan_t *c)
{
    item_t *it = c->head;
    char why[CURL_ERROR_SIZE + 64];
    if (!have_curl(n, why, sizeof why)) {
        /* Counted as a failed attempt, retried with the back-off like one. */
        settle(n, c, KT__RETRY, why, sizeof why);
        return;
    }
    const char *body = it->body;
    if (!body) {
        if (kt_store_outbox_body(n->store, it->id, &c->sending) != APR_SUCCESS) {
            it->due = apr_time_now() + apr_time_from_sec(5); /* the store is busy: later */
            return;
        }
        body = c->sending;
    }
    c->easy = c->conf->kind == KT_NOTIFY_EMAIL
                  ? kt__email_request(c->conf, body, &c->up, &c->hdrs, c->errbuf)
                  : kt__webhook_request(c->conf, c->target, it->id, body, &c->hdrs, c->errbuf);
    if (!c->easy) {
        kt__curl.slist_free_all(c->hdrs);
        c->hdrs = NULL;
        it->due = apr_time_now() + apr_time_from_sec(5);
        return;
    }
    kt__curl.easy_setopt(c->easy, CURLOPT_PRIVATE, c);
    kt__curl.multi_add_handle(n->multi, c->easy);
    apr_thread_mutex_lock(n->lock);
    c->in_flight = 1;
    apr_thread_mutex_unlock(n->lock);
}

static void end_attempt(kt_notify_t *n, chan_t *c)
{
    kt__curl.multi_remove_handle(n->multi, c->easy);
    kt__curl.easy_cleanup(c->easy);
    kt__curl.slist_free_all(c->hdrs);
    free(c->sending);
    c->easy = NULL;
    c->hdrs = NULL;
    c->sending = NULL;
}

static void finish(kt_notify_t *n, chan_t *c, CURLcode res)
{
    long code = 0;
    kt__curl.easy_getinfo(c->easy, CURLINFO_RESPONSE_CODE, &code);
    char why[CURL_ERROR_SIZE + 64];
    kt__outcome_t out = c->conf->kind == KT_NOTIFY_EMAIL
                            ? kt__notify_judge_smtp(res, code, c->errbuf, why, sizeof why)
                            : kt__notify_judge(res, code, c->errbuf, why, sizeof why);
    end_attempt(n, c);
    settle(n, c, out, why, sizeof why);
}

/* What channel c's head attempt came to (out, why): counted, recorded in
 * the outbox, logged; retried later or dropped. */
static void settle(kt_notify_t *n, chan_t *c, kt__outcome_t out, char *why, apr_size_t whylen)
{
    item_t *it = c->head;
    apr_time_t now = apr_time_now();
    kt_store_note_t note;
    it->attempts++;
    if (it->resend) {
        /* A re-send is not retried: the next round sends the same again. */
        apr_thread_mutex_lock(n->lock);
        c->in_flight = 0;
        if (out == KT__SENT) {
            c->sent++;
            c->last_success = now;
        } else {
            c->last_error_at = now;
            apr_cpystrn(c->last_error, why, sizeof c->last_error);
        }
        n->generation++;
        apr_thread_mutex_unlock(n->lock);
        if (out != KT__SENT)
            kt_log(KT_LOG_WARN, "notify %s: a re-send failed: %s", c->conf->name, why);
        drop_head(n, c);
        return;
    }
    if (out == KT__RETRY && now - it->created >= apr_time_from_sec(c->conf->max_age_s)) {
        out = KT__FAILED;
        size_t l = strlen(why);
        snprintf(why + l, whylen - l, "; given up after %u attempts", it->attempts);
    }
    if (out == KT__RETRY)
        it->due = now + backoff(c->conf, it->attempts);
    if (it->stored)
        kt_store_outbox_set(n->store, note_of(c, it, &note),
                            out == KT__SENT ? "sent" : out == KT__RETRY ? "pending" : "failed",
                            out == KT__SENT ? "" : why);
    apr_thread_mutex_lock(n->lock);
    c->in_flight = 0;
    if (out == KT__SENT) {
        c->sent++;
        c->last_success = now;
    } else {
        c->last_error_at = now;
        apr_cpystrn(c->last_error, why, sizeof c->last_error);
        if (out == KT__RETRY)
            c->retried++;
        else
            c->failed++;
    }
    n->generation++;
    apr_thread_mutex_unlock(n->lock);
    if (out == KT__SENT)
        kt_log(KT_LOG_DEBUG, "notify %s: %s delivered (%s, attempt %u)", c->conf->name,
               it->id, why, it->attempts);
    else
        kt_log(out == KT__FAILED ? KT_LOG_ERROR : KT_LOG_WARN, "notify %s: %s %s: %s",
               c->conf->name, it->id, out == KT__FAILED ? "failed" : "will be retried", why);
    if (out == KT__RETRY) {
        /* Kept on disk: memory holds only the note while it waits. */
        if (it->stored) {
            free(it->body);
            it->body = NULL;
        }
        return;
    }
    drop_head(n, c);
}

static void take_conf(kt_notify_t *n);

static void *APR_THREAD_FUNC notify_main(apr_thread_t *t, void *data)
{
    kt_sys_thread_name("koto-notify");
    kt_notify_t *n = data;
    (void)t;
    for (;;) {
        apr_thread_mutex_lock(n->lock);
        int stopping = n->stopping;
        apr_thread_mutex_unlock(n->lock);
        if (stopping)
            break;
        take_conf(n); /* before the jobs: a test message may be for a channel it adds */
        take_jobs(n);
        apr_time_t now = apr_time_now(), wake = now + apr_time_from_msec(IDLE_POLL_MS);
        for (unsigned i = 0; i < n->nchans; i++) {
            chan_t *c = n->chans[i];
            resend(n, c, now);
            flush_group(n, c, now, 0);
            if (c->ngroup && c->group_due < wake)
                wake = c->group_due;
            if (c->conf->repeat_s && now >= c->next_resend) {
                /* Reminders are looked for once a second at most. */
                c->next_resend = now + apr_time_from_sec(1);
                remind(n, c, now);
            }
            if ((c->conf->kind == KT_NOTIFY_ALERTMANAGER || c->conf->repeat_s) &&
                c->next_resend < wake)
                wake = c->next_resend;
            if (!c->easy && c->head && c->head->due <= now)
                start(n, c);
            if (!c->easy && c->head && c->head->due < wake)
                wake = c->head->due;
            if (c->easy && now + apr_time_from_msec(BUSY_POLL_MS) < wake)
                wake = now + apr_time_from_msec(BUSY_POLL_MS);
        }
        long ms;
        if (!n->multi) {
            /* Nothing was ever sent: no libcurl to poll, the condition instead. */
            ms = (long)apr_time_as_msec(wake - apr_time_now());
            apr_thread_mutex_lock(n->lock);
            if (!n->poked && !n->stopping && ms > 0)
                apr_thread_cond_timedwait(n->poke, n->lock,
                                          apr_time_from_msec(ms > IDLE_POLL_MS ? IDLE_POLL_MS : ms));
            n->poked = 0;
            apr_thread_mutex_unlock(n->lock);
            continue;
        }
        int running;
        kt__curl.multi_perform(n->multi, &running);
        CURLMsg *msg;
        int left;
        int finished = 0;
        while ((msg = kt__curl.multi_info_read(n->multi, &left))) {
            if (msg->msg != CURLMSG_DONE)
                continue;
            chan_t *c = NULL;
            kt__curl.easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&c);
            finish(n, c, msg->data.result);
            finished = 1;
        }
        if (finished)
            continue; /* the next in line may be due now */
        /* A producer that found no multi handle yet (libcurl was loaded
         * meanwhile) poked the condition instead of the poll. */
        apr_thread_mutex_lock(n->lock);
        int poked = n->poked;
        n->poked = 0;
        apr_thread_mutex_unlock(n->lock);
        if (poked)
            continue;
        ms = (long)apr_time_as_msec(wake - apr_time_now());
        kt__curl.multi_poll(n->multi, NULL, 0, (int)(ms < 0 ? 0 : ms > IDLE_POLL_MS ? IDLE_POLL_MS : ms),
                        NULL);
    }
    for (unsigned i = 0; i < n->nchans; i++) {
        if (n->chans[i]->easy)
            end_attempt(n, n->chans[i]); /* still pending in the outbox */
        /* A group still open goes to the outbox: the next start sends it. */
        flush_group(n, n->chans[i], apr_time_now(), 1);
    }
    return NULL;
}

/* ---- state ------------------------------------------------------------------------------- */

static json_t *time_or_null(apr_time_t t)
{
    return t ? json_integer((json_int_t)apr_time_as_msec(t)) : json_null();
}

/* The silences in force or to come, and the windows, for status. */
static void add_silences(kt_notify_t *n, json_t *j)
{
    json_t *all = kt__sil_json(&n->sil), *live = json_array();
    size_t i;
    json_t *v;
    json_array_foreach(all, i, v)
        if (strcmp(json_string_value(json_object_get(v, "state")), "expired") != 0)
            json_array_append(live, v);
    json_decref(all);
    json_object_set_new(j, "silences", live);
    json_object_set_new(j, "maintenance", kt__sil_windows_json(&n->sil));
}

void kt_notify_mark(void *baton, kt_event_t *ev, unsigned count)
{
    kt_notify_t *n = baton;
    kt__sil_mark(&n->sil, ev, count);
    /* Before the commit: the store keeps what a channel wants as due. */
    apr_thread_mutex_lock(n->lock);
    for (unsigned i = 0; i < count; i++) {
        ev[i].routed = 0;
        for (unsigned c = 0; c < n->nchans && !ev[i].routed; c++)
            ev[i].routed = kt__notify_wants(n->chans[c]->conf, &ev[i]);
    }
    apr_thread_mutex_unlock(n->lock);
}

json_t *kt_notify_silences(kt_notify_t *n)
{
    return json_pack("{s:o s:o}", "silences", kt__sil_json(&n->sil), "maintenance",
                     kt__sil_windows_json(&n->sil));
}

apr_status_t kt_notify_silence_add(kt_notify_t *n, json_t *params, const char *who, json_t **out,
                                   char *err, apr_size_t errlen)
{
    return kt__sil_add(&n->sil, params, who, out, err, errlen);
}

apr_status_t kt_notify_silence_expire(kt_notify_t *n, int64_t id, json_t **out)
{
    return kt__sil_expire(&n->sil, (json_int_t)id, out);
}

json_t *kt_notify_json(kt_notify_t *n)
{
    json_t *list = json_array();
    apr_thread_mutex_lock(n->lock);
    for (unsigned i = 0; i < n->nchans; i++) {
        chan_t *c = n->chans[i];
        json_array_append_new(
            list, json_pack("{s:s s:s s:s s:i s:b s:I s:I s:I s:o s:o s:o}", "name", c->conf->name,
                            "kind", kt_notify_kind_name(c->conf->kind), "url", c->conf->url, "queued", (int)c->queued,
                            "in_flight", c->in_flight, "sent", (json_int_t)c->sent, "failed",
                            (json_int_t)c->failed, "retried", (json_int_t)c->retried,
                            "last_success_ms", time_or_null(c->last_success), "last_error",
                            c->last_error[0] ? json_string(c->last_error) : json_null(),
                            "last_error_ms", time_or_null(c->last_error_at)));
    }
    json_t *j = json_pack("{s:o s:I}", "channels", list, "dropped", (json_int_t)n->dropped);
    apr_thread_mutex_unlock(n->lock);
    add_silences(n, j);
    return j;
}

uint64_t kt_notify_generation(kt_notify_t *n)
{
    apr_thread_mutex_lock(n->lock);
    uint64_t g = n->generation;
    apr_thread_mutex_unlock(n->lock);
    return g + kt__sil_generation(&n->sil);
}

unsigned kt_notify_counts(kt_notify_t *n, kt_notify_counts_t *out, unsigned max)
{
    apr_thread_mutex_lock(n->lock);
    unsigned count = n->nchans;
    for (unsigned i = 0; i < count && i < max; i++) {
        chan_t *c = n->chans[i];
        out[i] = (kt_notify_counts_t){.queued = c->queued, .sent = c->sent, .failed = c->failed,
                                      .retried = c->retried};
        apr_cpystrn(out[i].name, c->conf->name, sizeof out[i].name);
    }
    apr_thread_mutex_unlock(n->lock);
    return count;
}

/* ---- the channel set, and a reload's new one ------------------------------------------------ */

static chan_t *chan_new(const kt_notify_conf_t *conf)
{
    chan_t *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    c->conf = conf;
    c->target = kt__notify_target(conf);
    c->am = json_object();
    c->held = json_object();
    /* The first re-send comes a full interval after the start: the
     * restored conditions go out then, not as a burst at once. */
    c->next_resend = apr_time_now() + (conf->kind == KT_NOTIFY_ALERTMANAGER
                                           ? apr_time_from_sec(conf->resend_s)
                                           : 0);
    return c;
}

/* Frees channel c, which no other thread can reach any more. */
static void chan_free(kt_notify_t *n, chan_t *c)
{
    while (c->head)
        drop_head(n, c);
    free(c->target);
    free(c->group);
    json_decref(c->am);
    json_decref(c->held);
    free(c);
}

/* Channel c left the configuration (why): what it was sending is
 * abandoned, what waits for it is marked failed in the outbox (kept there
 * for a look, never sent), the events its group window held are let go. */
static void retire(kt_notify_t *n, chan_t *c, const char *why)
{
    if (c->easy)
        end_attempt(n, c);
    for (unsigned i = 0; i < c->ngroup; i++)
        release(n, &c->group[i]);
    c->ngroup = 0;
    unsigned failed = 0;
    for (item_t *it = c->head; it; it = it->next)
        if (!it->resend) {
            kt_store_note_t note;
            if (it->stored)
                kt_store_outbox_set(n->store, note_of(c, it, &note), "failed", why);
            failed++;
        }
    if (failed)
        kt_log(KT_LOG_WARN, "notify %s: %s; %u notification%s waiting for it marked failed",
               c->conf->name, why, failed, failed == 1 ? "" : "s");
    else
        kt_log(KT_LOG_INFO, "notify %s: %s", c->conf->name, why);
    chan_free(n, c);
}

/* The thread's (or the creator's, before it runs): puts a reload's
 * configuration in force. A channel keeps its queue, its counters and its
 * attempt in flight when the new list has one of the same name and kind;
 * its new settings apply from its next attempt (messages already made keep
 * their body). The others are retired, and new ones start empty. */
static void take_conf(kt_notify_t *n)
{
    apr_thread_mutex_lock(n->lock);
    kt_conf_t *conf = n->next_conf;
    apr_pool_t *pool = n->next_pool;
    uint64_t asked = n->asked;
    n->next_conf = NULL;
    n->next_pool = NULL;
    apr_thread_mutex_unlock(n->lock);
    if (!conf)
        return;
    unsigned nwas = n->nchans, nnow = conf->nnotify;
    chan_t **was = n->chans, **now = calloc(nnow ? nnow : 1, sizeof *now);
    char **targets = calloc(nnow ? nnow : 1, sizeof *targets);
    const kt_notify_conf_t **kept = calloc(nnow ? nnow : 1, sizeof *kept);
    /* The old array is read by other threads until the swap: marked here, not changed. */
    char *moved = calloc(nwas ? nwas : 1, 1);
    if (!now || !targets || !kept || !moved) {
        free(now);
        free(targets);
        free(kept);
        free(moved);
        kt_log(KT_LOG_ERROR, "notify: out of memory; the channels stay as they were");
        apr_pool_destroy(pool);
        goto out;
    }
    unsigned added = 0;
    for (unsigned i = 0; i < nnow; i++) {
        const kt_notify_conf_t *c = &conf->notify[i];
        for (unsigned k = 0; k < nwas && !now[i]; k++)
            if (!moved[k] && strcmp(was[k]->conf->name, c->name) == 0 && was[k]->conf->kind == c->kind) {
                now[i] = was[k];
                moved[k] = 1;
                kept[i] = c;
                targets[i] = kt__notify_target(c);
            }
        if (!now[i] && (now[i] = chan_new(c)))
            added++;
    }
    /* A channel that could not be made is left out, not half there. */
    unsigned count = 0;
    for (unsigned i = 0; i < nnow; i++)
        if (now[i]) {
            now[count] = now[i];
            kept[count] = kept[i];
            targets[count++] = targets[i];
        }
    apr_thread_mutex_lock(n->lock);
    for (unsigned i = 0; i < count; i++)
        if (kept[i]) {
            now[i]->conf = kept[i];
            free(now[i]->target);
            now[i]->target = targets[i]; /* libcurl copied the old one for an attempt in flight */
        }
    n->chans = now;
    n->nchans = count;
    n->generation++;
    apr_thread_mutex_unlock(n->lock);
    free(targets);
    free(kept);
    /* The channels left out are no other thread's any more. */
    unsigned removed = 0;
    for (unsigned k = 0; k < nwas; k++)
        if (!moved[k]) {
            int kind_changed = chan_named(n, was[k]->conf->name) != NULL;
            retire(n, was[k], kind_changed ? "its kind changed at a reload" : "removed by a reload");
            removed++;
        }
    free(moved);
    free(was);
    /* The windows, then the old configuration: nothing points into it now. */
    kt__sil_set_conf(&n->sil, conf);
    apr_pool_t *old = n->conf_pool;
    n->conf = conf;
    n->conf_pool = pool;
    apr_pool_destroy(old);
    kt_log(KT_LOG_INFO, "notify: %u channel%s after the reload (%u new, %u removed), "
                        "%u maintenance window%s",
           count, count == 1 ? "" : "s", added, removed, conf->nmaintenance,
           conf->nmaintenance == 1 ? "" : "s");
out:
    apr_thread_mutex_lock(n->lock);
    if (asked > n->taken)
        n->taken = asked;
    apr_thread_cond_broadcast(n->changed);
    apr_thread_mutex_unlock(n->lock);
}

/* A configuration copied into a pool of its own. */
static kt_conf_t *conf_dup(const kt_conf_t *conf, apr_pool_t **pool)
{
    if (apr_pool_create_unmanaged_ex(pool, NULL, NULL) != APR_SUCCESS)
        return NULL;
    kt_conf_t *c = apr_palloc(*pool, sizeof *c);
    kt_conf_copy(c, conf, *pool);
    return c;
}

apr_status_t kt_notify_reload(kt_notify_t *n, const kt_conf_t *conf)
{
    apr_pool_t *pool;
    kt_conf_t *c = conf_dup(conf, &pool);
    if (!c)
        return APR_ENOMEM;
    apr_thread_mutex_lock(n->lock);
    if (n->next_pool) /* a reload the thread has not taken yet: this one replaces it */
        apr_pool_destroy(n->next_pool);
    n->next_conf = c;
    n->next_pool = pool;
    uint64_t ticket = ++n->asked;
    int running = n->started && !n->stopping;
    apr_thread_mutex_unlock(n->lock);
    if (!running) {
        take_conf(n);
        return APR_SUCCESS;
    }
    wake(n);
    apr_time_t until = apr_time_now() + apr_time_from_sec(RELOAD_WAIT_S);
    apr_status_t st = APR_SUCCESS;
    apr_thread_mutex_lock(n->lock);
    while (n->taken < ticket && !n->stopping && st == APR_SUCCESS) {
        apr_interval_time_t left = until - apr_time_now();
        st = left > 0 ? apr_thread_cond_timedwait(n->changed, n->lock, left) : APR_TIMEUP;
        if (st == APR_TIMEUP && n->taken >= ticket)
            st = APR_SUCCESS;
    }
    apr_thread_mutex_unlock(n->lock);
    return st == APR_TIMEUP ? KT_EUNAVAIL : APR_SUCCESS;
}

/* ---- life ---------------------------------------------------------------------------------- */

static apr_status_t notify_cleanup(void *data)
{
    kt_notify_destroy(data);
    return APR_SUCCESS;
}

apr_status_t kt_notify_create(kt_notify_t **out, const kt_conf_t *conf, kt_store_t *store,
                              kt_mon_t *mon, apr_pool_t *pool)
{
    apr_pool_t *np;
    apr_status_t st = apr_pool_create(&np, pool);
    if (st != APR_SUCCESS)
        return st;
    kt_notify_t *n = apr_pcalloc(np, sizeof *n);
    n->pool = np;
    n->mon = mon;
    if (!(n->conf = conf_dup(conf, &n->conf_pool))) {
        apr_pool_destroy(np);
        return APR_ENOMEM;
    }
    kt_store_info_t si;
    if (store) {
        kt_store_info(store, &si);
        n->store = si.state == KT_STORE_OFF ? NULL : store;
    }
    n->chans = calloc(conf->nnotify ? conf->nnotify : 1, sizeof *n->chans);
    for (unsigned i = 0; n->chans && i < conf->nnotify; i++)
        if (!(n->chans[n->nchans] = chan_new(&n->conf->notify[i])))
            break;
        else
            n->nchans++;
    if (!n->chans || n->nchans < conf->nnotify) {
        for (unsigned i = 0; n->chans && i < n->nchans; i++)
            chan_free(n, n->chans[i]);
        free(n->chans);
        apr_pool_destroy(n->conf_pool);
        apr_pool_destroy(np);
        return APR_ENOMEM;
    }
    if (apr_gethostname(n->host, sizeof n->host, np) != APR_SUCCESS)
        apr_cpystrn(n->host, "localhost", sizeof n->host);
    if ((st = apr_thread_mutex_create(&n->lock, APR_THREAD_MUTEX_DEFAULT, np)) != APR_SUCCESS ||
        (st = apr_thread_cond_create(&n->changed, np)) != APR_SUCCESS ||
        (st = apr_thread_cond_create(&n->poke, np)) != APR_SUCCESS ||
        (st = kt__sil_init(&n->sil, n->conf, n->store, np)) != APR_SUCCESS) {
        for (unsigned i = 0; i < n->nchans; i++)
            chan_free(n, n->chans[i]);
        free(n->chans);
        apr_pool_destroy(n->conf_pool);
        apr_pool_destroy(np);
        return st != APR_SUCCESS ? st : APR_ENOMEM;
    }
    n->open = json_object();
    apr_pool_pre_cleanup_register(np, n, notify_cleanup);
    *out = n;
    return APR_SUCCESS;
}

apr_status_t kt_notify_start(kt_notify_t *n, const char *dashboard)
{
    apr_thread_mutex_lock(n->lock);
    int again = n->started;
    /* From here a reload (the API already answers) leaves its set to the
     * thread: resume and catch_up below read the channels unlocked. */
    n->started = 1;
    apr_thread_mutex_unlock(n->lock);
    if (again)
        return APR_SUCCESS;
    n->dashboard = dashboard ? apr_pstrdup(n->pool, dashboard) : NULL;
    /* Before the thread, and so before the monitor starts (kotod starts it
     * after this): the events still due are routed again before any new
     * one is, never twice. */
    resume(n);
    catch_up(n);
    apr_status_t st = apr_thread_create(&n->thread, NULL, notify_main, n, n->pool);
    if (st != APR_SUCCESS) {
        apr_thread_mutex_lock(n->lock);
        n->started = 0;
        apr_thread_mutex_unlock(n->lock);
    }
    return st;
}

void kt_notify_destroy(kt_notify_t *n)
{
    if (!n || !n->conf_pool)
        return; /* destroyed already */
    apr_thread_mutex_lock(n->lock);
    n->stopping = 1;
    apr_thread_cond_broadcast(n->changed);
    apr_thread_mutex_unlock(n->lock);
    if (n->thread) {
        wake(n);
        apr_status_t ignored;
        apr_thread_join(&ignored, n->thread);
        n->thread = NULL;
    }
    while (n->jobs) {
        job_t *j = n->jobs;
        n->jobs = j->next;
        free(j);
    }
    n->jtail = NULL;
    for (unsigned i = 0; i < n->nchans; i++)
        chan_free(n, n->chans[i]);
    free(n->chans);
    n->chans = NULL;
    n->nchans = 0;
    json_decref(n->open);
    n->open = NULL;
    if (n->multi)
        kt__curl.multi_cleanup(n->multi);
    n->multi = NULL;
    kt__sil_fini(&n->sil);
    if (n->next_pool)
        apr_pool_destroy(n->next_pool);
    n->next_pool = NULL;
    n->next_conf = NULL;
    apr_pool_destroy(n->conf_pool);
    n->conf_pool = NULL;
    n->conf = NULL;
}

/* ---- kotod --test-notify ------------------------------------------------------------------ */

apr_status_t kt_notify_send_test(const kt_conf_t *conf, const char *name, char *msg,
                                 apr_size_t len, apr_pool_t *pool)
{
    const kt_notify_conf_t *c = kt_conf_channel(conf, name);
    if (!c) {
        snprintf(msg, len, "no channel '%s' in the notify list", name);
        return KT_ENOTFOUND;
    }
    if (kt__curl_load(msg, len) != APR_SUCCESS)
        return APR_ENOTIMPL;
    char host[256], id[64];
    if (apr_gethostname(host, sizeof host, pool) != APR_SUCCESS)
        apr_cpystrn(host, "localhost", sizeof host);
    kt__notify_new_id(id);
    char *body = c->kind == KT_NOTIFY_ALERTMANAGER ? kt__am_test(c, host, NULL)
                 : c->kind == KT_NOTIFY_EMAIL      ? kt__email_message(c, NULL, host, NULL, id)
                                                   : kt__notify_payload(c, NULL, host, NULL);
    char *target = kt__notify_target(c);
    struct curl_slist *hdrs = NULL;
    char errbuf[CURL_ERROR_SIZE];
    kt__upload_t up;
    CURL *e = !body || !target                ? NULL
              : c->kind == KT_NOTIFY_EMAIL ? kt__email_request(c, body, &up, &hdrs, errbuf)
                                           : kt__webhook_request(c, target, id, body, &hdrs, errbuf);
    if (!e) {
        free(body);
        free(target);
        kt__curl.slist_free_all(hdrs);
        snprintf(msg, len, "cannot make the request");
        return APR_ENOMEM;
    }
    CURLcode res = kt__curl.easy_perform(e);
    long code = 0;
    kt__curl.easy_getinfo(e, CURLINFO_RESPONSE_CODE, &code);
    char why[CURL_ERROR_SIZE + 64];
    kt__outcome_t out = c->kind == KT_NOTIFY_EMAIL
                            ? kt__notify_judge_smtp(res, code, errbuf, why, sizeof why)
                            : kt__notify_judge(res, code, errbuf, why, sizeof why);
    snprintf(msg, len, "%s %s to %s: %s", id, out == KT__SENT ? "delivered" : "not delivered",
             target, why);
    free(target);
    kt__curl.easy_cleanup(e);
    kt__curl.slist_free_all(hdrs);
    free(body);
    return out == KT__SENT ? APR_SUCCESS : APR_EGENERAL;
}
