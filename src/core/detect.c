/*
 * detect.c - the detectors: turn a stream of samples into start/resolve events.
 *
 * Each watched thing is a condition keyed by what it is about ("cpu",
 * "disk:/var", "procmem:42:java"). A condition exists only while its value is
 * past the threshold or it is active, so a machine with 2000 quiet processes
 * carries no per-process state at all.
 *
 *   below  --(value > threshold)-->  holding  --(held hold_samples)--> active
 *   holding --(value <= threshold)--> forgotten
 *   active  --(value < threshold - margin, or the subject is gone)--> resolved
 *
 * An unknown value (NAN) changes nothing: a reading we could not take is no
 * evidence that a condition started or ended.
 */
#include "core_internal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct kt__cond_t {
    char key[KT__COND_KEY];
    kt_event_type_t type;
    char subject[160];
    unsigned over;      /* readings in a row past the threshold */
    int active, seen;
    kt_severity_t worst;
    uint64_t started_id;
    apr_time_t since;
    double value, threshold;
    int restored; /* carried over from the last run: not judged since the restart */
    char source[96]; /* a Lua condition's file:line */
    char text[256];  /* a Lua condition's last message */
};

void kt__detect_init(kt__detect_t *d, apr_pool_t *pool)
{
    memset(d, 0, sizeof *d);
    d->pool = pool;
    d->conds = apr_hash_make(pool);
    d->trends = apr_hash_make(pool);
    d->flaps = apr_hash_make(pool);
    d->baseline = NAN;
}

void kt__detect_fini(kt__detect_t *d)
{
    /* Each key lives inside its value, and removing an entry reads its key:
     * take the entry out first, then free it. */
    apr_hash_index_t *hi;
    while ((hi = apr_hash_first(NULL, d->conds))) {
        const void *key;
        apr_ssize_t klen;
        void *cond;
        apr_hash_this(hi, &key, &klen, &cond);
        apr_hash_set(d->conds, key, klen, NULL);
        free(cond);
    }
    while ((hi = apr_hash_first(NULL, d->trends))) {
        kt__trend_t *tr = apr_hash_this_val(hi);
        apr_hash_set(d->trends, tr->mount, APR_HASH_KEY_STRING, NULL);
        free(tr);
    }
    kt__flap_fini(d);
    free(d->checks);
    d->checks = NULL;
    d->nchecks = 0;
}

int kt__detect_active_one(const kt__detect_t *d, const char *key, kt_mon_active_t *out)
{
    const kt__cond_t *c = apr_hash_get(d->conds, key, APR_HASH_KEY_STRING);
    if (!c || !c->active)
        return 0;
    out->type = c->type;
    out->severity = c->worst;
    out->started_id = c->started_id;
    out->since = c->since;
    out->value = c->value;
    out->threshold = c->threshold;
    snprintf(out->subject, sizeof out->subject, "%s", c->subject);
    return 1;
}

