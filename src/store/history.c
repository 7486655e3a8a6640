/*
 * history.c - the series as the sampler records them, and the history as a
 * caller asks for it.
 *
 * Each series has three chunks being filled: the readings themselves, and
 * 1-minute and 1-hour buckets (min, average, max). A reading goes into the
 * raw chunk and the open minute bucket; a closed minute goes into the minute
 * chunk and the open hour bucket; a closed hour into the hour chunk.
 * Buckets are aligned to the clock (UTC), so they line up across restarts
 * and machines. Full chunks and changed ones are copied to the store thread
 * every KT__HIST_FLUSH_S; a caller's query reads the stored chunks and puts
 * the ones still being filled on top.
 *
 * The lock here is a leaf: held for packing a reading or copying chunks,
 * never while the store's queue lock is taken.
 */
#include "store_internal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <apr_strings.h>

/* What a series' values are: its unit and the resolution kept. */
static const struct {
    const char *kind, *unit;
    double scale;
} kinds[] = {
    {"cpu", "%", 0.1},           {"memory", "%", 0.01},       {"swap", "%", 0.01},
    {"load1", "", 0.01},         {"load5", "", 0.01},         {"load15", "", 0.01},
    {"disk", "%", 0.01},         {"fs_used", "%", 0.01},      {"fs_inodes", "%", 0.01},
    {"net_rx", "B/s", 1},        {"net_tx", "B/s", 1},        {"disk_busy", "%", 0.1},
    {"disk_read", "B/s", 1},     {"disk_write", "B/s", 1},    {"procs", "", 1},
    {"threads", "", 1},          {"cpu_pressure", "%", 0.01}, {"memory_pressure", "%", 0.01},
    {"io_pressure", "%", 0.01},
};

static const struct {
    const char *name;
    int64_t step_ms; /* 0: the readings' own interval */
    unsigned slots;  /* a chunk's length */
} tiers[KT__TIERS] = {{"raw", 0, 300}, {"1m", 60000, 360}, {"1h", 3600000, 168}};

typedef struct {
    int64_t start_ms;
    double sum, min, max;
    uint64_t n; /* 0: none open */
} bucket_t;

typedef struct {
    char name[KT__SERIES_NAME];
    const char *unit;
    double scale;
    kt__chunk_t chunk[KT__TIERS];
    bucket_t open[2]; /* the minute and the hour being gathered */
    int64_t last_ms;  /* the newest reading: time only goes forward */
} series_t;

struct kt__hist_t {
    apr_thread_mutex_t *lock;
    apr_thread_cond_t *loaded; /* signalled when loading ends */
    int loading;               /* the store thread has yet to resume the series */
    apr_hash_t *byname; /* name -> series_t */
    series_t **all;
    unsigned n, cap;
    kt__chunk_row_t *closed; /* full chunks not yet handed over (malloc'd) */
    unsigned nclosed, capclosed;
    apr_time_t next_flush;
    int64_t step_ms; /* the readings' interval */
    int full_logged;
};

void kt__rows_free(kt__chunk_row_t *rows, unsigned n)
{
    for (unsigned i = 0; rows && i < n; i++)
        free(rows[i].data);
    free(rows);
}

static int kind_of(const char *name, const char **unit, double *scale)
{
    size_t len = strcspn(name, ":");
    for (size_t i = 0; i < KT_ARRAY_SIZE(kinds); i++)
        if (strlen(kinds[i].kind) == len && strncmp(kinds[i].kind, name, len) == 0) {
            *unit = kinds[i].unit;
            *scale = kinds[i].scale;
            return 0;
        }
    return -1;
}

static const char *static_unit(const char *unit)
{
    for (size_t i = 0; i < KT_ARRAY_SIZE(kinds); i++)
        if (strcmp(kinds[i].unit, unit) == 0)
            return kinds[i].unit;
    return "";
}

/* ---- series and their chunks --------------------------------------------------------- */

