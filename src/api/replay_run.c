/*
 * replay_run.c - the stored history judged again: the series the store kept
 * are turned back into readings, in time order and at their interval, and
 * fed to a fresh monitor with a rule set's thresholds and conditions, as
 * `kotod --test-rules` feeds written readings. What would have fired is set
 * beside what did (the stored events) per type and subject.
 *
 * A reading rebuilt from the history has only what the history keeps: CPU
 * (total and per core), memory and swap used %, load, each filesystem's
 * used and inode %, each interface's rates, each disk's busy % and
 * throughput, process and thread counts, pressure (some, avg60). The rest
 * is unknown, so a condition that needs it gives no verdict; the answer
 * names those fields. Process and service checks need the process table
 * and are not judged. The raw tier is used where it reaches back to the
 * start, else the minutes (each reading one minute's average), else the
 * hours; there hold-downs and the spike baseline are scaled to last as
 * long as they did at the live interval (flap windows are not).
 *
 * The work is bounded: at most KT_REPLAY_MAX_READINGS readings and
 * KT_REPLAY_MAX_CELLS values held (a coarser tier is taken to stay under
 * both), and a few pages of stored events.
 */
#include "api_internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <apr_strings.h>

enum { K_CPU, K_CORE, K_MEM, K_SWAP, K_LOAD1, K_LOAD5, K_LOAD15, K_FS_USED, K_FS_INODES,
       K_NET_RX, K_NET_TX, K_DISK_BUSY, K_DISK_READ, K_DISK_WRITE, K_PROCS, K_THREADS,
       K_PSI_CPU, K_PSI_MEM, K_PSI_IO, K__COUNT };

static const struct {
    const char *prefix; /* the series' name, or its kind before ":subject" */
    int sub;
    const char *field; /* in the reading, for the unknown list */
} kinds[K__COUNT] = {
    {"cpu", 0, "cpu.busy_pct"},           {"cpu", 1, "cores"},
    {"memory", 0, "memory.used_pct"},     {"swap", 0, "memory.swap_used_pct"},
    {"load1", 0, "load.1"},               {"load5", 0, "load.5"},
    {"load15", 0, "load.15"},             {"fs_used", 1, "filesystems"},
    {"fs_inodes", 1, "filesystems.inodes_used_pct"},
    {"net_rx", 1, "network"},             {"net_tx", 1, "network.tx_bytes_ps"},
    {"disk_busy", 1, "disks"},            {"disk_read", 1, "disks.read_bytes_ps"},
    {"disk_write", 1, "disks.write_bytes_ps"},
    {"procs", 0, "processes.total"},      {"threads", 0, "processes.threads"},
    {"cpu_pressure", 0, "pressure.cpu"},  {"memory_pressure", 0, "pressure.memory"},
    {"io_pressure", 0, "pressure.io"},
};

/* What the history never keeps. */
static const char *const never_kept[] = {
    "processes.top_cpu", "processes.top_memory", "cpu.user_pct", "cpu.system_pct",
    "cpu.iowait_pct", "cpu.steal_pct", "memory.total_bytes", "memory.available_bytes",
    "memory.swap_in_pages_ps", "memory.swap_out_pages_ps", "filesystems.device",
    "filesystems.fstype", "filesystems.size_bytes", "filesystems.avail_bytes",
    "network.rx_errors", "network.tx_errors", "disks.queue_length", "pressure.some_avg10_pct",
    "pressure.full_avg60_pct", "uptime_s", "checks",
};

typedef struct {
    int kind;
    const char *subject; /* NULL for host-wide series */
    double *v;           /* one per reading slot; NAN: none */
} series_t;

/* One condition's time past its threshold. */
typedef struct {
    int type;
    const char *subject;
    const char *severity;
    int64_t start_ms, end_ms; /* end -1: still active at `to` */
    uint64_t id;              /* the started event's */
} span_t;

typedef struct {
    apr_pool_t *pool;
    apr_array_header_t *spans; /* span_t */
    unsigned dropped;          /* spans past KT_REPLAY_MAX_SPANS */
} spans_t;

static int classify(const char *name, const char **subject, apr_pool_t *pool)
{
    const char *colon = strchr(name, ':');
    size_t len = colon ? (size_t)(colon - name) : strlen(name);
    for (int k = 0; k < K__COUNT; k++)
        if (strlen(kinds[k].prefix) == len && strncmp(kinds[k].prefix, name, len) == 0 &&
            !!colon == kinds[k].sub) {
            *subject = colon ? apr_pstrdup(pool, colon + 1) : NULL;
            return k;
        }
    return -1; /* "disk", the network totals: the reading has them in other shapes */
}