const char *kt__fmt_bytes(uint64_t bytes, char *buf, size_t len)
{
    static const char *const units[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB"};
    if (!kt_known_u64(bytes)) {
        snprintf(buf, len, "unknown");
        return buf;
    }
    double v = (double)bytes;
    unsigned u = 0;
    while (v >= 1024 && u + 1 < KT_ARRAY_SIZE(units)) {
        v /= 1024;
        u++;
    }
    snprintf(buf, len, u ? "%.1f %s" : "%.0f %s", v, units[u]);
    return buf;
}

/* Low, medium, high in thirds of the range between the threshold and max. */
static kt_severity_t severity_of(double value, double threshold, double max)
{
    double frac = max > threshold ? (value - threshold) / (max - threshold) : 1.0;
    return frac < 1.0 / 3 ? KT_SEV_LOW : frac < 2.0 / 3 ? KT_SEV_MEDIUM : KT_SEV_HIGH;
}

/* ---- one run ---------------------------------------------------------------------- */

typedef kt__run_t run_t;

static kt_event_t *emit(run_t *r, const kt__cond_t *c, int resolved)
{
    if (r->n == r->max)
        return NULL;
    kt_event_t *e = &r->out[r->n++];
    memset(e, 0, sizeof *e);
    e->id = ++r->d->next_id;
    e->time = r->s->time;
    e->type = c->type;
    e->severity = c->worst;
    e->resolved = resolved;
    e->started_id = resolved ? c->started_id : 0;
    e->while_down = resolved && c->restored;
    e->value = c->value;
    e->threshold = c->threshold;
    snprintf(e->subject, sizeof e->subject, "%s", c->subject);

    int by_mem = c->type == KT_EV_MEMORY_HIGH || c->type == KT_EV_PROCESS_MEMORY_HIGH ||
                 (r->verdict && r->verdict->by_memory);
    if (r->verdict)
        snprintf(e->source, sizeof e->source, "%s", r->verdict->source);
    else if (c->source[0])
        snprintf(e->source, sizeof e->source, "%s", c->source);
    kt_proc_t *const *top = by_mem ? r->s->top_mem : r->s->top_cpu;
    unsigned ntop = by_mem ? r->s->ntop_mem : r->s->ntop_cpu;
    for (unsigned i = 0; i < ntop && i < KT_EVENT_TOP; i++) {
        kt_event_proc_t *p = &e->top[e->ntop++];
        p->pid = top[i]->pid;
        snprintf(p->name, sizeof p->name, "%s", top[i]->name ? top[i]->name : "?");
        p->cpu_pct = top[i]->cpu_pct;
        p->rss_bytes = top[i]->rss_bytes;
    }
    return e;
}

static kt__cond_t *cond_get(kt__detect_t *d, const char *key, kt_event_type_t type,
                            const char *subject)
{
    kt__cond_t *c = apr_hash_get(d->conds, key, APR_HASH_KEY_STRING);
    if (c)
        return c;
    c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    snprintf(c->key, sizeof c->key, "%s", key);
    snprintf(c->subject, sizeof c->subject, "%s", subject);
    c->type = type;
    apr_hash_set(d->conds, c->key, APR_HASH_KEY_STRING, c);
    return c;
}

static void cond_drop(kt__detect_t *d, kt__cond_t *c)
{
    apr_hash_set(d->conds, c->key, APR_HASH_KEY_STRING, NULL);
    free(c);
}

/* Writes the message of a started or resolved event for condition c. */
typedef void (*describe_fn)(const kt__cond_t *c, const run_t *r, int resolved, char *buf,
                            size_t len);

/* ---- disk_fill: the forecast ------------------------------------------------------ */

static const kt_fs_t *find_fs(const kt_sample_t *s, const char *mount_point);

/* "7 h", "40 min", "3 days": how people say how soon. */
static void say_hours(double h, char *buf, size_t len)
{
    if (!kt_known(h) || isinf(h))
        snprintf(buf, len, "never at this rate");
    else if (h < 1)
        snprintf(buf, len, "%.0f min", h * 60 < 1 ? 1 : h * 60);
    else if (h < 48)
        snprintf(buf, len, "%.0f h", h);
    else
        snprintf(buf, len, "%.0f days", h / 24);
}

static void fill_evidence(const run_t *r, const kt__cond_t *c, kt_event_t *e)
{
    const kt__trend_t *tr = apr_hash_get(r->d->trends, c->subject, APR_HASH_KEY_STRING);
    const kt_fs_t *fs = find_fs(r->s, c->subject);
    if (!tr)
        return;
    double size = fs && kt_known_u64(fs->used_bytes) && kt_known_u64(fs->avail_bytes)
                      ? (double)(fs->used_bytes + fs->avail_bytes)
                      : NAN;
    const struct {
        const char *key;
        double v;
    } figures[] = {
        {"rate_pct_per_hour", tr->slope * 3600},
        {"rate_bytes_per_hour", tr->slope * 3600 / 100 * size},
        {"window_s", tr->span_s},
        {"hours_to_full", isinf(c->value) ? NAN : c->value},
        {"horizon_hours", c->threshold},
    };
    for (size_t i = 0; i < KT_ARRAY_SIZE(figures) && e->nevidence < KT_EVENT_EVIDENCE; i++) {
        snprintf(e->evidence[e->nevidence].key, sizeof e->evidence[0].key, "%s", figures[i].key);
        e->evidence[e->nevidence++].value = figures[i].v;
    }
}

static void describe_fill(const kt__cond_t *c, const run_t *r, int resolved, char *buf,
                          size_t len)
{
    const kt__trend_t *tr = apr_hash_get(r->d->trends, c->subject, APR_HASH_KEY_STRING);
    const kt_fs_t *fs = find_fs(r->s, c->subject);
    if (!tr || !fs) {
        snprintf(buf, len, "%s is no longer mounted", c->subject);
        return;
    }
    char when[32], rate[32], window[32];
    say_hours(c->value, when, sizeof when);
    say_hours(tr->span_s / 3600, window, sizeof window);
    int sized = kt_known_u64(fs->used_bytes) && kt_known_u64(fs->avail_bytes);
    double bytes_ph = tr->slope * 3600 / 100 * (double)(fs->used_bytes + fs->avail_bytes);
    if (sized)
        kt__fmt_bytes(bytes_ph > 0 ? (uint64_t)bytes_ph : 0, rate, sizeof rate);
    else
        snprintf(rate, sizeof rate, "%.2f%%", tr->slope * 3600);
    if (resolved)
        snprintf(buf, len, "%s is no longer filling up fast: full %s%s (threshold %.4g h)",
                 c->subject, isinf(c->value) ? "" : "in about ", when, c->threshold);
    else
        snprintf(buf, len,
                 "%s will be full in about %s at the current rate (%s/h over the last %s; "
                 "%.1f%% used; threshold %.4g h)",
                 c->subject, when, rate, window, fs->used_pct, c->threshold);
}

/* An event for condition c with its message; NULL when the batch is full. */
static kt_event_t *announce(run_t *r, kt__cond_t *c, int resolved, describe_fn describe)
{
    kt_event_t *e = emit(r, c, resolved);
    if (!e)
        return NULL;
    describe(c, r, resolved, e->message, sizeof e->message);
    if (c->type == KT_EV_DISK_FILL)
        fill_evidence(r, c, e);
    if (e->while_down) {
        size_t n = strlen(e->message);
        snprintf(e->message + n, sizeof e->message - n, " (resolved while kotod was down)");
    }
    return e;
}

/*
 * The state machine for one condition. value and threshold are what the event
 * reports; judged is compared with limit (for plain rules they are the same
 * pair; for spikes judged is the rise above the baseline). Severity grows over
 * the range from limit to max.
 */
static void judge(run_t *r, const kt_mon_rule_t *rule, kt_event_type_t type, const char *key,
                  const char *subject, double value, double threshold, double judged,
                  double limit, double max, describe_fn describe)
{
    kt__cond_t *c = apr_hash_get(r->d->conds, key, APR_HASH_KEY_STRING);
    if (!rule->enabled) {
        if (c && c->active) {
            kt_event_t *e = emit(r, c, 1);
            if (e)
                snprintf(e->message, sizeof e->message, "%s%s%s is no longer watched",
                         kt_event_type_name(type), *subject ? " on " : "", subject);
        }
        if (c)
            cond_drop(r->d, c);
        return;
    }
    if (!kt_known(judged)) {
        if (c)
            c->seen = 1;
        return;
    }
    int over = judged > limit;
    if (!c && !over)
        return;
    if (!c && !(c = cond_get(r->d, key, type, subject)))
        return;
    c->seen = 1;
    c->threshold = threshold;
    kt_severity_t sev = severity_of(judged, limit, max);
    if (r->verdict) {
        /* The condition's own bands: the highest one the value reached. */
        const kt_mon_verdict_t *v = r->verdict;
        sev = KT_SEV_LOW;
        for (int b = 1; b < 3; b++)
            if (kt_known(v->bands[b]) && (v->below ? value <= v->bands[b] : value >= v->bands[b]))
                sev = (kt_severity_t)b;
        snprintf(c->source, sizeof c->source, "%s", v->source);
        snprintf(c->text, sizeof c->text, "%s", v->message);
    }

    if (over) {
        c->value = value;
        c->over++;
        if (c->active && sev > c->worst) {
            /* Worse than when it started: an event of its own, so a rise
             * from low to high is not lost in a condition already known. */
            c->worst = sev;
            kt_event_t *e = announce(r, c, 0, describe);
            if (e) {
                e->escalated = 1;
                e->started_id = c->started_id;
                size_t n = strlen(e->message);
                snprintf(e->message + n, sizeof e->message - n, "; now %s",
                         kt_severity_name(sev));
            }
        } else if (!c->active && c->over >= rule->hold_samples) {
            c->active = 1;
            c->worst = sev;
            c->since = r->s->time;
            kt_event_t *e = announce(r, c, 0, describe);
            if (e)
                c->started_id = e->id;
        }
        return;
    }
    c->over = 0;
    if (c->active && judged >= limit - rule->clear_margin)
        return; /* inside the margin: still active, no flapping */
    if (c->active) {
        c->value = value;
        announce(r, c, 1, describe);
    }
    cond_drop(r->d, c);
}

/* ---- what each detector says -------------------------------------------------------- */

static void describe_cpu(const kt__cond_t *c, const run_t *r, int resolved, char *buf,
                         size_t len)
{
    if (resolved) {
        snprintf(buf, len, "CPU busy back to %.1f%% (threshold %.4g%%)", c->value, c->threshold);
        return;
    }
    int n = snprintf(buf, len, "CPU busy %.1f%% (threshold %.4g%%)", c->value, c->threshold);
    const kt_sample_t *s = r->s;
    double top = s->ntop_cpu > 0 && kt_known(s->top_cpu[0]->cpu_pct) ? s->top_cpu[0]->cpu_pct : 0;
    /* Many short processes (a build) use the CPU without ever being in a
     * scan: what they used beats any one process that was. */
    if (kt_known(s->exited_cpu_pct) && s->exited_cpu_pct > top && n > 0 && (size_t)n < len) {
        int m = snprintf(buf + n, len - (size_t)n,
                         "; busiest: processes that ended since the last reading, at %.1f%%",
                         s->exited_cpu_pct);
        if (s->exited_parent_name && m > 0 && (size_t)(n + m) < len)
            snprintf(buf + n + m, len - (size_t)(n + m), " (most reaped by %s, pid %lld)",
                     s->exited_parent_name, (long long)s->exited_parent_pid);
        return;
    }
    if (s->ntop_cpu > 0 && kt_known(s->top_cpu[0]->cpu_pct) && n > 0 && (size_t)n < len)
        snprintf(buf + n, len - (size_t)n, "; busiest: %s (pid %lld) at %.1f%%",
                 r->s->top_cpu[0]->name, (long long)r->s->top_cpu[0]->pid,
                 r->s->top_cpu[0]->cpu_pct);
}

static void describe_memory(const kt__cond_t *c, const run_t *r, int resolved, char *buf,
                            size_t len)
{
    char avail[32], total[32];
    kt__fmt_bytes(r->s->mem.available_bytes, avail, sizeof avail);
    kt__fmt_bytes(r->s->mem.total_bytes, total, sizeof total);
    snprintf(buf, len, "%s %.1f%% (threshold %.4g%%): %s available of %s",
             resolved ? "Memory use back to" : "Memory use", c->value, c->threshold, avail,
             total);
}

static const kt_fs_t *find_fs(const kt_sample_t *s, const char *mount_point)
{
    for (unsigned i = 0; i < s->nfs; i++)
        if (strcmp(s->fs[i].mount_point, mount_point) == 0)
            return &s->fs[i];
    return NULL;
}

static void describe_disk(const kt__cond_t *c, const run_t *r, int resolved, char *buf,
                          size_t len)
{
    const kt_fs_t *fs = find_fs(r->s, c->subject);
    if (!fs) {
        snprintf(buf, len, "%s is no longer mounted", c->subject);
        return;
    }
    char avail[32], size[32];
    kt__fmt_bytes(fs->avail_bytes, avail, sizeof avail);
    kt__fmt_bytes(fs->size_bytes, size, sizeof size);
    snprintf(buf, len, "%s %s %.1f%% full (threshold %.4g%%): %s free of %s", c->subject,
             resolved ? "back to" : "is", c->value, c->threshold, avail, size);
}

static void describe_spike(const kt__cond_t *c, const run_t *r, int resolved, char *buf,
                           size_t len)
{
    if (resolved)
        snprintf(buf, len, "CPU settled at %.1f%% (spike limit %.1f%%)", c->value,
                 c->threshold);
    else
        snprintf(buf, len, "CPU jumped to %.1f%%, %.1f points above its recent baseline of %.1f%%",
                 c->value, c->value - r->d->baseline, r->d->baseline);
}

static void describe_process(const kt__cond_t *c, const run_t *r, int resolved, char *buf,
                             size_t len)
{
    if (resolved && !c->seen)
        snprintf(buf, len, "%s has exited", c->subject); /* gone from the process table */
    else
        snprintf(buf, len, "%s %s %.1f%% of memory (threshold %.4g%%)", c->subject,
                 resolved ? "is back to" : "uses", c->value, c->threshold);
}

static const kt_mon_rule_t *disk_rule(const kt_mon_conf_t *conf, const char *mount_point)
{
    for (unsigned i = 0; i < conf->ndisk_overrides; i++)
        if (strcmp(conf->disk_overrides[i].mount_point, mount_point) == 0)
            return &conf->disk_overrides[i].rule;
    return &conf->disk;
}

/* A check's kind wrote the message (kt__detect_check). */
static void describe_check(const kt__cond_t *c, const run_t *r, int resolved, char *buf,
                           size_t len)
{
    if (r->check_text)
        snprintf(buf, len, "%s", r->check_text);
    else /* the check left the configuration */
        snprintf(buf, len, "check %s is no longer judged", c->subject);
    (void)resolved;
}

/* A Lua condition formatted its message; a subject gone or a condition
 * removed leaves the last one it wrote. */
static void describe_verdict(const kt__cond_t *c, const run_t *r, int resolved, char *buf,
                             size_t len)
{
    if (r->verdict)
        snprintf(buf, len, "%s%s", r->verdict->message, resolved ? " (resolved)" : "");
    else if (c->type == KT_EV_RULE_ERROR)
        snprintf(buf, len, "%s no longer fails", c->subject);
    else
        snprintf(buf, len, "%s%s%s is no longer judged (last: %s)", kt_event_type_name(c->type),
                 *c->subject ? " on " : "", c->subject, c->text);
}

static describe_fn describer(kt_event_type_t t);

static const describe_fn describers[KT_EV__COUNT] = {
    [KT_EV_CPU_HIGH] = describe_cpu,
    [KT_EV_MEMORY_HIGH] = describe_memory,
    [KT_EV_DISK_FULL] = describe_disk,
    [KT_EV_CPU_SPIKE] = describe_spike,
    [KT_EV_PROCESS_MEMORY_HIGH] = describe_process,
    [KT_EV_DISK_FILL] = describe_fill,
    [KT_EV_PROCESS_DOWN] = describe_check,
    [KT_EV_PROCESS_COUNT] = describe_check,
    [KT_EV_SERVICE_FAILED] = describe_check,
    [KT_EV_REMEDIATION_FAILED] = describe_check,
    [KT_EV_REMEDIATION_GAVE_UP] = describe_check,
    [KT_EV_OVER_BUDGET] = describe_check,
    [KT_EV_RULE_ERROR] = describe_verdict,
};

static describe_fn describer(kt_event_type_t t)
{
    return (unsigned)t < KT_EV__COUNT ? describers[t] : describe_verdict;
}

/* A Lua condition's verdict, through the same state machine as the
 * thresholds: "below" conditions are judged negated, as disk_fill is. */
static void judge_verdict(run_t *r, const kt_mon_verdict_t *v)
{
    char key[KT__COND_KEY];
    snprintf(key, sizeof key, "lua:%s:%s", v->key, v->subject);
    double sign = v->below ? -1 : 1;
    double margin = v->below ? v->clear - v->threshold : v->threshold - v->clear;
    kt_mon_rule_t rule = {1, v->threshold, margin > 0 ? margin : 0, v->hold ? v->hold : 1};
    r->verdict = v;
    judge(r, &rule, (kt_event_type_t)v->type, key, v->subject, v->value, v->threshold,
          sign * v->value, sign * v->threshold, sign * v->threshold, describe_verdict);
    r->verdict = NULL;
}

void kt__detect_check(kt__run_t *r, const kt_mon_check_t *chk, kt_event_type_t type,
                      double value, double threshold, double failing, const char *text,
                      const kt_event_proc_t *evidence, unsigned nevidence)
{
    char key[200];
    snprintf(key, sizeof key, "check:%s:%s", kt_event_type_name(type), chk->name);
    kt_mon_rule_t rule = {1, 0, 0, chk->hold_samples ? chk->hold_samples : 1};
    unsigned first = r->n;
    r->check_text = text;
    /* Failing is above 0.5 on its 0..100 scale, holding below: no margin. */
    judge(r, &rule, type, key, chk->name, value, threshold, failing, 0.5, 100.0, describe_check);
    r->check_text = NULL;
    /* The check's own processes are its evidence, not the busiest ones. */
    for (unsigned i = first; i < r->n; i++) {
        r->out[i].ntop = 0;
        for (unsigned k = 0; k < nevidence && k < KT_EVENT_TOP; k++)
            r->out[i].top[r->out[i].ntop++] = evidence[k];
    }
}

int kt__detect_holds(const kt__detect_t *d, const char *key)
{
    const kt__cond_t *c = apr_hash_get(d->conds, key, APR_HASH_KEY_STRING);
    return c && c->active;
}

void kt__detect_verdict_state(const kt__detect_t *d, const kt_mon_verdict_t *v,
                              kt_mon_cond_state_t *out)
{
    char key[KT__COND_KEY];
    snprintf(key, sizeof key, "lua:%s:%s", v->key, v->subject);
    const kt__cond_t *c = apr_hash_get(d->conds, key, APR_HASH_KEY_STRING);
    memset(out, 0, sizeof *out);
    out->type = v->type;
    snprintf(out->key, sizeof out->key, "%s", v->key);
    snprintf(out->subject, sizeof out->subject, "%s", v->subject);
    snprintf(out->message, sizeof out->message, "%s", v->message);
    out->value = v->value;
    out->hold = v->hold ? v->hold : 1;
    if (c) {
        out->over = c->over;
        out->active = c->active;
        out->severity = c->worst;
        out->since = c->since;
    }
}

/* Plain rules: the value itself against the threshold. */
static void judge_plain(run_t *r, const kt_mon_rule_t *rule, kt_event_type_t type,
                        const char *key, const char *subject, double value)
{
    judge(r, rule, type, key, subject, value, rule->threshold, value, rule->threshold, 100.0,
          describer(type));
}

static void judge_spike(run_t *r, const kt_mon_conf_t *conf)
{
    kt__detect_t *d = r->d;
    double cpu = r->s->cpu.busy_pct;
    if (d->nbaseline >= conf->spike_warmup && kt_known(d->baseline)) {
        double limit = d->baseline + conf->cpu_spike.threshold;
        judge(r, &conf->cpu_spike, KT_EV_CPU_SPIKE, "cpu_spike", "", cpu,
              limit > 100 ? 100 : limit, cpu - d->baseline, conf->cpu_spike.threshold, 100.0,
              describe_spike);
    }
    if (!kt_known(cpu))
        return;
    /* Exponential moving average over about spike_window readings; the first
     * readings average plainly so the warm-up baseline is not biased to 0. */
    d->nbaseline++;
    double alpha = 2.0 / (conf->spike_window + 1);
    if (d->nbaseline == 1 || !kt_known(d->baseline))
        d->baseline = cpu;
    else if (d->nbaseline <= conf->spike_window)
        d->baseline += (cpu - d->baseline) / d->nbaseline;
    else
        d->baseline += alpha * (cpu - d->baseline);
}

/* The forecast, judged as -hours to full against -horizon: sooner is worse,
 * and severity grows from the horizon to "full now". */
static void judge_fill(run_t *r, const kt_mon_conf_t *conf, const kt_fs_t *fs)
{
    kt__trend_t *tr = apr_hash_get(r->d->trends, fs->mount_point, APR_HASH_KEY_STRING);
    if (!tr) {
        if (!(tr = calloc(1, sizeof *tr)))
            return;
        snprintf(tr->mount, sizeof tr->mount, "%s", fs->mount_point);
        tr->slope = NAN;
        apr_hash_set(r->d->trends, tr->mount, APR_HASH_KEY_STRING, tr);
    }
    tr->seen = 1;
    kt__trend_add(tr, conf->fill_window_s, r->s->time, fs->used_pct);
    double secs = kt__trend_seconds_to_full(tr, fs->used_pct, conf->fill_min_window_s,
                                            conf->fill_min_growth_pct);
    double hours = secs / 3600;
    char key[200];
    snprintf(key, sizeof key, "fill:%s", fs->mount_point);
    judge(r, &conf->disk_fill, KT_EV_DISK_FILL, key, fs->mount_point, hours,
          conf->disk_fill.threshold, -hours, -conf->disk_fill.threshold, 0.0, describe_fill);
}

unsigned kt__detect_run(kt__detect_t *d, const kt_mon_conf_t *conf, const kt_sample_t *s,
                        const kt_mon_verdict_t *v, unsigned nv, kt_event_t *out, unsigned max)
{
    run_t r = {d, s, out, 0, max, NULL, NULL};
    unsigned proc_conds = 0;
    for (apr_hash_index_t *hi = apr_hash_first(NULL, d->conds); hi; hi = apr_hash_next(hi)) {
        kt__cond_t *c = apr_hash_this_val(hi);
        c->seen = 0;
        proc_conds += c->type == KT_EV_PROCESS_MEMORY_HIGH;
    }
    for (apr_hash_index_t *hi = apr_hash_first(NULL, d->trends); hi; hi = apr_hash_next(hi))
        ((kt__trend_t *)apr_hash_this_val(hi))->seen = 0;

    judge_plain(&r, &conf->cpu, KT_EV_CPU_HIGH, "cpu", "", s->cpu.busy_pct);
    judge_plain(&r, &conf->memory, KT_EV_MEMORY_HIGH, "memory", "", s->mem.used_pct);
    judge_spike(&r, conf);

    char key[200], subject[160];
    for (unsigned i = 0; i < s->nfs; i++) {
        snprintf(key, sizeof key, "disk:%s", s->fs[i].mount_point);
        judge_plain(&r, disk_rule(conf, s->fs[i].mount_point), KT_EV_DISK_FULL, key,
                    s->fs[i].mount_point, s->fs[i].used_pct);
        judge_fill(&r, conf, &s->fs[i]);
    }
    if (kt_known_u64(s->mem.total_bytes) && s->mem.total_bytes > 0) {
        for (unsigned i = 0; i < s->nprocs; i++) {
            const kt_proc_t *p = &s->procs[i];
            if (!kt_known_u64(p->rss_bytes))
                continue;
            double pct = 100.0 * (double)p->rss_bytes / (double)s->mem.total_bytes;
            /* The common case, a small process and no process condition to
             * update, needs no key and no lookup. */
            if (pct <= conf->process_memory.threshold && proc_conds == 0)
                continue;
            snprintf(key, sizeof key, "procmem:%lld:%s", (long long)p->pid, p->name);
            snprintf(subject, sizeof subject, "%s (pid %lld)", p->name, (long long)p->pid);
            judge_plain(&r, &conf->process_memory, KT_EV_PROCESS_MEMORY_HIGH, key, subject, pct);
        }
    }

    kt__checks_run(&r, conf);
    for (unsigned i = 0; i < nv; i++)
        judge_verdict(&r, &v[i]);
    kt__budget_run(&r, conf);

    /* Conditions whose subject vanished (a process exited, a filesystem was
     * unmounted, a check was removed) or whose rule was switched off end here. */
    for (apr_hash_index_t *hi = apr_hash_first(NULL, d->conds); hi;) {
        kt__cond_t *c = apr_hash_this_val(hi);
        hi = apr_hash_next(hi);
        if (c->seen) {
            c->restored = 0; /* judged once since the restart */
            continue;
        }
        if (c->active)
            announce(&r, c, 1, describer(c->type));
        cond_drop(d, c);
    }
    for (apr_hash_index_t *hi = apr_hash_first(NULL, d->trends); hi;) {
        kt__trend_t *tr = apr_hash_this_val(hi);
        hi = apr_hash_next(hi);
        if (!tr->seen) { /* unmounted: its history means nothing for the next one */
            apr_hash_set(d->trends, tr->mount, APR_HASH_KEY_STRING, NULL);
            free(tr);
        }
    }
    return kt__flap_run(d, conf, s->time, out, 0, r.n, max);
}

/* ---- across restarts ------------------------------------------------------------------ */

json_t *kt__detect_save(const kt__detect_t *d)
{
    json_t *conds = json_array();
    for (apr_hash_index_t *hi = apr_hash_first(NULL, d->conds); hi; hi = apr_hash_next(hi)) {
        const kt__cond_t *c = apr_hash_this_val(hi);
        json_array_append_new(
            conds, json_pack("{s:s s:s s:s s:i s:b s:s s:I s:I s:o s:o}", "key", c->key, "type",
                             kt_event_type_name(c->type), "subject", c->subject, "over",
                             (int)c->over, "active", c->active, "worst",
                             kt_severity_name(c->worst), "started_id", (json_int_t)c->started_id,
                             "since_ms", (json_int_t)apr_time_as_msec(c->since), "value",
                             kt_json_num(c->value), "threshold", kt_json_num(c->threshold)));
    }
    json_t *trends = json_array();
    for (apr_hash_index_t *hi = apr_hash_first(NULL, d->trends); hi; hi = apr_hash_next(hi))
        json_array_append_new(trends, kt__trend_save(apr_hash_this_val(hi)));
    return json_pack("{s:o s:o s:i s:o s:o}", "conditions", conds, "baseline",
                     kt_json_num(d->baseline), "nbaseline", (int)d->nbaseline, "trends", trends,
                     "flaps", kt__flap_save(d));
}

static double num_or_nan(json_t *v) { return json_is_number(v) ? json_number_value(v) : NAN; }

unsigned kt__detect_restore(kt__detect_t *d, json_t *state)
{
    unsigned n = 0;
    size_t i;
    json_t *o;
    json_array_foreach(json_object_get(state, "conditions"), i, o) {
        const char *key = json_string_value(json_object_get(o, "key"));
        const char *subject = json_string_value(json_object_get(o, "subject"));
        int type = kt_event_type_parse(json_string_value(json_object_get(o, "type")));
        int worst = kt_severity_parse(json_string_value(json_object_get(o, "worst")));
        if (!key || !subject || type < 0 || worst < 0)
            continue; /* written by another version, or damaged: not guessed at */
        kt__cond_t *c = cond_get(d, key, type, subject);
        if (!c)
            break;
        c->over = (unsigned)json_integer_value(json_object_get(o, "over"));
        c->active = json_is_true(json_object_get(o, "active"));
        c->worst = worst;
        c->started_id = (uint64_t)json_integer_value(json_object_get(o, "started_id"));
        c->since = apr_time_from_msec(json_integer_value(json_object_get(o, "since_ms")));
        c->value = num_or_nan(json_object_get(o, "value"));
        c->threshold = num_or_nan(json_object_get(o, "threshold"));
        c->restored = 1;
        n += c->active;
    }
    json_array_foreach(json_object_get(state, "trends"), i, o) {
        const char *mount = json_string_value(json_object_get(o, "mount"));
        kt__trend_t *tr = mount && !apr_hash_get(d->trends, mount, APR_HASH_KEY_STRING)
                              ? calloc(1, sizeof *tr)
                              : NULL;
        if (!tr)
            continue;
        snprintf(tr->mount, sizeof tr->mount, "%s", mount);
        kt__trend_restore(tr, o);
        apr_hash_set(d->trends, tr->mount, APR_HASH_KEY_STRING, tr);
    }
    kt__flap_restore(d, json_object_get(state, "flaps"));
    d->baseline = num_or_nan(json_object_get(state, "baseline"));
    d->nbaseline = (unsigned)json_integer_value(json_object_get(state, "nbaseline"));
    return n;
}

unsigned kt__detect_active(const kt__detect_t *d, kt_mon_active_t *out, unsigned max)
{
    unsigned n = 0;
    for (apr_hash_index_t *hi = apr_hash_first(NULL, d->conds); hi && n < max;
         hi = apr_hash_next(hi)) {
        const kt__cond_t *c = apr_hash_this_val(hi);
        if (!c->active)
            continue;
        kt_mon_active_t *a = &out[n++];
        a->type = c->type;
        a->severity = c->worst;
        a->started_id = c->started_id;
        a->since = c->since;
        a->value = c->value;
        a->threshold = c->threshold;
        snprintf(a->subject, sizeof a->subject, "%s", c->subject);
    }
    return n;
}