static series_t *series_get(kt__hist_t *h, const char *name, const char *unit, double scale)
{
    series_t *se = apr_hash_get(h->byname, name, APR_HASH_KEY_STRING);
    if (se || strlen(name) >= KT__SERIES_NAME)
        return se;
    if (h->n == KT__SERIES_MAX) {
        if (!h->full_logged++)
            kt_log(KT_LOG_WARN, "store: %u series recorded; new ones (%s) are not", h->n, name);
        return NULL;
    }
    if (h->n == h->cap) {
        unsigned cap = h->cap ? h->cap * 2 : 64;
        series_t **all = realloc(h->all, sizeof *all * cap);
        if (!all)
            return NULL;
        h->all = all;
        h->cap = cap;
    }
    if (!(se = calloc(1, sizeof *se)))
        return NULL;
    snprintf(se->name, sizeof se->name, "%s", name);
    se->unit = unit;
    se->scale = scale;
    se->last_ms = INT64_MIN;
    h->all[h->n++] = se;
    apr_hash_set(h->byname, se->name, APR_HASH_KEY_STRING, se);
    return se;
}

/* A copy of c for the store thread; -1 without memory. */
static int row_of(kt__chunk_row_t *r, const series_t *se, int tier, const kt__chunk_t *c)
{
    memset(r, 0, sizeof *r);
    snprintf(r->name, sizeof r->name, "%s", se->name);
    r->unit = se->unit;
    r->scale = se->scale;
    r->tier = tier;
    r->t0_ms = c->t0_ms;
    r->t1_ms = kt__chunk_end_ms(c);
    r->step_ms = c->step_ms;
    r->npoints = c->npoints;
    r->nbytes = (c->nbits + 7) / 8;
    if (!(r->data = malloc(r->nbytes ? r->nbytes : 1)))
        return -1;
    if (r->nbytes)
        memcpy(r->data, c->data, r->nbytes);
    return 0;
}

/* Hands a full chunk over at the next flush. */
static void keep_closed(kt__hist_t *h, const series_t *se, int tier, const kt__chunk_t *c)
{
    if (h->nclosed == h->capclosed) {
        unsigned cap = h->capclosed ? h->capclosed * 2 : 16;
        kt__chunk_row_t *rows = realloc(h->closed, sizeof *rows * cap);
        if (!rows)
            return;
        h->closed = rows;
        h->capclosed = cap;
    }
    if (row_of(&h->closed[h->nclosed], se, tier, c) == 0)
        h->nclosed++;
}

static void put(kt__hist_t *h, series_t *se, int tier, int64_t t_ms, const int64_t *q,
                int64_t step_ms)
{
    kt__chunk_t *c = &se->chunk[tier];
    /* A point that does not fit (the chunk is full, or the interval changed:
     * slots have one width) closes the chunk and starts the next. */
    if (c->npoints && c->step_ms == step_ms && kt__chunk_append(c, t_ms, q) != 1)
        return;
    if (c->npoints)
        keep_closed(h, se, tier, c);
    kt__chunk_start(c, t_ms, step_ms, tier == KT__TIER_RAW ? 1 : 3, tiers[tier].slots);
    kt__chunk_append(c, t_ms, q);
}

/* Adds to the open bucket of a coarse tier; a point of a later bucket
 * closes it first, into the tier's chunk and the next tier's bucket. */
static void bucket_add(kt__hist_t *h, series_t *se, int tier, int64_t t_ms, double avg,
                       double min, double max, uint64_t n)
{
    bucket_t *b = &se->open[tier - 1];
    int64_t step = tiers[tier].step_ms;
    int64_t start = t_ms - ((t_ms % step) + step) % step;
    if (b->n && b->start_ms != start) {
        double mean = b->sum / (double)b->n;
        int64_t q[3] = {kt__quantize(mean, se->scale), kt__quantize(b->min, se->scale),
                        kt__quantize(b->max, se->scale)};
        put(h, se, tier, b->start_ms, q, step);
        if (tier + 1 < KT__TIERS)
            bucket_add(h, se, tier + 1, b->start_ms, mean, b->min, b->max, b->n);
        b->n = 0;
    }
    if (!b->n) {
        b->start_ms = start;
        b->sum = 0;
        b->min = min;
        b->max = max;
    }
    b->sum += avg * (double)n;
    b->n += n;
    if (min < b->min)
        b->min = min;
    if (max > b->max)
        b->max = max;
}