static span_t *open_span(spans_t *s, uint64_t id)
{
    for (int i = s->spans->nelts; i-- > 0;) {
        span_t *sp = &APR_ARRAY_IDX(s->spans, i, span_t);
        if (sp->id == id && sp->end_ms < 0)
            return sp;
    }
    return NULL;
}

/* Folds one event into the spans: a start opens one, an escalation raises
 * its severity, a resolution closes it (one whose start came before the
 * range opens at from). */
static void fold(spans_t *s, int type, const char *subject, const char *severity,
                 const char *state, uint64_t id, uint64_t started_id, int64_t t_ms,
                 int64_t from_ms)
{
    if (strcmp(state, "started") == 0) {
        if (s->spans->nelts >= KT_REPLAY_MAX_SPANS) {
            s->dropped++;
            return;
        }
        span_t *sp = apr_array_push(s->spans);
        *sp = (span_t){type, apr_pstrdup(s->pool, subject), severity, t_ms, -1, id};
        return;
    }
    span_t *sp = open_span(s, started_id);
    if (strcmp(state, "escalated") == 0) {
        if (sp)
            sp->severity = severity;
        return;
    }
    if (strcmp(state, "resolved") != 0)
        return; /* flapping marks change no span */
    if (!sp) {
        if (s->spans->nelts >= KT_REPLAY_MAX_SPANS) {
            s->dropped++;
            return;
        }
        sp = apr_array_push(s->spans);
        *sp = (span_t){type, apr_pstrdup(s->pool, subject), severity, from_ms, -1, started_id};
    }
    sp->severity = severity;
    sp->end_ms = t_ms;
}

/* ---- readings from the series -------------------------------------------------------------- */

static kt_cpu_t unknown_cpu(void)
{
    return (kt_cpu_t){NAN, NAN, NAN, NAN, NAN, NAN, NAN, NAN, NAN};
}

/* The index of subject among names (appending it), for fs/net/disk lists. */
static unsigned slot(const char **names, unsigned *n, const char *subject)
{
    for (unsigned i = 0; i < *n; i++)
        if (strcmp(names[i], subject) == 0)
            return i;
    names[*n] = subject;
    return (*n)++;
}

