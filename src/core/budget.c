/*
 * budget.c - kotod watching itself: its RSS and CPU, read from the same
 * process table as every other process (no extra pass), against a budget.
 *
 * Over budget for a few readings is koto_over_budget, raised like a check's
 * event (hold-down, severity, resolve, the store, notifications), with what
 * kotod holds as evidence: the processes it reads (and how many more than
 * when it was last within budget), the readings and events it keeps. While
 * it holds, kotod sheds optional work: the store records the aggregate
 * series only, not each core, interface, disk and inode count, and (Linux)
 * every second reading leaves the per-process scan out and carries the
 * previous table over (kt__budget_carry_procs). The CPU side
 * is judged over KT_MON_BUDGET_WINDOW readings, never one: a single reading
 * can carry a reload or a burst of API requests.
 */
#include "core_internal.h"
#include "kt_sys.h"

#include <apr_strings.h>

#include <stdio.h>

#define KEY "check:koto_over_budget:kotod"

static const kt_proc_t *find_self(const kt_sample_t *s)
{
    int64_t pid = kt_sys_self_pid();
    for (unsigned i = 0; i < s->nprocs; i++)
        if (s->procs[i].pid == pid)
            return &s->procs[i];
    return NULL; /* a reading of another tree (--procfs), or a process table that failed */
}

/* CPU % of one core over the ring, once it is full; NAN before. */
static double window_cpu_pct(kt__budget_t *b, apr_time_t t, double cpu_s)
{
    b->t[b->next] = t;
    b->cpu_s[b->next] = cpu_s;
    b->next = (b->next + 1) % KT_MON_BUDGET_WINDOW;
    if (b->n < KT_MON_BUDGET_WINDOW)
        b->n++;
    if (b->n < KT_MON_BUDGET_WINDOW)
        return NAN;
    unsigned oldest = b->next; /* the ring is full: next is the oldest */
    double span = (double)(t - b->t[oldest]) / APR_USEC_PER_SEC;
    return span > 0 ? 100.0 * (cpu_s - b->cpu_s[oldest]) / span : NAN;
}

void kt__budget_run(kt__run_t *r, const kt_mon_conf_t *conf)
{
    kt__budget_t *b = &r->d->budget;
    kt_mon_self_t *me = &b->self;
    const kt_sample_t *s = r->s;
    if (b->readings++ == 0)
        me->cpu_pct = NAN; /* until the window is full */
    me->budget_rss_bytes = conf->budget_rss_mb * 1048576.0;
    me->budget_cpu_pct = conf->budget_cpu_pct;

    /* A carried table has kotod's own figures of the reading before: the
     * window spans the scans only. */
    if (!s->procs_carried) {
        const kt_proc_t *p = find_self(s);
        me->rss_bytes = p && kt_known_u64(p->rss_bytes) ? (double)p->rss_bytes : NAN;
        me->cpu_seconds =
            p && kt_known_u64(p->cpu_time_ms) ? (double)p->cpu_time_ms / 1000.0 : NAN;
        /* The first reading carries the start's own work (loading the rules,
         * opening the store): the window begins after it. */
        if (b->readings > 1 && kt_known(me->cpu_seconds))
            me->cpu_pct = window_cpu_pct(b, s->time, me->cpu_seconds);
    }

    double rss_ratio = me->budget_rss_bytes > 0 && kt_known(me->rss_bytes)
                           ? me->rss_bytes / me->budget_rss_bytes : 0;
    double cpu_ratio = me->budget_cpu_pct > 0 && kt_known(me->cpu_pct)
                           ? me->cpu_pct / me->budget_cpu_pct : 0;
    double ratio = rss_ratio > cpu_ratio ? rss_ratio : cpu_ratio;
    /* Unknown until kotod finds itself; twice the budget is high. */
    double failing = !kt_known(me->rss_bytes) ? NAN : ratio <= 1 ? 0 : ratio >= 2 ? 100 : 50;
    if (failing == 0)
        b->procs_within = s->nprocs;

    char text[400];
    int n = snprintf(text, sizeof text,
                     "kotod uses %.1f MiB (budget %.0f MiB) and %.2f %% of a core (budget %.2g %%); "
                     "it reads %u processes",
                     me->rss_bytes / 1048576.0, conf->budget_rss_mb, kt_known(me->cpu_pct) ? me->cpu_pct : 0.0,
                     conf->budget_cpu_pct, s->nprocs);
    if (n > 0 && (size_t)n < sizeof text && s->nprocs > b->procs_within && b->procs_within)
        n += snprintf(text + n, sizeof text - (size_t)n, " (%u more than when within budget)",
                      s->nprocs - b->procs_within);
    if (n > 0 && (size_t)n < sizeof text)
        snprintf(text + n, sizeof text - (size_t)n,
                 ", keeps %u readings and %u events in memory%s", conf->history_capacity,
                 conf->event_capacity,
                 failing > 0 ? "; until it is back under, the store records aggregate series only "
                               "and processes are scanned every second reading"
                             : "");

    static const kt_mon_check_t self = {.name = "kotod", .kind = "budget", .hold_samples = 3};
    kt__detect_check(r, &self, KT_EV_OVER_BUDGET, 100.0 * ratio, 100.0, failing, text, NULL, 0);
    me->over = me->shedding = kt__detect_holds(r->d, KEY);
}

int kt__budget_sheds_procs(const kt__budget_t *b, const kt_sample_t *last)
{
    return b->self.shedding && last && !last->procs_carried;
}

/* The strings are copied: the previous reading's pool goes with its snapshot. */
void kt__budget_carry_procs(kt_sample_t *s, const kt_sample_t *from, apr_pool_t *pool)
{
    s->procs = apr_pmemdup(pool, from->procs, sizeof *from->procs * from->nprocs);
    s->nprocs = from->nprocs;
    s->cmdlines = from->cmdlines;
    for (unsigned i = 0; i < s->nprocs; i++) {
        s->procs[i].name = apr_pstrdup(pool, from->procs[i].name);
        s->procs[i].cmdline = apr_pstrdup(pool, from->procs[i].cmdline);
    }
    s->top_cpu = apr_palloc(pool, sizeof *s->top_cpu * (from->ntop_cpu + 1));
    s->top_mem = apr_palloc(pool, sizeof *s->top_mem * (from->ntop_mem + 1));
    for (unsigned i = 0; i < from->ntop_cpu; i++)
        s->top_cpu[i] = s->procs + (from->top_cpu[i] - from->procs);
    for (unsigned i = 0; i < from->ntop_mem; i++)
        s->top_mem[i] = s->procs + (from->top_mem[i] - from->procs);
    s->ntop_cpu = from->ntop_cpu;
    s->ntop_mem = from->ntop_mem;
    s->procs_total = from->procs_total;
    if (!kt_known_u64(s->threads_total))
        s->threads_total = from->threads_total;
    s->procs_running = from->procs_running;
    s->procs_sleeping = from->procs_sleeping;
    s->procs_blocked = from->procs_blocked;
    s->procs_zombie = from->procs_zombie;
    s->procs_stopped = from->procs_stopped;
    s->procs_idle = from->procs_idle;
}