static void record(kt__hist_t *h, const char *name, int64_t t_ms, double v)
{
    if (!kt_known(v))
        return;
    const char *unit;
    double scale;
    if (kind_of(name, &unit, &scale) != 0)
        return;
    series_t *se = series_get(h, name, unit, scale);
    if (!se || t_ms <= se->last_ms)
        return; /* the clock went back: wait until it passes the last point */
    se->last_ms = t_ms;
    int64_t q = kt__quantize(v, se->scale);
    put(h, se, KT__TIER_RAW, t_ms, &q, h->step_ms);
    bucket_add(h, se, KT__TIER_MINUTE, t_ms, v, v, v, 1);
}

static void record_sub(kt__hist_t *h, const char *kind, const char *subject, int64_t t_ms,
                       double v)
{
    char name[KT__SERIES_NAME];
    if (subject && snprintf(name, sizeof name, "%s:%s", kind, subject) < (int)sizeof name)
        record(h, name, t_ms, v);
}

/* The lock, once the series the last run left are resumed: a reading
 * recorded or a chart drawn before that would miss their open buckets. */
static void lock_loaded(kt__hist_t *h)
{
    apr_thread_mutex_lock(h->lock);
    while (h->loading)
        apr_thread_cond_wait(h->loaded, h->lock);
}

void kt_store_record(kt_store_t *s, const kt_sample_t *x, unsigned interval_ms, int lean)
{
    kt__hist_t *h = s->hist;
    if (!h || !s->usable)
        return;
    int64_t t = apr_time_as_msec(x->time);
    lock_loaded(h);
    /* The raw tier's slot width: the interval, which the sampler keeps
     * steady; a late reading still falls in its own slot. */
    h->step_ms = interval_ms ? interval_ms : 1000;
    record(h, "cpu", t, x->cpu.busy_pct);
    for (unsigned i = 0; i < (lean ? 0 : x->ncores); i++) {
        char core[16];
        snprintf(core, sizeof core, "%u", i);
        record_sub(h, "cpu", core, t, x->cores[i].busy_pct);
    }
    record(h, "memory", t, x->mem.used_pct);
    record(h, "swap", t, x->mem.swap_used_pct);
    record(h, "load1", t, x->load1);
    record(h, "load5", t, x->load5);
    record(h, "load15", t, x->load15);
    double fullest = NAN, rx = NAN, tx = NAN;
    for (unsigned i = 0; i < x->nfs; i++) {
        const kt_fs_t *f = &x->fs[i];
        record_sub(h, "fs_used", f->mount_point, t, f->used_pct);
        if (!lean)
            record_sub(h, "fs_inodes", f->mount_point, t, f->inodes_used_pct);
        if (kt_known(f->used_pct) && !(f->used_pct <= fullest))
            fullest = f->used_pct;
    }
    record(h, "disk", t, fullest);
    for (unsigned i = 0; i < x->nnet; i++) {
        const kt_net_t *n = &x->net[i];
        if (!lean) {
            record_sub(h, "net_rx", n->name, t, n->rx_bytes_ps);
            record_sub(h, "net_tx", n->name, t, n->tx_bytes_ps);
        }
        if (strcmp(n->name, "lo") != 0 && kt_known(n->rx_bytes_ps)) {
            rx = (kt_known(rx) ? rx : 0) + n->rx_bytes_ps;
            tx = (kt_known(tx) ? tx : 0) + (kt_known(n->tx_bytes_ps) ? n->tx_bytes_ps : 0);
        }
    }
    /* The sums the dashboard's network chart draws: all interfaces but lo. */
    record(h, "net_rx", t, rx);
    record(h, "net_tx", t, tx);
    for (unsigned i = 0; i < (lean ? 0 : x->ndisks); i++) {
        const kt_disk_t *d = &x->disks[i];
        record_sub(h, "disk_busy", d->name, t, d->busy_pct);
        record_sub(h, "disk_read", d->name, t, d->read_bytes_ps);
        record_sub(h, "disk_write", d->name, t, d->write_bytes_ps);
    }
    record(h, "procs", t, kt_known_u64(x->procs_total) ? (double)x->procs_total : NAN);
    record(h, "threads", t, kt_known_u64(x->threads_total) ? (double)x->threads_total : NAN);
    record(h, "cpu_pressure", t, x->pressure[KT_PSI_CPU].some_avg60_pct);
    record(h, "memory_pressure", t, x->pressure[KT_PSI_MEMORY].some_avg60_pct);
    record(h, "io_pressure", t, x->pressure[KT_PSI_IO].some_avg60_pct);
    int due = apr_time_now() >= h->next_flush;
    apr_thread_mutex_unlock(h->lock);
    if (due)
        kt__hist_flush(s, 0);
}