static void build_sample(kt_sample_t *s, const series_t *se, unsigned nse, unsigned idx,
                         int64_t t_ms, double elapsed_s, apr_pool_t *pool)
{
    kt_plat_sample_init(s);
    s->time = apr_time_from_msec(t_ms);
    s->elapsed_s = elapsed_s;
    s->os = "replay";
    unsigned nfs = 0, nnet = 0, ndisk = 0, ncore = 0;
    for (unsigned i = 0; i < nse; i++) {
        int k = se[i].kind;
        nfs += k == K_FS_USED || k == K_FS_INODES;
        nnet += k == K_NET_RX || k == K_NET_TX;
        ndisk += k == K_DISK_BUSY || k == K_DISK_READ || k == K_DISK_WRITE;
        ncore += k == K_CORE;
    }
    const char **fsn = apr_pcalloc(pool, sizeof *fsn * (nfs + 1));
    const char **netn = apr_pcalloc(pool, sizeof *netn * (nnet + 1));
    const char **diskn = apr_pcalloc(pool, sizeof *diskn * (ndisk + 1));
    s->fs = apr_pcalloc(pool, sizeof *s->fs * (nfs + 1));
    s->net = apr_pcalloc(pool, sizeof *s->net * (nnet + 1));
    s->disks = apr_pcalloc(pool, sizeof *s->disks * (ndisk + 1));
    s->cores = apr_pcalloc(pool, sizeof *s->cores * (ncore + 1));
    for (unsigned i = 0; i < nse; i++) {
        double v = se[i].v[idx];
        if (!kt_known(v))
            continue;
        const char *sub = se[i].subject;
        switch (se[i].kind) {
        case K_CPU: s->cpu.busy_pct = v; break;
        case K_CORE: {
            unsigned c = (unsigned)strtoul(sub, NULL, 10);
            if (c < ncore) {
                while (s->ncores <= c)
                    s->cores[s->ncores++] = unknown_cpu();
                s->cores[c].busy_pct = v;
            }
            break;
        }
        case K_MEM: s->mem.used_pct = v; break;
        case K_SWAP: s->mem.swap_used_pct = v; break;
        case K_LOAD1: s->load1 = v; break;
        case K_LOAD5: s->load5 = v; break;
        case K_LOAD15: s->load15 = v; break;
        case K_FS_USED:
        case K_FS_INODES: {
            unsigned before = s->nfs, j = slot(fsn, &s->nfs, sub);
            kt_fs_t *f = &s->fs[j];
            if (j == before) {
                memset(f, 0, sizeof *f);
                f->mount_point = sub;
                f->size_bytes = f->free_bytes = f->avail_bytes = f->used_bytes =
                    f->inodes_total = f->inodes_free = KT_UNKNOWN_U64;
                f->used_pct = f->inodes_used_pct = NAN;
                f->readonly = -1;
            }
            *(se[i].kind == K_FS_USED ? &f->used_pct : &f->inodes_used_pct) = v;
            break;
        }
        case K_NET_RX:
        case K_NET_TX: {
            unsigned before = s->nnet, j = slot(netn, &s->nnet, sub);
            kt_net_t *n = &s->net[j];
            if (j == before) {
                memset(n, 0xff, sizeof *n); /* every counter KT_UNKNOWN_U64 */
                n->name = sub;
                n->rx_bytes_ps = n->tx_bytes_ps = NAN;
            }
            *(se[i].kind == K_NET_RX ? &n->rx_bytes_ps : &n->tx_bytes_ps) = v;
            break;
        }
        case K_DISK_BUSY:
        case K_DISK_READ:
        case K_DISK_WRITE: {
            unsigned before = s->ndisks, j = slot(diskn, &s->ndisks, sub);
            kt_disk_t *d = &s->disks[j];
            if (j == before) {
                memset(d, 0xff, sizeof *d);
                d->name = sub;
                d->read_bytes_ps = d->write_bytes_ps = d->busy_pct = d->queue_length = NAN;
            }
            *(se[i].kind == K_DISK_BUSY   ? &d->busy_pct
              : se[i].kind == K_DISK_READ ? &d->read_bytes_ps
                                          : &d->write_bytes_ps) = v;
            break;
        }
        case K_PROCS: s->procs_total = (uint64_t)llround(v); break;
        case K_THREADS: s->threads_total = (uint64_t)llround(v); break;
        case K_PSI_CPU: s->pressure[KT_PSI_CPU].some_avg60_pct = v; break;
        case K_PSI_MEM: s->pressure[KT_PSI_MEMORY].some_avg60_pct = v; break;
        case K_PSI_IO: s->pressure[KT_PSI_IO].some_avg60_pct = v; break;
        }
    }
    if (ncore)
        s->ncpu = ncore;
}

/* Readings of the tier a hold of `hold` live readings lasts: on the
 * minute tier, three readings 30 s apart are two minutes, not three. */
static unsigned scaled_hold(unsigned hold, int64_t live_ms, int64_t step_ms)
{
    if (live_ms <= 0 || step_ms <= live_ms || hold <= 1)
        return hold;
    int64_t h = ((int64_t)hold * live_ms + step_ms - 1) / step_ms;
    return h < 1 ? 1 : (unsigned)h;
}

typedef struct {
    kt_rules_t *rules;
    int64_t live_ms, step_ms;
} cond_baton_t;

static unsigned run_conditions(void *baton, const kt_sample_t *s, kt_mon_verdict_t *out,
                               unsigned max)
{
    cond_baton_t *b = baton;
    unsigned n = kt_rules_conditions(b->rules, s, out, max);
    for (unsigned i = 0; i < n; i++)
        out[i].hold = scaled_hold(out[i].hold, b->live_ms, b->step_ms);
    return n;
}

/* ---- the answer ------------------------------------------------------------------------------ */

static json_t *ms_or_null(int64_t ms) { return ms < 0 ? json_null() : json_integer(ms); }

static json_t *spans_json(const spans_t *s)
{
    json_t *a = json_array();
    for (int i = 0; i < s->spans->nelts; i++) {
        const span_t *sp = &APR_ARRAY_IDX(s->spans, i, span_t);
        json_array_append_new(a, json_pack("{s:s s:s s:s s:I s:o}", "type",
                                           kt_event_type_name(sp->type), "subject", sp->subject,
                                           "severity", sp->severity, "start_ms",
                                           (json_int_t)sp->start_ms, "end_ms",
                                           ms_or_null(sp->end_ms)));
    }
    return a;
}

/* Per type and subject: how often each side fired; first, last and time
 * active of what would have. */