void kt__hist_flush(kt_store_t *s, int force)
{
    kt__hist_t *h = s->hist;
    if (!h)
        return;
    lock_loaded(h);
    h->next_flush = apr_time_now() + apr_time_from_sec(KT__HIST_FLUSH_S);
    unsigned n = h->nclosed;
    for (unsigned i = 0; i < h->n; i++)
        for (int t = 0; t < KT__TIERS; t++)
            n += h->all[i]->chunk[t].npoints && (force || h->all[i]->chunk[t].dirty);
    kt__chunk_row_t *rows = n ? malloc(sizeof *rows * n) : NULL;
    unsigned k = 0;
    if (rows) {
        if (h->nclosed)
            memcpy(rows, h->closed, sizeof *rows * h->nclosed);
        k = h->nclosed;
        h->nclosed = 0;
        for (unsigned i = 0; i < h->n; i++)
            for (int t = 0; t < KT__TIERS; t++) {
                kt__chunk_t *c = &h->all[i]->chunk[t];
                if (c->npoints && (force || c->dirty) && row_of(&rows[k], h->all[i], t, c) == 0) {
                    c->dirty = 0;
                    k++;
                }
            }
    }
    apr_thread_mutex_unlock(h->lock);
    if (!k) {
        free(rows);
        return;
    }
    kt__req_t *r = kt__store_req_new(KT__REQ_HIST_WRITE);
    if (!r) {
        kt__rows_free(rows, k);
        return;
    }
    r->rows = rows;
    r->nrows = k;
    kt__store_submit(s, r, 0);
}

/* ---- after a restart ----------------------------------------------------------------- */

void kt__hist_resume(kt_store_t *s, const char *name, const char *unit, double scale,
                     int64_t last_raw_ms, const kt__point_t *raw_tail, unsigned nraw,
                     const kt__point_t *minute_tail, unsigned nminute)
{
    kt__hist_t *h = s->hist;
    apr_thread_mutex_lock(h->lock);
    series_t *se = series_get(h, name, static_unit(unit), scale > 0 ? scale : 1);
    if (se) {
        se->last_ms = last_raw_ms;
        /* Minutes already stored go into the open hour only; readings after
         * the last stored minute go through the minute (and close it). */
        for (unsigned i = 0; i < nminute; i++)
            bucket_add(h, se, KT__TIER_HOUR, minute_tail[i].t_ms, minute_tail[i].avg,
                       minute_tail[i].min, minute_tail[i].max, 1);
        for (unsigned i = 0; i < nraw; i++)
            bucket_add(h, se, KT__TIER_MINUTE, raw_tail[i].t_ms, raw_tail[i].avg,
                       raw_tail[i].avg, raw_tail[i].avg, 1);
    }
    apr_thread_mutex_unlock(h->lock);
}

/* ---- life ------------------------------------------------------------------------------ */

apr_status_t kt__hist_create(kt_store_t *s)
{
    kt__hist_t *h = apr_pcalloc(s->pool, sizeof *h);
    apr_status_t st = apr_thread_mutex_create(&h->lock, APR_THREAD_MUTEX_DEFAULT, s->pool);
    if (st == APR_SUCCESS)
        st = apr_thread_cond_create(&h->loaded, s->pool);
    if (st != APR_SUCCESS)
        return st;
    h->byname = apr_hash_make(s->pool);
    h->next_flush = apr_time_now() + apr_time_from_sec(KT__HIST_FLUSH_S);
    s->hist = h;
    return APR_SUCCESS;
}

void kt__hist_loading(kt_store_t *s, int loading)
{
    kt__hist_t *h = s->hist;
    apr_thread_mutex_lock(h->lock);
    h->loading = loading;
    if (!loading)
        apr_thread_cond_broadcast(h->loaded);
    apr_thread_mutex_unlock(h->lock);
}

void kt__hist_destroy(kt_store_t *s)
{
    kt__hist_t *h = s->hist;
    if (!h)
        return;
    for (unsigned i = 0; i < h->n; i++) {
        for (int t = 0; t < KT__TIERS; t++)
            kt__chunk_free(&h->all[i]->chunk[t]);
        free(h->all[i]);
    }
    free(h->all);
    for (unsigned i = 0; i < h->nclosed; i++)
        free(h->closed[i].data);
    free(h->closed);
    s->hist = NULL;
}

/* ---- the history a caller asks for ------------------------------------------------------ */

/* Copies of a tier's chunk being filled, with the bucket still open (the
 * minute or hour in progress) as its last point, so the coarse tiers reach
 * up to now: appended to rows (room for two). */
static void rows_with_open(kt__chunk_row_t *rows, unsigned *n, const series_t *se, int tier)
{
    const kt__chunk_t *c = &se->chunk[tier];
    const bucket_t *b = tier > KT__TIER_RAW ? &se->open[tier - 1] : NULL;
    kt__chunk_t tmp = {0};
    uint8_t *copy = b && b->n && c->npoints ? malloc(c->cap) : NULL;
    if (copy) {
        tmp = *c;
        tmp.data = memcpy(copy, c->data, c->cap);
    }
    int64_t q[3] = {0};
    if (b && b->n) {
        q[0] = kt__quantize(b->sum / (double)b->n, se->scale);
        q[1] = kt__quantize(b->min, se->scale);
        q[2] = kt__quantize(b->max, se->scale);
    }
    if (tmp.data && kt__chunk_append(&tmp, b->start_ms, q) == 0) {
        if (row_of(&rows[*n], se, tier, &tmp) == 0)
            (*n)++;
        kt__chunk_free(&tmp);
        return;
    }
    kt__chunk_free(&tmp);
    if (c->npoints && row_of(&rows[*n], se, tier, c) == 0)
        (*n)++;
    if (b && b->n) { /* the chunk is full (or empty): the open bucket alone */
        kt__chunk_start(&tmp, b->start_ms, tiers[tier].step_ms, 3, tiers[tier].slots);
        if (kt__chunk_append(&tmp, b->start_ms, q) == 0 && row_of(&rows[*n], se, tier, &tmp) == 0)
            (*n)++;
        kt__chunk_free(&tmp);
    }
}

static int by_t0(const void *a, const void *b)
{
    const kt__chunk_row_t *x = a, *y = b;
    return x->t0_ms < y->t0_ms ? -1 : x->t0_ms > y->t0_ms;
}

/* The width of `points` buckets over [from, to], rounded up. */
static int64_t bucket_width(int64_t from, int64_t to, unsigned points)
{
    int64_t w = (to - from + points - 1) / points;
    return w > 0 ? w : 1;
}

/* The tier to answer from: the coarsest one whose step still fits `width`
 * and that keeps data as old as from; the finest that reaches from when
 * none is that coarse. */
static int pick_tier(kt_store_t *s, int64_t raw_step, int64_t from_ms, int64_t width)
{
    apr_thread_mutex_lock(s->lock);
    int64_t keep[KT__TIERS] = {(int64_t)s->opts.raw_hours * 3600000,
                               (int64_t)s->opts.minute_days * 86400000,
                               (int64_t)s->opts.hour_days * 86400000};
    apr_thread_mutex_unlock(s->lock);
    int64_t now = apr_time_as_msec(apr_time_now());
    int best = -1;
    for (int t = 0; t < KT__TIERS; t++) {
        int64_t step = tiers[t].step_ms ? tiers[t].step_ms : raw_step;
        if (now - keep[t] > from_ms && t + 1 < KT__TIERS)
            continue; /* it no longer holds the start of the range */
        if (best < 0 || step <= width)
            best = t;
    }
    return best;
}