static json_t *summary(const spans_t *would, const spans_t *fired, int64_t to_ms)
{
    json_t *rows = json_array();
    json_t *index = json_object();
    const spans_t *sides[2] = {would, fired};
    for (int side = 0; side < 2; side++)
        for (int i = 0; i < sides[side]->spans->nelts; i++) {
            const span_t *sp = &APR_ARRAY_IDX(sides[side]->spans, i, span_t);
            char key[400];
            snprintf(key, sizeof key, "%s\n%s", kt_event_type_name(sp->type), sp->subject);
            json_t *row = json_object_get(index, key);
            if (!row) {
                row = json_pack("{s:s s:s s:i s:i s:n s:n s:I}", "type",
                                kt_event_type_name(sp->type), "subject", sp->subject,
                                "would_fire", 0, "fired", 0, "first_ms", "last_ms", "active_ms",
                                (json_int_t)0);
                json_object_set_new(index, key, row);
                json_array_append(rows, row);
            }
            const char *count = side ? "fired" : "would_fire";
            json_object_set_new(row, count,
                                json_integer(json_integer_value(json_object_get(row, count)) + 1));
            if (side)
                continue;
            if (json_is_null(json_object_get(row, "first_ms")))
                json_object_set_new(row, "first_ms", json_integer(sp->start_ms));
            json_object_set_new(row, "last_ms", json_integer(sp->start_ms));
            int64_t end = sp->end_ms < 0 ? to_ms : sp->end_ms;
            json_object_set_new(row, "active_ms",
                                json_integer(json_integer_value(json_object_get(row, "active_ms")) +
                                             (end > sp->start_ms ? end - sp->start_ms : 0)));
        }
    json_decref(index);
    return rows;
}

/* The stored events in [from, to], oldest first, a page at a time from the newest. */
static apr_status_t stored_events(kt_store_t *store, apr_time_t from, apr_time_t to, spans_t *out,
                                  int64_t from_ms)
{
    json_t *all = json_array();
    uint64_t before = 0;
    for (int page = 0; page < KT_REPLAY_EVENT_PAGES; page++) {
        kt_store_query_t q = {-1, -1, 0, before, from, to, 10000};
        json_t *got = NULL;
        apr_status_t st = kt_store_events(store, &q, &got);
        if (st != APR_SUCCESS) {
            json_decref(all);
            return st;
        }
        size_t n = json_array_size(got);
        json_array_extend(got, all);
        json_decref(all);
        all = got;
        if (n < 10000)
            break;
        before = (uint64_t)json_integer_value(json_object_get(json_array_get(all, 0), "id"));
    }
    size_t i;
    json_t *e;
    json_array_foreach(all, i, e) {
        int type = kt_event_type_parse(json_string_value(json_object_get(e, "type")));
        const char *sev = json_string_value(json_object_get(e, "severity"));
        const char *state = json_string_value(json_object_get(e, "state"));
        if (type < 0 || !sev || !state)
            continue;
        int sv = kt_severity_parse(sev);
        const char *subj = json_string_value(json_object_get(e, "subject"));
        fold(out, type, subj ? subj : "",
             kt_severity_name(sv < 0 ? KT_SEV_LOW : sv), state,
             (uint64_t)json_integer_value(json_object_get(e, "id")),
             (uint64_t)json_integer_value(json_object_get(e, "started_id")),
             json_integer_value(json_object_get(e, "time")), from_ms);
    }
    json_decref(all);
    return APR_SUCCESS;
}

/* ---- the run --------------------------------------------------------------------------------- */