typedef struct {
    double sum, min, max;
    unsigned n;
} acc_t;

/* Buckets the rows' points in [from, to] and makes the answer. */
static json_t *answer(const char *metric, const char *unit, double scale, int tier,
                      int64_t step, int64_t from, int64_t to, unsigned points,
                      kt__chunk_row_t *rows, unsigned nrows)
{
    int64_t width = bucket_width(from, to, points);
    if (width < step)
        width = step;
    unsigned nb = (unsigned)((to - from) / width) + 1;
    acc_t *acc = calloc(nb, sizeof *acc);
    kt__point_t *pts = malloc(sizeof *pts * KT__CHUNK_MAX_SLOTS);
    if (!acc || !pts) {
        free(acc);
        free(pts);
        return NULL;
    }
    for (unsigned r = 0; r < nrows; r++) {
        unsigned n = kt__chunk_decode(rows[r].data, rows[r].nbytes, tier ? 3 : 1, rows[r].t0_ms,
                                      rows[r].step_ms, rows[r].npoints, rows[r].scale, pts);
        for (unsigned i = 0; i < n; i++) {
            if (pts[i].t_ms < from || pts[i].t_ms > to)
                continue;
            acc_t *a = &acc[(pts[i].t_ms - from) / width];
            if (!a->n || pts[i].min < a->min)
                a->min = pts[i].min;
            if (!a->n || pts[i].max > a->max)
                a->max = pts[i].max;
            a->sum += pts[i].avg;
            a->n++;
        }
    }
    free(pts);
    json_t *t = json_array(), *avg = json_array(), *lo = json_array(), *hi = json_array();
    for (unsigned b = 0; b < nb; b++) {
        json_array_append_new(t, json_integer(from + (int64_t)b * width));
        if (!acc[b].n) {
            json_array_append_new(avg, json_null());
            json_array_append_new(lo, json_null());
            json_array_append_new(hi, json_null());
            continue;
        }
        /* Rounded to the series' resolution: no digits it does not have. */
        json_array_append_new(avg, json_real(nearbyint(acc[b].sum / acc[b].n / scale) * scale));
        json_array_append_new(lo, json_real(acc[b].min));
        json_array_append_new(hi, json_real(acc[b].max));
    }
    free(acc);
    return json_pack("{s:s s:s s:s s:I s:I s:I s:I s:o s:o s:o s:o}", "metric", metric, "unit",
                     unit, "tier", tiers[tier].name, "bucket_ms", (json_int_t)width, "from",
                     (json_int_t)from, "to", (json_int_t)to, "points", (json_int_t)nb, "t", t,
                     "avg", avg, "min", lo, "max", hi);
}

/* The rows of series metric in one tier over [from_ms, to_ms], oldest
 * first: the stored chunks with the ones still in memory on top. tier < 0:
 * the one pick_tier chooses for `points` buckets, written back. */
static apr_status_t gather(kt_store_t *s, const char *metric, int *tier, int64_t from_ms,
                           int64_t to_ms, unsigned points, kt__chunk_row_t **out, unsigned *nout,
                           const char **unit, double *scale, int64_t *step)
{
    kt__hist_t *h = s->hist;
    /* The chunks being filled, copied: they are newer than what is stored. */
    lock_loaded(h);
    series_t *se = apr_hash_get(h->byname, metric, APR_HASH_KEY_STRING);
    if (!se) {
        apr_thread_mutex_unlock(h->lock);
        return KT_ENOTFOUND;
    }
    int64_t raw_step = se->chunk[KT__TIER_RAW].npoints ? se->chunk[KT__TIER_RAW].step_ms
                       : h->step_ms > 0                ? h->step_ms
                                                       : 1000;
    if (*tier < 0)
        *tier = pick_tier(s, raw_step, from_ms, bucket_width(from_ms, to_ms, points));
    *unit = se->unit;
    *scale = se->scale;
    *step = *tier == KT__TIER_RAW ? raw_step : tiers[*tier].step_ms;
    char name[KT__SERIES_NAME];
    snprintf(name, sizeof name, "%s", se->name);
    /* At most one full chunk waits for the next flush, unless the disk is slow. */
    kt__chunk_row_t mem[4];
    unsigned nmem = 0;
    for (unsigned i = 0; i < h->nclosed && nmem + 2 < KT_ARRAY_SIZE(mem); i++) {
        const kt__chunk_row_t *c = &h->closed[i];
        if (c->tier != *tier || strcmp(c->name, name) != 0)
            continue;
        mem[nmem] = *c;
        if ((mem[nmem].data = malloc(c->nbytes + 1)) != NULL) {
            if (c->nbytes)
                memcpy(mem[nmem].data, c->data, c->nbytes);
            nmem++;
        }
    }
    rows_with_open(mem, &nmem, se, *tier);
    apr_thread_mutex_unlock(h->lock);

    kt__req_t *r = kt__store_req_new(KT__REQ_HIST_READ);
    if (!r) {
        for (unsigned i = 0; i < nmem; i++)
            free(mem[i].data);
        return APR_ENOMEM;
    }
    snprintf(r->series, sizeof r->series, "%s", name);
    r->tier = *tier;
    r->from_ms = from_ms;
    r->to_ms = to_ms;
    apr_status_t st = kt__store_submit(s, r, 1);
    kt__chunk_row_t *rows = NULL;
    unsigned n = 0;
    if (st == APR_SUCCESS) {
        rows = r->rows;
        n = r->nrows;
        r->rows = NULL;
    }
    if (kt__store_still_mine(st))
        kt__req_free(r);
    if (st != APR_SUCCESS) {
        for (unsigned i = 0; i < nmem; i++)
            free(mem[i].data);
        return st;
    }
    /* The copies in memory replace their stored versions (same start). */
    kt__chunk_row_t *all = realloc(rows, sizeof *all * (n + nmem + 1));
    if (!all) {
        kt__rows_free(rows, n);
        for (unsigned i = 0; i < nmem; i++)
            free(mem[i].data);
        return APR_ENOMEM;
    }
    for (unsigned i = 0; i < nmem; i++) {
        unsigned j = 0;
        while (j < n && all[j].t0_ms != mem[i].t0_ms)
            j++;
        if (j < n)
            free(all[j].data);
        else
            n++;
        all[j] = mem[i];
    }
    qsort(all, n, sizeof *all, by_t0);
    *out = all;
    *nout = n;
    return APR_SUCCESS;
}

apr_status_t kt_store_history(kt_store_t *s, const char *metric, apr_time_t from, apr_time_t to,
                              unsigned points, json_t **out)
{
    if (!s->hist || !s->usable)
        return KT_EUNAVAIL;
    int64_t from_ms = apr_time_as_msec(from), to_ms = apr_time_as_msec(to);
    if (points == 0 || to_ms < from_ms)
        return KT_EINPUT;
    int tier = -1;
    kt__chunk_row_t *all;
    unsigned n;
    const char *unit;
    double scale;
    int64_t step;
    apr_status_t st =
        gather(s, metric, &tier, from_ms, to_ms, points, &all, &n, &unit, &scale, &step);
    if (st != APR_SUCCESS)
        return st;
    *out = answer(metric, unit, scale, tier, step, from_ms, to_ms, points, all, n);
    kt__rows_free(all, n);
    return *out ? APR_SUCCESS : APR_ENOMEM;
}

/* ---- the history as readings again (replay) ------------------------------------------------ */

const char *kt_store_tier_name(int tier)
{
    return tier >= 0 && tier < KT__TIERS ? tiers[tier].name : "?";
}