apr_status_t kt_replay_run(kt_store_t *store, kt_rules_t *rules, apr_time_t from, apr_time_t to,
                           json_t **out, char *err, apr_size_t errlen)
{
    apr_pool_t *pool;
    apr_status_t st = apr_pool_create_unmanaged_ex(&pool, NULL, NULL);
    if (st != APR_SUCCESS)
        return st;
    int64_t from_ms = apr_time_as_msec(from), to_ms = apr_time_as_msec(to);
    series_t *se = NULL;
    unsigned nse = 0;
    kt_mon_t *mon = NULL;
    apr_array_header_t *names;
    if (to_ms <= from_ms) {
        snprintf(err, errlen, "'to' must come after 'from'");
        st = KT_EINPUT;
        goto done;
    }
    if (!store || (st = kt_store_series_names(store, &names, pool)) != APR_SUCCESS) {
        snprintf(err, errlen, "no history is stored (the store is off)");
        st = KT_EUNAVAIL;
        goto done;
    }
    se = apr_pcalloc(pool, sizeof *se * ((size_t)names->nelts + 1));
    for (int i = 0; i < names->nelts; i++) {
        const char *subject;
        int k = classify(APR_ARRAY_IDX(names, i, const char *), &subject, pool);
        if (k >= 0)
            se[nse++] = (series_t){k, subject, NULL};
    }

    /* The finest tier that reaches back to from and keeps the work bounded. */
    int tier = -1;
    int64_t step = 0, nslots = 0;
    for (int t = 0; t < 3 && tier < 0; t++) {
        if (t < 2 && !kt_store_tier_reaches(store, t, from))
            continue;
        step = kt_store_tier_step_ms(store, t);
        if (t == 0 && step <= 0 && nse) {
            /* No reading this run (kotod --replay): the stored chunks say. */
            kt_store_point_t *p = NULL;
            unsigned np;
            for (unsigned i = 0; i < nse && step <= 0; i++)
                if (!se[i].subject &&
                    kt_store_points(store, kinds[se[i].kind].prefix, 0, from, to, &p, &np,
                                    &step) == APR_SUCCESS)
                    free(p);
        }
        if (step <= 0)
            continue;
        nslots = (to_ms - from_ms) / step + 1;
        if (t == 2 || (nslots <= KT_REPLAY_MAX_READINGS &&
                       nslots * (int64_t)(nse ? nse : 1) <= KT_REPLAY_MAX_CELLS))
            tier = t;
    }
    if (tier < 0) { /* nothing recorded yet: no readings, and the stored events */
        tier = 0;
        step = kt_rules_conf(rules)->mon.interval_ms;
        nslots = 0;
    }
    if (nslots > KT_REPLAY_MAX_READINGS ||
        nslots * (int64_t)(nse ? nse : 1) > KT_REPLAY_MAX_CELLS) {
        snprintf(err, errlen,
                 "the range is too long to replay: at most %u readings of the coarsest tier",
                 KT_REPLAY_MAX_READINGS);
        st = KT_EINPUT;
        goto done;
    }

    /* Each series' points into its slots: slot k is the reading at base + k * step. */
    kt_store_point_t **pts = apr_pcalloc(pool, sizeof *pts * (nse + 1));
    unsigned *npts = apr_pcalloc(pool, sizeof *npts * (nse + 1));
    int64_t base = INT64_MAX;
    for (unsigned i = 0; i < nse; i++) {
        const char *name = se[i].subject
                               ? apr_pstrcat(pool, kinds[se[i].kind].prefix, ":", se[i].subject, NULL)
                               : kinds[se[i].kind].prefix;
        if (kt_store_points(store, name, tier, from, to, &pts[i], &npts[i], NULL) != APR_SUCCESS)
            npts[i] = 0;
        if (npts[i] && pts[i][0].t_ms < base)
            base = pts[i][0].t_ms;
    }
    unsigned nr = 0;
    if (base != INT64_MAX)
        nr = (unsigned)((to_ms - base) / step + 1);
    if (nr > nslots)
        nr = (unsigned)nslots;
    char *present = apr_pcalloc(pool, nr + 1);
    int seen_kind[K__COUNT] = {0};
    for (unsigned i = 0; i < nse; i++) {
        se[i].v = apr_palloc(pool, sizeof(double) * (nr + 1));
        for (unsigned k = 0; k < nr; k++)
            se[i].v[k] = NAN;
        for (unsigned p = 0; p < npts[i]; p++) {
            int64_t k = llround((double)(pts[i][p].t_ms - base) / (double)step);
            if (k >= 0 && k < nr) {
                se[i].v[k] = pts[i][p].v;
                present[k] = 1;
                seen_kind[se[i].kind] = 1;
            }
        }
        free(pts[i]);
    }

    /* A fresh monitor with the set's thresholds; what needs the process
     * table (checks, kotod's own budget) is left out. */
    kt_mon_conf_t mc = kt_rules_conf(rules)->mon;
    mc.checks = NULL;
    mc.nchecks = 0;
    mc.budget_rss_mb = mc.budget_cpu_pct = 0;
    if (mc.event_capacity < 1024)
        mc.event_capacity = 1024;
    mc.interval_ms = step < KT_MON_MIN_INTERVAL_MS ? KT_MON_MIN_INTERVAL_MS
                     : step > KT_MON_MAX_INTERVAL_MS ? KT_MON_MAX_INTERVAL_MS
                                                     : (unsigned)step;
    /* On a coarser tier, hold-downs and the spike baseline last as long as
     * they did live (at the interval the raw tier was recorded at). */
    int64_t live_ms = tier ? kt_store_tier_step_ms(store, 0) : 0;
    if (live_ms <= 0 && tier)
        live_ms = kt_rules_conf(rules)->mon.interval_ms;
    kt_mon_rule_t *held[] = {&mc.cpu, &mc.memory, &mc.disk, &mc.process_memory, &mc.cpu_spike,
                             &mc.disk_fill};
    for (size_t i = 0; i < KT_ARRAY_SIZE(held); i++)
        held[i]->hold_samples = scaled_hold(held[i]->hold_samples, live_ms, step);
    if (mc.ndisk_overrides) {
        kt_mon_fs_rule_t *o = apr_pmemdup(pool, mc.disk_overrides, sizeof *o * mc.ndisk_overrides);
        for (unsigned k = 0; k < mc.ndisk_overrides; k++)
            o[k].rule.hold_samples = scaled_hold(o[k].rule.hold_samples, live_ms, step);
        mc.disk_overrides = o;
    }
    mc.spike_window = scaled_hold(mc.spike_window, live_ms, step);
    mc.spike_warmup = mc.spike_warmup ? scaled_hold(mc.spike_warmup, live_ms, step) : 0;
    cond_baton_t cb = {rules, live_ms, step};
    if ((st = kt_mon_create(&mon, &mc, NULL, pool)) != APR_SUCCESS) {
        snprintf(err, errlen, "cannot create a monitor for the replay");
        goto done;
    }
    kt_mon_set_conditions(mon, run_conditions, &cb);
    kt_rules_conditions_reset(rules);
    spans_t would = {pool, apr_array_make(pool, 64, sizeof(span_t)), 0};
    spans_t fired = {pool, apr_array_make(pool, 64, sizeof(span_t)), 0};
    kt_event_t *ev = apr_palloc(pool, sizeof *ev * 256);
    uint64_t last_id = 0;
    unsigned readings = 0;
    int64_t prev = -1;
    for (unsigned k = 0; k < nr; k++) {
        if (!present[k])
            continue;
        int64_t t = base + (int64_t)k * step;
        apr_pool_t *rp;
        apr_pool_create_unmanaged_ex(&rp, NULL, NULL);
        kt_sample_t *s = apr_palloc(rp, sizeof *s);
        build_sample(s, se, nse, k, t, prev < 0 ? NAN : (double)(t - prev) / 1000.0, rp);
        prev = t;
        kt_mon_ingest(mon, s, rp); /* the monitor owns rp from here */
        readings++;
        unsigned n;
        do {
            kt_event_filter_t f = {-1, -1, last_id, 0};
            n = kt_mon_events(mon, &f, ev, 256);
            for (unsigned j = 0; j < n; j++) {
                last_id = ev[j].id;
                fold(&would, ev[j].type, ev[j].subject, kt_severity_name(ev[j].severity),
                     kt_event_state_name(&ev[j]), ev[j].id, ev[j].started_id,
                     apr_time_as_msec(ev[j].time), from_ms);
            }
        } while (n == 256);
    }
    if ((st = stored_events(store, from, to, &fired, from_ms)) != APR_SUCCESS) {
        snprintf(err, errlen, "the stored events cannot be read");
        goto done;
    }

    json_t *unknown = json_array();
    for (int k = 0; k < K__COUNT; k++)
        if (!seen_kind[k])
            json_array_append_new(unknown, json_string(kinds[k].field));
    if (!seen_kind[K_CORE])
        json_array_append_new(unknown, json_string("ncpu"));
    for (size_t i = 0; i < KT_ARRAY_SIZE(never_kept); i++)
        json_array_append_new(unknown, json_string(never_kept[i]));
    *out = json_pack("{s:I s:I s:I s:s s:i s:o s:o s:o s:o}", "from", (json_int_t)from_ms, "to",
                     (json_int_t)to_ms, "step_ms", (json_int_t)step, "tier",
                     kt_store_tier_name(tier), "readings", (int)readings, "unknown", unknown,
                     "summary", summary(&would, &fired, to_ms), "would_fire", spans_json(&would),
                     "fired", spans_json(&fired));
    if (would.dropped || fired.dropped)
        json_object_set_new(*out, "truncated", json_true());
    st = APR_SUCCESS;
done:
    if (mon)
        kt_mon_destroy(mon);
    apr_pool_destroy(pool);
    return st;
}