int64_t kt_store_tier_step_ms(kt_store_t *s, int tier)
{
    if (tier != KT__TIER_RAW)
        return tier > 0 && tier < KT__TIERS ? tiers[tier].step_ms : 0;
    kt__hist_t *h = s->hist;
    if (!h)
        return 0;
    lock_loaded(h);
    int64_t step = h->step_ms;
    /* Before this run's first reading: the interval the newest stored readings had. */
    for (unsigned i = 0; step <= 0 && i < h->n; i++)
        if (h->all[i]->chunk[KT__TIER_RAW].npoints)
            step = h->all[i]->chunk[KT__TIER_RAW].step_ms;
    apr_thread_mutex_unlock(h->lock);
    return step;
}

int kt_store_tier_reaches(kt_store_t *s, int tier, apr_time_t from)
{
    if (tier < 0 || tier >= KT__TIERS)
        return 0;
    apr_thread_mutex_lock(s->lock);
    int64_t keep[KT__TIERS] = {(int64_t)s->opts.raw_hours * 3600000,
                               (int64_t)s->opts.minute_days * 86400000,
                               (int64_t)s->opts.hour_days * 86400000};
    apr_thread_mutex_unlock(s->lock);
    return apr_time_as_msec(apr_time_now()) - keep[tier] <= apr_time_as_msec(from);
}

apr_status_t kt_store_series_names(kt_store_t *s, apr_array_header_t **out, apr_pool_t *pool)
{
    kt__hist_t *h = s->hist;
    if (!h || !s->usable)
        return KT_EUNAVAIL;
    apr_array_header_t *a = apr_array_make(pool, 64, sizeof(const char *));
    lock_loaded(h);
    for (unsigned i = 0; i < h->n; i++)
        APR_ARRAY_PUSH(a, const char *) = apr_pstrdup(pool, h->all[i]->name);
    apr_thread_mutex_unlock(h->lock);
    *out = a;
    return APR_SUCCESS;
}

apr_status_t kt_store_points(kt_store_t *s, const char *metric, int tier, apr_time_t from,
                             apr_time_t to, kt_store_point_t **out, unsigned *nout,
                             int64_t *step_ms)
{
    *out = NULL;
    *nout = 0;
    if (step_ms)
        *step_ms = 0;
    if (!s->hist || !s->usable)
        return KT_EUNAVAIL;
    int64_t from_ms = apr_time_as_msec(from), to_ms = apr_time_as_msec(to);
    if (tier < 0 || tier >= KT__TIERS || to_ms < from_ms)
        return KT_EINPUT;
    kt__chunk_row_t *all;
    unsigned n;
    const char *unit;
    double scale;
    int64_t step;
    apr_status_t st = gather(s, metric, &tier, from_ms, to_ms, 1, &all, &n, &unit, &scale, &step);
    if (st != APR_SUCCESS)
        return st;
    unsigned cap = 0;
    for (unsigned r = 0; r < n; r++)
        cap += all[r].npoints;
    if (step_ms) /* the newest chunk's: the interval the readings were taken at last */
        *step_ms = n ? all[n - 1].step_ms : 0;
    kt_store_point_t *pts = malloc(sizeof *pts * (cap + 1));
    kt__point_t *dec = malloc(sizeof *dec * KT__CHUNK_MAX_SLOTS);
    if (!pts || !dec) {
        free(pts);
        free(dec);
        kt__rows_free(all, n);
        return APR_ENOMEM;
    }
    unsigned k = 0;
    for (unsigned r = 0; r < n; r++) {
        unsigned m = kt__chunk_decode(all[r].data, all[r].nbytes, tier ? 3 : 1, all[r].t0_ms,
                                      all[r].step_ms, all[r].npoints, all[r].scale, dec);
        for (unsigned i = 0; i < m && k < cap; i++)
            if (dec[i].t_ms >= from_ms && dec[i].t_ms <= to_ms)
                pts[k++] = (kt_store_point_t){dec[i].t_ms, dec[i].avg};
    }
    free(dec);
    kt__rows_free(all, n);
    *out = pts;
    *nout = k;
    return APR_SUCCESS;
}

apr_status_t kt_store_series(kt_store_t *s, json_t **out)
{
    return kt__store_ask_json(s, KT__REQ_SERIES, out);
}
